// Planner: hand-worked cases with exact offsets for every strategy, and random lifetimes checked
// for overlap, against the lower bound, against a brute-force reference of greedy-by-size, and
// for the ordering greedy-by-size <= free-after-use <= none (and where that ordering breaks).
#include "framework/planner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <numeric>
#include <random>

#include "framework/error.h"

namespace cnnmem {
namespace {

using ::testing::HasSubstr;

constexpr Strategy kAllStrategies[] = {Strategy::kNone, Strategy::kFreeAfterUse,
                                       Strategy::kPingPong, Strategy::kGreedyBySize};

// Every buffer inside [0, arena_bytes), no two live ones sharing a byte, never below the bound.
void expect_valid_plan(const std::vector<Interval>& iv, const Plan& p, Strategy s) {
  SCOPED_TRACE(strategy_name(s));
  ASSERT_EQ(p.offsets.size(), iv.size());
  std::string why;
  EXPECT_FALSE(plan_has_overlap(iv, p, &why)) << why;
  EXPECT_GE(p.arena_bytes, lower_bound_bytes(iv));
  for (size_t i = 0; i < iv.size(); ++i) {
    EXPECT_GE(p.offsets[i], 0) << "buffer " << i;
    EXPECT_LE(p.offsets[i] + iv[i].size, p.arena_bytes) << "buffer " << i;
  }
}

// ---------------------------------------------------------------------------------------------
// none and greedy-by-size

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
  for (Strategy s : kAllStrategies) {
    SCOPED_TRACE(strategy_name(s));
    EXPECT_EQ(plan_buffers({}, s).arena_bytes, 0);
    const std::vector<Interval> iv = {{0, 0, 3}, {64, 1, 2}};
    const Plan p = plan_buffers(iv, s);
    EXPECT_EQ(p.offsets, (std::vector<int64_t>{0, 0}));
    EXPECT_EQ(p.arena_bytes, 64);
  }
  EXPECT_EQ(lower_bound_bytes({{0, 0, 3}, {64, 1, 2}}), 64);
}

// ---------------------------------------------------------------------------------------------
// free-after-use

TEST(Planner, FreeAfterUseBestFitThenCoalescedTopHole) {
  // 0 A 100 [0,1]   1 B 50 [0,3]   2 C 100 [1,2]   3 D 60 [2,4]   4 E 30 [3,4]   5 F 200 [4,5]
  // op 0: A -> 0, B -> 100 (top 150).
  // op 1: nothing ends before op 1 (A is still read at op 1); C -> 150 (top 250).
  // op 2: free A: hole [0,100). D(60) -> 0, leaving hole [60,100).
  // op 3: free C: hole [150,250), touching the top. E(30): best fit is [60,100) (40 < 100)
  //       -> 60, leaving [90,100).
  // op 4: free B [100,150): merges with [90,100) and [150,250) into [90,250). F(200) fits no
  //       hole (160 bytes), but that hole reaches the top: F starts at 90, top 290.
  // Live bytes: op0 150, op1 250, op2 210, op3 140, op4 D+E+F = 290, op5 200: bound 290.
  const std::vector<Interval> iv = {{100, 0, 1}, {50, 0, 3}, {100, 1, 2},
                                    {60, 2, 4},  {30, 3, 4}, {200, 4, 5}};
  const Plan p = plan_buffers(iv, Strategy::kFreeAfterUse);
  EXPECT_EQ(p.offsets, (std::vector<int64_t>{0, 100, 150, 0, 60, 90}));
  EXPECT_EQ(p.arena_bytes, 290);
  EXPECT_EQ(lower_bound_bytes(iv), 290);
  expect_valid_plan(iv, p, Strategy::kFreeAfterUse);
}

TEST(Planner, FreeAfterUseFragmentsWhereGreedyDoesNot) {
  // 0 A 100 [0,1]   1 B 100 [0,2]   2 C 200 [2,3]
  // free-after-use: A -> 0, B -> 100 (top 200); at op 2 A frees [0,100), too small for C, and
  // B above it keeps it from the top: C -> 200, top 400. Bound: op 2 holds B + C = 300, so
  // 100 bytes of fragmentation.
  // greedy-by-size: C (largest) -> 0; A does not meet C -> 0; B meets both -> 200. 300 bytes.
  const std::vector<Interval> iv = {{100, 0, 1}, {100, 0, 2}, {200, 2, 3}};
  const Plan fau = plan_buffers(iv, Strategy::kFreeAfterUse);
  EXPECT_EQ(fau.offsets, (std::vector<int64_t>{0, 100, 200}));
  EXPECT_EQ(fau.arena_bytes, 400);
  const Plan greedy = plan_buffers(iv, Strategy::kGreedyBySize);
  EXPECT_EQ(greedy.offsets, (std::vector<int64_t>{0, 200, 0}));
  EXPECT_EQ(greedy.arena_bytes, 300);
  EXPECT_EQ(lower_bound_bytes(iv), 300);
}

TEST(Planner, FreeAfterUseAllocatesInInputOrderNotLargestFirst) {
  // 0 H 100 [0,0]   1 K 10 [0,1]   2 a 20 [1,1]   3 b 100 [1,1]
  // op 0: H -> 0, K -> 100 (top 110). op 1: free H: hole [0,100). In input order a(20) comes
  // first and takes the hole -> 0, leaving [20,100) (ends below K, not at the top); b(100)
  // fits nowhere -> 110, top 210. (Largest first would have put b at 0 and a at 110: 130.)
  const std::vector<Interval> iv = {{100, 0, 0}, {10, 0, 1}, {20, 1, 1}, {100, 1, 1}};
  const Plan p = plan_buffers(iv, Strategy::kFreeAfterUse);
  EXPECT_EQ(p.offsets, (std::vector<int64_t>{0, 100, 0, 110}));
  EXPECT_EQ(p.arena_bytes, 210);
  EXPECT_EQ(lower_bound_bytes(iv), 130);
}

TEST(Planner, FreeAfterUseBestFitTieTakesTheLowestHole) {
  // 0 P 50 [0,0]   1 Q 10 [0,1]   2 R 50 [0,0]   3 S 10 [0,1]   4 T 40 [1,1]   5 U 40 [1,1]
  // op 0: P 0, Q 50, R 60, S 110 (top 120). op 1: holes [0,50) and [60,110), both 50 bytes:
  // T takes the lower -> 0 (leaving [40,50), 10 bytes), U the best fit left -> 60.
  const std::vector<Interval> iv = {{50, 0, 0}, {10, 0, 1}, {50, 0, 0},
                                    {10, 0, 1}, {40, 1, 1}, {40, 1, 1}};
  const Plan p = plan_buffers(iv, Strategy::kFreeAfterUse);
  EXPECT_EQ(p.offsets, (std::vector<int64_t>{0, 50, 60, 110, 0, 60}));
  EXPECT_EQ(p.arena_bytes, 120);
}

TEST(Planner, GreedyCanLoseToFreeAfterUseOnAChain) {
  // Greedy-by-size is a heuristic, not optimal: on this chain free-after-use reaches the bound
  // and greedy does not. So "greedy <= free-after-use" holds on most inputs, not all.
  // 0 A 100 [0,1]   1 B 10 [1,2]   2 C 100 [2,3]   3 D 105 [3,4]; bound: op 3, C + D = 205.
  // greedy: D -> 0; A does not meet D -> 0; C meets D -> 105; B meets A [0,100) and
  //   C [105,205): the 5-byte gap is too small -> 205. Arena 215.
  // free-after-use: A -> 0, B -> 100 (top 110); op 2: A's hole takes C -> 0; op 3: B frees
  //   [100,110) at the top, D starts there -> 100, top 205.
  const std::vector<Interval> iv = {{100, 0, 1}, {10, 1, 2}, {100, 2, 3}, {105, 3, 4}};
  const Plan greedy = plan_buffers(iv, Strategy::kGreedyBySize);
  EXPECT_EQ(greedy.offsets, (std::vector<int64_t>{0, 205, 105, 0}));
  EXPECT_EQ(greedy.arena_bytes, 215);
  const Plan fau = plan_buffers(iv, Strategy::kFreeAfterUse);
  EXPECT_EQ(fau.offsets, (std::vector<int64_t>{0, 100, 0, 100}));
  EXPECT_EQ(fau.arena_bytes, 205);
  EXPECT_EQ(lower_bound_bytes(iv), 205);
}

// ---------------------------------------------------------------------------------------------
// pingpong

TEST(Planner, PingPongHandWorkedChain) {
  // 0 A 100 [0,1]   1 B 300 [1,2]   2 C 200 [2,3]   3 D 50 [3,4]
  // A: nothing live -> slot 0. B: A holds slot 0 at op 1 -> slot 1. C: B holds slot 1 -> 0.
  // D: C holds slot 0 -> 1. Slot 0 = max(100, 200) = 200 at 0; slot 1 = max(300, 50) = 300
  // at 200. Bound: op 2, B + C = 500 = the arena.
  const std::vector<Interval> iv = {{100, 0, 1}, {300, 1, 2}, {200, 2, 3}, {50, 3, 4}};
  const Plan p = plan_buffers(iv, Strategy::kPingPong);
  EXPECT_EQ(p.offsets, (std::vector<int64_t>{0, 200, 0, 200}));
  EXPECT_EQ(p.arena_bytes, 500);
  EXPECT_EQ(lower_bound_bytes(iv), 500);
}

TEST(Planner, PingPongOrdersByFirstUseAndAlternatesAcrossGaps) {
  // Input order is not first-use order: 0 X 64 [2,2]   1 Y 128 [0,0]   2 Z 32 [1,3]
  // 3 W 64 [4,4]. By first use: Y, Z, X, W.
  // Y: nothing live -> slot 0. Z: nothing live at op 1 -> the other slot than Y's: 1.
  // X: Z holds slot 1 at op 2 -> 0. W: nothing live at op 4 -> the other slot than X's: 1.
  // Slot 0 = max(128, 64) = 128 at 0; slot 1 = max(32, 64) = 64 at 128. Arena 192, bound 128.
  const std::vector<Interval> iv = {{64, 2, 2}, {128, 0, 0}, {32, 1, 3}, {64, 4, 4}};
  const Plan p = plan_buffers(iv, Strategy::kPingPong);
  EXPECT_EQ(p.offsets, (std::vector<int64_t>{0, 0, 128, 128}));
  EXPECT_EQ(p.arena_bytes, 192);
  EXPECT_EQ(lower_bound_bytes(iv), 128);
}

TEST(Planner, PingPongRejectsThreeLiveBuffers) {
  // A residual block: x [0,2] is read by conv (op 1) and by add (op 2); conv's output [1,2];
  // add's output [2,3]. At op 2, x, conv's output and add's output are all live.
  const std::vector<Interval> residual = {{64, 0, 2}, {64, 1, 2}, {64, 2, 3}};
  try {
    plan_buffers(residual, Strategy::kPingPong);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "pingpong needs a chain: 3 buffers are live at op 2; use greedy-by-size");
  }
  // The first op with too many is named, with its count; zero-sized buffers do not count.
  const std::vector<Interval> wide = {{64, 5, 9}, {0, 0, 9}, {64, 6, 9}, {64, 7, 9}, {64, 7, 9}};
  try {
    plan_buffers(wide, Strategy::kPingPong);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("4 buffers are live at op 7"));
  }
  EXPECT_NO_THROW(plan_buffers({{64, 0, 1}, {64, 1, 2}, {0, 1, 1}}, Strategy::kPingPong));
}

