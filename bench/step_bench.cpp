// step_bench: the whole training step and the inference pass of the built-in models, through
// the public API exactly as `cnnmem train` drives them (Executor, bind, init_weights, run_step),
// minus the input pipeline: the staging buffers are filled once and every step's load op copies
// them.
//   train/lenet5/b64/adam, train/vgg-mini/b64/adam, train/vgg16/b4/sgd
//   infer/lenet5/b64, infer/vgg16/b1
// Counters: items_per_second (images/s), FLOPS (rate; multiply-adds x2 summed over the
// schedule's op.flops: forward, backward, update), peak_bytes (the arena's measured peak) and
// arena_bytes.
//
// Not here: per-layer numbers (layers_bench.cpp), the oneDNN-only ceiling (ceiling_bench.cpp),
// PyTorch (compare_torch.py).
//
// Run: build-bench/step_bench --benchmark_repetitions=3 --benchmark_enable_random_interleaving
//      --benchmark_report_aggregates_only ; CNNMEM_BENCH_THREADS=1,2 (default) sets thread counts.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "bench/bench_main.h"
#include "models/zoo.h"

namespace cnnmem::bench {
namespace {

struct StepCase {
  std::string model;
  bool training;
  int64_t batch;
  std::string optimizer;  // training only
  double lr;
  int iterations;  // 0: Google Benchmark decides; vgg16 steps take seconds
};

void bench_step(benchmark::State& state, const StepCase& c, int threads) {
  const std::string key = c.model + (c.training ? "/train/" : "/infer/") + std::to_string(c.batch) +
                          "/" + c.optimizer + "/" + std::to_string(threads);
  Harness& h = cached_harness(key, [&] {
    return make_harness(make_model(c.model), {.training = c.training,
                                              .batch = c.batch,
                                              .optimizer = c.optimizer,
                                              .lr = c.lr,
                                              .threads = threads});
  });
  Executor& ex = *h.ex;
  for (auto _ : state) ex.run_step();
  set_step_rates(state, ex);
  state.counters["peak_bytes"] = static_cast<double>(ex.measured().peak_bytes);
  state.counters["arena_bytes"] = static_cast<double>(ex.predicted().arena_bytes);
}

void register_all() {
  static const std::vector<StepCase> all = {
      {"lenet5", true, 64, "adam", 1e-3, 0}, {"vgg-mini", true, 64, "adam", 1e-3, 0},
      {"vgg16", true, 4, "sgd", 0.01, 3},    {"lenet5", false, 64, "", 0, 0},
      {"vgg-mini", false, 64, "", 0, 0},     {"vgg16", false, 1, "", 0, 5},
  };
  for (const StepCase& c : all) {
    for (int threads : thread_counts()) {
      const std::string name =
          std::string(c.training ? "train/" : "infer/") + c.model + "/b" + std::to_string(c.batch) +
          (c.training ? "/" + c.optimizer : std::string()) + "/threads:" + std::to_string(threads);
      const StepCase* p = &c;
      auto* b =
          register_wall_clock(name, benchmark::kMillisecond,
                              [p, threads](benchmark::State& st) { bench_step(st, *p, threads); });
      b->ComputeStatistics("min", min_of);
      if (c.iterations > 0) b->Iterations(c.iterations);
    }
  }
}

}  // namespace
}  // namespace cnnmem::bench

int main(int argc, char** argv) {
  return cnnmem::bench::run_main(argc, argv, cnnmem::bench::register_all);
}
