// Planner speed and quality on 10,000 buffers: each strategy places a seeded set of lifetimes;
// items/s counts buffers placed, `arena/bound` is arena_bytes over the lower bound (1 = perfect).
//
// Workloads (all seeded, sizes log-uniform from 64 B to 4 MiB in 64-byte steps):
//   realistic  a training-like step: each op writes one buffer read by the next 1-3 ops, 30% of
//              ops also a workspace buffer used only there, and 1% of buffers kept for a long
//              stretch (saved activations) of 1/8 to 1/2 of the step;
//   chain      buffer i lives [i, i+1] (an inference chain; the only one pingpong accepts);
//   dense      random [first, last] over 200 ops, so about a third of all pairs overlap: the worst
//              case of greedy-by-size, whose cost follows the number of overlapping pairs.
// Run: build-plan/planner_bench  (or --benchmark_filter=greedy)
// Not here: correctness (tests/framework/planner_test.cpp).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "framework/planner.h"

namespace cnnmem {
namespace {

constexpr int kBuffers = 10000;

int64_t random_size(std::mt19937& rng) {
  // log-uniform in [64 B, 4 MiB], a multiple of 64
  std::uniform_real_distribution<double> log2_size(6.0, 22.0);
  const auto bytes = static_cast<int64_t>(std::exp2(log2_size(rng)));
  return std::max<int64_t>(64, bytes / 64 * 64);
}

std::vector<Interval> realistic(int n) {
  std::mt19937 rng(1234);
  std::vector<Interval> iv;
  iv.reserve(static_cast<size_t>(n));
  for (int op = 0; static_cast<int>(iv.size()) < n; ++op) {
    if (rng() % 100 == 0) {
      const int span = n / 8 + static_cast<int>(rng() % static_cast<unsigned>(3 * n / 8));
      iv.push_back({random_size(rng), op, op + span});
    } else {
      iv.push_back({random_size(rng), op, op + 1 + static_cast<int>(rng() % 3)});
    }
    if (rng() % 10 < 3 && static_cast<int>(iv.size()) < n) iv.push_back({random_size(rng), op, op});
  }
  return iv;
}

std::vector<Interval> chain(int n) {
  std::mt19937 rng(99);
  std::vector<Interval> iv(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) iv[static_cast<size_t>(i)] = {random_size(rng), i, i + 1};
  return iv;
}

std::vector<Interval> dense(int n) {
  std::mt19937 rng(7);
  std::vector<Interval> iv;
  for (int i = 0; i < n; ++i) {
    const int a = static_cast<int>(rng() % 200);
    const int b = static_cast<int>(rng() % 200);
    iv.push_back({random_size(rng), std::min(a, b), std::max(a, b)});
  }
  return iv;
}

void bm_plan(benchmark::State& state, Strategy strategy, std::vector<Interval> (*make)(int)) {
  const std::vector<Interval> iv = make(kBuffers);
  const int64_t bound = lower_bound_bytes(iv);
  Plan plan;
  for (auto _ : state) {
    plan = plan_buffers(iv, strategy);
    benchmark::DoNotOptimize(plan.offsets.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(iv.size()));
  state.counters["arena/bound"] =
      static_cast<double>(plan.arena_bytes) / static_cast<double>(bound);
  state.counters["arena_MiB"] = static_cast<double>(plan.arena_bytes) / (1 << 20);
}

// What `cnnmem plan` runs besides the planner: the bound and the overlap self-check.
void bm_bound_and_check(benchmark::State& state, std::vector<Interval> (*make)(int)) {
  const std::vector<Interval> iv = make(kBuffers);
  const Plan plan = plan_buffers(iv, Strategy::kGreedyBySize);
  for (auto _ : state) {
    benchmark::DoNotOptimize(lower_bound_bytes(iv));
    std::string why;
    benchmark::DoNotOptimize(plan_has_overlap(iv, plan, &why));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(iv.size()));
}

BENCHMARK_CAPTURE(bm_plan, none_realistic, Strategy::kNone, realistic)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bm_plan, free_after_use_realistic, Strategy::kFreeAfterUse, realistic)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bm_plan, greedy_by_size_realistic, Strategy::kGreedyBySize, realistic)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bm_plan, none_chain, Strategy::kNone, chain)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bm_plan, free_after_use_chain, Strategy::kFreeAfterUse, chain)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bm_plan, pingpong_chain, Strategy::kPingPong, chain)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bm_plan, greedy_by_size_chain, Strategy::kGreedyBySize, chain)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bm_plan, free_after_use_dense, Strategy::kFreeAfterUse, dense)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bm_plan, greedy_by_size_dense, Strategy::kGreedyBySize, dense)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bm_bound_and_check, realistic, realistic)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bm_bound_and_check, dense, dense)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace cnnmem

BENCHMARK_MAIN();
