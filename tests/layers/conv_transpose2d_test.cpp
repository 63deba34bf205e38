// Tests for layers/conv_transpose2d.h through the real code path (Graph -> Executor -> oneDNN
// deconvolution): forward against a naive double loop and against PyTorch goldens (stride,
// padding, output_padding, groups, dilation), weight, bias and input gradients against finite
// differences, PyTorch's parameter shapes, the jit check, and the rejected options.
// Not here: convolution (tests/layers/conv2d_test.cpp).
#include "layers/conv_transpose2d.h"

#include <gtest/gtest.h>

#include "layers/softmax_cross_entropy.h"
#include "tests/layers/geometry_reference.h"
#include "tests/layers/layer_harness.h"

namespace cnnmem::layer_test {
namespace {

CustomLayer deconv(const std::string& name, const ConvTranspose2dOptions& o) {
  CustomLayer l;
  l.make = [=] { return std::make_unique<ConvTranspose2d>(name, o); };
  l.ref = [=](const std::vector<const RefTensor*>& in, const RefParams& p, bool) {
    return ref_conv_transpose2d(*in[0], o, p.at(name + ".weight"),
                                o.bias ? &p.at(name + ".bias") : nullptr);
  };
  l.params = ConvTranspose2d(name, o).params({});
  return l;
}

// input -> deconv -> flatten; and input -> 1x1 conv -> deconv -> flatten for the gradients
// (the conv's gradients flow through the deconv's backward data).
void check_case(const Dims& input, const ConvTranspose2dOptions& o, uint32_t seed) {
  Net fwd(input);
  fwd.custom("up", {}, deconv("up", o)).flatten("flat");
  check_forward(fwd, 2, seed);
  Net net(input);
  net.conv("pre", conv_options(input[0], input[0], 1))
      .custom("up", {}, deconv("up", o))
      .flatten("flat");
  check_gradients(net, 2, seed);
}

TEST(ConvTranspose2dLayerTest, Stride2Kernel2) {
  check_case({3, 4, 5}, ConvTranspose2dOptions(3, 4, 2, 2), 1);
}

TEST(ConvTranspose2dLayerTest, Stride2Kernel3Padding1OutputPadding1) {
  check_case({3, 4, 4}, ConvTranspose2dOptions(3, 5, 3, 2, 1, 1), 2);
}

TEST(ConvTranspose2dLayerTest, BlockedChannelsNoBias) {
  check_case({16, 3, 4}, ConvTranspose2dOptions(16, 32, 4, 2, 1, 0, 1, false), 3);
}

TEST(ConvTranspose2dLayerTest, GroupedDilated) {
  check_case({4, 4, 3}, ConvTranspose2dOptions(4, 6, 3, 1, 1, 0, 2, true, 2), 4);
}

TEST(ConvTranspose2dLayerTest, NonSquareAsymmetric) {
  ConvTranspose2dOptions o(3, 4, 1);
  o.window.kernel_h = 3;
  o.window.kernel_w = 2;
  o.window.stride_h = 2;
  o.window.stride_w = 3;
  o.window.pads = {1, 0, 0, 1};
  o.output_padding_w = 2;
  check_case({3, 3, 4}, o, 5);
}

Batch golden_batch(const Dims& input) { return {1, golden_input(dims_product(input)), {0}}; }

std::vector<float> golden_values(int64_t count, int a, int m, int off, float d) {
  std::vector<float> v(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) v[static_cast<size_t>(i)] = ((i * a) % m - off) / d;
  return v;
}

// nn.ConvTranspose2d(2, 3, (3, 2), stride=(2, 3), padding=(1, 0), output_padding=(1, 2)) with
// weight ((i * 13) % 7 - 3) / 4 and bias (0.5, -0.25, 0.125), on golden_input.
TEST(ConvTranspose2dLayerTest, GoldenOutputPadding) {
  ConvTranspose2dOptions o(2, 3, 1);
  o.window.kernel_h = 3;
  o.window.kernel_w = 2;
  o.window.stride_h = 2;
  o.window.stride_w = 3;
  o.window.pads = {1, 0, 1, 0};
  o.output_padding_h = 1;
  o.output_padding_w = 2;
  Net net({2, 3, 4});
  net.custom("up", {}, deconv("up", o)).flatten("flat");
  EXPECT_EQ(net.graph().nodes()[1].dims, (Dims{3, 6, 13}));
  const std::vector<NamedTensor> params = {
      {"up.weight", {2, 3, 3, 2}, golden_values(36, 13, 7, 3, 4)},
      {"up.bias", {3}, {0.5f, -0.25f, 0.125f}}};
  const std::vector<double> want = {
#include "tests/layers/conv_transpose2d_golden.inc"
  };
  for (bool training : {false, true}) {
    expect_close(run_executor(net, golden_batch({2, 3, 4}), params, training).output, want, 1e-6,
                 "output");
  }
}

// nn.ConvTranspose2d(4, 2, 2, stride=1, padding=1, output_padding=1, groups=2, bias=False,
// dilation=2): output_padding below the dilation at stride 1.
TEST(ConvTranspose2dLayerTest, GoldenGroupedDilatedOutputPadding) {
  ConvTranspose2dOptions o(4, 2, 2, 1, 1, 1, 2, false, 2);
  Net net({4, 3, 3});
  net.custom("up", {}, deconv("up", o)).flatten("flat");
  const std::vector<NamedTensor> params = {
      {"up.weight", {4, 1, 2, 2}, golden_values(16, 13, 7, 3, 4)}};
  const std::vector<double> want = {
      -0.75,  -0.75, 0.9375, 1.3125,  -0.5,   -3.4375, -2.375, -1.3125, 0.875, 2.0625,  0.8125,
      0.4375, -1.25, -0.125, -1.375,  1.4375, 1.3125,  -0.625, 0.875,   -1.25, -1.3125, 1.5625,
      2.375,  -0.25, 0.4375, -1.5625, 0,      0.5625,  1.4375, 2.1875,  -1.5,  -0.9375};
  expect_close(run_executor(net, golden_batch({4, 3, 3}), params, false).output, want, 1e-6,
               "output");
}

TEST(ConvTranspose2dLayerTest, ParametersArePyTorchs) {
  const ConvTranspose2d up("up", ConvTranspose2dOptions(8, 6, 3, 2, 1, 1, 2));
  const std::vector<ParamDecl> p = up.params({{8, 4, 4}});
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].name, "up.weight");
  EXPECT_EQ(p[0].shape, (Dims{8, 3, 3, 3}));
  EXPECT_EQ(p[0].fan_in, 3 * 3 * 3);
  EXPECT_EQ(p[1].shape, (Dims{6}));
  EXPECT_EQ(up.infer({{8, 4, 4}}), (Dims{6, 8, 8}));
}

