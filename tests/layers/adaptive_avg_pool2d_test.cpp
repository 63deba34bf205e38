// Tests for layers/adaptive_avg_pool2d.h through the real code path: global and fixed-size
// output against a double reference, gradients against finite differences, the free identity
// case, and the rejected uneven sizes.
// Not here: PyTorch's uneven windows (not supported).
#include "layers/adaptive_avg_pool2d.h"

#include <gtest/gtest.h>

#include "layers/softmax_cross_entropy.h"
#include "tests/layers/layer_harness.h"

namespace cnnmem::layer_test {
namespace {

TEST(AdaptiveAvgPool2dLayerTest, ForwardGlobal) {
  Net net({3, 4, 6});
  net.conv("conv", conv_options(3, 5, 3, 1, 1)).adaptive_avg_pool("avgpool", 1, 1).flatten("flat");
  check_forward(net, 2, 1);
}

TEST(AdaptiveAvgPool2dLayerTest, ForwardGlobalBlockedChannels) {
  Net net({3, 5, 5});
  net.conv("conv", conv_options(3, 32, 3)).adaptive_avg_pool("avgpool", 1, 1).flatten("flat");
  check_forward(net, 3, 2);
}

// 6x6 -> 2x3: windows of 3x2.
TEST(AdaptiveAvgPool2dLayerTest, ForwardFixedOutput) {
  Net net({4, 6, 6});
  net.adaptive_avg_pool("avgpool", 2, 3).flatten("flat");
  check_forward(net, 2, 3);
}

TEST(AdaptiveAvgPool2dLayerTest, GradientsGlobal) {
  Net net({3, 4, 4});
  net.conv("conv", conv_options(3, 16, 3, 1, 1))
      .adaptive_avg_pool("avgpool", 1, 1)
      .flatten("flat")
      .linear("fc", 16, 5);
  check_gradients(net, 2, 4);
}

// For a 1x1 output oneDNN 2.6 resolves `any` to a layout only its reference backward kernel
// takes; the layer must end up on an optimised kernel.
TEST(AdaptiveAvgPool2dLayerTest, GlobalPoolBackwardIsNotTheReferenceKernel) {
  Net net({3, 4, 4});
  net.conv("conv", conv_options(3, 16, 3, 1, 1)).adaptive_avg_pool("avgpool", 1, 1).flatten("f");
  const Graph g = net.graph();
  OptimizerConfig cfg;
  cfg.name = "sgd";
  const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
  ExecutorOptions o;
  o.batch = 2;
  const Executor ex(g, o, opt.get(), std::make_unique<SoftmaxCrossEntropy>());
  int pooling = 0;
  for (const std::string& impl : ex.implementations()) {
    EXPECT_EQ(impl.find("ref"), std::string::npos) << impl;
    pooling += impl.find("avgpool.backward") == 0;
  }
  EXPECT_EQ(pooling, 1);
}

TEST(AdaptiveAvgPool2dLayerTest, GradientsFixedOutput) {
  Net net({2, 6, 4});
  net.conv("conv", conv_options(2, 3, 1)).adaptive_avg_pool("avgpool", 3, 2).flatten("flat");
  check_gradients(net, 2, 5);
}

// Output size == input size: no op at all, the input passes through (vgg's 7x7 at 224x224).
TEST(AdaptiveAvgPool2dLayerTest, IdentityIsFree) {
  Net net({3, 4, 4});
  net.conv("conv", conv_options(3, 4, 1)).adaptive_avg_pool("avgpool", 4, 4).flatten("flat");
  check_forward(net, 2, 6);
  check_gradients(net, 2, 6);
  const Graph g = net.graph();
  ExecutorOptions o;
  o.training = false;
  const Executor ex(g, o, nullptr);
  for (const Op& op : ex.schedule().ops) EXPECT_EQ(op.name.find("avgpool"), std::string::npos);
}

TEST(AdaptiveAvgPool2dLayerTest, RejectsBadArguments) {
  const std::string name = "adaptive_avg_pool2d \"avgpool\": ";
  expect_error([] { AdaptiveAvgPool2d("avgpool", 0, 1); }, {name, "output size"});
  expect_error(
      [] {
        Graph g("t", {3, 13, 13}, 10);
        g.add(std::make_unique<AdaptiveAvgPool2d>("avgpool", 6, 6));
      },
      {name, "13x13", "not a multiple", "6x6", "divides evenly"});
  expect_error(
      [] {
        Graph g("t", {3, 4, 4}, 10);
        g.add(std::make_unique<Flatten>("flat"));
        g.add(std::make_unique<AdaptiveAvgPool2d>("avgpool", 1, 1));
      },
      {name, "CxHxW"});
}

}  // namespace
}  // namespace cnnmem::layer_test
