// Tests for the eltwise activations (layers/sigmoid.h, tanh.h, hardsigmoid.h, hardswish.h,
// silu.h, gelu.h, leaky_relu.h, elu.h) through the real code path: each one after a plain and a
// blocked conv against a double reference (inference and training), gradients between convs
// against finite differences, the in-place decision (backward from dst: in place; backward from
// src: src kept in training), hand-worked values, jit kernels only, and rejected parameters.
// Not here: relu and relu6 (tests/layers/relu_test.cpp, relu6_test.cpp), PReLU (prelu_test.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "layers/elu.h"
#include "layers/gelu.h"
#include "layers/hardsigmoid.h"
#include "layers/hardswish.h"
#include "layers/leaky_relu.h"
#include "layers/sigmoid.h"
#include "layers/silu.h"
#include "layers/tanh.h"
#include "tests/layers/layer_harness.h"

namespace cnnmem::layer_test {
namespace {

struct ActivationCase {
  std::string label;
  std::function<std::unique_ptr<Layer>(std::string)> make;
  std::function<double(double)> f;  // the double reference
  bool from_dst;                    // backward reads dst (in place in training too)
  double init_scale;                // drives the conv's outputs over the interesting range
};

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

std::vector<ActivationCase> cases() {
  const double k = std::sqrt(2 / M_PI);
  return {
      {"sigmoid", [](std::string n) { return std::make_unique<Sigmoid>(n); }, sigmoid, true, 4},
      {"tanh", [](std::string n) { return std::make_unique<Tanh>(n); },
       [](double x) { return std::tanh(x); }, true, 3},
      {"hardsigmoid_torch", [](std::string n) { return std::make_unique<HardSigmoid>(n); },
       [](double x) { return std::min(std::max(x / 6 + 0.5, 0.0), 1.0); }, true, 8},
      {"hardsigmoid_onnx",
       [](std::string n) { return std::make_unique<HardSigmoid>(n, 0.2f, 0.5f); },
       [](double x) { return std::min(std::max(0.2 * x + 0.5, 0.0), 1.0); }, true, 6},
      {"hardswish", [](std::string n) { return std::make_unique<HardSwish>(n); },
       [](double x) { return x * std::min(std::max(x + 3, 0.0), 6.0) / 6; }, false, 8},
      {"silu", [](std::string n) { return std::make_unique<Silu>(n); },
       [](double x) { return x * sigmoid(x); }, false, 4},
      {"gelu", [](std::string n) { return std::make_unique<Gelu>(n); },
       [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }, false, 4},
      {"gelu_tanh",
       [](std::string n) { return std::make_unique<Gelu>(n, GeluApproximation::kTanh); },
       [k](double x) { return 0.5 * x * (1 + std::tanh(k * (x + 0.044715 * x * x * x))); }, false,
       4},
      {"leaky_relu", [](std::string n) { return std::make_unique<LeakyRelu>(n, 0.1f); },
       [](double x) { return x > 0 ? x : 0.1 * x; }, true, 2},
      {"leaky_relu_negative", [](std::string n) { return std::make_unique<LeakyRelu>(n, -0.3f); },
       [](double x) { return x > 0 ? x : -0.3 * x; }, false, 2},
      {"elu", [](std::string n) { return std::make_unique<Elu>(n, 1.5f); },
       [](double x) { return x > 0 ? x : 1.5 * (std::exp(x) - 1); }, true, 3},
      {"elu_negative", [](std::string n) { return std::make_unique<Elu>(n, -0.5f); },
       [](double x) { return x > 0 ? x : -0.5 * (std::exp(x) - 1); }, false, 3},
  };
}

CustomLayer activation(const ActivationCase& c, const std::string& name) {
  CustomLayer l;
  l.make = [c, name] { return c.make(name); };
  l.ref = [c](const std::vector<const RefTensor*>& in, const RefParams& /*p*/, bool /*training*/) {
    RefTensor y = *in[0];
    for (double& v : y.v) v = c.f(v);
    return y;
  };
  return l;
}

class ActivationTest : public ::testing::TestWithParam<ActivationCase> {};

Net after_conv(const ActivationCase& c, int64_t channels) {
  Net net({3, 5, 4});
  net.conv("conv", conv_options(3, channels, 3, 1, 1))
      .init_scale(c.init_scale)
      .custom("act", {}, activation(c, "act"))
      .flatten("flat");
  return net;
}

Net between_convs(const ActivationCase& c, int64_t channels) {
  Net net({3, 4, 4});
  net.conv("conv1", conv_options(3, channels, 3, 1, 1))
      .init_scale(c.init_scale)
      .custom("act", {}, activation(c, "act"))
      .conv("conv2", conv_options(channels, 3, 1))
      .flatten("flat");
  return net;
}

TEST_P(ActivationTest, ForwardAfterConv) { check_forward(after_conv(GetParam(), 5), 2, 1); }

TEST_P(ActivationTest, ForwardAfterBlockedConv) { check_forward(after_conv(GetParam(), 16), 3, 2); }

TEST_P(ActivationTest, GradientsBetweenConvs) {
  check_gradients(between_convs(GetParam(), 5), 2, 3);
}

TEST_P(ActivationTest, GradientsBetweenBlockedConvs) {
  check_gradients(between_convs(GetParam(), 16), 2, 4);
}

// The activation's input also feeds a residual add: src must survive both readers.
TEST_P(ActivationTest, GradientsWithInputSharedByAnAdd) {
  Net net({3, 4, 4});
  net.conv("conv", conv_options(3, 4, 3, 1, 1))
      .init_scale(GetParam().init_scale)
      .custom("act", {}, activation(GetParam(), "act"))
      .add("add", "act", "conv")
      .flatten("flat");
  check_gradients(net, 2, 5);
}

// Plans the net of one activation after a conv; returns whether it writes over its input and
// the oneDNN implementations of the step.
std::pair<bool, std::vector<std::string>> plan(const ActivationCase& c, bool training,
                                               bool on_image) {
  Net net({3, 4, 4});
  if (!on_image) net.conv("conv", conv_options(3, 16, 1));
  net.custom("act", {}, activation(c, "act")).flatten("flat");
  const Graph g = net.graph();
  ExecutorOptions o;
  o.training = training;
  o.batch = 2;
  OptimizerConfig cfg;
  cfg.name = "sgd";
  const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
  const Executor ex(g, o, training ? opt.get() : nullptr,
                    training ? std::make_unique<SoftmaxCrossEntropy>() : nullptr);
  const auto* e = dynamic_cast<const Eltwise*>(g.nodes()[on_image ? 1 : 2].layer.get());
  EXPECT_NE(e, nullptr);
  EXPECT_EQ(e->backward_from_dst(), c.from_dst);
  return {e->in_place(), ex.implementations()};
}

// In place after a conv (in training only when backward reads dst); never over the image.
TEST_P(ActivationTest, InPlaceDecisionAndJitKernels) {
  const ActivationCase& c = GetParam();
  for (bool training : {false, true}) {
    for (bool on_image : {false, true}) {
      SCOPED_TRACE(std::string(training ? "training" : "inference") +
                   (on_image ? ", on the image" : ", after a conv"));
      const auto [in_place, impls] = plan(c, training, on_image);
      EXPECT_EQ(in_place, !on_image && (!training || c.from_dst));
      for (const std::string& impl : impls) EXPECT_EQ(impl.find("ref"), std::string::npos) << impl;
    }
  }
}

std::string case_name(const ::testing::TestParamInfo<ActivationCase>& param) {
  return param.param.label;
}

INSTANTIATE_TEST_SUITE_P(Activations, ActivationTest, ::testing::ValuesIn(cases()), case_name);

std::vector<float> run_hand_worked(std::function<std::unique_ptr<Layer>(std::string)> make,
                                   const std::vector<float>& x, bool training) {
  Net net({1, 1, static_cast<int64_t>(x.size())});
  ActivationCase c{"hand", std::move(make), [](double v) { return v; }, true, 1};
  net.custom("act", {}, activation(c, "act")).flatten("flat");
  return run_executor(net, Batch{1, x, {0}}, {}, training).output;
}

TEST(HardSigmoidLayerTest, HandWorkedBothConventions) {
  const std::vector<float> x = {-10, -3, -1.5f, 0, 1.5f, 3, 10, -2.5f};
  for (bool training : {false, true}) {
    const std::vector<float> torch = run_hand_worked(
        [](std::string n) { return std::make_unique<HardSigmoid>(n); }, x, training);
    const std::vector<float> want_torch = {0, 0, 0.25f, 0.5f, 0.75f, 1, 1, 1.f / 12};
    for (size_t i = 0; i < x.size(); ++i) EXPECT_FLOAT_EQ(torch[i], want_torch[i]) << x[i];
    const std::vector<float> onnx = run_hand_worked(
        [](std::string n) { return std::make_unique<HardSigmoid>(n, 0.2f, 0.5f); }, x, training);
    const std::vector<float> want_onnx = {0, 0, 0.2f, 0.5f, 0.8f, 1, 1, 0};
    for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(onnx[i], want_onnx[i], 1e-7) << x[i];
  }
}

TEST(HardSwishLayerTest, HandWorked) {
  const std::vector<float> got = run_hand_worked(
      [](std::string n) { return std::make_unique<HardSwish>(n); }, {-4, -3, -1, 0, 1, 3, 5}, true);
  const std::vector<float> want = {0, 0, -1.f / 3, 0, 2.f / 3, 3, 5};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << i;
}

TEST(ActivationErrorsTest, RejectsNonFiniteParameters) {
  const float nan = std::nanf("");
  const float inf = std::numeric_limits<float>::infinity();
  expect_error([&] { LeakyRelu("lr", nan); }, {"leaky_relu \"lr\"", "negative_slope", "finite"});
  expect_error([&] { Elu("e", inf); }, {"elu \"e\"", "alpha", "finite"});
  expect_error([&] { HardSigmoid("h", nan, 0.5f); }, {"hardsigmoid \"h\"", "alpha and beta"});
  expect_error([&] { HardSigmoid("h", 0.2f, -inf); }, {"hardsigmoid \"h\"", "finite"});
}

TEST(ActivationErrorsTest, RejectsTwoInputs) {
  Net net({2, 3, 3});
  ActivationCase c = cases()[0];
  net.conv("conv", conv_options(2, 2, 1)).custom("act", {"conv", "input"}, activation(c, "act"));
  expect_error([&] { (void)net.graph(); }, {"sigmoid \"act\"", "exactly one input"});
}

}  // namespace
}  // namespace cnnmem::layer_test
