// Google Benchmark's side of the suites in bench/: the main every *_bench.cpp runs (register,
// read the flags, run), registration timed on the wall clock, the "min" statistic, and the rate
// counters of a step.
//
// Deliberately not a library API: header-only like bench_common.h, so that the bench/*_bench.cpp
// glob builds no target for it.
//
// Usage:
//   void register_all() {
//     for (int threads : thread_counts()) {
//       register_wall_clock("step/threads:" + std::to_string(threads), benchmark::kMillisecond,
//                           [threads](benchmark::State& st) { bench_step(st, threads); })
//           ->ComputeStatistics("min", min_of);
//     }
//   }
//   int main(int argc, char** argv) { return cnnmem::bench::run_main(argc, argv, register_all); }
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "bench/bench_common.h"
#include "framework/executor.h"

namespace cnnmem::bench {

// With --benchmark_repetitions: the best repetition, what the step costs when no other process
// takes a core (the machine's vCPUs are shared; medians show the typical case).
inline double min_of(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

// Registers `fn` as benchmark `name`, timed in `unit` on the wall clock: the work runs on the
// OpenMP team, whose time the calling thread's CPU clock does not see.
template <typename Fn>
benchmark::internal::Benchmark* register_wall_clock(const std::string& name,
                                                    benchmark::TimeUnit unit, Fn fn) {
  return benchmark::RegisterBenchmark(name.c_str(), std::move(fn))->Unit(unit)->UseRealTime();
}

// FLOPS as a rate counter: `flops` per iteration over the measured time.
inline benchmark::Counter flops_rate(double flops) {
  return benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
}

// One executor step per iteration: images per second (items_per_second) and FLOPS over every op
// of the step.
inline void set_step_rates(benchmark::State& state, const Executor& ex) {
  state.SetItemsProcessed(state.iterations() * ex.options().batch);
  state.counters["FLOPS"] = flops_rate(total_flops(ex.schedule()));
}

// The main of a suite: registers its benchmarks (thread counts come from the environment, so
// registration is at run time), rejects flags Google Benchmark does not know, runs the
// benchmarks the flags select, then `after_run` (null: nothing).
inline int run_main(int argc, char** argv, void (*register_all)(), void (*after_run)() = nullptr) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  if (after_run != nullptr) after_run();
  benchmark::Shutdown();
  return 0;
}

}  // namespace cnnmem::bench
