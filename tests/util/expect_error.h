// The check a "user mistake" test makes (STYLE.md, Errors): the call throws cnnmem::Error with a
// one-line message that contains the word naming the thing or the fix.
//
// Usage:
//   test::expect_error([&] { read_idx_gz(path); }, "bad magic");
//   EXPECT_EQ(test::error_of([&] { g.add(layer); }), "model m: two layers are named \"fc\"");
// Not here: the layer tests' form with several words (tests/layers/layer_harness.h).
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "framework/error.h"

namespace cnnmem::test {

inline void expect_error(const std::function<void()>& f, const std::string& word) {
  try {
    f();
    ADD_FAILURE() << "expected cnnmem::Error containing \"" << word << "\", nothing was thrown";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr(word));
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

// The message of the cnnmem::Error `f` throws, or "" when it throws none: for tests that check the
// whole message.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace cnnmem::test
