// Tests for layers/binary.h through the real code path: add, sub, mul and div of two layers'
// outputs, with the broadcast input second or first, broadcast along channels (the
// squeeze-and-excitation scale), space, one spatial axis, a right-aligned rank-1 operand, or not
// at all; plain and blocked layouts; forward against a double numpy-style reference (inference
// and training), gradients into both branches against finite differences, the in-place
// decision, jit kernels only, and rejected shapes.
// Not here: the same-shape residual add (tests/layers/add_test.cpp).
#include "layers/binary.h"

#include <gtest/gtest.h>

#include "layers/sigmoid.h"
#include "tests/layers/layer_harness.h"

namespace cnnmem::layer_test {
namespace {

double apply(BinaryOp op, double a, double b) {
  switch (op) {
    case BinaryOp::kAdd:
      return a + b;
    case BinaryOp::kSub:
      return a - b;
    case BinaryOp::kMul:
      return a * b;
    case BinaryOp::kDiv:
      break;
  }
  return a / b;
}

// numpy broadcasting of the per-sample shapes, right-aligned.
RefTensor ref_binary(const RefTensor& a, const RefTensor& b, BinaryOp op) {
  const size_t rank = std::max(a.dims.size(), b.dims.size());
  const auto pad = [rank](Dims d) {
    d.insert(d.begin(), rank - d.size(), 1);
    return d;
  };
  const Dims da = pad(a.dims), db = pad(b.dims);
  Dims out(rank);
  for (size_t i = 0; i < rank; ++i) out[i] = std::max(da[i], db[i]);
  const int64_t size = dims_product(out), sa = dims_product(da), sb = dims_product(db);
  RefTensor y{a.n, out, std::vector<double>(static_cast<size_t>(a.n * size))};
  for (int64_t n = 0; n < a.n; ++n)
    for (int64_t i = 0; i < size; ++i) {
      int64_t rest = i, ia = 0, ib = 0, stride_a = 1, stride_b = 1;
      for (size_t d = rank; d-- > 0;) {
        const int64_t x = rest % out[d];
        rest /= out[d];
        ia += (da[d] == 1 ? 0 : x) * stride_a;
        ib += (db[d] == 1 ? 0 : x) * stride_b;
        stride_a *= da[d];
        stride_b *= db[d];
      }
      y.v[static_cast<size_t>(n * size + i)] =
          apply(op, a.v[static_cast<size_t>(n * sa + ia)], b.v[static_cast<size_t>(n * sb + ib)]);
    }
  return y;
}

CustomLayer binary(BinaryOp op, const std::string& name) {
  CustomLayer l;
  l.make = [=] { return std::make_unique<Binary>(name, op); };
  l.ref = [=](const std::vector<const RefTensor*>& in, const RefParams& /*p*/, bool /*train*/) {
    return ref_binary(*in[0], *in[1], op);
  };
  return l;
}

CustomLayer sigmoid(const std::string& name) {
  CustomLayer l;
  l.make = [=] { return std::make_unique<Sigmoid>(name); };
  l.ref = [](const std::vector<const RefTensor*>& in, const RefParams& /*p*/, bool /*train*/) {
    RefTensor y = *in[0];
    for (double& v : y.v) v = 1 / (1 + std::exp(-v));
    return y;
  };
  return l;
}

enum class Shape { kSame, kChannels, kSpace, kRows, kRank1 };

struct BinaryCase {
  BinaryOp op;
  Shape shape;
  bool broadcast_first;  // the broadcast operand is the first input
  int64_t channels;      // 16: blocked layouts
};

// "a" (C x 4 x 5, a conv of the image) op "s" (the broadcast operand, from a second branch);
// for div, s goes through a sigmoid so that it stays in (0, 1) away from 0.
Net net_of(const BinaryCase& c) {
  const int64_t ch = c.channels;
  Net net({3, 4, 5});
  net.conv("a", conv_options(3, ch, 3, 1, 1));
  switch (c.shape) {
    case Shape::kSame:
      net.from("input").conv("s", conv_options(3, ch, 1));
      break;
    case Shape::kChannels:  // C x 1 x 1
      net.from("input").conv("b", conv_options(3, ch, 1)).adaptive_avg_pool("s", 1, 1);
      break;
    case Shape::kSpace:  // 1 x H x W
      net.from("input").conv("s", conv_options(3, 1, 1));
      break;
    case Shape::kRows:  // C x H x 1
      net.from("input").conv("b", conv_options(3, ch, 1)).adaptive_avg_pool("s", 4, 1);
      break;
    case Shape::kRank1:  // [W], right-aligned
      net.from("input").flatten("f").linear("s", 60, 5);
      break;
  }
  std::string s = "s";
  if (c.op == BinaryOp::kDiv) {
    net.custom("pos", {"s"}, sigmoid("pos"));
    s = "pos";
  }
  if (c.broadcast_first) {
    net.custom("op", {s, "a"}, binary(c.op, "op"));
  } else {
    net.custom("op", {"a", s}, binary(c.op, "op"));
  }
  return net.flatten("flat");
}

class BinaryTest : public ::testing::TestWithParam<BinaryCase> {};

TEST_P(BinaryTest, Forward) { check_forward(net_of(GetParam()), 2, 1); }

TEST_P(BinaryTest, Gradients) { check_gradients(net_of(GetParam()), 2, 2, 24); }

TEST_P(BinaryTest, InPlaceDecisionAndJitKernels) {
  const BinaryCase& c = GetParam();
  const Graph g = net_of(c).graph();
  for (bool training : {false, true}) {
    SCOPED_TRACE(training ? "training" : "inference");
    ExecutorOptions o;
    o.training = training;
    o.batch = 2;
    OptimizerConfig cfg;
    cfg.name = "sgd";
    const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
    const Executor ex(g, o, training ? opt.get() : nullptr,
                      training ? std::make_unique<SoftmaxCrossEntropy>() : nullptr);
    const auto* op = dynamic_cast<const Binary*>(g.nodes()[g.nodes().size() - 2].layer.get());
    ASSERT_NE(op, nullptr);
    // The full input is a conv's output read by nobody else: overwritten unless backward needs
    // it (mul, div in training).
    const bool keeps = c.op == BinaryOp::kMul || c.op == BinaryOp::kDiv;
    EXPECT_EQ(op->in_place(), !(training && keeps));
    for (const std::string& impl : ex.implementations()) {
      EXPECT_EQ(impl.find("ref"), std::string::npos) << impl;
    }
  }
}

std::vector<BinaryCase> cases() {
  std::vector<BinaryCase> out;
  for (BinaryOp op : {BinaryOp::kAdd, BinaryOp::kSub, BinaryOp::kMul, BinaryOp::kDiv}) {
    for (Shape shape : {Shape::kSame, Shape::kChannels}) {
      for (bool first : {false, true}) {
        if (shape == Shape::kSame && first) continue;
        // oneDNN 2.6 has only a reference kernel for div on NHWC with 4 channels.
        if (op != BinaryOp::kDiv) out.push_back({op, shape, first, 4});
        out.push_back({op, shape, first, 16});
      }
    }
  }
  return out;
}

std::string case_name(const ::testing::TestParamInfo<BinaryCase>& param) {
  static const char* const kOps[] = {"Add", "Sub", "Mul", "Div"};
  static const char* const kShapes[] = {"Same", "Channels", "Space", "Rows", "Rank1"};
  const BinaryCase& c = param.param;
  return std::string(kOps[static_cast<int>(c.op)]) + kShapes[static_cast<int>(c.shape)] +
         (c.broadcast_first ? "First" : "") + std::to_string(c.channels);
}

INSTANTIATE_TEST_SUITE_P(Broadcasting, BinaryTest, ::testing::ValuesIn(cases()), case_name);

// Squeeze-and-excitation style x * s on the image (plain layouts), hand-worked: a 2x2 conv picks
// s = (x[0, 0, 0], x[1, 1, 1]) = (1, 8).
TEST(BinaryLayerTest, HandWorkedBroadcast) {
  Net net({2, 2, 2});
  net.conv("s", conv_options(2, 2, 2, 1, 0, 1, false))  // 2x1x1
      .custom("mul", {"input", "s"}, binary(BinaryOp::kMul, "mul"))
      .flatten("flat");
  NamedTensor w{"s.weight", {2, 2, 2, 2}, std::vector<float>(16, 0.f)};
  w.data[0] = 1;
  w.data[15] = 1;
  const Batch batch{1, {1, 2, 3, 4, 5, 6, 7, 8}, {0}};
  const std::vector<float> want = {1, 2, 3, 4, 40, 48, 56, 64};
  EXPECT_EQ(run_executor(net, batch, {w}, false).output, want);
  EXPECT_EQ(run_executor(net, batch, {w}, true).output, want);
}

// Broadcast patterns other than Cx1x1 are refused at plan time (see layers/binary.h).
TEST(BinaryLayerTest, RejectsUnsupportedBroadcastPatterns) {
  for (Shape shape : {Shape::kSpace, Shape::kRows, Shape::kRank1}) {
    const Graph g = net_of({BinaryOp::kMul, shape, false, 4}).graph();
    ExecutorOptions o;
    o.training = false;
    o.batch = 2;
    expect_error([&] { const Executor ex(g, o, nullptr); },
                 {"binary_mul \"op\"", "is not supported", "Cx1x1"});
  }
}

TEST(BinaryLayerTest, RejectsShapesThatDoNotBroadcast) {
  const auto graph_of = [](int64_t oc_a, int64_t oc_b, int64_t k_b) {
    Net net({3, 4, 4});
    net.conv("a", conv_options(3, oc_a, 1))
        .from("input")
        .conv("b", conv_options(3, oc_b, k_b))
        .custom("op", {"a", "b"}, binary(BinaryOp::kMul, "op"));
    (void)net.graph();
  };
  expect_error([&] { graph_of(4, 5, 1); }, {"binary_mul \"op\"", "4x4x4", "5x4x4", "broadcast"});
  expect_error([&] { graph_of(4, 4, 2); }, {"binary_mul \"op\"", "4x3x3", "broadcast"});
  // 4x1x1 against 1x4x4: both broadcast.
  expect_error(
      [&] {
        Net net({3, 4, 4});
        net.conv("a", conv_options(3, 4, 4))
            .from("input")
            .conv("b", conv_options(3, 1, 1))
            .custom("op", {"a", "b"}, binary(BinaryOp::kAdd, "op"));
        (void)net.graph();
      },
      {"binary_add \"op\"", "4x1x1", "1x4x4", "one input must have the output's shape"});
  expect_error(
      [&] {
        Net net({3, 4, 4});
        net.custom("op", {"input"}, binary(BinaryOp::kSub, "op"));
        (void)net.graph();
      },
      {"binary_sub \"op\"", "two inputs"});
}

}  // namespace
}  // namespace cnnmem::layer_test
