// Tests for layers/relu6.h through the real code path: exact values around both bounds,
// forward after a conv whose outputs pass 6, gradients (through a conv before it) against
// finite differences, and the in-place decision.
// Not here: other activations (tests/layers/relu_test.cpp).
#include "layers/relu6.h"

#include <gtest/gtest.h>

#include "tests/layers/layer_harness.h"

namespace cnnmem::layer_test {
namespace {

TEST(Relu6LayerTest, HandWorkedForward) {
  Net net({1, 2, 4});
  net.relu6("relu6").flatten("flat");
  const layer_test::Batch batch{1, {-2, -1e-3f, 0, 0.25f, 5.5f, 6, 6.5f, 100}, {0}};
  const std::vector<float> want = {0, 0, 0, 0.25f, 5.5f, 6, 6, 6};
  EXPECT_EQ(layer_test::run_executor(net, batch, {}, false).output, want);
  EXPECT_EQ(layer_test::run_executor(net, batch, {}, true).output, want);
}

// The conv's weights are scaled so that about a third of its outputs pass 6.
TEST(Relu6LayerTest, ForwardAfterConv) {
  Net net({3, 6, 5});
  net.conv("conv", conv_options(3, 5, 3, 1, 1)).init_scale(12).relu6("relu6").flatten("flat");
  check_forward(net, 2, 2);
}

TEST(Relu6LayerTest, ForwardAfterBlockedConv) {
  Net net({3, 4, 4});
  net.conv("conv", conv_options(3, 16, 3, 1, 1)).init_scale(12).relu6("relu6").flatten("flat");
  check_forward(net, 2, 3);
}

TEST(Relu6LayerTest, GradientsBetweenConvs) {
  Net net({3, 5, 4});
  net.conv("conv1", conv_options(3, 5, 3, 1, 1))
      .init_scale(12)
      .relu6("relu6")
      .conv("conv2", conv_options(5, 4, 3))
      .flatten("flat");
  check_gradients(net, 2, 4);
}

TEST(Relu6LayerTest, GradientsBetweenBlockedConvs) {
  Net net({3, 4, 4});
  net.conv("conv1", conv_options(3, 16, 3, 1, 1))
      .init_scale(12)
      .relu6("relu6")
      .conv("conv2", conv_options(16, 3, 1))
      .flatten("flat");
  check_gradients(net, 2, 5);
}

// In place after a conv; a copy when its input is the image (which must survive).
TEST(Relu6LayerTest, InPlaceDecision) {
  for (bool on_image : {false, true}) {
    Net net({3, 4, 4});
    if (!on_image) net.conv("conv", conv_options(3, 4, 1));
    net.relu6("relu6").flatten("flat");
    const Graph g = net.graph();
    ExecutorOptions o;
    o.training = false;
    const Executor ex(g, o, nullptr);
    const auto* r = dynamic_cast<const Relu6*>(g.nodes()[on_image ? 1 : 2].layer.get());
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->in_place(), !on_image);
    for (const std::string& impl : ex.implementations()) {
      EXPECT_EQ(impl.find("ref"), std::string::npos) << impl;
    }
  }
}

}  // namespace
}  // namespace cnnmem::layer_test
