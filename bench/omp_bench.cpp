// omp_bench: what one OpenMP parallel region costs on this machine, now. Every oneDNN primitive
// call and every parallel optimizer update opens at least one region (the same libgomp team), so
// a step's floor at T threads is about (regions per step) x (cost of one region). When the vCPUs
// are shared with other busy processes, a region at 2 threads can cost a scheduler time slice
// (milliseconds) instead of microseconds: compare threads:1 with threads:2, and run it next to
// the other benchmarks to read their 2-thread numbers.
//   omp/empty_region/threads:T      #pragma omp parallel {}
//   omp/parallel_for_4k/threads:T   a parallel for over 4096 floats (a small reorder's worth)
//
// Not here: oneDNN (layers_bench.cpp, ceiling_bench.cpp).
//
// Run: build-bench/omp_bench ; try OMP_WAIT_POLICY=passive|active or GOMP_SPINCOUNT=N in front.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "bench/bench_main.h"

namespace cnnmem::bench {
namespace {

void empty_region(benchmark::State& state, int threads) {
  omp_set_num_threads(threads);
  int sink = 0;
  for (auto _ : state) {
#pragma omp parallel
    {
      if (omp_get_thread_num() == 0) sink = omp_get_num_threads();
    }
    benchmark::DoNotOptimize(sink);
  }
  state.counters["team"] = sink;
}

void parallel_for(benchmark::State& state, int threads) {
  omp_set_num_threads(threads);
  std::vector<float> a(4096, 1.0f), b(4096, 0.0f);
  for (auto _ : state) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < a.size(); ++i) b[i] = a[i] * 2.0f + b[i];
    benchmark::ClobberMemory();
  }
}

void register_all() {
  for (int threads : thread_counts()) {
    const std::string tail = "/threads:" + std::to_string(threads);
    register_wall_clock("omp/empty_region" + tail, benchmark::kMicrosecond,
                        [threads](benchmark::State& st) { empty_region(st, threads); });
    register_wall_clock("omp/parallel_for_4k" + tail, benchmark::kMicrosecond,
                        [threads](benchmark::State& st) { parallel_for(st, threads); });
  }
}

}  // namespace
}  // namespace cnnmem::bench

int main(int argc, char** argv) {
  return cnnmem::bench::run_main(argc, argv, cnnmem::bench::register_all);
}