// ---------------------------------------------------------------------------------------------
// Shared behaviour

TEST(Planner, SizesThatOverflowAreAnError) {
  const std::vector<Interval> iv = {{INT64_MAX - 10, 0, 0}, {11, 1, 1}};
  for (Strategy s : kAllStrategies) {
    EXPECT_THROW(plan_buffers(iv, s), Error) << strategy_name(s);
  }
  EXPECT_THROW(lower_bound_bytes(iv), Error);
  const std::vector<Interval> fits = {{INT64_MAX - 11, 0, 0}, {11, 1, 1}};
  EXPECT_EQ(plan_buffers(fits, Strategy::kNone).arena_bytes, INT64_MAX);
  EXPECT_EQ(plan_buffers(fits, Strategy::kGreedyBySize).arena_bytes, INT64_MAX - 11);
}

TEST(Planner, OpIndicesUpToIntMax) {
  const std::vector<Interval> iv = {{64, INT_MAX - 1, INT_MAX}, {32, INT_MAX, INT_MAX}};
  EXPECT_EQ(lower_bound_bytes(iv), 96);
  for (Strategy s : kAllStrategies) {
    const Plan p = plan_buffers(iv, s);
    EXPECT_EQ(p.arena_bytes, 96) << strategy_name(s);
    expect_valid_plan(iv, p, s);
  }
}

