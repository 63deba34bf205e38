// Tests for layers/prelu.h through the real code path: forward against a double reference
// (inference and training) with one slope and one per channel, after plain, blocked and padded
// blocked convs and after a linear layer; the slope's and the layers' around it gradients against
// finite differences (the input's gradient through the conv before it); hand-worked values; the
// in-place decision and jit kernels only; rejected arguments.
// Not here: fixed-slope activations (activation_test.cpp), the ONNX mapping
// (tests/models/onnx_import_test.cpp).
#include "layers/prelu.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "tests/layers/layer_harness.h"

namespace cnnmem::layer_test {
namespace {

// PReLU "name" with `slopes` slopes (1 or the input's channels).
CustomLayer prelu_case(const std::string& name, int64_t slopes) {
  return {[=] { return std::make_unique<PRelu>(name, slopes); },
          [=](const std::vector<const RefTensor*>& in, const RefParams& p, bool) {
            RefTensor y = *in[0];
            const std::vector<double>& a = p.at(name + ".weight");
            // Elements per channel of one sample: H*W for CxHxW, 1 for F.
            const int64_t per = y.dims.size() == 3 ? y.dims[1] * y.dims[2] : 1;
            for (size_t i = 0; i < y.v.size(); ++i) {
              const auto c = static_cast<size_t>(static_cast<int64_t>(i) / per % y.dims[0]);
              if (y.v[i] <= 0) y.v[i] *= a[slopes == 1 ? 0 : c];
            }
            return y;
          },
          {{name + ".weight", {slopes}, 1}},
          0};
}

Net between_convs(int64_t channels, int64_t slopes) {
  Net net({3, 4, 4});
  net.conv("conv1", conv_options(3, channels, 3, 1, 1))
      .custom("act", {}, prelu_case("act", slopes))
      .conv("conv2", conv_options(channels, 3, 1))
      .flatten("flat");
  return net;
}

struct Shape {
  int64_t channels, slopes;
};

class PReluTest : public ::testing::TestWithParam<Shape> {};

TEST_P(PReluTest, ForwardAfterConv) {
  Net net({3, 5, 4});
  net.conv("conv", conv_options(3, GetParam().channels, 3, 1, 1))
      .custom("act", {}, prelu_case("act", GetParam().slopes))
      .flatten("flat");
  check_forward(net, 3, 1);
}

TEST_P(PReluTest, GradientsBetweenConvs) {
  check_gradients(between_convs(GetParam().channels, GetParam().slopes), 2, 2);
}

// The input also feeds a residual add: src must survive both readers, diff_dst too.
TEST_P(PReluTest, GradientsWithInputSharedByAnAdd) {
  Net net({3, 4, 4});
  net.conv("conv", conv_options(3, GetParam().channels, 3, 1, 1))
      .custom("act", {}, prelu_case("act", GetParam().slopes))
      .add("add", "act", "conv")
      .conv("conv2", conv_options(GetParam().channels, 2, 1))
      .flatten("flat");
  check_gradients(net, 2, 3);
}

std::string shape_name(const ::testing::TestParamInfo<Shape>& p) {
  return std::to_string(p.param.channels) + "_channels_" + std::to_string(p.param.slopes) +
         "_slopes";
}

// 5 channels: plain NCHW; 16: nChw16c; 20: nChw16c with a padded second block.
INSTANTIATE_TEST_SUITE_P(Shapes, PReluTest,
                         ::testing::Values(Shape{5, 5}, Shape{5, 1}, Shape{16, 16}, Shape{16, 1},
                                           Shape{20, 20}, Shape{20, 1}),
                         shape_name);

// On (N, F) features, one slope per feature and one for all.
TEST(PReluLayerTest, ForwardAndGradientsOnFeatures) {
  for (const int64_t slopes : {int64_t{6}, int64_t{1}}) {
    SCOPED_TRACE(slopes);
    Net net({4, 2, 2});
    net.flatten("flat").linear("fc1", 16, 6).custom("act", {}, prelu_case("act", slopes));
    net.linear("fc2", 6, 3);
    check_forward(net, 3, 4);
    check_gradients(net, 3, 4);
  }
}

// Straight on the image: no input gradient, only the slope's.
TEST(PReluLayerTest, SlopeGradientOnTheImage) {
  for (const int64_t slopes : {int64_t{3}, int64_t{1}}) {
    SCOPED_TRACE(slopes);
    Net net({3, 4, 4});
    net.custom("act", {}, prelu_case("act", slopes)).conv("conv", conv_options(3, 2, 3));
    net.flatten("flat");
    check_gradients(net, 2, 5);
  }
}

TEST(PReluLayerTest, HandWorked) {
  Net net({2, 1, 3});
  net.custom("act", {}, prelu_case("act", 2)).flatten("flat");
  const std::vector<float> x = {-2, 0, 3, -1, 4, -5};
  const std::vector<NamedTensor> slope = {{"act.weight", {2}, {0.25f, -0.5f}}};
  for (bool training : {false, true}) {
    const std::vector<float> got = run_executor(net, Batch{1, x, {0}}, slope, training).output;
    const std::vector<float> want = {-0.5f, 0, 3, 0.5f, 4, 2.5f};
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_FLOAT_EQ(got[i], want[i]) << i;
  }
}

// PyTorch's parameter: "<name>.weight" of shape [slopes], initialised to 0.25; a given name.
TEST(PReluLayerTest, ParameterNameShapeAndInit) {
  EXPECT_EQ(PRelu("act", 7).params({{7, 2, 2}})[0].name, "act.weight");
  EXPECT_EQ(PRelu("act", 7).params({{7, 2, 2}})[0].shape, (Dims{7}));
  EXPECT_EQ(PRelu("act", 1, 0.25f, "onnx::PRelu_3").params({{7, 2, 2}})[0].name, "onnx::PRelu_3");
  Net net({4, 3, 3});
  net.custom("act", {}, prelu_case("act", 4)).flatten("flat");
  ExecutorOptions o;
  o.training = false;
  o.batch = 1;
  Executor ex(net.graph(), o, nullptr, nullptr);
  ex.bind();
  ex.init_weights(1);
  const std::vector<NamedTensor> w = ex.weights();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].data, std::vector<float>(4, 0.25f));
}

