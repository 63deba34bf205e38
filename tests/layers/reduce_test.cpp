// Tests for layers/reduce_spatial.h through the real code path: mean and sum over H and W, with
// and without keepdims, after a plain and a blocked conv against a double reference (inference
// and training), gradients through the conv before it against finite differences, jit kernels
// only, and rejected inputs.
// Not here: adaptive average pooling (tests/layers/adaptive_avg_pool2d_test.cpp).
#include <gtest/gtest.h>

#include "layers/reduce_spatial.h"
#include "tests/layers/layer_harness.h"

namespace cnnmem::layer_test {
namespace {

CustomLayer reduce(ReduceKind kind, bool keepdims, const std::string& name) {
  CustomLayer l;
  l.make = [=] { return std::make_unique<ReduceSpatial>(name, kind, keepdims); };
  l.ref = [=](const std::vector<const RefTensor*>& in, const RefParams& /*p*/, bool /*train*/) {
    const RefTensor& x = *in[0];
    const int64_t c = x.dims[0], hw = x.dims[1] * x.dims[2];
    RefTensor y{x.n, keepdims ? Dims{c, 1, 1} : Dims{c},
                std::vector<double>(static_cast<size_t>(x.n * c))};
    for (int64_t i = 0; i < x.n * c; ++i) {
      double s = 0;
      for (int64_t j = 0; j < hw; ++j) s += x.v[static_cast<size_t>(i * hw + j)];
      y.v[static_cast<size_t>(i)] = kind == ReduceKind::kMean ? s / static_cast<double>(hw) : s;
    }
    return y;
  };
  return l;
}

struct ReduceCase {
  ReduceKind kind;
  bool keepdims;
  int64_t channels;  // 16: blocked layouts
};

class ReduceTest : public ::testing::TestWithParam<ReduceCase> {};

// conv -> reduce -> (flatten) -> linear, so the reduction's gradient reaches the conv.
Net net_of(const ReduceCase& c) {
  Net net({3, 5, 6});
  net.conv("conv", conv_options(3, c.channels, 3, 1, 1))
      .custom("reduce", {}, reduce(c.kind, c.keepdims, "reduce"));
  if (c.keepdims) net.flatten("flat");
  net.linear("fc", c.channels, 4);
  return net;
}

TEST_P(ReduceTest, Forward) { check_forward(net_of(GetParam()), 3, 1); }

TEST_P(ReduceTest, Gradients) { check_gradients(net_of(GetParam()), 2, 2); }

TEST_P(ReduceTest, JitKernelsOnly) {
  const Graph g = net_of(GetParam()).graph();
  ExecutorOptions o;
  o.training = true;
  o.batch = 2;
  OptimizerConfig cfg;
  cfg.name = "sgd";
  const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
  const Executor ex(g, o, opt.get(), std::make_unique<SoftmaxCrossEntropy>());
  for (const std::string& impl : ex.implementations()) {
    EXPECT_EQ(impl.find("ref"), std::string::npos) << impl;
  }
}

std::string case_name(const ::testing::TestParamInfo<ReduceCase>& param) {
  const ReduceCase& c = param.param;
  return std::string(c.kind == ReduceKind::kMean ? "Mean" : "Sum") +
         (c.keepdims ? "Keepdims" : "") + std::to_string(c.channels);
}

std::vector<ReduceCase> cases() {
  std::vector<ReduceCase> out;
  for (ReduceKind kind : {ReduceKind::kMean, ReduceKind::kSum}) {
    for (bool keepdims : {false, true}) {
      for (int64_t channels : {5, 16}) out.push_back({kind, keepdims, channels});
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Reductions, ReduceTest, ::testing::ValuesIn(cases()), case_name);

// On the image itself (plain NCHW, no conv before): 1..6 over a 2x3 map.
TEST(ReduceSpatialLayerTest, HandWorked) {
  for (ReduceKind kind : {ReduceKind::kMean, ReduceKind::kSum}) {
    Net net({1, 2, 3});
    net.custom("reduce", {}, reduce(kind, false, "reduce"));
    const Batch batch{1, {1, 2, 3, 4, 5, 6}, {0}};
    const std::vector<float> want = {kind == ReduceKind::kMean ? 3.5f : 21.f};
    EXPECT_EQ(run_executor(net, batch, {}, false).output, want);
    EXPECT_EQ(run_executor(net, batch, {}, true).output, want);
  }
}

TEST(ReduceSpatialLayerTest, RejectsInputsWithoutSpace) {
  Net net({2, 3, 3});
  net.flatten("flat").custom("reduce", {}, reduce(ReduceKind::kMean, true, "reduce"));
  expect_error([&] { (void)net.graph(); }, {"reduce_mean \"reduce\"", "CxHxW", "18"});
  Net two({2, 3, 3});
  two.conv("conv", conv_options(2, 2, 1))
      .custom("reduce", {"conv", "input"}, reduce(ReduceKind::kSum, true, "reduce"));
  expect_error([&] { (void)two.graph(); }, {"reduce_sum \"reduce\"", "one CxHxW input"});
}

}  // namespace
}  // namespace cnnmem::layer_test
