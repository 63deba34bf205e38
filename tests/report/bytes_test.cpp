// The one byte formatter (report/bytes.h): digit grouping, the largest readable unit from B to
// TiB, and the "N B (human)" form of the reports.
#include "report/bytes.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace cnnmem {
namespace {

TEST(Bytes, GroupsDigitsInThrees) {
  EXPECT_EQ(grouped(0), "0");
  EXPECT_EQ(grouped(999), "999");
  EXPECT_EQ(grouped(1000), "1,000");
  EXPECT_EQ(grouped(553430176), "553,430,176");
  EXPECT_EQ(grouped(-1234567), "-1,234,567");
  EXPECT_EQ(grouped(std::numeric_limits<int64_t>::min()), "-9,223,372,036,854,775,808");
}

TEST(Bytes, UsesTheLargestUnitThatKeepsTheNumberAtOneOrMore) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(1023), "1023 B");
  EXPECT_EQ(human_bytes(1024), "1.0 KiB");
  EXPECT_EQ(human_bytes(1605632), "1.5 MiB");
  EXPECT_EQ(human_bytes(553823424), "528.2 MiB");
  EXPECT_EQ(human_bytes(2353005824), "2.19 GiB");
  // A terabyte is 0.91 TiB: 931.32 GiB, not "953674.3 MiB".
  EXPECT_EQ(human_bytes(1000000000000), "931.32 GiB");
  EXPECT_EQ(human_bytes(int64_t{1} << 40), "1.00 TiB");
  EXPECT_EQ(human_bytes(int64_t{5} << 50), "5120.00 TiB");
  EXPECT_EQ(human_bytes(-3 * 1048576), "-3.0 MiB");
}

TEST(Bytes, ReportFormPutsTheExactCountFirst) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(240), "240 B");
  EXPECT_EQ(format_bytes(-240), "-240 B");
  EXPECT_EQ(format_bytes(553823424), "553,823,424 B (528.2 MiB)");
  EXPECT_EQ(format_bytes(int64_t{1} << 40), "1,099,511,627,776 B (1.00 TiB)");
  EXPECT_EQ(format_bytes(-1605632), "-1,605,632 B (-1.5 MiB)");
}

}  // namespace
}  // namespace cnnmem
