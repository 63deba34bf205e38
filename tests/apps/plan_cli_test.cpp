// Tests for `cnnmem plan` (apps/plan_command.cpp) from the outside: the built binary run on CSV
// files written to a per-test temporary directory.
//
// Checks exact offsets in the JSON for each strategy, that headers, comments, blank lines,
// spaces and CRLF line ends are accepted, the text report, and that every kind of bad line gives
// exit status 1 with one line on stderr naming the file and the line number.
// Not here: the planners' own tests (tests/framework/planner_test.cpp), speed (bench/).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "tests/apps/cli_helpers.h"
#include "tests/apps/run_process.h"
#include "tests/util/temp_dir.h"

namespace cnnmem::test {
namespace {

namespace fs = std::filesystem;
using ::testing::Not;

// A chain of four buffers (and the hand-worked offsets of tests/framework/planner_test.cpp):
//   0: 100 [0,1]   1: 300 [1,2]   2: 200 [2,3]   3: 50 [3,4]; bound 500 (op 2: 300 + 200).
constexpr char kChain[] = "100,0,1\n300,1,2\n200,2,3\n50,3,4\n";

class PlanCli : public TempDirTest {
 protected:
  std::string write(const std::string& name, const std::string& text) const {
    write_file(path(name), text);
    return path(name);
  }

  static ProcessResult plan(const std::vector<std::string>& args) {
    std::vector<std::string> all = {"plan"};
    all.insert(all.end(), args.begin(), args.end());
    return run_cnnmem(all);
  }

  static json plan_json(const std::string& file, const std::string& strategy) {
    return run_json({"plan", "--intervals", file, "--strategy", strategy, "--json"});
  }

