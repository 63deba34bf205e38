// layers_bench: each layer's forward and backward at the shapes of lenet5, vgg-mini, vgg16 and a
// resnet18-like block, driven through the public API only.
//
// Every case is a tiny Graph: [pre-layers] -> the layer -> [Flatten], so that the last node is
// 2-D and the graph's classes equal its width. A pre-layer (ReLU or conv) makes the layer an
// inner one (the executor computes no input gradient for a layer reading the images), and gives
// ReLU and pooling the blocked layout a conv hands them in the real models. The executor is
// built as the CLI builds one (training, SGD lr 0, bind, init_weights); per case, benchmarks:
//   <case>/fwd, /bwd_data, /bwd_weights, /bwd   one oneDNN primitive of the layer, replayed
//                                               alone (bench::Replay, the executor's offsets)
//   <case>/reorders                             every reorder op the layer plans (forward and
//                                               backward, e.g. weights for backward-data)
//   <case>/step                                 Executor::run_step of the tiny graph (includes
//                                               the harness' pre-layer, flatten and the loss)
//   <case>/forward_pass                         Executor::run_forward (load, forward, loss)
// Counters: FLOPS (rate, multiply-adds x2 from the schedule's op.flops), peak_bytes (the arena
// peak the executor predicts for the tiny graph), and per-call ms.
//
// Not here: whole models (step_bench.cpp), the step's ceiling (ceiling_bench.cpp).
//
// Run: build-bench/layers_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only
//      [--benchmark_filter=vgg16] ; CNNMEM_BENCH_THREADS=1,2 (default) sets the thread counts.
#include <benchmark/benchmark.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "bench/bench_main.h"
#include "layers/conv2d.h"
#include "layers/flatten.h"
#include "layers/linear.h"
#include "layers/pool2d.h"
#include "layers/relu.h"

