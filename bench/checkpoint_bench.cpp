// checkpoint_bench: what activation checkpointing costs in time and saves in memory, on the
// training step as `cnnmem train` runs it.
//   deep-chain-64/b32/sgd with none, every:4, sqrt and the least-peak budget
//   vgg16/b8/sgd with none and sqrt
// Counters: activation_bytes (activation tag at the peak), peak_bytes (the arena's measured
// peak), recompute_FLOP (per step) and FLOPS (rate over every op, recompute included).
//
// Run: build-bench/checkpoint_bench --benchmark_repetitions=3
//      --benchmark_enable_random_interleaving --benchmark_report_aggregates_only
// (random interleaving alternates the policies, so machine noise spreads over all of them).
// CNNMEM_BENCH_THREADS=1,2 sets the thread counts (default both).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "bench/bench_main.h"
#include "models/zoo.h"

namespace cnnmem::bench {
namespace {

struct Case {
  std::string model;
  int64_t batch;
  std::string policy;  // "least" = budget at the least peak any checkpoint set reaches
  int iterations;      // 0: Google Benchmark decides
};

std::string resolve(const Case& c) {
  if (c.policy != "least") return c.policy;
  const auto plain = plan_harness(make_model(c.model), {.batch = c.batch});
  const Executor& ex = *plain->ex;
  const CheckpointSearch search(ex.schedule(), ex.checkpoint_units(), ex.checkpoint_shared());
  int64_t least = ex.predicted().peak_bytes;
  for (const auto& choice : search.curve()) least = std::min(least, choice.peak_bytes);
  return "budget:" + std::to_string(least);
}

void bench_checkpoint(benchmark::State& state, const Case& c, int threads) {
  const std::string key =
      c.model + "/" + std::to_string(c.batch) + "/" + c.policy + "/" + std::to_string(threads);
  Harness& h = cached_harness(key, [&] {
    return make_harness(
        make_model(c.model),
        {.batch = c.batch, .optimizer = "sgd", .threads = threads, .checkpoint = resolve(c)});
  });
  Executor& ex = *h.ex;
  for (auto _ : state) ex.run_step();
  set_step_rates(state, ex);
  state.counters["activation_bytes"] =
      static_cast<double>(ex.measured().by_tag[tag_index(Tag::kActivation)]);
  state.counters["peak_bytes"] = static_cast<double>(ex.measured().peak_bytes);
  state.counters["recompute_FLOP"] = ex.checkpoint().recompute_flops;
}

void register_all() {
  static const std::vector<Case> all = {
      {"deep-chain-64", 32, "none", 0}, {"deep-chain-64", 32, "every:4", 0},
      {"deep-chain-64", 32, "sqrt", 0}, {"deep-chain-64", 32, "least", 0},
      {"vgg16", 8, "none", 2},          {"vgg16", 8, "sqrt", 2},
  };
  for (const Case& c : all) {
    for (int threads : thread_counts()) {
      const std::string name = "train/" + c.model + "/b" + std::to_string(c.batch) + "/sgd/" +
                               c.policy + "/threads:" + std::to_string(threads);
      const Case* p = &c;
      auto* b = register_wall_clock(
          name, benchmark::kMillisecond,
          [p, threads](benchmark::State& st) { bench_checkpoint(st, *p, threads); });
      if (c.iterations > 0) b->Iterations(c.iterations);
    }
  }
}

}  // namespace
}  // namespace cnnmem::bench

int main(int argc, char** argv) {
  return cnnmem::bench::run_main(argc, argv, cnnmem::bench::register_all);
}