// Plans PReLU after a 16-channel conv (or on the image); returns whether it writes over its
// input, the implementations, and the names of the buffers it books.
struct Planned {
  bool in_place;
  std::vector<std::string> impls, buffers;
};

Planned plan(int64_t slopes, bool training, bool on_image) {
  Net net({3, 4, 4});
  if (!on_image) net.conv("conv", conv_options(3, 16, 1));
  net.custom("act", {}, prelu_case("act", on_image ? std::min<int64_t>(slopes, 3) : slopes));
  net.flatten("flat");
  const Graph g = net.graph();
  ExecutorOptions o;
  o.training = training;
  o.batch = 2;
  OptimizerConfig cfg;
  cfg.name = "sgd";
  const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
  const Executor ex(g, o, training ? opt.get() : nullptr,
                    training ? std::make_unique<SoftmaxCrossEntropy>() : nullptr);
  const auto* l = dynamic_cast<const PRelu*>(g.nodes()[on_image ? 1 : 2].layer.get());
  EXPECT_NE(l, nullptr);
  Planned p{l != nullptr && l->in_place(), ex.implementations(), {}};
  for (const Buffer& b : ex.schedule().buffers) {
    if (b.name.rfind("act.", 0) == 0) p.buffers.push_back(b.name);
  }
  return p;
}

// Inference after a conv writes over its input; training keeps the input (backward reads src);
// never over the image. Every kernel is jit.
TEST(PReluLayerTest, InPlaceDecisionAndJitKernels) {
  for (const int64_t slopes : {int64_t{16}, int64_t{1}}) {
    for (bool training : {false, true}) {
      for (bool on_image : {false, true}) {
        SCOPED_TRACE(std::to_string(slopes) + (training ? " training" : " inference") +
                     (on_image ? ", on the image" : ", after a conv"));
        const Planned p = plan(slopes, training, on_image);
        EXPECT_EQ(p.in_place, !training && !on_image);
        for (const std::string& impl : p.impls) {
          EXPECT_EQ(impl.find("ref"), std::string::npos) << impl;
        }
        // The parameter and a dst unless in place; in training also the gradients.
        for (const std::string& name : p.buffers) {
          if (name == "act.weight" || name == "act.dst") continue;
          EXPECT_TRUE(training) << name;
        }
        EXPECT_EQ(std::count(p.buffers.begin(), p.buffers.end(), "act.dst"), p.in_place ? 0 : 1);
      }
    }
  }
}

TEST(PReluLayerTest, RejectsBadArguments) {
  expect_error([] { PRelu("p", 0); }, {"prelu \"p\"", "slopes", "got 0"});
  expect_error([] { PRelu("p", 1, std::nanf("")); }, {"prelu \"p\"", "finite"});
  expect_error(
      [] {
        (void)PRelu("p", 3).infer({{4, 2, 2}});
      },
      {"3 slopes", "4x2x2", "one per channel"});
  expect_error([] { (void)PRelu("p", 1).infer({{4, 2}}); }, {"CxHxW or F", "4x2"});
  expect_error([] { (void)PRelu("p", 1).infer({{4, 2, 2}, {4, 2, 2}}); }, {"one input"});
}

}  // namespace
}  // namespace cnnmem::layer_test