namespace cnnmem::bench {
namespace {

Conv2dOptions conv(int64_t in, int64_t out, int64_t kernel, int64_t padding, bool bias = true) {
  Conv2dOptions o;
  o.in_channels = in;
  o.out_channels = out;
  o.kernel = kernel;
  o.padding = padding;
  o.bias = bias;
  return o;
}

struct LayerCase {
  std::string name;   // "<model>.<layer>"
  std::string layer;  // the layer's node name in the tiny graph
  int64_t batch;
  std::function<Graph()> graph;
};

// Adds a Flatten when the last node is not 2-D, and sets classes to the last width. The graph's
// classes are fixed at construction, so build twice: once to learn the width.
Graph finish(const std::string& name, const Dims& input,
             const std::function<void(Graph&)>& add_layers) {
  Graph probe(name, input, 1);
  add_layers(probe);
  const bool flat = probe.nodes().back().dims.size() == 1;
  const int64_t width = dims_product(probe.nodes().back().dims);
  Graph g(name, input, static_cast<int>(width));
  add_layers(g);
  if (!flat) g.add(std::make_unique<Flatten>("flatten"));
  return g;
}

std::vector<LayerCase> cases() {
  std::vector<LayerCase> c;
  // lenet5 conv1 reads the images: no input gradient, as in the model.
  c.push_back({"lenet5.conv1", "conv1", 64, [] {
                 return finish("lenet5.conv1", {1, 28, 28}, [](Graph& g) {
                   g.add(std::make_unique<Conv2d>("conv1", conv(1, 6, 5, 2)));
                 });
               }});
  c.push_back({"lenet5.conv2", "conv2", 64, [] {
                 return finish("lenet5.conv2", {6, 14, 14}, [](Graph& g) {
                   g.add(std::make_unique<Relu>("pre"));
                   g.add(std::make_unique<Conv2d>("conv2", conv(6, 16, 5, 0)));
                 });
               }});
  c.push_back({"lenet5.fc1", "fc1", 64, [] {
                 return finish("lenet5.fc1", {16, 5, 5}, [](Graph& g) {
                   g.add(std::make_unique<Relu>("pre"));
                   g.add(std::make_unique<Flatten>("pre_flatten"));
                   g.add(std::make_unique<Linear>("fc1", 400, 120));
                 });
               }});
  c.push_back({"vgg-mini.features.2", "features.2", 64, [] {
                 return finish("vgg-mini.features.2", {32, 28, 28}, [](Graph& g) {
                   g.add(std::make_unique<Relu>("pre"));
                   g.add(std::make_unique<Conv2d>("features.2", conv(32, 32, 3, 1)));
                 });
               }});
  // ReLU and max-pool after a conv, in the conv's blocked layout as in the model.
  c.push_back({"vgg-mini.features.3", "features.3", 64, [] {
                 return finish("vgg-mini.features.3", {32, 28, 28}, [](Graph& g) {
                   g.add(std::make_unique<Conv2d>("pre", conv(32, 32, 3, 1)));
                   g.add(std::make_unique<Relu>("features.3"));
                 });
               }});
  c.push_back({"vgg-mini.features.4", "features.4", 64, [] {
                 return finish("vgg-mini.features.4", {32, 28, 28}, [](Graph& g) {
                   g.add(std::make_unique<Conv2d>("pre", conv(32, 32, 3, 1)));
                   g.add(std::make_unique<Pool2d>("features.4", PoolKind::kMax, 2));
                 });
               }});
  c.push_back({"vgg-mini.classifier.0", "classifier.0", 64, [] {
                 return finish("vgg-mini.classifier.0", {64, 7, 7}, [](Graph& g) {
                   g.add(std::make_unique<Relu>("pre"));
                   g.add(std::make_unique<Flatten>("pre_flatten"));
                   g.add(std::make_unique<Linear>("classifier.0", 3136, 256));
                 });
               }});
  c.push_back({"vgg16.features.2", "features.2", 2, [] {
                 return finish("vgg16.features.2", {64, 224, 224}, [](Graph& g) {
                   g.add(std::make_unique<Relu>("pre"));
                   g.add(std::make_unique<Conv2d>("features.2", conv(64, 64, 3, 1)));
                 });
               }});
  c.push_back({"vgg16.classifier.0", "classifier.0", 4, [] {
                 return finish("vgg16.classifier.0", {512, 7, 7}, [](Graph& g) {
                   g.add(std::make_unique<Relu>("pre"));
                   g.add(std::make_unique<Flatten>("pre_flatten"));
                   g.add(std::make_unique<Linear>("classifier.0", 25088, 4096));
                 });
               }});
  c.push_back({"resnet18.layer1.conv", "layer1.0.conv1", 8, [] {
                 return finish("resnet18.layer1.conv", {64, 56, 56}, [](Graph& g) {
                   g.add(std::make_unique<Relu>("pre"));
                   g.add(std::make_unique<Conv2d>("layer1.0.conv1", conv(64, 64, 3, 1, false)));
                 });
               }});
  return c;
}

// The case's harness (SGD, lr 0) with one Replay, cached while consecutive benchmarks use it.
Harness& fixture(const LayerCase& lc, int threads) {
  return cached_harness(lc.name + "/" + std::to_string(threads), [&] {
    return make_harness(lc.graph(), {.batch = lc.batch, .threads = threads, .replays = 1});
  });
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// One primitive call (op i, call k) of the layer, replayed alone.
void bench_call(benchmark::State& state, const LayerCase& lc, int threads, size_t op, size_t call,
                double flops) {
  Harness& h = fixture(lc, threads);
  Replay& r = *h.replays[0];
  for (auto _ : state) {
    r.run_call(op, call);
    r.wait();
  }
  state.counters["FLOPS"] = flops_rate(flops);
  state.counters["peak_bytes"] = static_cast<double>(h.ex->predicted().peak_bytes);
}

void bench_ops(benchmark::State& state, const LayerCase& lc, int threads,
               const std::vector<size_t>& ops) {
  Harness& h = fixture(lc, threads);
  Replay& r = *h.replays[0];
  for (auto _ : state) {
    for (size_t i : ops) r.run_op(i);
    r.wait();
  }
  state.counters["ops"] = static_cast<double>(ops.size());
  state.counters["peak_bytes"] = static_cast<double>(h.ex->predicted().peak_bytes);
}

void bench_step(benchmark::State& state, const LayerCase& lc, int threads, bool forward_only) {
  Executor& ex = *fixture(lc, threads).ex;
  for (auto _ : state) {
    if (forward_only) {
      ex.run_forward();
    } else {
      ex.run_step();
    }
  }
  const Schedule& s = ex.schedule();
  state.counters["FLOPS"] =
      flops_rate(forward_only ? phase_flops(s, Phase::kForward) : total_flops(s));
  state.counters["peak_bytes"] = static_cast<double>(ex.predicted().peak_bytes);
  state.SetItemsProcessed(state.iterations() * lc.batch);
}

// Milliseconds on the wall clock, with the best repetition as "min".
void register_ms(const std::string& name, std::function<void(benchmark::State&)> fn) {
  register_wall_clock(name, benchmark::kMillisecond, std::move(fn))
      ->ComputeStatistics("min", min_of);
}

void register_all() {
  static const std::vector<LayerCase> all = cases();
  for (const LayerCase& lc : all) {
    // Plan once (shapes only, nothing bound) to find the layer's ops and their calls.
    const auto plan = plan_harness(lc.graph(), {.batch = lc.batch});
    const Schedule& s = plan->ex->schedule();
    std::vector<size_t> reorders;
    for (size_t i = 0; i < s.ops.size(); ++i) {
      const std::string& n = s.ops[i].name;
      if (starts_with(n, lc.layer + ".") && n != lc.layer + ".forward" &&
          n != lc.layer + ".backward") {
        reorders.push_back(i);
      }
    }
    const LayerCase* p = &lc;
    for (int threads : thread_counts()) {
      const std::string base = "layer/" + lc.name + "/b" + std::to_string(lc.batch) + "/";
      const std::string tail = "/threads:" + std::to_string(threads);
      for (size_t i = 0; i < s.ops.size(); ++i) {
        const Op& op = s.ops[i];
        const bool fwd = op.name == lc.layer + ".forward";
        const bool bwd = op.name == lc.layer + ".backward";
        if (!fwd && !bwd) continue;
        for (size_t k = 0; k < op.calls.size(); ++k) {
          // conv and linear: backward-data (when the input needs a gradient), then
          // backward-weights; each does the forward's multiply-adds once.
          const bool weighted =
              op.calls[k].what == "convolution" || op.calls[k].what == "inner_product";
          std::string part = fwd ? "fwd" : "bwd";
          if (bwd && weighted) part = k + 1 < op.calls.size() ? "bwd_data" : "bwd_weights";
          const double flops = op.flops / static_cast<double>(op.calls.size());
          register_ms(base + part + tail, [p, threads, i, k, flops](benchmark::State& st) {
            bench_call(st, *p, threads, i, k, flops);
          });
        }
      }
      if (!reorders.empty()) {
        register_ms(base + "reorders" + tail, [p, threads, reorders](benchmark::State& st) {
          bench_ops(st, *p, threads, reorders);
        });
      }
      register_ms(base + "step" + tail,
                  [p, threads](benchmark::State& st) { bench_step(st, *p, threads, false); });
      register_ms(base + "forward_pass" + tail,
                  [p, threads](benchmark::State& st) { bench_step(st, *p, threads, true); });
    }
  }
}

}  // namespace
}  // namespace cnnmem::bench

int main(int argc, char** argv) {
  return cnnmem::bench::run_main(argc, argv, cnnmem::bench::register_all);
}
