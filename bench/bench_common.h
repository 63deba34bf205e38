// Shared helpers of the Google Benchmark suites in bench/: a Harness, an executor built the way
// the CLI builds one (graph, optimizer, bind, init_weights, staging input filled, one warm-up
// step) and cached across a suite's benchmarks; FLOP sums over a schedule; and a Replay that runs
// a planned step's ops outside the executor, in a block of its own at the executor's planned
// offsets. The replay gives the "ceiling" (the step's oneDNN primitives back to back, nothing
// around them) and a per-op profile of the step. Google Benchmark's side (main, registration,
// counters) is in bench_main.h.
//
// Deliberately not a library API: header-only so that the bench/*_bench.cpp glob builds no target
// for it, and it uses only the public Executor / Schedule interface (no library changes).
//
// Usage:
//   auto h = bench::make_harness(make_model("vgg-mini"),
//                                {.batch = 64, .optimizer = "adam", .replays = 1});
//   h->ex->run_step();                      // the framework's step
//   h->replays[0]->run_all();               // same ops, own memory, primitives created once
//   h->replays[0]->run_dnnl();              // only the oneDNN calls: the ceiling
#pragma once

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dnnl.hpp>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "framework/executor.h"
#include "framework/graph.h"
#include "framework/schedule.h"
#include "layers/softmax_cross_entropy.h"
#include "optimizers/optimizer.h"

namespace cnnmem::bench {

// Thread counts to benchmark: CNNMEM_BENCH_THREADS="1,2" (the default).
inline std::vector<int> thread_counts() {
  std::vector<int> t;
  const char* env = std::getenv("CNNMEM_BENCH_THREADS");
  const std::string list = env != nullptr ? env : "1,2";
  size_t from = 0;
  while (from <= list.size()) {
    const size_t to = std::min(list.find(',', from), list.size());
    if (to > from) t.push_back(std::stoi(list.substr(from, to - from)));
    from = to + 1;
  }
  return t;
}

inline double total_flops(const Schedule& s) {
  double f = 0;
  for (const Op& op : s.ops) f += op.flops;
  return f;
}

inline double phase_flops(const Schedule& s, Phase phase) {
  double f = 0;
  for (const Op& op : s.ops) f += op.phase == phase ? op.flops : 0.0;
  return f;
}

// ---------------------------------------------------------------------------------------------
// Replay: the executor's ops on memory of its own.

inline dnnl::prop_kind prop_of(const dnnl::primitive& p) {
  dnnl_prop_kind_t k = dnnl_prop_kind_undef;
  if (dnnl_primitive_desc_query(p.get_primitive_desc(), dnnl_query_prop_kind, 0, &k) !=
      dnnl_success) {
    return dnnl::prop_kind::undef;
  }
  return static_cast<dnnl::prop_kind>(k);
}

inline const char* prop_name(dnnl::prop_kind k) {
  switch (k) {
    case dnnl::prop_kind::forward_training:
      return "fwd_training";
    case dnnl::prop_kind::forward_inference:
      return "fwd_inference";
    case dnnl::prop_kind::backward_data:
      return "bwd_data";
    case dnnl::prop_kind::backward_weights:
      return "bwd_weights";
    case dnnl::prop_kind::backward:
      return "bwd";
    default:
      return "";
  }
}

// The category an op or call is profiled under: "convolution.fwd_training",
// "convolution.bwd_data", "reorder.backward", "update", "loss", "load", ...
inline std::string custom_category(const Op& op) {
  if (op.phase == Phase::kUpdate) return "custom.update";
  if (op.phase == Phase::kLoad) return "custom.load";
  if (op.phase == Phase::kLoss) return "custom.loss";
  return std::string("custom.") + phase_name(op.phase);
}

class Replay {
 public:
  struct Call {
    dnnl::primitive prim;
    std::unordered_map<int, dnnl::memory> args;
    std::string category;
  };

