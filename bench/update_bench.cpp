// update_bench: the optimizer update ops of a real step (the library's, replayed from the
// schedule) against a reference Adam loop with the same arithmetic written so the compiler can
// vectorize it (no branches in the loop, `omp parallel for simd`), built with the same flags.
//   update/<model>/<param>/library/threads:T    the library's update(<param>) op
//   update/<model>/<param>/reference/threads:T  the reference loop (SSE, same arithmetic) on
//                                               buffers of the same size
//   update/<model>/all/library/threads:T        every update op of the step, in order
//   update/<model>/all/reference/threads:T      the reference loop over every parameter
// Counters: bytes_per_second (Adam reads w, g, m, v and writes w, m, v: 28 bytes per element).
//
// Not here: SGD (no state; same shape of loop), correctness (tests/optimizers).
//
// Run: build-bench/update_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <cmath>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "bench/bench_main.h"
#include "models/zoo.h"

namespace cnnmem::bench {
namespace {

// Adam, PyTorch's single-tensor formula, as the library computes it (weight decay 0, no
// amsgrad): the same float operations per element in the same order, four elements at a time
// with SSE (the library's -march=x86-64-v2 has nothing wider). Written with intrinsics because
// GCC at -O2 keeps a branch per element for sqrt's errno (without -fno-math-errno) and for the
// loop's `if`s, and then vectorizes nothing.
void adam_reference(float* w, const float* g, float* m, float* v, int64_t n, float b1, float b2,
                    float neg_step_size, float bc2_sqrt, float eps) {
  const float one_minus_b1 = 1.0f - b1, one_minus_b2 = 1.0f - b2;
  const int64_t blocks = n / 4;
#pragma omp parallel for schedule(static) if (n > 16384)
  for (int64_t k = 0; k < blocks; ++k) {
    const int64_t i = 4 * k;
    const __m128 d = _mm_loadu_ps(g + i);
    const __m128 mi = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(m + i), _mm_set1_ps(b1)),
                                 _mm_mul_ps(_mm_set1_ps(one_minus_b1), d));
    const __m128 vi = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(v + i), _mm_set1_ps(b2)),
                                 _mm_mul_ps(_mm_mul_ps(_mm_set1_ps(one_minus_b2), d), d));
    _mm_storeu_ps(m + i, mi);
    _mm_storeu_ps(v + i, vi);
    const __m128 denom =
        _mm_add_ps(_mm_div_ps(_mm_sqrt_ps(vi), _mm_set1_ps(bc2_sqrt)), _mm_set1_ps(eps));
    const __m128 step = _mm_div_ps(_mm_mul_ps(_mm_set1_ps(neg_step_size), mi), denom);
    _mm_storeu_ps(w + i, _mm_add_ps(_mm_loadu_ps(w + i), step));
  }
  for (int64_t i = 4 * blocks; i < n; ++i) {
    const float d = g[i];
    m[i] = m[i] * b1 + one_minus_b1 * d;
    v[i] = v[i] * b2 + one_minus_b2 * d * d;
    w[i] += neg_step_size * m[i] / (std::sqrt(v[i]) / bc2_sqrt + eps);
  }
}

// Adam at PyTorch's default lr on a batch of 64; one Replay for the library's update ops.
HarnessOptions adam_options(int threads) {
  return {.batch = 64, .optimizer = "adam", .lr = 1e-3, .threads = threads, .replays = 1};
}

Harness& fixture(const std::string& model, int threads) {
  return cached_harness(model + "/" + std::to_string(threads),
                        [&] { return make_harness(make_model(model), adam_options(threads)); });
}

void bench_library(benchmark::State& state, const std::string& model, int threads,
                   std::vector<size_t> ops, int64_t elements) {
  Replay& r = *fixture(model, threads).replays[0];
  for (auto _ : state) {
    for (size_t i : ops) r.run_op(i);
  }
  state.SetBytesProcessed(state.iterations() * elements * 28);
}

void bench_reference(benchmark::State& state, int threads, std::vector<int64_t> sizes) {
  omp_set_num_threads(threads);
  std::vector<std::vector<float>> w, g, m, v;
  int64_t elements = 0;
  for (int64_t n : sizes) {
    const auto s = static_cast<size_t>(n);
    w.emplace_back(s, 0.01f);
    g.emplace_back(s, 0.001f);
    m.emplace_back(s, 0.0f);
    v.emplace_back(s, 0.0f);
    elements += n;
  }
  const float neg_step = static_cast<float>(-(1e-3 / (1.0 - 0.9)));
  const float bc2 = static_cast<float>(std::sqrt(1.0 - 0.999));
  for (auto _ : state) {
    for (size_t k = 0; k < sizes.size(); ++k) {
      adam_reference(w[k].data(), g[k].data(), m[k].data(), v[k].data(), sizes[k], 0.9f, 0.999f,
                     neg_step, bc2, 1e-8f);
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * elements * 28);
}

void register_all() {
  for (const std::string model : {"lenet5", "vgg-mini"}) {
    // Shapes only: the update ops and the element count of each parameter's layout.
    const auto plan = plan_harness(make_model(model), adam_options(1));
    const Schedule& s = plan->ex->schedule();
    std::vector<size_t> all_ops;
    std::vector<int64_t> all_sizes;
    int64_t all_elements = 0;
    for (int threads : thread_counts()) {
      const std::string tail = "/threads:" + std::to_string(threads);
      for (size_t i = 0; i < s.ops.size(); ++i) {
        const Op& op = s.ops[i];
        if (op.phase != Phase::kUpdate) continue;
        // Elements: the size of the parameter's weight buffer (its layout, padding included).
        int64_t n = 0;
        for (BufferId id : op.uses) {
          const Buffer& buf = s.buffers[static_cast<size_t>(id)];
          if (buf.tag == Tag::kWeight) n = buf.bytes_requested / 4;
        }
        if (threads == thread_counts().front()) {
          all_ops.push_back(i);
          all_sizes.push_back(n);
          all_elements += n;
        }
        if (n < 4096) continue;  // biases: nothing to see
        const std::string base = "update/" + model + "/" + op.name + "/";
        register_wall_clock(base + "library" + tail, benchmark::kMicrosecond,
                            [model, threads, i, n](benchmark::State& st) {
                              bench_library(st, model, threads, {i}, n);
                            });
        register_wall_clock(
            base + "reference" + tail, benchmark::kMicrosecond,
            [threads, n](benchmark::State& st) { bench_reference(st, threads, {n}); });
      }
      const std::string base = "update/" + model + "/all/";
      register_wall_clock(base + "library" + tail, benchmark::kMicrosecond,
                          [model, threads, all_ops, all_elements](benchmark::State& st) {
                            bench_library(st, model, threads, all_ops, all_elements);
                          });
      register_wall_clock(
          base + "reference" + tail, benchmark::kMicrosecond,
          [threads, all_sizes](benchmark::State& st) { bench_reference(st, threads, all_sizes); });
    }
  }
}

}  // namespace
}  // namespace cnnmem::bench

int main(int argc, char** argv) {
  return cnnmem::bench::run_main(argc, argv, cnnmem::bench::register_all);
}
