// Tests for layers/conv2d.h with non-square and asymmetric geometry (Conv2dOptions::geometry):
// kernel, stride and dilation per axis, padding per side in ONNX's order (top, left, bottom,
// right). Forward against the naive double loop, gradients against finite differences, a
// hand-worked case that pins the order of the pads, and the rejected geometries.
// Not here: square convolutions (tests/layers/conv2d_test.cpp).
#include <gtest/gtest.h>

#include "layers/conv2d.h"
#include "tests/layers/layer_harness.h"

namespace cnnmem::layer_test {
namespace {

Conv2dOptions geometry(int64_t in, int64_t out, Window2d w, bool bias = true, int64_t groups = 1) {
  Conv2dOptions o(in, out, 1, 1, 0, 1, bias, groups);
  o.geometry = w;
  return o;
}

// 3x5 kernel, stride 2x1, dilation 1x2, pads top 1, left 2, bottom 0, right 3.
Window2d skewed() {
  Window2d w;
  w.kernel_h = 3;
  w.kernel_w = 5;
  w.stride_h = 2;
  w.stride_w = 1;
  w.dilation_h = 1;
  w.dilation_w = 2;
  w.pads = {1, 2, 0, 3};
  return w;
}

TEST(Conv2dGeometryTest, OutputShape) {
  Graph g("t", {3, 9, 8}, 10);
  g.add(std::make_unique<Conv2d>("c", geometry(3, 4, skewed())));
  // OH = (9 + 1 + 0 - 3) / 2 + 1 = 4; OW = (8 + 2 + 3 - 9) / 1 + 1 = 5.
  EXPECT_EQ(g.nodes().back().dims, (Dims{4, 4, 5}));
}

TEST(Conv2dGeometryTest, ForwardSkewed) {
  Net net({3, 9, 8});
  net.conv("conv", geometry(3, 5, skewed())).flatten("flat");
  check_forward(net, 2, 1);
}

TEST(Conv2dGeometryTest, ForwardSkewedBlockedNoBias) {
  Net net({16, 7, 8});
  net.conv("conv", geometry(16, 32, skewed(), false)).flatten("flat");
  check_forward(net, 2, 2);
}

TEST(Conv2dGeometryTest, ForwardKernel1x7Grouped) {
  Window2d w = Window2d::square(1);
  w.kernel_w = 7;
  w.pads = {0, 3, 0, 3};
  Net net({4, 5, 9});
  net.conv("conv", geometry(4, 6, w, true, 2)).flatten("flat");
  check_forward(net, 2, 3);
}

TEST(Conv2dGeometryTest, GradientsSkewed) {
  Net net({3, 9, 8});
  net.conv("pre", conv_options(3, 3, 1)).conv("conv", geometry(3, 4, skewed())).flatten("flat");
  check_gradients(net, 2, 4);
}

TEST(Conv2dGeometryTest, GradientsSkewedBlocked) {
  Net net({16, 7, 6});
  net.conv("pre", conv_options(16, 16, 1)).conv("conv", geometry(16, 16, skewed())).flatten("flat");
  check_gradients(net, 2, 5);
}

TEST(Conv2dGeometryTest, GradientsDepthwiseAsymmetricPads) {
  Window2d w = Window2d::square(3, 2);
  w.pads = {0, 0, 1, 1};  // TensorFlow's "SAME" at stride 2: all the padding at the end
  Net net({8, 6, 6});
  net.conv("pre", conv_options(8, 8, 1)).conv("dw", geometry(8, 8, w, false, 8)).flatten("flat");
  check_gradients(net, 2, 6);
}

// A 1x1 identity kernel over a 2x2 image with pads top 1, left 0, bottom 0, right 2: the image
// lands one row down at the left of a 3x4 output.
TEST(Conv2dGeometryTest, HandWorkedPadsOrder) {
  Window2d w = Window2d::square(1);
  w.pads = {1, 0, 0, 2};
  Net net({1, 2, 2});
  net.conv("c", geometry(1, 1, w)).flatten("flat");
  const std::vector<NamedTensor> params = {{"c.weight", {1, 1, 1, 1}, {1}}, {"c.bias", {1}, {0}}};
  const Batch batch{1, {1, 2, 3, 4}, {0}};
  const std::vector<float> want = {0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0};
  for (bool training : {false, true}) {
    EXPECT_EQ(run_executor(net, batch, params, training).output, want);
  }
}

TEST(Conv2dGeometryTest, Parameters) {
  const Conv2d c("c", geometry(4, 6, skewed(), true, 2));
  const std::vector<ParamDecl> p = c.params({{4, 9, 9}});
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].shape, (Dims{6, 2, 3, 5}));
  EXPECT_EQ(p[0].fan_in, 2 * 3 * 5);
}

void add_conv(const Dims& input, const Window2d& w) {
  Graph g("t", input, 10);
  g.add(std::make_unique<Conv2d>("c", geometry(input[0], 4, w)));
}

TEST(Conv2dGeometryTest, RejectsBadGeometry) {
  const std::string name = "conv2d \"c\": ";
  Window2d w = skewed();
  w.kernel_w = 0;
  expect_error([&] { add_conv({3, 9, 9}, w); }, {name, "kernel must be positive", "3x0"});
  w = skewed();
  w.stride_h = -1;
  expect_error([&] { add_conv({3, 9, 9}, w); }, {name, "stride must be positive"});
  w = skewed();
  w.dilation_w = 0;
  expect_error([&] { add_conv({3, 9, 9}, w); }, {name, "dilation must be positive"});
  w = skewed();
  w.pads.right = -1;
  expect_error([&] { add_conv({3, 9, 9}, w); }, {name, "padding must be >= 0", "1,2,0,-1"});
  // Width: 3 + 2 + 3 = 8 < span 9.
  expect_error([&] { add_conv({3, 9, 3}, skewed()); }, {name, "smaller than the kernel 3x9"});
}

}  // namespace
}  // namespace cnnmem::layer_test
