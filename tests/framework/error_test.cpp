// Tests for framework/error.h: the settings marked inside an Error message read in the library's
// words by what(), and in a front end's own names (a CLI's flags) by text().
// Not here: the CLI's table of flags (checked through the binary in tests/apps).
#include "framework/error.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cnnmem {
namespace {

std::string dashed(const std::string& key) { return "--" + key; }

TEST(Error, WhatReadsEachSettingInItsWords) {
  const Error e(setting("batch") + " must be positive; or use a " +
                setting("checkpoint", "checkpoint policy") + " or " +
                setting("training", "a training step", "train"));
  EXPECT_STREQ(e.what(), "batch must be positive; or use a checkpoint policy or a training step");
  EXPECT_EQ(e.settings(), (std::vector<std::string>{"batch", "checkpoint", "training"}));
}

TEST(Error, TextNamesEachSettingTheFrontEndsWayWithItsValue) {
  const Error e(setting("batch") + " must be positive; or use a " +
                setting("checkpoint", "checkpoint policy") + " or " +
                setting("training", "a training step", "train"));
  EXPECT_EQ(e.text(dashed), "--batch must be positive; or use a --checkpoint or --training train");
  // A setting the front end has no name for keeps its words.
  EXPECT_EQ(e.text([](const std::string& key) { return key == "batch" ? "-b" : ""; }),
            "-b must be positive; or use a checkpoint policy or a training step");
}

TEST(Error, AQuotedErrorKeepsItsMarks) {
  const Error inner(setting("keep") + " names no layer");
  const Error outer("step: " + inner.marked() + " (" + setting("lr") + ")");
  EXPECT_STREQ(outer.what(), "step: keep names no layer (lr)");
  EXPECT_EQ(outer.text(dashed), "step: --keep names no layer (--lr)");
}

TEST(Error, AMessageWithoutSettingsIsUnchanged) {
  const Error e("model m: two layers are named \"fc\"");
  EXPECT_STREQ(e.what(), "model m: two layers are named \"fc\"");
  EXPECT_EQ(e.text(dashed), e.what());
  EXPECT_TRUE(e.settings().empty());
}

}  // namespace
}  // namespace cnnmem
