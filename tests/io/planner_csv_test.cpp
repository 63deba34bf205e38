// Tests for io/planner_csv.h: the accepted syntax, and every rejection with its line number.
//
// Text is parsed from std::istringstream; only the file-level errors touch the disk (a
// per-process temporary directory).
// Not here: the planners (tests/framework/planner_test.cpp) or the `plan` command's output
// (tests/apps/plan_cli_test.cpp).
#include "io/planner_csv.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "framework/error.h"
#include "tests/util/temp_dir.h"

namespace cnnmem {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::vector<Interval> parse(const std::string& text) {
  std::istringstream in(text);
  return parse_planner_csv(in, "t.csv");
}

// Parsing `text` throws one line naming t.csv and `line`, and containing `word`.
void expect_rejected(const std::string& text, int line, const std::string& word) {
  SCOPED_TRACE(text.substr(0, 80));
  try {
    parse(text);
    ADD_FAILURE() << "expected cnnmem::Error containing \"" << word << "\", nothing was thrown";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(),
                HasSubstr("intervals file \"t.csv\" line " + std::to_string(line) + ": "));
    EXPECT_THAT(e.what(), HasSubstr(word));
    EXPECT_THAT(e.what(), HasSubstr("each line is size,first,last"));
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

bool same(const std::vector<Interval>& a, const std::vector<Interval>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].size != b[i].size || a[i].first != b[i].first || a[i].last != b[i].last) return false;
  }
  return true;
}

TEST(PlannerCsvTest, ParsesLinesHeaderCommentsAndSpaces) {
  EXPECT_TRUE(same(parse("size,first,last\n100,0,1\n300,1,2\n"), {{100, 0, 1}, {300, 1, 2}}));
  EXPECT_TRUE(same(parse("# lifetimes\r\n\r\n size , first , last \r\n\t7 ,\t3, 3 # one op\r\n"
                         "+9,0,2147483647"),
                   {{7, 3, 3}, {9, 0, 2147483647}}));
  EXPECT_TRUE(same(parse("9223372036854775807,0,0\n"), {{INT64_MAX, 0, 0}}));
  EXPECT_TRUE(parse("").empty());
  EXPECT_TRUE(parse("a,b,c\n# only a header\n").empty());
}

TEST(PlannerCsvTest, RejectsZeroAndNegativeSizes) {
  expect_rejected("64,0,1\n0,1,2\n", 2, "size is 0; a buffer of 0 bytes is never live");
  expect_rejected("-5,1,2\n", 1, "size -5 is negative");
  expect_rejected("-0,1,2\n", 1, "size is 0");
  expect_rejected("64,-1,2\n", 1, "first op -1 is negative");
  expect_rejected("64,0,-2\n", 1, "last op -2 is negative");
}

TEST(PlannerCsvTest, RejectsLastBeforeFirst) {
  expect_rejected("# c\n64,0,1\n64,5,3\n", 3, "first op 5 is after last op 3");
}

TEST(PlannerCsvTest, RejectsNonNumericFields) {
  expect_rejected("64,0,1\nabc,1,2\n", 2, "size \"abc\" is not a whole number");
  expect_rejected("1.5,0,1\n", 1, "size \"1.5\" is not a whole number");
  expect_rejected("1e3,0,1\n", 1, "size \"1e3\" is not a whole number");
  expect_rejected("0x10,0,1\n", 1, "size \"0x10\" is not a whole number");
  expect_rejected("64,0,1x\n", 1, "last op \"1x\" is not a whole number");
  expect_rejected("64,+-1,1\n", 1, "first op \"+-1\" is not a whole number");
  expect_rejected("64,1 2,3\n", 1, "first op \"1 2\" is not a whole number");
  expect_rejected("size,first,last\n64,0,1\nsize,first,last\n", 3, "size \"size\"");
  expect_rejected("64,0,1\n\x01\x02,1,2\n", 2, "size \"??\" is not a whole number");
  expect_rejected("64,0," + std::string(1000, 'z') + "\n", 1,
                  "last op \"" + std::string(32, 'z') + "...\" is not a whole number");
}

TEST(PlannerCsvTest, RejectsOverflowingNumbers) {
  expect_rejected("99999999999999999999,0,1\n", 1, "is too large (at most 9223372036854775807)");
  expect_rejected("-99999999999999999999,0,1\n", 1, "is negative");
  expect_rejected("64,2147483648,2147483648\n", 1, "first op 2147483648 is too large");
  expect_rejected("64,0,99999999999999999999\n", 1, "last op \"99999999999999999999\" is too");
  expect_rejected("9223372036854775807,0,0\n1,1,1\n", 2,
                  "the sizes add up to more than 9223372036854775807 bytes");
}

TEST(PlannerCsvTest, RejectsMissingAndExtraColumns) {
  expect_rejected("64,0,1\n64,1\n", 2, "expected 3 fields, got 2");
  expect_rejected("64\n", 1, "expected 3 fields, got 1");
  expect_rejected("64,0,1,7\n", 1, "expected 3 fields, got 4");
  expect_rejected("64,,1\n", 1, "first op is empty");
  expect_rejected(",0,1\n", 1, "size is empty");
  expect_rejected("64,0,\n", 1, "last op is empty");
}

TEST(PlannerCsvTest, ReadsFilesAndRejectsMissingOnesAndDirectories) {
  const fs::path dir = test::fresh_temp_dir(test::current_test_name());
  const std::string path = (dir / "a.csv").string();
  test::write_file(path, "10,0,0\n20,0,1\n");
  EXPECT_TRUE(same(read_planner_csv(path), {{10, 0, 0}, {20, 0, 1}}));
  try {
    read_planner_csv((dir / "missing.csv").string());
    ADD_FAILURE() << "a missing file was read";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("missing.csv\" cannot be opened: No such file or directory"));
  }
  try {
    read_planner_csv(dir.string());
    ADD_FAILURE() << "a directory was read";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("is a directory, not a CSV file"));
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cnnmem
