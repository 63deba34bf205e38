// Tests for layers/relu.h through the real code path (Graph -> Executor -> oneDNN): forward
// against max(x, 0) in double, backward (through a conv before it) against finite differences,
// and the in-place decision: in place after a conv, a copy when the input must survive.
// Not here: the planner's reuse of the freed buffers (tests/framework).
#include "layers/relu.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "layers/softmax_cross_entropy.h"
#include "tests/layers/layer_harness.h"

namespace cnnmem::layer_test {
namespace {

TEST(ReluLayerTest, ForwardOnTheInput) {
  Net net({3, 5, 4});
  net.relu("relu").flatten("flat");
  check_forward(net, 3, 1);
}

TEST(ReluLayerTest, ForwardAfterConv) {
  Net net({3, 6, 5});
  net.conv("conv", conv_options(3, 5, 3, 1, 1)).relu("relu").flatten("flat");
  check_forward(net, 2, 2);
}

TEST(ReluLayerTest, ForwardAfterBlockedConv16To32) {
  Net net({16, 5, 6});
  net.conv("conv", conv_options(16, 32, 3, 1, 1)).relu("relu").flatten("flat");
  check_forward(net, 1, 3);
}

// Exact values: negatives (a tiny one included) become 0, zero and positives pass.
TEST(ReluLayerTest, HandWorkedForward) {
  Net net({1, 2, 3});
  net.relu("relu").flatten("flat");
  const layer_test::Batch batch{1, {-2, -0.5f, 0, 0.25f, 3, -1e-3f}, {0}};
  const std::vector<float> want = {0, 0, 0, 0.25f, 3, 0};
  EXPECT_EQ(layer_test::run_executor(net, batch, {}, false).output, want);
  EXPECT_EQ(layer_test::run_executor(net, batch, {}, true).output, want);
}

// conv -> relu -> conv: the gradients of the first conv flow through relu's backward (which
// reads relu's in-place dst) and the second conv's diff_src.
TEST(ReluLayerTest, GradientsBetweenConvs) {
  Net net({3, 6, 5});
  net.conv("conv1", conv_options(3, 5, 3, 1, 1))
      .relu("relu")
      .conv("conv2", conv_options(5, 4, 3))
      .flatten("flat");
  check_gradients(net, 2, 4);
}

TEST(ReluLayerTest, GradientsBetweenBlockedConvs) {
  Net net({3, 5, 5});
  net.conv("conv1", conv_options(3, 16, 3, 1, 1))
      .relu("relu")
      .conv("conv2", conv_options(16, 4, 1))
      .flatten("flat");
  check_gradients(net, 2, 5);
}

TEST(ReluLayerTest, GradientsBetweenLinears) {
  Net net({7, 1, 1});
  net.flatten("flat").linear("fc1", 7, 9).relu("relu").linear("fc2", 9, 4);
  check_gradients(net, 3, 6);
}

// Two ReLUs in a row: the second must not overwrite what the first saved for backward.
TEST(ReluLayerTest, GradientsOfTwoRelusInARow) {
  Net net({2, 5, 4});
  net.conv("conv1", conv_options(2, 3, 3, 1, 1))
      .relu("relu1")
      .relu("relu2")
      .conv("conv2", conv_options(3, 2, 3))
      .flatten("flat");
  check_gradients(net, 2, 7);
}

bool has_buffer(const Executor& ex, const std::string& name) {
  const auto& buffers = ex.schedule().buffers;
  return std::any_of(buffers.begin(), buffers.end(),
                     [&](const Buffer& b) { return b.name == name; });
}

// Plans input -> [conv] -> relu1 -> relu2 -> flatten and returns the two ReLUs' decisions.
struct InPlacePlan {
  bool relu1 = false, relu2 = false, relu1_dst = false, relu2_dst = false;
};
InPlacePlan plan_relus(bool conv_first, bool training) {
  Graph g("t", {3, 6, 6}, conv_first ? 4 * 36 : 3 * 36);
  if (conv_first) g.add(std::make_unique<Conv2d>("conv", conv_options(3, 4, 3, 1, 1)));
  auto r1 = std::make_unique<Relu>("relu1");
  auto r2 = std::make_unique<Relu>("relu2");
  const Relu* relu1 = r1.get();
  const Relu* relu2 = r2.get();
  g.add(std::move(r1));
  g.add(std::move(r2));
  g.add(std::make_unique<Flatten>("flat"));
  OptimizerConfig cfg;
  cfg.lr = 0;
  const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
  ExecutorOptions o;
  o.training = training;
  o.batch = 2;
  const Executor ex(g, o, training ? opt.get() : nullptr,
                    training ? std::make_unique<SoftmaxCrossEntropy>() : nullptr);
  return {relu1->in_place(), relu2->in_place(), has_buffer(ex, "relu1.dst"),
          has_buffer(ex, "relu2.dst")};
}

TEST(ReluLayerTest, InPlaceAfterConvInTraining) {
  const InPlacePlan p = plan_relus(/*conv_first=*/true, /*training=*/true);
  EXPECT_TRUE(p.relu1);
  EXPECT_FALSE(p.relu1_dst);
  // relu1 saved its dst for backward; relu2 must write a copy.
  EXPECT_FALSE(p.relu2);
  EXPECT_TRUE(p.relu2_dst);
}

TEST(ReluLayerTest, InPlaceChainInInference) {
  // Nothing is saved for backward, so both overwrite the conv's dst.
  const InPlacePlan p = plan_relus(/*conv_first=*/true, /*training=*/false);
  EXPECT_TRUE(p.relu1);
  EXPECT_TRUE(p.relu2);
  EXPECT_FALSE(p.relu1_dst);
  EXPECT_FALSE(p.relu2_dst);
}

TEST(ReluLayerTest, NeverOverwritesTheInputImages) {
  const InPlacePlan p = plan_relus(/*conv_first=*/false, /*training=*/false);
  EXPECT_FALSE(p.relu1);
  EXPECT_TRUE(p.relu1_dst);
}

TEST(ReluLayerTest, RejectsTwoInputs) {
  expect_error(
      [] {
        Graph g("t", {3, 4, 4}, 10);
        g.add(std::make_unique<Relu>("r"), {0, 0});
      },
      {"relu \"r\": ", "exactly one input"});
}

}  // namespace
}  // namespace cnnmem::layer_test
