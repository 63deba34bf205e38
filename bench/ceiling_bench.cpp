// ceiling_bench: the framework's overhead over oneDNN. For one model's training step:
//   <case>/step          Executor::run_step (arena accounting, load, loss, optimizer, oneDNN)
//   <case>/replay_all    the same ops replayed by bench::Replay on memory of its own at the
//                        executor's offsets: no accounting, no executor
//   <case>/ceiling       only the step's oneDNN primitives, back to back (the same primitive
//                        descriptors, created once outside the loop; a second Replay with memory
//                        of its own, so that no variant runs on a cache another one just warmed)
//   <case>/ceiling_small_serial  the ceiling with reorders, eltwise and pooling run on one thread
//                        (what their parallel regions cost at 2 threads on a shared machine)
//   <case>/side_by_side  step, replay_all and ceiling alternately in every iteration; reports the
//                        medians step_ms, all_ms, ceiling_ms, and overhead_ms = step - ceiling
//                        (its share of the step as overhead_pct), custom_ms = all - ceiling (the
//                        framework's own loops: load, loss, optimizer update); the same with
//                        the calling thread's CPU time (*_cpu_ms: at 1 thread, time without the
//                        waits for a core that a shared machine adds)
//   <case>/profile       one step with every call timed alone; per-category ms per step
//                        (convolution.fwd_training, reorder.backward, custom.update, ...). With
//                        CNNMEM_BENCH_PROFILE=1 a per-op table goes to stderr.
// The ceiling is an approximation built without library changes: it executes the primitives the
// schedule plans, so it cannot see reorders a better plan would avoid, only what the framework
// adds around the primitives.
//
// Not here: PyTorch (compare_torch.py), per-layer numbers (layers_bench.cpp).
//
// Run: build-bench/ceiling_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only
//      CNNMEM_BENCH_THREADS=1,2 (default) sets the thread counts.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
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
  std::string optimizer;
  double lr;
  int iterations;  // 0: Google Benchmark decides
};

// replays[0] runs replay_all and profile; replays[1] the ceilings, on memory of its own so that
// no run inherits another's warm cache.
Harness& fixture(const Case& c, int threads) {
  const std::string key =
      c.model + "/" + std::to_string(c.batch) + "/" + c.optimizer + "/" + std::to_string(threads);
  return cached_harness(key, [&] {
    return make_harness(
        make_model(c.model),
        {.batch = c.batch, .optimizer = c.optimizer, .lr = c.lr, .threads = threads, .replays = 2});
  });
}

