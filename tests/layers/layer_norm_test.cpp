// Tests for layers/layer_norm.h (LayerNorm2d and LayerNorm) through the real code path: forward
// against the double reference and PyTorch's golden values, gradients of the norm's parameters
// and of a conv before it against finite differences, plain and blocked inputs, with and without
// the affine, the buffers booked (names, tags, bytes) in training and inference, the in-place
// decision, the implementation oneDNN picked, and every rejected argument.
// Not here: group and instance norm (tests/layers/group_norm_test.cpp).
#include "layers/layer_norm.h"

#include <gtest/gtest.h>

#include <map>

#include "layers/softmax_cross_entropy.h"
#include "tests/layers/layer_harness.h"
#include "tests/layers/norm_reference.h"

namespace cnnmem::layer_test {
namespace {

void expect_no_ref_kernels(const Executor& ex) {
  for (const std::string& impl : ex.implementations()) {
    EXPECT_EQ(impl.find("ref"), std::string::npos) << impl;
  }
}

TEST(LayerNorm2dLayerTest, ForwardOnThePlainInput) {
  Net net({3, 5, 4});
  net.custom("ln", {}, layer_norm2d_case("ln", 3)).flatten("flat");
  check_forward(net, 2, 1);
}

TEST(LayerNorm2dLayerTest, ForwardAfterBlockedConv) {
  Net net({3, 4, 5});
  net.conv("conv", conv_options(3, 32, 3, 1, 1)).custom("ln", {}, layer_norm2d_case("ln", 32));
  net.flatten("flat");
  check_forward(net, 2, 2);
}

TEST(LayerNorm2dLayerTest, GradientsBetweenConvs) {
  Net net({3, 5, 4});
  net.conv("conv1", conv_options(3, 5, 3, 1, 1))
      .custom("ln", {}, layer_norm2d_case("ln", 5))
      .conv("conv2", conv_options(5, 3, 3))
      .flatten("flat");
  check_gradients(net, 2, 3);
}

TEST(LayerNorm2dLayerTest, GradientsBetweenBlockedConvs) {
  Net net({2, 4, 3});
  net.conv("conv1", conv_options(2, 16, 3, 1, 1))
      .custom("ln", {}, layer_norm2d_case("ln", 16))
      .conv("conv2", conv_options(16, 3, 1))
      .flatten("flat");
  check_gradients(net, 3, 4);
}

TEST(LayerNorm2dLayerTest, GradientsWithoutAffine) {
  Net net({3, 4, 4});
  net.conv("conv1", conv_options(3, 4, 3, 1, 1))
      .custom("ln", {}, layer_norm2d_case("ln", 4, 1e-5, false))
      .conv("conv2", conv_options(4, 2, 3))
      .flatten("flat");
  check_forward(net, 2, 5);
  check_gradients(net, 2, 5);
}

// Straight after the image: no gradient is needed below the norm, only its parameters'.
TEST(LayerNorm2dLayerTest, ParameterGradientsOnTheInput) {
  Net net({4, 3, 3});
  net.custom("ln", {}, layer_norm2d_case("ln", 4)).conv("conv", conv_options(4, 3, 3));
  net.flatten("flat");
  check_gradients(net, 2, 6);
}

TEST(LayerNormLayerTest, ForwardAndGradientsOnFeatures) {
  Net net({3, 2, 2});
  net.flatten("flat")
      .linear("fc1", 12, 10)
      .custom("ln", {}, layer_norm_case("ln", 10))
      .linear("fc2", 10, 4);
  check_forward(net, 3, 7);
  check_gradients(net, 3, 7);
}

// nn.LayerNorm(W) on an N x C x H x W tensor normalises every row of W values (so a conv bias
// before it, constant along a row, would get a zero gradient: none here).
TEST(LayerNormLayerTest, OverTheLastDimensionOfAMap) {
  Net net({3, 4, 5});
  net.conv("conv1", conv_options(3, 16, 3, 1, 1, 1, false))
      .custom("ln", {}, layer_norm_case("ln", 5, 1e-5))
      .conv("conv2", conv_options(16, 2, 3))
      .flatten("flat");
  check_forward(net, 2, 8);
  check_gradients(net, 2, 8);
}

void expect_golden(const Net& net, const Batch& batch, const std::vector<NamedTensor>& params,
                   const std::vector<double>& want) {
  for (bool training : {false, true}) {
    SCOPED_TRACE(training ? "training" : "inference");
    expect_close(run_executor(net, batch, params, training).output, want, 1e-5, "output");
  }
}

TEST(LayerNorm2dLayerTest, MatchesPyTorch) {
  Net net({3, 2, 2});
  net.custom("ln", {}, layer_norm2d_case("ln", 3, 1e-6)).flatten("flat");
  expect_golden(
      net, golden_batch({3, 2, 2}, 2), golden_params("ln", 3),
      {0.8260576, 0.7194085, 0.458663,  0.1500754, 0.4588577, -1.598707,  -1.59491,  -1.51353,
       -1.666387, 0.7062086, 1.01496,   1.296488,  0.1398215, -0.6280461, -1.507912, -1.200332,
       -1.509609, -1.009358, 0.8513805, 1.401505,  1.304515,  1.680228,   0.7061707, -0.2630612});
}

TEST(LayerNormLayerTest, MatchesPyTorch) {
  Net net({5, 1, 1});
  net.flatten("flat").custom("ln", {}, layer_norm_case("ln", 5));
  expect_golden(net, golden_batch({5, 1, 1}, 2), golden_params("ln", 5),
                {-1.20193, 0.6713016, 1.495401, 0.6493644, -1.665422, -0.4968499, -1.159323,
                 -0.8751891, 0.5113392, 2.591682});
}

// The bill of a LayerNorm2d after a blocked conv (2 x 16 x 4 x 5, nChw16c): training keeps an
// nhwc copy of the input, dst, and M = N * H * W = 40 means and variances; backward reorders
// diff_dst to nhwc and writes diff_src over it. Inference books dst alone (the input reordered
// into it, normalised in place), or nothing when the conv's output already is nhwc (oneDNN picks
// it for some inference convolutions): then the norm writes over it.
TEST(LayerNorm2dLayerTest, BooksExactlyWhatItKeeps) {
  Net net({3, 4, 5});
  net.conv("conv", conv_options(3, 16, 3, 1, 1)).custom("ln", {}, layer_norm2d_case("ln", 16));
  net.flatten("flat");
  const Graph g = net.graph();
  const int64_t map = 2 * 16 * 4 * 5 * 4, stats = 2 * 4 * 5 * 4;
  for (bool training : {true, false}) {
    SCOPED_TRACE(training ? "training" : "inference");
    OptimizerConfig cfg;
    cfg.name = "sgd";
    const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
    ExecutorOptions o;
    o.training = training;
    o.batch = 2;
    const Executor ex(g, o, training ? opt.get() : nullptr,
                      training ? std::make_unique<SoftmaxCrossEntropy>() : nullptr);
    std::map<std::string, std::pair<Tag, int64_t>> got;
    for (const Buffer& buf : ex.schedule().buffers) {
      if (buf.name.rfind("ln.", 0) == 0 || buf.name.rfind("grad.ln.", 0) == 0) {
        got[buf.name] = {buf.tag, buf.bytes_requested};
      }
    }
    std::map<std::string, std::pair<Tag, int64_t>> want = {{"ln.weight", {Tag::kWeight, 64}},
                                                           {"ln.bias", {Tag::kWeight, 64}}};
    const auto* ln = dynamic_cast<const LayerNorm2d*>(g.nodes()[2].layer.get());
    ASSERT_NE(ln, nullptr);
    if (!ln->in_place()) want["ln.dst"] = {Tag::kActivation, map};
    if (training) {
      EXPECT_FALSE(ln->in_place());
      want["grad.ln.weight"] = {Tag::kGrad, 64};
      want["grad.ln.bias"] = {Tag::kGrad, 64};
      want["ln.src"] = {Tag::kActivation, map};
      want["ln.mean"] = {Tag::kActivation, stats};
      want["ln.var"] = {Tag::kActivation, stats};
      want["ln.diff_dst"] = {Tag::kActivationGrad, map};
    }
    EXPECT_EQ(got, want);
    expect_no_ref_kernels(ex);
  }
}

// Inference: a second LayerNorm2d gets its input in nhwc and writes over it; one on the image
// (which must survive) writes a copy.
TEST(LayerNorm2dLayerTest, InPlaceDecision) {
  Net net({4, 3, 3});
  net.custom("ln1", {}, layer_norm2d_case("ln1", 4)).custom("ln2", {}, layer_norm2d_case("ln2", 4));
  net.flatten("flat");
  const Graph g = net.graph();
  ExecutorOptions o;
  o.training = false;
  const Executor ex(g, o, nullptr);
  const auto* ln1 = dynamic_cast<const LayerNorm2d*>(g.nodes()[1].layer.get());
  const auto* ln2 = dynamic_cast<const LayerNorm2d*>(g.nodes()[2].layer.get());
  ASSERT_NE(ln1, nullptr);
  ASSERT_NE(ln2, nullptr);
  EXPECT_FALSE(ln1->in_place());
  EXPECT_TRUE(ln2->in_place());
  check_forward(net, 2, 9);
}

TEST(LayerNormLayerTest, RejectsBadArguments) {
  expect_error([] { LayerNorm2d("ln", 0); }, {"layer_norm2d \"ln\": ", "channels"});
  expect_error([] { LayerNorm2d("ln", 4, 0.0); }, {"layer_norm2d \"ln\": ", "eps"});
  expect_error([] { LayerNorm("ln", -1); }, {"layer_norm \"ln\": ", "normalized_shape"});
  expect_error([] { LayerNorm("ln", 4, -1e-5); }, {"layer_norm \"ln\": ", "eps"});
  expect_error(
      [] {
        Graph g("t", {3, 4, 4}, 10);
        g.add(std::make_unique<LayerNorm2d>("ln", 4));
      },
      {"layer_norm2d \"ln\": ", "input has 3 channels", "normalises 4"});
  expect_error(
      [] {
        Graph g("t", {3, 4, 4}, 10);
        g.add(std::make_unique<Flatten>("flat"));
        g.add(std::make_unique<LayerNorm2d>("ln", 48));
      },
      {"layer_norm2d \"ln\": ", "CxHxW", "layer_norm"});
  expect_error(
      [] {
        Graph g("t", {3, 4, 5}, 10);
        g.add(std::make_unique<LayerNorm>("ln", 3));
      },
      {"layer_norm \"ln\": ", "3x4x5", "last dimension"});
}

}  // namespace
}  // namespace cnnmem::layer_test