TEST(Planner, OverlapCheckNamesTheFirstPair) {
  const std::vector<Interval> iv = {{64, 0, 1}, {64, 2, 3}, {64, 1, 2}, {64, 3, 3}};
  Plan p;
  // Live together: 0 and 2 (op 1), 1 and 2 (op 2), 1 and 3 (op 3).
  p.offsets = {0, 0, 32, 32};  // 0 and 2 share [32,64); so do 1 and 2, and 1 and 3
  p.arena_bytes = 96;
  std::string why;
  EXPECT_TRUE(plan_has_overlap(iv, p, &why));
  EXPECT_EQ(why, "buffers 0 and 2 overlap");
  p.offsets = {0, 0, 64, 0};  // only 1 and 3 (both live at op 3) share [0,64)
  EXPECT_TRUE(plan_has_overlap(iv, p, &why));
  EXPECT_EQ(why, "buffers 1 and 3 overlap");
  p.offsets = {0, 0, 64, 64};  // 2 and 3 share bytes but are never live together
  EXPECT_FALSE(plan_has_overlap(iv, p, &why));
}

TEST(Planner, PictureDrawsOneRowPerOp) {
  const std::vector<Interval> iv = {{1024, 0, 2}, {512, 1, 3}, {1024, 3, 4}};
  const Plan p = plan_buffers(iv, Strategy::kGreedyBySize);  // offsets 0, 1024, 0
  EXPECT_EQ(plan_picture(iv, p, 6),
            "    op |------| live bytes\n"
            "     0 |0000..| 1024\n"
            "     1 |000011| 1536\n"
            "     2 |000011| 1536\n"
            "     3 |222211| 1536\n"
            "     4 |2222..| 1024\n"
            "       one column = 256 bytes; arena_bytes = 1536\n");
}