std::map<std::string, std::string>& profiles() {
  static std::map<std::string, std::string> p;
  return p;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void set_counters(benchmark::State& state, const Executor& ex) {
  set_step_rates(state, ex);
  state.counters["peak_bytes"] = static_cast<double>(ex.predicted().peak_bytes);
}

void bench_step(benchmark::State& state, const Case& c, int threads) {
  Harness& h = fixture(c, threads);
  for (auto _ : state) h.ex->run_step();
  set_counters(state, *h.ex);
}

void bench_replay_all(benchmark::State& state, const Case& c, int threads) {
  Harness& h = fixture(c, threads);
  for (auto _ : state) h.replays[0]->run_all();
  set_counters(state, *h.ex);
}

void bench_ceiling(benchmark::State& state, const Case& c, int threads) {
  Harness& h = fixture(c, threads);
  for (auto _ : state) h.replays[1]->run_dnnl();
  set_counters(state, *h.ex);
}

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// The ceiling with the memory-bound calls (reorder, eltwise, pooling) on one thread.
void bench_ceiling_small_serial(benchmark::State& state, const Case& c, int threads) {
  Harness& h = fixture(c, threads);
  for (auto _ : state) h.replays[1]->run_dnnl_small_serial(threads);
  set_counters(state, *h.ex);
}

void bench_side_by_side(benchmark::State& state, const Case& c, int threads) {
  Harness& h = fixture(c, threads);
  std::vector<double> wall[3], cpu[3];
  for (auto _ : state) {
    for (int k = 0; k < 3; ++k) {
      const auto t0 = std::chrono::steady_clock::now();
      const double c0 = thread_cpu_seconds();
      if (k == 0) h.ex->run_step();
      if (k == 1) h.replays[0]->run_all();
      if (k == 2) h.replays[1]->run_dnnl();
      cpu[k].push_back(thread_cpu_seconds() - c0);
      wall[k].push_back(seconds_since(t0));
    }
  }
  const double s = median(wall[0]) * 1e3, a = median(wall[1]) * 1e3, d = median(wall[2]) * 1e3;
  state.counters["step_ms"] = s;
  state.counters["all_ms"] = a;
  state.counters["ceiling_ms"] = d;
  state.counters["custom_ms"] = a - d;
  state.counters["overhead_ms"] = s - d;
  state.counters["overhead_pct"] = s > 0 ? 100.0 * (s - d) / s : 0;
  // CPU time of the calling thread: at 1 thread, the work itself, without the time the thread
  // waited for a core. (At 2 threads it also counts barrier spinning; read the wall times.)
  const double sc = median(cpu[0]) * 1e3, ac = median(cpu[1]) * 1e3, dc = median(cpu[2]) * 1e3;
  state.counters["step_cpu_ms"] = sc;
  state.counters["all_cpu_ms"] = ac;
  state.counters["ceiling_cpu_ms"] = dc;
  state.counters["overhead_cpu_pct"] = sc > 0 ? 100.0 * (sc - dc) / sc : 0;
}

void bench_profile(benchmark::State& state, const Case& c, int threads) {
  Replay& r = *fixture(c, threads).replays[0];
  std::map<std::string, double> by_category;
  std::vector<double> by_op;
  for (auto _ : state) r.run_profiled(by_category, by_op);
  const auto n = static_cast<double>(state.iterations());
  double total = 0;
  for (const auto& [category, seconds] : by_category) {
    state.counters[category + "_ms"] = seconds / n * 1e3;
    total += seconds;
  }
  state.counters["total_ms"] = total / n * 1e3;
  // The table of the last (longest) run of this benchmark; print_profiles prints it at the end.
  const Schedule& s = r.schedule();
  char line[256];
  std::snprintf(line, sizeof line, "\nper-op profile: %s batch %lld %s, %d threads (ms per step)\n",
                c.model.c_str(), static_cast<long long>(c.batch), c.optimizer.c_str(), threads);
  std::string table = line;
  for (size_t i = 0; i < by_op.size(); ++i) {
    std::string what;
    for (const DnnlCall& call : s.ops[i].calls) what += (what.empty() ? "" : "+") + call.what;
    if (s.ops[i].custom) what += what.empty() ? "custom" : "+custom";
    std::snprintf(line, sizeof line, "  %3zu %-36s %-9s %-28s %8.3f\n", i, s.ops[i].name.c_str(),
                  phase_name(s.ops[i].phase), what.c_str(), by_op[i] / n * 1e3);
    table += line;
  }
  profiles()[c.model + "/" + std::to_string(threads)] = table;
}

// With CNNMEM_BENCH_PROFILE set: the per-op tables of the profile benchmarks, to stderr.
void print_profiles() {
  if (std::getenv("CNNMEM_BENCH_PROFILE") == nullptr) return;
  for (const auto& [name, table] : profiles()) std::fputs(table.c_str(), stderr);
}

void register_all() {
  static const std::vector<Case> all = {
      {"vgg-mini", 64, "adam", 1e-3, 0},
      {"lenet5", 64, "adam", 1e-3, 0},
  };
  for (const Case& c : all) {
    for (int threads : thread_counts()) {
      const std::string base = c.model + "/b" + std::to_string(c.batch) + "/" + c.optimizer + "/";
      const std::string tail = "/threads:" + std::to_string(threads);
      const Case* p = &c;
      using Fn = void (*)(benchmark::State&, const Case&, int);
      const std::pair<const char*, Fn> parts[] = {
          {"step", bench_step},
          {"replay_all", bench_replay_all},
          {"ceiling", bench_ceiling},
          {"ceiling_small_serial", bench_ceiling_small_serial},
          {"side_by_side", bench_side_by_side},
          {"profile", bench_profile}};
      for (const auto& [part, fn] : parts) {
        auto* b = register_wall_clock(
            base + part + tail, benchmark::kMillisecond,
            [p, threads, fn = fn](benchmark::State& st) { fn(st, *p, threads); });
        b->ComputeStatistics("min", min_of);
        // Medians over enough alternations to mean something on a shared machine.
        if (std::string(part) == "side_by_side") b->MinTime(3.0);
        if (c.iterations > 0) b->Iterations(c.iterations);
      }
    }
  }
}

}  // namespace
}  // namespace cnnmem::bench

int main(int argc, char** argv) {
  return cnnmem::bench::run_main(argc, argv, cnnmem::bench::register_all,
                                 cnnmem::bench::print_profiles);
}