  static void expect_error(std::vector<std::string> args, const std::vector<std::string>& words) {
    args.insert(args.begin(), "plan");
    expect_user_error(args, words);
  }
};

TEST_F(PlanCli, JsonOffsetsPerStrategy) {
  const std::string file = write("chain.csv", kChain);
  struct Want {
    std::string strategy;
    int64_t arena;
    std::vector<int64_t> offsets;
  };
  // none: one after another. free-after-use: 0, 100 (top 400); at op 2 A's hole [0,100) is too
  // small for 200 -> 400; at op 3 the 100-byte hole takes 50 -> 0. pingpong: slots of 200 and
  // 300. greedy-by-size: 300 -> 0, 200 -> 300 (meets 300), 100 -> 300 (meets 300 only), 50 -> 0
  // (meets 200 only).
  const std::vector<Want> wants = {{"none", 650, {0, 100, 400, 600}},
                                   {"free-after-use", 600, {0, 100, 400, 0}},
                                   {"pingpong", 500, {0, 200, 0, 200}},
                                   {"greedy-by-size", 500, {300, 0, 300, 0}}};
  for (const Want& w : wants) {
    const json j = plan_json(file, w.strategy);
    EXPECT_EQ(j, (json{{"strategy", w.strategy},
                       {"buffers", 4},
                       {"arena_bytes", w.arena},
                       {"lower_bound_bytes", 500},
                       {"offsets", w.offsets}}));
  }
}

TEST_F(PlanCli, JsonOnADagForEveryStrategyButPingPong) {
  // A residual block: x 64 [0,2], conv 128 [1,2], add 64 [2,3]; bound 256 at op 2.
  const std::string file = write("dag.csv", "64,0,2\n128,1,2\n64,2,3\n");
  EXPECT_EQ(plan_json(file, "none")["offsets"], (std::vector<int64_t>{0, 64, 192}));
  EXPECT_EQ(plan_json(file, "free-after-use")["offsets"], (std::vector<int64_t>{0, 64, 192}));
  // greedy: conv -> 0; x meets conv -> 128; add meets both -> 192.
  const json greedy = plan_json(file, "greedy-by-size");
  EXPECT_EQ(greedy["offsets"], (std::vector<int64_t>{128, 0, 192}));
  EXPECT_EQ(greedy["arena_bytes"], 256);
  EXPECT_EQ(greedy["lower_bound_bytes"], 256);
  expect_error({"--intervals", file, "--strategy", "pingpong"},
               {"pingpong needs a chain: 3 buffers are live at op 2", "greedy-by-size"});
}

TEST_F(PlanCli, HeaderCommentsBlankLinesSpacesAndCrlfAccepted) {
  const std::string file = write("messy.csv",
                                 "# lifetimes of a chain\r\n"
                                 " size , first , last \r\n"
                                 "\r\n"
                                 "100,0,1   # the input\r\n"
                                 "\t300 ,\t1, 2\r\n"
                                 "   \r\n"
                                 "+200,2,3\r\n"
                                 "50,3,4");  // no newline at the end
  for (const std::string s : {"none", "free-after-use", "pingpong", "greedy-by-size"}) {
    const json want = plan_json(write("chain.csv", kChain), s);
    EXPECT_EQ(plan_json(file, s), want) << s;
  }
}

TEST_F(PlanCli, FileWithoutIntervalsIsRefused) {
  for (const std::string text : {"", "size,first,last\n# nothing yet\n", "\n\n"}) {
    const std::string file = write("empty.csv", text);
    const ProcessResult r = plan({"--intervals", file, "--strategy", "greedy-by-size"});
    EXPECT_EQ(r.exit_code, 1) << text;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "cnnmem: error: --intervals " + file +
                         " has no intervals (only blank lines, comments or a header): add lines "
                         "of size,first,last\n");
  }
}

TEST_F(PlanCli, TextShowsTheBoundTheTableAndThePicture) {
  const ProcessResult r =
      plan({"--intervals", write("chain.csv", kChain), "--strategy", "free-after-use"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(r.out, HasSubstr("strategy           free-after-use\n"));
  EXPECT_THAT(r.out, HasSubstr("arena_bytes        600\n"));
  EXPECT_THAT(r.out, HasSubstr("lower_bound_bytes  500\n"));
  EXPECT_THAT(r.out, HasSubstr("100 bytes (20.00% of the lower bound): the allocator's"));
  // buffer 2: 200 bytes [2,3] at 400..600
  EXPECT_THAT(r.out, HasSubstr("       2                  200           2           3"
                               "                  400                  600\n"));
  // One row per op; a column is 10 bytes: buffer 2 fills columns 40-59 at op 2.
  EXPECT_THAT(r.out, HasSubstr("     2 |.........." + std::string(30, '1') + std::string(20, '2') +
                               "| 500\n"));
}

TEST_F(PlanCli, LongInputSaysHowManyRowsAreNotShown) {
  std::string text;
  for (int i = 0; i < 75; ++i) {
    text += "64," + std::to_string(i) + "," + std::to_string(i + 1) + "\n";
  }
  const ProcessResult r = plan({"--intervals", write("long.csv", text), "--strategy", "pingpong"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("arena_bytes        128\n"));
  EXPECT_THAT(r.out, HasSubstr("\n      49 "));
  EXPECT_THAT(r.out, Not(HasSubstr("\n      50 ")));
  EXPECT_THAT(r.out, HasSubstr("... 25 more buffers not shown (--json prints every offset)"));
  EXPECT_THAT(r.out, Not(HasSubstr("live bytes")));  // too many for a picture
  EXPECT_EQ(plan_json(write("long.csv", text), "pingpong")["offsets"].size(), 75u);
}

TEST_F(PlanCli, BadFilesAndStrategies) {
  const std::string file = write("chain.csv", kChain);
  expect_error({"--intervals", (dir_ / "missing.csv").string(), "--strategy", "none"},
               {"missing.csv", "cannot be opened", "--intervals"});
  expect_error({"--intervals", dir_.string(), "--strategy", "none"}, {"is a directory"});
  expect_error({"--intervals", file, "--strategy", "best"},
               {"\"best\"", "none, free-after-use, pingpong or greedy-by-size"});
  expect_error({"--intervals", file}, {"--strategy"});
  expect_error({"--strategy", "none"}, {"--intervals"});
}

// Each kind of bad line: exit 1 and one line that names the file, the line and the problem.
struct BadLine {
  std::string name;
  std::string text;                // the whole file
  int line;                        // the line the message must name
  std::vector<std::string> words;  // and words it must contain
};

// gtest prints parameters with PrintTo (its name, not ours).
void PrintTo(const BadLine& c, std::ostream* os) {  // NOLINT(readability-identifier-naming)
  *os << c.name;
}

class PlanCliBadLine : public PlanCli, public ::testing::WithParamInterface<BadLine> {};

TEST_P(PlanCliBadLine, NamesTheLine) {
  const BadLine& c = GetParam();
  const std::string file = write("bad.csv", c.text);
  std::vector<std::string> words = c.words;
  words.push_back("\"" + file + "\" line " + std::to_string(c.line) + ":");
  for (const std::string s : {"none", "greedy-by-size"}) {
    SCOPED_TRACE(s);
    expect_error({"--intervals", file, "--strategy", s, "--json"}, words);
  }
}

std::vector<BadLine> bad_lines() {
  return {
      {"negative_size", "size,first,last\n64,0,1\n-5,1,2\n", 3, {"size -5 is negative"}},
      {"negative_first", "64,0,1\n\n64,-1,2\n", 3, {"first op -1 is negative"}},
      {"negative_last", "64,0,-2\n", 1, {"last op -2 is negative"}},
      {"first_after_last", "# c\n64,0,1\n64,5,3\n", 3, {"first op 5 is after last op 3"}},
      {"size_word", "64,0,1\nabc,1,2\n", 2, {"size \"abc\" is not a whole number"}},
      {"size_fraction", "1.5,0,1\n", 1, {"size \"1.5\" is not a whole number"}},
      {"op_with_junk", "64,0,1x\n", 1, {"last op \"1x\" is not a whole number"}},
      {"empty_field", "64,,1\n", 1, {"first op is empty"}},
      {"two_fields", "64,0,1\n64,1\n", 2, {"expected 3 fields", "got 2"}},
      {"four_fields", "64,0,1,7\n", 1, {"expected 3 fields", "got 4"}},
      {"one_field", "64\n", 1, {"expected 3 fields", "got 1"}},
      {"size_overflow", "99999999999999999999,0,1\n", 1, {"size", "is too large"}},
      {"size_very_negative", "-99999999999999999999,0,1\n", 1, {"size", "is negative"}},
      {"op_overflow", "64,0,2147483648\n", 1, {"last op 2147483648 is too large"}},
      {"sizes_add_up_too_far",
       "9223372036854775807,0,0\n1,1,1\n",
       2,
       {"sizes add up to more than 9223372036854775807"}},
      {"second_header", "size,first,last\n64,0,1\nsize,first,last\n", 3, {"size \"size\""}},
      {"control_bytes", "64,0,1\n\x01\x02,1,2\n", 2, {"size \"??\" is not a whole number"}},
      {"long_field",
       "64,0,1\n64,1,2\n64,2," + std::string(100000, 'z') + "\n",
       3,
       {"last op \"" + std::string(32, 'z') + "...\" is not a whole number"}},
  };
}

INSTANTIATE_TEST_SUITE_P(PlanCliBadLines, PlanCliBadLine, ::testing::ValuesIn(bad_lines()),
                         [](const ::testing::TestParamInfo<BadLine>& param_info) {
                           return param_info.param.name;
                         });

}  // namespace
}  // namespace cnnmem::test