TEST(Planner, ParseStrategy) {
  EXPECT_EQ(parse_strategy("none"), Strategy::kNone);
  EXPECT_EQ(parse_strategy("free-after-use"), Strategy::kFreeAfterUse);
  EXPECT_EQ(parse_strategy("pingpong"), Strategy::kPingPong);
  EXPECT_EQ(parse_strategy("greedy-by-size"), Strategy::kGreedyBySize);
  for (Strategy s : kAllStrategies) EXPECT_EQ(parse_strategy(strategy_name(s)), s);
  try {
    parse_strategy("pingpong-ish");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "unknown planner strategy \"pingpong-ish\": use none, free-after-use, pingpong "
                 "or greedy-by-size");
  }
}

// ---------------------------------------------------------------------------------------------
// Random lifetimes

std::vector<Interval> random_lifetimes(std::mt19937& rng) {
  const int n = 1 + static_cast<int>(rng() % 40);
  const int ops = 1 + static_cast<int>(rng() % 30);
  std::vector<Interval> iv;
  for (int i = 0; i < n; ++i) {
    const int a = static_cast<int>(rng() % static_cast<unsigned>(ops));
    const int b = static_cast<int>(rng() % static_cast<unsigned>(ops));
    iv.push_back({64 * (1 + static_cast<int64_t>(rng() % 100)), std::min(a, b), std::max(a, b)});
  }
  return iv;
}