  explicit Replay(const Executor& ex) : schedule_(&ex.schedule()) {
    const Schedule& s = ex.schedule();
    // The executor's engine: a primitive runs only on a stream of the engine it was made for.
    dnnl_engine_t eng = nullptr;
    bool have_engine = false;
    calls_.resize(s.ops.size());
    for (size_t i = 0; i < s.ops.size(); ++i) {
      for (const DnnlCall& c : s.ops[i].calls) {
        Call rc{c.make(), {}, {}};
        if (!have_engine) {
          dnnl_primitive_desc_query(rc.prim.get_primitive_desc(), dnnl_query_engine, 0, &eng);
          engine_ = dnnl::engine(eng, /*weak=*/true);
          stream_ = dnnl::stream(engine_);
          have_engine = true;
        }
        const std::string prop = prop_name(prop_of(rc.prim));
        rc.category = c.what == "reorder" ? std::string("reorder.") + phase_name(s.ops[i].phase)
                                          : c.what + (prop.empty() ? "" : "." + prop);
        calls_[i].push_back(std::move(rc));
      }
    }
    // Memory at the executor's planned offsets, so the cache sees the same reuse pattern.
    bytes_ = ex.predicted().arena_bytes;
    base_ = static_cast<std::byte*>(std::aligned_alloc(
        kAlignment, static_cast<size_t>(align_up(std::max<int64_t>(bytes_, 64)))));
    std::memset(base_, 0, static_cast<size_t>(bytes_));
    table_.resize(s.buffers.size());
    for (size_t b = 0; b < s.buffers.size(); ++b) {
      table_.set(static_cast<BufferId>(b), base_ + ex.offsets()[b]);
    }
    // Weights and images: small random numbers (zeros would do for timing, but keep the loss
    // and Adam's update on ordinary values).
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(-0.05f, 0.05f);
    for (size_t b = 0; b < s.buffers.size(); ++b) {
      const Buffer& buf = s.buffers[b];
      const bool images = buf.name == "input.next_images" || buf.name == "input.images";
      if (buf.tag != Tag::kWeight && !images) continue;
      float* p = table_.f32(static_cast<BufferId>(b));
      for (int64_t k = 0; k < buf.bytes_requested / 4; ++k) p[k] = images ? u(rng) + 0.05f : u(rng);
    }
    if (have_engine) {
      for (size_t i = 0; i < s.ops.size(); ++i) {
        for (size_t k = 0; k < calls_[i].size(); ++k) {
          for (const auto& [arg, ref] : s.ops[i].calls[k].args) {
            calls_[i][k].args.emplace(arg, dnnl::memory(ref.md, engine_, table_.bytes(ref.buffer)));
          }
        }
      }
    }
  }
  ~Replay() { std::free(base_); }
  Replay(const Replay&) = delete;
  Replay& operator=(const Replay&) = delete;

  const Schedule& schedule() const { return *schedule_; }
  size_t op_count() const { return calls_.size(); }
  int64_t bytes() const { return bytes_; }

  void run_op(size_t i) {
    for (Call& c : calls_[i]) c.prim.execute(stream_, c.args);
    const Op& op = schedule_->ops[i];
    if (op.custom) op.custom(table_);
  }
  void run_call(size_t i, size_t k) { calls_[i][k].prim.execute(stream_, calls_[i][k].args); }
  // Every op: oneDNN calls and the framework's own work (load, loss, optimizer update).
  void run_all() {
    for (size_t i = 0; i < calls_.size(); ++i) run_op(i);
    wait();
  }
  // Only the oneDNN calls, back to back: the ceiling.
  void run_dnnl() {
    for (auto& op_calls : calls_) {
      for (Call& c : op_calls) c.prim.execute(stream_, c.args);
    }
    wait();
  }
  // run_dnnl with reorders, eltwise and pooling on one thread (the ICV set around each call).
  // Those oneDNN 2.6 kernels split their work when they execute (parallel_nd over
  // omp_get_max_threads()); conv and inner product keep the team size they were created with.
  // Measures what the parallel regions of the memory-bound calls cost at `threads`.
  void run_dnnl_small_serial(int threads) {
    for (auto& op_calls : calls_) {
      for (Call& c : op_calls) {
        const bool small = c.category.rfind("reorder", 0) == 0 ||
                           c.category.rfind("eltwise", 0) == 0 ||
                           c.category.rfind("pooling", 0) == 0;
        if (small) omp_set_num_threads(1);
        c.prim.execute(stream_, c.args);
        if (small) omp_set_num_threads(threads);
      }
    }
    wait();
  }
  void wait() {
    if (stream_) stream_.wait();
  }

  // A full step with every oneDNN call and every custom op timed on its own; adds seconds per
  // category to `by_category` and per op to `by_op` (indexed like schedule().ops).
  void run_profiled(std::map<std::string, double>& by_category, std::vector<double>& by_op) {
    using Clock = std::chrono::steady_clock;
    by_op.resize(calls_.size(), 0.0);
    for (size_t i = 0; i < calls_.size(); ++i) {
      for (Call& c : calls_[i]) {
        const auto t0 = Clock::now();
        c.prim.execute(stream_, c.args);
        const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
        by_category[c.category] += dt;
        by_op[i] += dt;
      }
      const Op& op = schedule_->ops[i];
      if (op.custom) {
        const auto t0 = Clock::now();
        op.custom(table_);
        const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
        by_category[custom_category(op)] += dt;
        by_op[i] += dt;
      }
    }
    wait();
  }

