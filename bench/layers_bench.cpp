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

// What stands before the layer in the tiny graph (see the top of the file for why).
enum class Pre {
  kNone,         // the layer reads the images
  kRelu,         // "pre"
  kReluFlatten,  // "pre", "pre_flatten": a 2-D input for a linear layer
  kConv,         // "pre": a 3x3 conv keeping the input's channels, for its blocked layout
};

// Makes the layer under test, given its node name.
using MakeLayer = std::function<std::unique_ptr<Layer>(const std::string&)>;

struct LayerCase {
  std::string name;   // "<model>.<layer>"
  std::string layer;  // the layer's node name in the tiny graph
  int64_t batch;
  Dims input;  // (C, H, W)
  Pre pre;
  MakeLayer make;
};

// Stride 1, as PyTorch's Conv2d(in, out, kernel, padding=padding, bias=bias).
MakeLayer conv(int64_t in, int64_t out, int64_t kernel, int64_t padding, bool bias = true) {
  const Conv2dOptions o(in, out, kernel, /*stride_=*/1, padding, /*dilation_=*/1, bias);
  return [o](const std::string& name) { return std::make_unique<Conv2d>(name, o); };
}

MakeLayer linear(int64_t in, int64_t out) {
  return [in, out](const std::string& name) { return std::make_unique<Linear>(name, in, out); };
}

MakeLayer relu() {
  return [](const std::string& name) { return std::make_unique<Relu>(name); };
}

MakeLayer max_pool(int64_t kernel) {
  return [kernel](const std::string& name) {
    return std::make_unique<Pool2d>(name, PoolKind::kMax, kernel);
  };
}

// The case's pre-layers, then the layer.
void add_layers(Graph& g, const LayerCase& lc) {
  const int64_t channels = lc.input[0];
  if (lc.pre == Pre::kConv) g.add(conv(channels, channels, 3, 1)("pre"));
  if (lc.pre == Pre::kRelu || lc.pre == Pre::kReluFlatten) g.add(std::make_unique<Relu>("pre"));
  if (lc.pre == Pre::kReluFlatten) g.add(std::make_unique<Flatten>("pre_flatten"));
  g.add(lc.make(lc.layer));
}

// The layers, then a Flatten when the last node is not 2-D, with classes set to the last width.
// The graph's classes are fixed at construction, so build twice: once to learn the width.
Graph tiny_graph(const LayerCase& lc) {
  Graph probe(lc.name, lc.input, 1);
  add_layers(probe, lc);
  const bool flat = probe.nodes().back().dims.size() == 1;
  const int64_t width = dims_product(probe.nodes().back().dims);
  Graph g(lc.name, lc.input, static_cast<int>(width));
  add_layers(g, lc);
  if (!flat) g.add(std::make_unique<Flatten>("flatten"));
  return g;
}

std::vector<LayerCase> cases() {
  using enum Pre;
  return {
      // lenet5 conv1 reads the images: no input gradient, as in the model.
      {"lenet5.conv1", "conv1", 64, {1, 28, 28}, kNone, conv(1, 6, 5, 2)},
      {"lenet5.conv2", "conv2", 64, {6, 14, 14}, kRelu, conv(6, 16, 5, 0)},
      {"lenet5.fc1", "fc1", 64, {16, 5, 5}, kReluFlatten, linear(400, 120)},
      {"vgg-mini.features.2", "features.2", 64, {32, 28, 28}, kRelu, conv(32, 32, 3, 1)},
      // ReLU and max-pool after a conv, in the conv's blocked layout as in the model.
      {"vgg-mini.features.3", "features.3", 64, {32, 28, 28}, kConv, relu()},
      {"vgg-mini.features.4", "features.4", 64, {32, 28, 28}, kConv, max_pool(2)},
      {"vgg-mini.classifier.0", "classifier.0", 64, {64, 7, 7}, kReluFlatten, linear(3136, 256)},
      {"vgg16.features.2", "features.2", 2, {64, 224, 224}, kRelu, conv(64, 64, 3, 1)},
      {"vgg16.classifier.0", "classifier.0", 4, {512, 7, 7}, kReluFlatten, linear(25088, 4096)},
      {"resnet18.layer1.conv", "layer1.0.conv1", 8, {64, 56, 56}, kRelu, conv(64, 64, 3, 1, false)},
  };
}

// The case's harness (SGD, lr 0) with one Replay, cached while consecutive benchmarks use it.
Harness& fixture(const LayerCase& lc, int threads) {
  return cached_harness(lc.name + "/" + std::to_string(threads), [&] {
    return make_harness(tiny_graph(lc), {.batch = lc.batch, .threads = threads, .replays = 1});
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
    const auto plan = plan_harness(tiny_graph(lc), {.batch = lc.batch});
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
