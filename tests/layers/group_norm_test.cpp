// Tests for layers/group_norm.h (GroupNorm and InstanceNorm2d) through the real code path:
// forward against the double reference and PyTorch's golden values, gradients of the norm's
// parameters and of a conv before it against finite differences, plain and blocked inputs, with
// and without the affine, the buffers booked (names, tags, bytes) in training and inference, the
// in-place decision, determinism, and every rejected argument.
// Not here: layer norm (tests/layers/layer_norm_test.cpp).
#include "layers/group_norm.h"

#include <gtest/gtest.h>

#include <map>

#include "layers/softmax_cross_entropy.h"
#include "tests/layers/layer_harness.h"
#include "tests/layers/norm_reference.h"

namespace cnnmem::layer_test {
namespace {

TEST(GroupNormLayerTest, ForwardOnThePlainInput) {
  Net net({4, 5, 3});
  net.custom("gn", {}, group_norm_case("gn", 2, 4)).flatten("flat");
  check_forward(net, 2, 1);
}

TEST(GroupNormLayerTest, ForwardAfterBlockedConv) {
  Net net({3, 4, 5});
  net.conv("conv", conv_options(3, 32, 3, 1, 1)).custom("gn", {}, group_norm_case("gn", 8, 32));
  net.flatten("flat");
  check_forward(net, 3, 2);
}

TEST(GroupNormLayerTest, GradientsBetweenConvs) {
  Net net({3, 5, 4});
  net.conv("conv1", conv_options(3, 6, 3, 1, 1))
      .custom("gn", {}, group_norm_case("gn", 3, 6))
      .conv("conv2", conv_options(6, 3, 3))
      .flatten("flat");
  check_gradients(net, 2, 3);
}

TEST(GroupNormLayerTest, GradientsBetweenBlockedConvs) {
  Net net({2, 4, 3});
  net.conv("conv1", conv_options(2, 16, 3, 1, 1))
      .custom("gn", {}, group_norm_case("gn", 4, 16))
      .conv("conv2", conv_options(16, 3, 1))
      .flatten("flat");
  check_gradients(net, 3, 4);
}

// One group: the whole sample is normalised (a layer norm over C x H x W).
TEST(GroupNormLayerTest, OneGroupWithoutAffine) {
  Net net({3, 4, 4});
  net.conv("conv1", conv_options(3, 4, 3, 1, 1))
      .custom("gn", {}, group_norm_case("gn", 1, 4, 1e-5, false))
      .conv("conv2", conv_options(4, 2, 3))
      .flatten("flat");
  check_forward(net, 2, 5);
  check_gradients(net, 2, 5);
}

// On the image only the parameters get gradients (no diff_src is computed).
TEST(GroupNormLayerTest, ParameterGradientsOnTheInput) {
  Net net({4, 3, 3});
  net.custom("gn", {}, group_norm_case("gn", 2, 4)).conv("conv", conv_options(4, 3, 3));
  net.flatten("flat");
  check_gradients(net, 2, 6);
}

// (N, C) features: one value per channel, groups of C / G values.
TEST(GroupNormLayerTest, OnFeatures) {
  Net net({3, 2, 2});
  net.flatten("flat")
      .linear("fc1", 12, 8)
      .custom("gn", {}, group_norm_case("gn", 2, 8))
      .linear("fc2", 8, 4);
  check_forward(net, 3, 7);
  check_gradients(net, 3, 7);
}

// conv1 has no bias: the norm subtracts each channel's mean, so a bias before it gets a zero
// gradient.
TEST(InstanceNorm2dLayerTest, ForwardAndGradients) {
  Net net({3, 5, 4});
  net.conv("conv1", conv_options(3, 16, 3, 1, 1, 1, false))
      .custom("in", {}, instance_norm_case("in", 16))
      .conv("conv2", conv_options(16, 3, 3))
      .flatten("flat");
  check_forward(net, 2, 8);
  check_gradients(net, 2, 8);
}

TEST(InstanceNorm2dLayerTest, AffineGradients) {
  Net net({3, 4, 4});
  net.conv("conv1", conv_options(3, 5, 3, 1, 1, 1, false))
      .custom("in", {}, instance_norm_case("in", 5, 1e-5, true))
      .conv("conv2", conv_options(5, 2, 3))
      .flatten("flat");
  check_forward(net, 2, 9);
  check_gradients(net, 2, 9);
}

void expect_golden(const Net& net, const Batch& batch, const std::vector<NamedTensor>& params,
                   const std::vector<double>& want) {
  for (bool training : {false, true}) {
    SCOPED_TRACE(training ? "training" : "inference");
    expect_close(run_executor(net, batch, params, training).output, want, 1e-5, "output");
  }
}

TEST(GroupNormLayerTest, MatchesPyTorch) {
  Net net({4, 2, 3});
  net.custom("gn", {}, group_norm_case("gn", 2, 4)).flatten("flat");
  expect_golden(
      net, golden_batch({4, 2, 3}, 2), golden_params("gn", 4),
      {-0.3246489, 0.519098,   0.8025324,  0.4256442, -0.4010165, -1.255365,  -1.812523, -1.588143,
       -0.7166671, 0.4286581,  1.345792,   1.640015,  0.6416996,  -0.3399437, -1.341033, -1.851496,
       -1.592007,  -0.6453623, 0.6810004,  1.732683,  2.0538,     1.535841,   0.4649256, -0.612761,
       -1.619077,  -1.383562,  -0.5723853, 0.4661358, 1.276759,   1.511426,   1.262257,  0.336501,
       -0.582792,  -1.026754,  -0.7500731, 0.1536335, -0.1727486, 0.7842261,  1.045716,  0.5284397,
       -0.4846166, -1.477295,  -2.05494,   -1.708311, -0.6305289, 0.714518,   1.737244,  1.999655});
}

TEST(InstanceNorm2dLayerTest, MatchesPyTorch) {
  Net net({3, 2, 2});
  net.custom("in", {}, instance_norm_case("in", 3, 1e-5, true)).flatten("flat");
  expect_golden(
      net, golden_batch({3, 2, 2}, 2), golden_params("in", 3),
      {-1.733085, 0.2923445,  0.9727337, 0.06800696, 1.755487, -0.1412884, -1.133534,  -0.6806648,
       -1.816363, -0.3209262, 0.8765631, 1.260726,   1.325457, 0.2998799,  -0.7460144, -1.279323,
       -1.493548, -0.621255,  0.510133,  1.40467,    1.396334, 0.7902711,  -0.4628036, -1.723801});
}

// The bill of a GroupNorm(4, 16) after a blocked conv (3 x 16 x 4 x 5, nChw16c): training keeps
// a plain copy of the input, dst, and N * G = 12 means and rstds; backward reorders diff_dst to
// plain, writes diff_src over it and sums in N x C x 2 doubles. Inference books dst alone.
TEST(GroupNormLayerTest, BooksExactlyWhatItKeeps) {
  Net net({3, 4, 5});
  net.conv("conv", conv_options(3, 16, 3, 1, 1)).custom("gn", {}, group_norm_case("gn", 4, 16));
  net.conv("conv2", conv_options(16, 2, 3)).flatten("flat");
  const Graph g = net.graph();
  const int64_t map = 3 * 16 * 4 * 5 * 4, stats = 3 * 4 * 4;
  for (bool training : {true, false}) {
    SCOPED_TRACE(training ? "training" : "inference");
    OptimizerConfig cfg;
    cfg.name = "sgd";
    const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
    ExecutorOptions o;
    o.training = training;
    o.batch = 3;
    const Executor ex(g, o, training ? opt.get() : nullptr,
                      training ? std::make_unique<SoftmaxCrossEntropy>() : nullptr);
    std::map<std::string, std::pair<Tag, int64_t>> got;
    for (const Buffer& buf : ex.schedule().buffers) {
      if (buf.name.rfind("gn.", 0) == 0 || buf.name.rfind("grad.gn.", 0) == 0) {
        got[buf.name] = {buf.tag, buf.bytes_requested};
      }
    }
    std::map<std::string, std::pair<Tag, int64_t>> want = {{"gn.weight", {Tag::kWeight, 64}},
                                                           {"gn.bias", {Tag::kWeight, 64}},
                                                           {"gn.dst", {Tag::kActivation, map}}};
    if (training) {
      want["grad.gn.weight"] = {Tag::kGrad, 64};
      want["grad.gn.bias"] = {Tag::kGrad, 64};
      want["gn.src"] = {Tag::kActivation, map};
      want["gn.mean"] = {Tag::kActivation, stats};
      want["gn.rstd"] = {Tag::kActivation, stats};
      want["gn.diff_dst"] = {Tag::kActivationGrad, map};
      want["gn.sums"] = {Tag::kWorkspace, 3 * 16 * 2 * 8};
    }
    EXPECT_EQ(got, want);
  }
}

// Inference: a second norm gets its input plain and writes over it; one on the image (which
// must survive) writes a copy. Training runs twice to the same bits.
TEST(GroupNormLayerTest, InPlaceDecisionAndDeterminism) {
  Net net({4, 3, 3});
  net.custom("gn1", {}, group_norm_case("gn1", 2, 4))
      .custom("gn2", {}, instance_norm_case("gn2", 4));
  net.flatten("flat");
  const Graph g = net.graph();
  ExecutorOptions o;
  o.training = false;
  const Executor ex(g, o, nullptr);
  const auto* gn1 = dynamic_cast<const GroupNorm*>(g.nodes()[1].layer.get());
  const auto* gn2 = dynamic_cast<const InstanceNorm2d*>(g.nodes()[2].layer.get());
  ASSERT_NE(gn1, nullptr);
  ASSERT_NE(gn2, nullptr);
  EXPECT_FALSE(gn1->in_place());
  EXPECT_TRUE(gn2->in_place());
  check_forward(net, 2, 10);
  std::mt19937 rng(11);
  const std::vector<NamedTensor> params = net.random_params(rng);
  const Batch b = net.random_batch(rng, 2);
  const ExecutorRun first = run_executor(net, b, params, true);
  const ExecutorRun second = run_executor(net, b, params, true);
  EXPECT_EQ(first.output, second.output);
  for (size_t i = 0; i < first.gradients.size(); ++i) {
    EXPECT_EQ(first.gradients[i].data, second.gradients[i].data) << first.gradients[i].name;
  }
}

TEST(GroupNormLayerTest, RejectsBadArguments) {
  const std::string gn = "group_norm \"gn\": ", in = "instance_norm2d \"in\": ";
  expect_error([] { GroupNorm("gn", 3, 8); }, {gn, "num_channels 8", "not divisible", "3"});
  expect_error([] { GroupNorm("gn", 0, 8); }, {gn, "num_groups"});
  expect_error([] { GroupNorm("gn", 2, 0); }, {gn, "num_channels"});
  expect_error([] { GroupNorm("gn", 2, 8, 0.0); }, {gn, "eps"});
  expect_error([] { InstanceNorm2d("in", -2); }, {in, "num_features"});
  expect_error([] { InstanceNorm2d("in", 2, -1.0); }, {in, "eps"});
  expect_error(
      [] {
        Graph g("t", {3, 4, 4}, 10);
        g.add(std::make_unique<GroupNorm>("gn", 2, 4));
      },
      {gn, "input has 3 channels", "normalises 4"});
  expect_error(
      [] {
        Graph g("t", {3, 4, 4}, 10);
        g.add(std::make_unique<Flatten>("flat"));
        g.add(std::make_unique<InstanceNorm2d>("in", 48));
      },
      {in, "CxHxW", "48"});
  // Training an instance norm needs more than one value per channel (PyTorch raises the same).
  Net net({4, 1, 1});
  net.custom("in", {}, instance_norm_case("in", 4)).flatten("flat");
  const Graph g = net.graph();
  OptimizerConfig cfg;
  cfg.name = "sgd";
  const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
  ExecutorOptions o;
  o.batch = 2;
  expect_error([&] { Executor ex(g, o, opt.get(), std::make_unique<SoftmaxCrossEntropy>()); },
               {in, "more than one spatial value"});
}

}  // namespace
}  // namespace cnnmem::layer_test