  // Seconds spent in the calls of the ops whose index is in `ops`, one pass.
  double time_ops(const std::vector<size_t>& ops) {
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t i : ops) run_op(i);
    wait();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

 private:
  const Schedule* schedule_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  std::vector<std::vector<Call>> calls_;
  std::byte* base_ = nullptr;
  int64_t bytes_ = 0;
  BufferTable table_;
};

// ---------------------------------------------------------------------------------------------
// Harness: an executor built the way the CLI builds one.

struct HarnessOptions {
  bool training = true;
  int64_t batch = 64;
  std::string optimizer = "sgd";
  double lr = 0.0;  // lr 0 keeps weights fixed across iterations (layer benchmarks)
  int threads = 2;
  std::string checkpoint = "none";  // training: --checkpoint policy
  int replays = 0;                  // Replays of the step, each on memory of its own
};

// Keeps the graph, the optimizer, the executor and the replays of its step alive together, in
// that order (a Replay reads the executor's schedule).
struct Harness {
  Graph graph;
  HarnessOptions options;
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<Executor> ex;
  std::vector<std::unique_ptr<Replay>> replays;
};

// Random images in [0, 1) and (training) labels i % classes in the staging buffers; every
// step's load op copies them into the step's input.
inline void fill_staging(Executor& ex, const Graph& graph, int64_t batch) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  const int64_t n = batch * dims_product(graph.input_dims());
  float* img = ex.staging_images();
  for (int64_t i = 0; i < n; ++i) img[i] = u(rng);
  int32_t* lab = ex.staging_labels();  // null in inference (no labels, no loss)
  for (int64_t i = 0; lab != nullptr && i < batch; ++i) {
    lab[i] = static_cast<int32_t>(i % graph.classes());
  }
}

// Planned only: the schedule and the predicted sizes, nothing bound (no arena), for finding the
// ops to register and for reading predictions. `replays` and `threads` are not used.
inline std::unique_ptr<Harness> plan_harness(Graph graph, const HarnessOptions& o) {
  auto h = std::unique_ptr<Harness>(new Harness{std::move(graph), o, nullptr, nullptr, {}});
  if (o.training) {
    OptimizerConfig cfg;
    cfg.name = o.optimizer;
    cfg.lr = o.lr;
    h->optimizer = make_optimizer(cfg);
  }
  ExecutorOptions eo;
  eo.training = o.training;
  eo.batch = o.batch;
  eo.checkpoint = parse_checkpoint_policy(o.checkpoint);
  h->ex = std::make_unique<Executor>(h->graph, eo, h->optimizer.get(),
                                     std::make_unique<SoftmaxCrossEntropy>());
  return h;
}

// Ready to time: bound, weights initialised, staging input filled, one warm-up step run (first
// touch of oneDNN's kernels and caches), and `replays` Replays made, each run once so that every
// buffer holds what a real step leaves there.
// omp_set_num_threads comes first: oneDNN sizes its kernels' thread partitioning when the
// primitives are created, and they must run with the same team size.
inline std::unique_ptr<Harness> make_harness(Graph graph, const HarnessOptions& o) {
  omp_set_num_threads(o.threads);
  auto h = plan_harness(std::move(graph), o);
  h->ex->bind();
  h->ex->init_weights(1);
  fill_staging(*h->ex, h->graph, o.batch);
  h->ex->run_step();
  for (int i = 0; i < o.replays; ++i) {
    h->replays.push_back(std::make_unique<Replay>(*h->ex));
    h->replays.back()->run_all();
  }
  return h;
}

// One cached harness per benchmark binary, rebuilt only when the key changes, so that Google
// Benchmark's repeated calls of a benchmark function do not re-plan, and only one model's arena
// is resident at a time (vgg16 training needs over a gigabyte).
template <typename Make>
Harness& cached_harness(const std::string& key, Make make) {
  static std::string cached_key;
  static std::unique_ptr<Harness> cached;
  if (cached == nullptr || cached_key != key) {
    cached.reset();
    cached = make();
    cached_key = key;
  }
  omp_set_num_threads(cached->options.threads);
  return *cached;
}

}  // namespace cnnmem::bench
