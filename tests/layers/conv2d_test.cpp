// Tests for layers/conv2d.h through the real code path (Graph -> Executor -> oneDNN): forward
// against a naive double loop, weight, bias and input gradients against finite differences, and
// every rejected hyper-parameter or input shape.
// Not here: memory accounting of the layer (tests/framework).
#include "layers/conv2d.h"

#include <gtest/gtest.h>

#include "layers/softmax_cross_entropy.h"
#include "tests/layers/layer_harness.h"

namespace cnnmem::layer_test {
namespace {

// One convolution case, XNNPACK-tester style.
class ConvCase {
 public:
  ConvCase& batch(int64_t n) {
    n_ = n;
    return *this;
  }
  ConvCase& channels(int64_t in, int64_t out) {
    ic_ = in;
    oc_ = out;
    return *this;
  }
  ConvCase& size(int64_t h, int64_t w) {
    h_ = h;
    w_ = w;
    return *this;
  }
  ConvCase& kernel(int64_t k) {
    k_ = k;
    return *this;
  }
  ConvCase& stride(int64_t s) {
    s_ = s;
    return *this;
  }
  ConvCase& padding(int64_t p) {
    p_ = p;
    return *this;
  }
  ConvCase& dilation(int64_t d) {
    d_ = d;
    return *this;
  }
  ConvCase& bias(bool on) {
    bias_ = on;
    return *this;
  }
  ConvCase& groups(int64_t g) {
    g_ = g;
    return *this;
  }
  ConvCase& seed(uint32_t s) {
    seed_ = s;
    return *this;
  }

  // input -> conv -> flatten: the flattened output is the conv's dst in NCHW order.
  void check_forward() const {
    Net net({ic_, h_, w_});
    net.conv("conv", options()).flatten("flat");
    layer_test::check_forward(net, n_, seed_);
  }
  // input -> 1x1 conv "pre" -> conv -> flatten: pre's gradients flow through this conv's
  // diff_src, so the backward-data path is checked along with diff_weights and diff_bias.
  void check_gradients() const {
    Net net({ic_, h_, w_});
    net.conv("pre", conv_options(ic_, ic_, 1)).conv("conv", options()).flatten("flat");
    layer_test::check_gradients(net, n_, seed_);
  }