// A chain: buffer i is written by op i and read by op i + 1 (sometimes only by op i, leaving a
// gap), so at most two are live at any op. Shuffled, so input order is not first-use order.
std::vector<Interval> random_chain(std::mt19937& rng) {
  const int n = 1 + static_cast<int>(rng() % 40);
  std::vector<Interval> iv;
  for (int i = 0; i < n; ++i) {
    const bool gap = rng() % 5 == 0;
    iv.push_back({64 * (1 + static_cast<int64_t>(rng() % 100)), i, gap ? i : i + 1});
  }
  std::shuffle(iv.begin(), iv.end(), rng);
  return iv;
}

// greedy-by-size as first written: every placed buffer scanned for each new one (O(n^2)).
Plan reference_greedy(const std::vector<Interval>& iv) {
  std::vector<size_t> order(iv.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return iv[a].size != iv[b].size ? iv[a].size > iv[b].size : iv[a].first < iv[b].first;
  });
  Plan plan;
  plan.offsets.assign(iv.size(), 0);
  std::vector<size_t> placed;
  for (size_t idx : order) {
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (size_t p : placed) {
      if (iv[idx].first <= iv[p].last && iv[p].first <= iv[idx].last) {
        busy.emplace_back(plan.offsets[p], plan.offsets[p] + iv[p].size);
      }
    }
    std::sort(busy.begin(), busy.end());
    int64_t best = -1, best_gap = 0, cursor = 0;
    for (const auto& [begin, end] : busy) {
      if (begin - cursor >= iv[idx].size && (best < 0 || begin - cursor < best_gap)) {
        best = cursor;
        best_gap = begin - cursor;
      }
      cursor = std::max(cursor, end);
    }
    plan.offsets[idx] = best >= 0 ? best : cursor;
    plan.arena_bytes = std::max(plan.arena_bytes, plan.offsets[idx] + iv[idx].size);
    placed.push_back(idx);
  }
  return plan;
}

TEST(Planner, RandomLifetimesNeverOverlapAndNeverBeatTheBound) {
  std::mt19937 rng(42);
  for (int trial = 0; trial < 3000; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const std::vector<Interval> iv = random_lifetimes(rng);
    int64_t total = 0;
    for (const Interval& v : iv) total += v.size;
    for (Strategy s : {Strategy::kNone, Strategy::kFreeAfterUse, Strategy::kGreedyBySize}) {
      const Plan p = plan_buffers(iv, s);
      expect_valid_plan(iv, p, s);
      EXPECT_LE(p.arena_bytes, total);
      if (HasFailure()) return;
    }
    EXPECT_EQ(plan_buffers(iv, Strategy::kNone).arena_bytes, total);
  }
}

TEST(Planner, GreedyMatchesTheQuadraticReference) {
  // The lifetime index must find exactly the placed buffers the full scan finds.
  std::mt19937 rng(7);
  for (int trial = 0; trial < 2000; ++trial) {
    const std::vector<Interval> iv = trial % 2 ? random_lifetimes(rng) : random_chain(rng);
    const Plan want = reference_greedy(iv);
    const Plan got = plan_buffers(iv, Strategy::kGreedyBySize);
    ASSERT_EQ(got.offsets, want.offsets) << "trial " << trial;
    ASSERT_EQ(got.arena_bytes, want.arena_bytes) << "trial " << trial;
  }
}

TEST(Planner, GreedyMatchesTheQuadraticReferenceOnLargeMixedLifetimes) {
  // Thousands of short chain-like lifetimes with some long ones: plan_buffers switches between
  // looking up the overlapping buffers (sparse) and walking all placed ones (dense) per buffer;
  // both must give the reference's offsets.
  std::mt19937 rng(13);
  for (int trial = 0; trial < 3; ++trial) {
    std::vector<Interval> iv;
    for (int op = 0; iv.size() < 3000; ++op) {
      const int span =
          rng() % 50 == 0 ? 100 + static_cast<int>(rng() % 1000) : 1 + static_cast<int>(rng() % 3);
      iv.push_back({64 * (1 + static_cast<int64_t>(rng() % 1000)), op, op + span});
    }
    const Plan got = plan_buffers(iv, Strategy::kGreedyBySize);
    ASSERT_EQ(got.offsets, reference_greedy(iv).offsets) << "trial " << trial;
    expect_valid_plan(iv, got, Strategy::kGreedyBySize);
  }
}

