// Tests for layers/dropout.h through the real code path: training output against a double
// reference built from the documented mask (Dropout::keeps), gradients against finite
// differences with the mask held fixed, the mask as a pure function of (seed, step, layer,
// index), the kept fraction, identity in inference and at p = 0, the mask buffer's tag and size,
// and rejected probabilities.
// Not here: the executor's step number wiring (framework/executor.h).
#include "layers/dropout.h"

#include <gtest/gtest.h>

#include "layers/softmax_cross_entropy.h"
#include "tests/layers/layer_harness.h"

namespace cnnmem::layer_test {
namespace {

TEST(DropoutLayerTest, ForwardAfterConv) {
  static const int64_t step = 5;
  Net net({3, 5, 4});
  net.conv("conv", conv_options(3, 16, 3, 1, 1)).dropout("drop", 0.3, 11, &step).flatten("flat");
  check_forward(net, 2, 1);
}

TEST(DropoutLayerTest, ForwardAfterLinear) {
  static const int64_t step = 0;
  Net net({12, 1, 1});
  net.flatten("flat").linear("fc", 12, 40).dropout("drop", 0.5, 3, &step);
  check_forward(net, 3, 2);
}

TEST(DropoutLayerTest, GradientsWithTheMaskFixed) {
  static const int64_t step = 2;
  Net net({3, 4, 4});
  net.conv("conv", conv_options(3, 8, 3, 1, 1))
      .dropout("drop", 0.4, 9, &step)
      .flatten("flat")
      .linear("fc", 128, 5);
  check_gradients(net, 2, 3);
}

// Runs one training forward pass of `net` on ones and returns the output.
std::vector<float> forward_ones(const Net& net, Executor& ex, int64_t n) {
  const auto size = static_cast<size_t>(n * dims_product(net.input_dims()));
  std::fill(ex.staging_images(), ex.staging_images() + size, 1.0f);
  std::fill(ex.staging_labels(), ex.staging_labels() + n, 0);
  ex.run_forward();
  return {ex.logits(), ex.logits() + size};
}

// The mask depends on (seed, step, layer, index) only; about 1 - p of the values are kept,
// scaled by 1/(1 - p).
TEST(DropoutLayerTest, MaskIsAPureFunctionOfSeedStepLayerAndIndex) {
  int64_t step_number = 0;
  Net net({1, 1, 4000});
  net.flatten("flat").dropout("drop", 0.25, 42, &step_number);
  const Graph g = net.graph();
  OptimizerConfig cfg;
  cfg.name = "sgd";
  const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
  ExecutorOptions o;
  o.batch = 2;
  Executor ex(g, o, opt.get(), std::make_unique<SoftmaxCrossEntropy>());
  ex.bind();
  const std::vector<float> first = forward_ones(net, ex, 2);
  step_number = 1;
  const std::vector<float> second = forward_ones(net, ex, 2);
  EXPECT_NE(first, second);
  int64_t kept = 0;
  for (int step = 0; step < 2; ++step) {
    const uint64_t key = Dropout::step_key(42, step, Dropout::layer_key("drop"));
    const std::vector<float>& got = step == 0 ? first : second;
    for (size_t i = 0; i < got.size(); ++i) {
      const bool keep = Dropout::keeps(key, static_cast<int64_t>(i), 0.25);
      ASSERT_EQ(got[i], keep ? 1.0f / 0.75f : 0.0f) << "step " << step << " element " << i;
      kept += keep;
    }
  }
  EXPECT_NEAR(static_cast<double>(kept) / 16000.0, 0.75, 0.015);
  // Another layer name or seed gives another mask.
  const uint64_t key = Dropout::step_key(42, 0, Dropout::layer_key("drop"));
  const uint64_t other_layer = Dropout::step_key(42, 0, Dropout::layer_key("drop2"));
  const uint64_t other_seed = Dropout::step_key(43, 0, Dropout::layer_key("drop"));
  int same_layer = 0, same_seed = 0;
  for (int64_t i = 0; i < 1000; ++i) {
    same_layer += Dropout::keeps(key, i, 0.5) == Dropout::keeps(other_layer, i, 0.5);
    same_seed += Dropout::keeps(key, i, 0.5) == Dropout::keeps(other_seed, i, 0.5);
  }
  EXPECT_LT(same_layer, 600);
  EXPECT_LT(same_seed, 600);
  // The mask is the one activation dropout saves: one byte per value.
  bool found = false;
  for (const Buffer& buf : ex.schedule().buffers) {
    if (buf.name != "drop.mask") continue;
    found = true;
    EXPECT_EQ(buf.tag, Tag::kActivation);
    EXPECT_EQ(buf.bytes_requested, 2 * 4000);
  }
  EXPECT_TRUE(found);
}

// With the executor's step pointer, the same step gives the same mask on every run (what a
// recomputation needs).
TEST(DropoutLayerTest, ExternalStepCounterRepeatsTheMask) {
  int64_t step = 7;
  Net net({1, 1, 500});
  net.flatten("flat").dropout("drop", 0.5, 1, &step);
  const Graph g = net.graph();
  OptimizerConfig cfg;
  cfg.name = "sgd";
  const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
  ExecutorOptions o;
  Executor ex(g, o, opt.get(), std::make_unique<SoftmaxCrossEntropy>());
  ex.bind();
  const std::vector<float> a = forward_ones(net, ex, 1);
  EXPECT_EQ(forward_ones(net, ex, 1), a);
  step = 8;
  EXPECT_NE(forward_ones(net, ex, 1), a);
}

// Inference, and p = 0 in training, are the identity with no op.
TEST(DropoutLayerTest, IdentityInInferenceAndAtZero) {
  static const int64_t step = 0;
  for (const auto& [p, training] : {std::pair{0.5, false}, std::pair{0.0, true}}) {
    Net net({2, 3, 3});
    net.conv("conv", conv_options(2, 3, 1)).dropout("drop", p, 1, &step).flatten("flat");
    check_forward(net, 2, 6);
    const Graph g = net.graph();
    OptimizerConfig cfg;
    cfg.name = "sgd";
    const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
    ExecutorOptions o;
    o.training = training;
    const Executor ex(g, o, training ? opt.get() : nullptr,
                      training ? std::make_unique<SoftmaxCrossEntropy>() : nullptr);
    for (const Buffer& buf : ex.schedule().buffers) {
      EXPECT_EQ(buf.name.find("drop"), std::string::npos) << buf.name;
    }
  }
}

TEST(DropoutLayerTest, RejectsBadProbabilities) {
  expect_error([] { Dropout("drop", -0.1); }, {"dropout \"drop\": ", "probability", "-0.1"});
  expect_error([] { Dropout("drop", 1.5); }, {"dropout \"drop\": ", "probability", "1.5"});
}

}  // namespace
}  // namespace cnnmem::layer_test