 private:
  Conv2dOptions options() const { return conv_options(ic_, oc_, k_, s_, p_, d_, bias_, g_); }
  int64_t n_ = 1, ic_ = 1, oc_ = 1, h_ = 5, w_ = 5, k_ = 3, s_ = 1, p_ = 0, d_ = 1, g_ = 1;
  bool bias_ = true;
  uint32_t seed_ = 1;
};

TEST(Conv2dLayerTest, ForwardStride1NoPadding) {
  ConvCase().batch(1).channels(3, 5).size(7, 6).kernel(3).check_forward();
}

TEST(Conv2dLayerTest, ForwardStride2Padding1) {
  ConvCase().batch(3).channels(3, 5).size(7, 6).kernel(3).stride(2).padding(1).check_forward();
}

TEST(Conv2dLayerTest, ForwardPadding2Dilation2) {
  ConvCase().batch(2).channels(4, 6).size(9, 8).kernel(3).padding(2).dilation(2).check_forward();
}

TEST(Conv2dLayerTest, ForwardDilation2Stride2NoBias) {
  ConvCase()
      .batch(3)
      .channels(3, 5)
      .size(10, 9)
      .kernel(3)
      .stride(2)
      .dilation(2)
      .bias(false)
      .check_forward();
}

TEST(Conv2dLayerTest, ForwardNoBias) {
  ConvCase().batch(3).channels(3, 5).size(6, 7).kernel(3).padding(1).bias(false).check_forward();
}

TEST(Conv2dLayerTest, ForwardBlockedChannels16To32) {
  ConvCase().batch(2).channels(16, 32).size(8, 7).kernel(3).padding(1).seed(2).check_forward();
}

TEST(Conv2dLayerTest, ForwardKernel5Stride2Padding2) {
  ConvCase().batch(2).channels(1, 8).size(11, 9).kernel(5).stride(2).padding(2).check_forward();
}

TEST(Conv2dLayerTest, ForwardKernelCoversInput) {
  ConvCase().batch(3).channels(2, 3).size(4, 4).kernel(4).seed(3).check_forward();
}

TEST(Conv2dLayerTest, ForwardPointwise) {
  ConvCase().batch(2).channels(5, 7).size(3, 4).kernel(1).seed(4).check_forward();
}

TEST(Conv2dLayerTest, GradientsStride1Padding1) {
  ConvCase().batch(2).channels(3, 5).size(6, 5).kernel(3).padding(1).check_gradients();
}

TEST(Conv2dLayerTest, GradientsStride2NoBias) {
  ConvCase().batch(3).channels(3, 4).size(7, 6).kernel(3).stride(2).bias(false).check_gradients();
}

TEST(Conv2dLayerTest, GradientsPadding2Dilation2) {
  ConvCase().batch(2).channels(2, 3).size(7, 7).kernel(3).padding(2).dilation(2).check_gradients();
}

TEST(Conv2dLayerTest, GradientsBlockedChannels16To32) {
  ConvCase().batch(2).channels(16, 32).size(5, 4).kernel(3).padding(1).seed(5).check_gradients();
}

TEST(Conv2dLayerTest, GradientsBatch1Kernel5Stride2) {
  ConvCase().batch(1).channels(3, 5).size(9, 8).kernel(5).stride(2).padding(2).check_gradients();
}

TEST(Conv2dLayerTest, ForwardGrouped) {
  ConvCase().batch(2).channels(4, 6).groups(2).size(6, 5).kernel(3).padding(1).check_forward();
}

TEST(Conv2dLayerTest, ForwardDepthwise) {
  ConvCase().batch(2).channels(8, 8).groups(8).size(6, 6).kernel(3).padding(1).check_forward();
}

TEST(Conv2dLayerTest, ForwardDepthwiseBlockedStride2NoBias) {
  ConvCase()
      .batch(2)
      .channels(32, 32)
      .groups(32)
      .size(7, 7)
      .kernel(3)
      .stride(2)
      .padding(1)
      .bias(false)
      .seed(7)
      .check_forward();
}

// Depthwise with a channel multiplier: each input channel makes two outputs.
TEST(Conv2dLayerTest, ForwardDepthwiseMultiplier2) {
  ConvCase().batch(1).channels(4, 8).groups(4).size(5, 5).kernel(3).seed(8).check_forward();
}

TEST(Conv2dLayerTest, GradientsGrouped) {
  ConvCase().batch(2).channels(4, 6).groups(2).size(5, 4).kernel(3).padding(1).check_gradients();
}

TEST(Conv2dLayerTest, GradientsDepthwise) {
  ConvCase().batch(2).channels(6, 6).groups(6).size(5, 5).kernel(3).padding(1).check_gradients();
}

TEST(Conv2dLayerTest, GradientsDepthwiseBlockedStride2) {
  ConvCase()
      .batch(2)
      .channels(16, 16)
      .groups(16)
      .size(6, 6)
      .kernel(3)
      .stride(2)
      .padding(1)
      .bias(false)
      .seed(9)
      .check_gradients();
}

// conv -> relu is fused into one primitive (ReLU post-op) for grouped convolutions too; the
// kernels are oneDNN's optimised ones, forward and backward, not its reference loops.
TEST(Conv2dLayerTest, DepthwiseWithFusedRelu) {
  Net net({16, 5, 5});
  net.conv("pre", conv_options(16, 16, 1))
      .conv("dw", conv_options(16, 16, 3, 1, 1, 1, false, 16))
      .relu("relu")
      .conv("post", conv_options(16, 3, 1))
      .flatten("flat");
  check_forward(net, 2, 10);
  check_gradients(net, 2, 10);
  const Graph g = net.graph();
  OptimizerConfig cfg;
  cfg.name = "sgd";
  const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
  ExecutorOptions o;
  o.batch = 2;
  const Executor ex(g, o, opt.get(), std::make_unique<SoftmaxCrossEntropy>());
  bool fused = true;
  for (const Op& op : ex.schedule().ops) fused = fused && op.name != "relu.forward";
  EXPECT_TRUE(fused);
  for (const std::string& impl : ex.implementations()) {
    EXPECT_EQ(impl.find("ref"), std::string::npos) << impl;
  }
}

// Adds one conv to a graph whose input is `input`; construction or shape inference may throw.
void add_conv(const Dims& input, const Conv2dOptions& o) {
  Graph g("t", input, 10);
  g.add(std::make_unique<Conv2d>("c", o));
}

TEST(Conv2dLayerTest, RejectsBadHyperParameters) {
  const std::string name = "conv2d \"c\": ";
  expect_error([&] { add_conv({3, 8, 8}, conv_options(0, 4, 3)); }, {name, "channels"});
  expect_error([&] { add_conv({3, 8, 8}, conv_options(3, -2, 3)); }, {name, "channels", "-2"});
  expect_error([&] { add_conv({3, 8, 8}, conv_options(3, 4, 0)); }, {name, "kernel"});
  expect_error([&] { add_conv({3, 8, 8}, conv_options(3, 4, 3, 0)); }, {name, "stride"});
  expect_error([&] { add_conv({3, 8, 8}, conv_options(3, 4, 3, 1, -1)); }, {name, "padding"});
  expect_error([&] { add_conv({3, 8, 8}, conv_options(3, 4, 3, 1, 0, 0)); }, {name, "dilation"});
  expect_error(
      [&] {
        add_conv({4, 8, 8}, conv_options(4, 4, 3, 1, 0, 1, true, 0));
      },
      {name, "groups must be positive"});
  expect_error(
      [&] {
        add_conv({4, 8, 8}, conv_options(4, 6, 3, 1, 0, 1, true, 4));
      },
      {name, "groups 4 must divide", "4->6"});
}

TEST(Conv2dLayerTest, RejectsInputsThatDoNotFit) {
  const std::string name = "conv2d \"c\": ";
  expect_error(
      [&] {
        add_conv({3, 8, 8}, conv_options(4, 8, 3));
      },
      {name + "input has 3 channels, weights expect 4"});
  expect_error([&] { add_conv({3, 4, 8}, conv_options(3, 8, 5)); }, {name, "smaller than"});
  // Dilation 2 widens a 3x3 kernel to 5x5; padding 1 is not enough for a 2x2 input.
  expect_error(
      [&] {
        add_conv({3, 2, 2}, conv_options(3, 8, 3, 1, 1, 2));
      },
      {name, "smaller than"});
  expect_error(
      [&] {
        Graph g("t", {3, 4, 4}, 10);
        g.add(std::make_unique<Flatten>("flat"));
        g.add(std::make_unique<Conv2d>("c", conv_options(48, 8, 1)));
      },
      {name, "CxHxW"});
}

// The boundary of "smaller than the kernel": a dilated kernel exactly as wide as the padded
// input is accepted and gives a 1x1 output.
TEST(Conv2dLayerTest, DilatedKernelExactlyCoveringPaddedInput) {
  Graph g("t", {2, 3, 3}, 10);
  g.add(std::make_unique<Conv2d>("c", conv_options(2, 4, 3, 1, 1, 2)));
  EXPECT_EQ(g.nodes().back().dims, (Dims{4, 1, 1}));
  Net net({2, 3, 3});
  net.conv("c", conv_options(2, 4, 3, 1, 1, 2)).flatten("flat");
  check_forward(net, 2, 6);
}

}  // namespace
}  // namespace cnnmem::layer_test
