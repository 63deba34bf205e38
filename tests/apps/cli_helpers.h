// Running the cnnmem binary from tests: the command line as text, a run with a deadline, and
// the two outcomes the CLI contract promises (DESIGN.md §4): a one-line user error with exit 1,
// or exactly one JSON object on stdout.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/apps/run_process.h"

namespace cnnmem::test {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using json = nlohmann::json;

inline const std::vector<std::string> kTags = {
    "weight", "grad", "optimizer_state", "activation", "activation_grad", "workspace", "input"};

// `base` with `extra` appended: a base command plus the flags a case adds.
inline std::vector<std::string> with(const std::vector<std::string>& base,
                                     const std::vector<std::string>& extra) {
  std::vector<std::string> out = base;
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

// The "losses" array of a train --json object (NaN for an entry that is not a number).
inline std::vector<double> losses_of(const json& j) {
  std::vector<double> out;
  if (j.contains("losses") && j["losses"].is_array()) {
    for (const json& v : j["losses"]) out.push_back(v.is_number() ? v.get<double>() : NAN);
  }
  return out;
}

inline std::string command_line(const std::vector<std::string>& args) {
  std::string s = "cnnmem";
  for (const std::string& a : args) s += " " + a;
  return s;
}

// `args` after the path of the built binary: an argv for run_process or the kill helpers.
inline std::vector<std::string> with_binary(std::vector<std::string> args) {
  args.insert(args.begin(), CNNMEM_BINARY);
  return args;
}

inline ProcessResult run_cnnmem(const std::vector<std::string>& args,
                                std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  std::vector<std::string> argv = {CNNMEM_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, timeout);
}

// Exit 1, nothing on stdout, one line "cnnmem: error: ..." on stderr containing every word.
inline void expect_user_error(const std::vector<std::string>& args,
                              const std::vector<std::string>& words) {
  SCOPED_TRACE(command_line(args));
  const ProcessResult r = run_cnnmem(args);
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.term_signal, 0) << "killed by signal " << r.term_signal << "; stderr: " << r.err;
  EXPECT_EQ(r.exit_code, 1) << "stderr: " << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, StartsWith("cnnmem: error: "));
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.back(), '\n') << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "more than one line: " << r.err;
  for (const std::string& w : words) EXPECT_THAT(r.err, HasSubstr(w));
}

// Exit 0, nothing on stderr, stdout exactly one JSON object.
inline json run_json(const std::vector<std::string>& args) {
  SCOPED_TRACE(command_line(args));
  const ProcessResult r = run_cnnmem(args);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << "stderr: " << r.err;
  EXPECT_EQ(r.err, "");
  json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(j.is_object()) << "stdout is not one JSON object: " << r.out;
  return j.is_object() ? j : json::object();
}

}  // namespace cnnmem::test
