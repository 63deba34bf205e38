// Planner: hand-worked cases with exact offsets, and random lifetimes checked for overlap and
// against the lower bound.
#include "framework/planner.h"

#include <gtest/gtest.h>

#include <random>

#include "framework/error.h"

namespace cnnmem {
namespace {

TEST(Planner, GreedyHandWorkedThreeBuffers) {
  // A [0,2] 1024, B [1,3] 512, C [3,4] 1024. Largest first: A at 0; C does not meet A, so it
  // reuses 0; B meets both and goes above them.
  const std::vector<Interval> iv = {{1024, 0, 2}, {512, 1, 3}, {1024, 3, 4}};
  const Plan p = plan_buffers(iv, Strategy::kGreedyBySize);
  EXPECT_EQ(p.offsets, (std::vector<int64_t>{0, 1024, 0}));
  EXPECT_EQ(p.arena_bytes, 1536);
  EXPECT_EQ(lower_bound_bytes(iv), 1536);
}

TEST(Planner, GreedyHandWorkedChainUsesBestFitGap) {
  // A chain where each buffer meets the next: D(400) at 0, C(300) above it at 400, B(200) fits
  // the gap below C (C and D never meet B... B meets C only) at 0, A(100) meets B -> 200.
  const std::vector<Interval> iv = {{100, 0, 1}, {200, 1, 2}, {300, 2, 3}, {400, 3, 4}};
  const Plan p = plan_buffers(iv, Strategy::kGreedyBySize);
  EXPECT_EQ(p.offsets, (std::vector<int64_t>{200, 0, 400, 0}));
  EXPECT_EQ(p.arena_bytes, 700);
  EXPECT_EQ(lower_bound_bytes(iv), 700);
}

TEST(Planner, NoneGivesEveryBufferItsOwnBytes) {
  const std::vector<Interval> iv = {{64, 0, 0}, {128, 1, 1}, {64, 2, 2}};
  const Plan p = plan_buffers(iv, Strategy::kNone);
  EXPECT_EQ(p.offsets, (std::vector<int64_t>{0, 64, 192}));
  EXPECT_EQ(p.arena_bytes, 256);
  EXPECT_EQ(lower_bound_bytes(iv), 128);
}

TEST(Planner, EmptyAndZeroSized) {
  EXPECT_EQ(plan_buffers({}, Strategy::kGreedyBySize).arena_bytes, 0);
  const std::vector<Interval> iv = {{0, 0, 3}, {64, 1, 2}};
  const Plan p = plan_buffers(iv, Strategy::kGreedyBySize);
  EXPECT_EQ(p.arena_bytes, 64);
  EXPECT_EQ(lower_bound_bytes(iv), 64);
}

TEST(Planner, RandomLifetimesNeverOverlapAndNeverBeatTheBound) {
  std::mt19937 rng(42);
  for (int trial = 0; trial < 2000; ++trial) {
    const int n = 1 + static_cast<int>(rng() % 40);
    const int ops = 1 + static_cast<int>(rng() % 30);
    std::vector<Interval> iv;
    for (int i = 0; i < n; ++i) {
      const int a = static_cast<int>(rng() % static_cast<unsigned>(ops));
      const int b = static_cast<int>(rng() % static_cast<unsigned>(ops));
      iv.push_back({64 * (1 + static_cast<int64_t>(rng() % 100)), std::min(a, b), std::max(a, b)});
    }
    const int64_t bound = lower_bound_bytes(iv);
    for (Strategy s : {Strategy::kNone, Strategy::kGreedyBySize}) {
      const Plan p = plan_buffers(iv, s);
      std::string why;
      ASSERT_FALSE(plan_has_overlap(iv, p, &why)) << why << " (trial " << trial << ")";
      ASSERT_GE(p.arena_bytes, bound);
    }
  }
}

TEST(Planner, ParseStrategy) {
  EXPECT_EQ(parse_strategy("none"), Strategy::kNone);
  EXPECT_EQ(parse_strategy("greedy-by-size"), Strategy::kGreedyBySize);
  EXPECT_THROW(parse_strategy("pingpong-ish"), Error);
}

}  // namespace
}  // namespace cnnmem