TEST(Planner, OverlapCheckAgreesWithThePairwiseScan) {
  // Random (mostly bad) plans: the indexed check and a scan of all pairs agree.
  std::mt19937 rng(11);
  int overlapping = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    const std::vector<Interval> iv = random_lifetimes(rng);
    Plan p;
    for (size_t i = 0; i < iv.size(); ++i) p.offsets.push_back(64 * (rng() % 200));
    bool want = false;
    for (size_t a = 0; a < iv.size() && !want; ++a) {
      for (size_t b = a + 1; b < iv.size() && !want; ++b) {
        want = iv[a].first <= iv[b].last && iv[b].first <= iv[a].last &&
               p.offsets[a] < p.offsets[b] + iv[b].size && p.offsets[b] < p.offsets[a] + iv[a].size;
      }
    }
    std::string why;
    ASSERT_EQ(plan_has_overlap(iv, p, &why), want) << "trial " << trial;
    overlapping += want;
  }
  EXPECT_GT(overlapping, 100);  // both answers were exercised
  EXPECT_LT(overlapping, 1900);
}

TEST(Planner, RandomChainsPingPongIsValid) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 3000; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const std::vector<Interval> iv = random_chain(rng);
    const Plan p = plan_buffers(iv, Strategy::kPingPong);
    expect_valid_plan(iv, p, Strategy::kPingPong);
    // Two slots, each as large as its largest buffer: slot 0 at 0, slot 1 right after it.
    int64_t slot0 = 0, slot1 = 0;
    for (size_t i = 0; i < iv.size(); ++i) {
      if (p.offsets[i] == 0) slot0 = std::max(slot0, iv[i].size);
    }
    for (size_t i = 0; i < iv.size(); ++i) {
      if (p.offsets[i] == 0) continue;
      EXPECT_EQ(p.offsets[i], slot0) << "buffer " << i;
      slot1 = std::max(slot1, iv[i].size);
    }
    EXPECT_EQ(p.arena_bytes, slot0 + slot1);
    if (HasFailure()) return;
  }
}

TEST(Planner, RandomChainsGreedyUsuallyBeatsFreeAfterUseWhichAlwaysBeatsNone) {
  // free-after-use <= none always: each allocation grows the block by at most its own size.
  // greedy-by-size <= free-after-use only usually: both are heuristics, and on some chains the
  // dynamic allocator's order-of-use placement wins (GreedyCanLoseToFreeAfterUseOnAChain).
  // Measured with this seed: greedy <= free-after-use on about 86% of the chains, and greedy
  // uses fewer bytes in total.
  std::mt19937 rng(5);
  constexpr int kTrials = 5000;
  int greedy_wins = 0;
  int64_t greedy_total = 0, fau_total = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    const int n = 2 + static_cast<int>(rng() % 30);
    std::vector<Interval> iv(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      iv[static_cast<size_t>(i)] = {64 * (1 + static_cast<int64_t>(rng() % 100)), i, i + 1};
    }
    const int64_t none = plan_buffers(iv, Strategy::kNone).arena_bytes;
    const int64_t fau = plan_buffers(iv, Strategy::kFreeAfterUse).arena_bytes;
    const int64_t greedy = plan_buffers(iv, Strategy::kGreedyBySize).arena_bytes;
    ASSERT_LE(fau, none) << "trial " << trial;
    ASSERT_LE(greedy, none) << "trial " << trial;
    greedy_wins += greedy <= fau;
    greedy_total += greedy;
    fau_total += fau;
  }
  EXPECT_GE(greedy_wins, kTrials * 8 / 10);
  EXPECT_LT(greedy_wins, kTrials);  // the ordering does fail sometimes (see the hand case)
  EXPECT_LT(greedy_total, fau_total);
}

}  // namespace
}  // namespace cnnmem
