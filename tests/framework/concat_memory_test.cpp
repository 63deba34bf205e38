// In-place channel concatenation (framework/concat_views.h) at the library level, on the
// DenseNet-style network of tests/layers/channel_ops.h at batch 1: the in-place bill against the
// naive one (ExecutorOptions::in_place_concat off), for every planner strategy, training (with
// and without checkpointing; in place is strictly smaller) and inference (the same bill: views
// are a training matter). Each step is executed: predicted == measured field by field,
// and the loss or output of the in-place step matches the naive one. By hand: under `none`, in
// place saves exactly the naive concatenations' own buffers; the block's chain of
// concatenations becomes one buffer of the last one's size.
// The same on torchvision's densenet121 at 3x64x64 (training, with and without checkpointing).
// Not here: the numerics of each layer (tests/layers/concat_test.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <random>
#include <string>

#include "framework/error.h"
#include "framework/executor.h"
#include "layers/softmax_cross_entropy.h"
#include "models/zoo.h"
#include "optimizers/optimizer.h"
#include "tests/framework/memory_expect.h"
#include "tests/layers/channel_ops.h"

namespace cnnmem {
namespace {

using layer_test::dense_net;
using layer_test::DenseNetShape;

struct Bill {
  MemoryStats predicted, measured;
  float result = 0;                        // the loss, or the first logit
  int64_t concat_bytes = 0;                // aligned bytes of the buffers named "*.cat.dst"
  std::map<std::string, int64_t> buffers;  // aligned bytes by name
};

// The aligned bytes of the buffers `a` has and `b` has not; their names in `names`.
int64_t only_in(const Bill& a, const Bill& b, std::string* names = nullptr) {
  int64_t sum = 0;
  for (const auto& [name, bytes] : a.buffers) {
    if (b.buffers.count(name)) continue;
    sum += bytes;
    if (names != nullptr) *names += name + " ";
  }
  return sum;
}

// One executed step (two, so the second runs over what the first released) at batch 1.
Bill run(const Graph& g, bool training, Strategy strategy, const std::string& checkpoint,
         bool in_place) {
  ExecutorOptions o;
  o.training = training;
  o.batch = 1;
  o.strategy = strategy;
  o.in_place_concat = in_place;
  o.checkpoint = parse_checkpoint_policy(checkpoint);
  OptimizerConfig cfg;
  cfg.lr = 0;
  const auto opt = make_optimizer(cfg);
  Executor ex(g, o, training ? opt.get() : nullptr,
              training ? std::make_unique<SoftmaxCrossEntropy>() : nullptr);
  ex.bind();
  ex.init_weights(3);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> pixel(-1.0f, 1.0f);
  const int64_t n = dims_product(g.input_dims());
  for (int64_t i = 0; i < n; ++i) ex.staging_images()[i] = pixel(rng);
  if (training) ex.staging_labels()[0] = 1;
  ex.run_step();
  ex.run_step();
  Bill b{ex.predicted(), ex.measured(), training ? ex.loss() : ex.logits()[0], 0, {}};
  for (const Buffer& buf : ex.schedule().buffers) {
    if (buf.name.ends_with(".cat.dst") && !buf.name.starts_with("recompute.")) {
      b.concat_bytes += buf.bytes_aligned;
    }
    b.buffers[buf.name] = buf.bytes_aligned;
  }
  return b;
}

constexpr Strategy kStrategies[] = {Strategy::kNone, Strategy::kFreeAfterUse, Strategy::kPingPong,
                                    Strategy::kGreedyBySize};

TEST(ConcatMemory, InPlaceBillIsSmallerAndPredictedEqualsMeasured) {
  for (int64_t growth : {16, 32}) {
    DenseNetShape shape;
    shape.growth = growth;
    shape.layers = 4;
    const Graph g = dense_net(shape).graph();
    for (bool training : {false, true}) {
      for (const std::string checkpoint : {"none", "every:2", "sqrt"}) {
        if (!training && checkpoint != "none") continue;
        for (Strategy s : kStrategies) {
          const std::string what = "growth " + std::to_string(growth) +
                                   (training ? " training " : " inference ") + checkpoint + " " +
                                   strategy_name(s);
          SCOPED_TRACE(what);
          if (s == Strategy::kPingPong) {  // a dense block is not a chain, either way
            EXPECT_THROW(run(g, training, s, checkpoint, true), Error);
            continue;
          }
          const Bill naive = run(g, training, s, checkpoint, false);
          const Bill in_place = run(g, training, s, checkpoint, true);
          expect_same(naive.predicted, naive.measured);
          expect_same(in_place.predicted, in_place.measured);
          EXPECT_NEAR(in_place.result, naive.result, 1e-4 * std::max(1.0f, std::abs(naive.result)));
          if (!training) {  // views are a training matter (framework/concat_views.h)
            EXPECT_EQ(in_place.predicted.peak_bytes, naive.predicted.peak_bytes);
            EXPECT_EQ(in_place.predicted.arena_bytes, naive.predicted.arena_bytes);
          } else {
            EXPECT_LT(in_place.predicted.peak_bytes, naive.predicted.peak_bytes);
            // greedy-by-size is a heuristic: over a checkpointed step it can place the smaller
            // set of buffers in a larger arena.
            if (checkpoint == "none" || s != Strategy::kGreedyBySize) {
              EXPECT_LT(in_place.predicted.arena_bytes, naive.predicted.arena_bytes);
            }
            // One buffer for the chain, the last concatenation's (32 + 4 growth channels of 6x6),
            // under that concatenation's name.
            EXPECT_EQ(in_place.concat_bytes, align_up((shape.stem + 4 * growth) * 36 * 4));
          }
          if (training && s == Strategy::kNone && checkpoint == "none") {
            // `none` keeps every buffer: in place saves exactly the buffers it does not make
            // (the first concatenations' own, and the outputs written into the root: the stem's
            // and each conv2's) and makes none of its own.
            std::string names;
            EXPECT_EQ(only_in(in_place, naive, &names), 0) << names;
            EXPECT_EQ(naive.predicted.arena_bytes - in_place.predicted.arena_bytes,
                      only_in(naive, in_place, &names))
                << names;
          }
          std::printf("[bill] %s: naive peak %lld arena %lld | in place peak %lld arena %lld\n",
                      what.c_str(), static_cast<long long>(naive.predicted.peak_bytes),
                      static_cast<long long>(naive.predicted.arena_bytes),
                      static_cast<long long>(in_place.predicted.peak_bytes),
                      static_cast<long long>(in_place.predicted.arena_bytes));
        }
      }
    }
  }
}

// densenet121's dense blocks (Pleiss et al. 2017's case): in place, each block's chain of
// concatenations is one buffer, and the training bill is strictly smaller, checkpointed or not.
TEST(ConcatMemory, Densenet121InPlaceBillIsSmaller) {
  const Graph g = make_model("densenet121", Dims{3, 64, 64});
  for (const std::string checkpoint : {"none", "sqrt"}) {
    SCOPED_TRACE(checkpoint);
    const Bill naive = run(g, true, Strategy::kGreedyBySize, checkpoint, false);
    const Bill in_place = run(g, true, Strategy::kGreedyBySize, checkpoint, true);
    expect_same(naive.predicted, naive.measured);
    expect_same(in_place.predicted, in_place.measured);
    EXPECT_NEAR(in_place.result, naive.result, 1e-4 * std::max(1.0f, std::abs(naive.result)));
    EXPECT_LT(in_place.predicted.peak_bytes, naive.predicted.peak_bytes);
    EXPECT_LT(in_place.concat_bytes, naive.concat_bytes);
    std::printf("[bill] densenet121 3x64x64 %s: naive peak %lld | in place peak %lld\n",
                checkpoint.c_str(), static_cast<long long>(naive.predicted.peak_bytes),
                static_cast<long long>(in_place.predicted.peak_bytes));
  }
}

// At batch 2 no view is handed out (no jit kernel writes a strided channel slice): the two bills
// are the same to the byte.
TEST(ConcatMemory, BatchTwoIsTheNaiveBill) {
  const Graph g = dense_net(DenseNetShape{}).graph();
  const auto opt = make_optimizer(OptimizerConfig{});
  ExecutorOptions o;
  o.batch = 2;
  const Executor on(g, o, opt.get(), std::make_unique<SoftmaxCrossEntropy>());
  o.in_place_concat = false;
  const Executor off(g, o, opt.get(), std::make_unique<SoftmaxCrossEntropy>());
  EXPECT_EQ(on.predicted().arena_bytes, off.predicted().arena_bytes);
  EXPECT_EQ(on.predicted().peak_bytes, off.predicted().peak_bytes);
}

}  // namespace
}  // namespace cnnmem