TEST(ConvTranspose2dLayerTest, OptimisedKernels) {
  for (int64_t groups : {1, 4}) {
    Graph g("t", {16, 5, 5}, 16 * 10 * 10);
    g.add(std::make_unique<ConvTranspose2d>("up",
                                            ConvTranspose2dOptions(16, 16, 3, 2, 1, 1, groups)));
    g.add(std::make_unique<Flatten>("flat"));
    OptimizerConfig cfg;
    cfg.name = "sgd";
    const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
    ExecutorOptions o;
    o.batch = 2;
    const Executor ex(g, o, opt.get(), std::make_unique<SoftmaxCrossEntropy>());
    for (const std::string& impl : ex.implementations()) {
      EXPECT_EQ(impl.find("ref"), std::string::npos) << impl;
    }
  }
}

void add_deconv(const Dims& input, const ConvTranspose2dOptions& o) {
  Graph g("t", input, 10);
  g.add(std::make_unique<ConvTranspose2d>("up", o));
}

TEST(ConvTranspose2dLayerTest, RejectsBadOptions) {
  const std::string name = "conv_transpose2d \"up\": ";
  using O = ConvTranspose2dOptions;
  expect_error([] { add_deconv({3, 4, 4}, O(0, 4, 3)); }, {name, "channels"});
  expect_error([] { add_deconv({3, 4, 4}, O(3, 4, 0)); }, {name, "kernel"});
  expect_error([] { add_deconv({3, 4, 4}, O(3, 4, 3, 0)); }, {name, "stride"});
  expect_error([] { add_deconv({3, 4, 4}, O(3, 4, 3, 1, -1)); }, {name, "padding"});
  expect_error(
      [] {
        add_deconv({3, 4, 4}, O(3, 4, 3, 2, 1, 2));
      },
      {name, "output_padding 2", "smaller than the stride 2"});
  expect_error([] { add_deconv({3, 4, 4}, O(3, 4, 3, 1, 0, 0, 2)); }, {name, "groups 2"});
  expect_error(
      [] {
        add_deconv({4, 4, 4}, O(3, 4, 3));
      },
      {name, "input has 4 channels, weights expect 3"});
  expect_error([] { add_deconv({3, 1, 1}, O(3, 4, 1, 1, 1)); }, {name, "empty output"});
}

}  // namespace
}  // namespace cnnmem::layer_test
