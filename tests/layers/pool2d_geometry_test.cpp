// Tests for layers/pool2d.h with Pool2dOptions: non-square kernel and stride, per-side padding,
// ceil mode and count_include_pad. Golden values from PyTorch (scripts in the comments) pin the
// corner cases: ceil-mode windows that run past the padding (divided by their clipped size),
// the dropped last window, and exclude-padding divisors. Forward against the double reference,
// gradients against finite differences (through a conv before the pool), and the rejected
// options.
// Not here: square pooling (tests/layers/pool2d_test.cpp).
#include <gtest/gtest.h>

#include "layers/pool2d.h"
#include "tests/layers/geometry_reference.h"
#include "tests/layers/layer_harness.h"

namespace cnnmem::layer_test {
namespace {

Pool2dOptions pool(int64_t kh, int64_t kw, int64_t sh, int64_t sw, Pads2d pads, bool ceil_mode,
                   bool count_include_pad = true) {
  Pool2dOptions o;
  o.window.kernel_h = kh;
  o.window.kernel_w = kw;
  o.window.stride_h = sh;
  o.window.stride_w = sw;
  o.window.pads = pads;
  o.ceil_mode = ceil_mode;
  o.count_include_pad = count_include_pad;
  return o;
}

CustomLayer pool_layer(const std::string& name, PoolKind kind, const Pool2dOptions& o) {
  CustomLayer l;
  l.make = [=] { return std::make_unique<Pool2d>(name, kind, o); };
  l.ref = [=](const std::vector<const RefTensor*>& in, const RefParams&, bool) {
    return ref_pool2d(*in[0], kind, o);
  };
  return l;
}

// input (golden_input values) -> pool -> flatten, against PyTorch's output.
void expect_golden(PoolKind kind, const Dims& input, const Pool2dOptions& o, const Dims& out,
                   const std::vector<double>& want) {
  Net net(input);
  net.custom("pool", {}, pool_layer("pool", kind, o)).flatten("flat");
  const Graph g = net.graph();
  EXPECT_EQ(g.nodes()[1].dims, out);
  const Batch batch{1, golden_input(dims_product(input)), {0}};
  for (bool training : {false, true}) {
    SCOPED_TRACE(training ? "training" : "inference");
    expect_close(run_executor(net, batch, {}, training).output, want, 1e-6, "output");
    expect_close(run_executor(net, batch, {}, training).output, net.forward({}, batch).v, 1e-6,
                 "reference");
  }
}

// F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=True) on a 1x6x6 input: the last
// row and column of windows run past the padding and are divided by 6, not 9.
TEST(Pool2dGeometryTest, GoldenAvgCeilIncludePad) {
  expect_golden(PoolKind::kAvg, {1, 6, 6}, pool(3, 3, 2, 2, {1, 1, 1, 1}, true), {1, 4, 4},
                {-0.66666666666666663, -0.25, 0.75, 0.625, -0.75, 0, 0.55555555555555558,
                 -0.29166666666666669, -0.41666666666666669, 0.5, 0.1111111111111111, -0.75, -0.125,
                 0.375, -0.29166666666666669, -0.3125});
}

TEST(Pool2dGeometryTest, GoldenAvgCeilExcludePad) {
  expect_golden(PoolKind::kAvg, {1, 6, 6}, pool(3, 3, 2, 2, {1, 1, 1, 1}, true, false), {1, 4, 4},
                {-1.5, -0.375, 1.125, 1.875, -1.125, 0, 0.55555555555555558, -0.58333333333333337,
                 -0.625, 0.5, 0.1111111111111111, -1.5, -0.375, 0.75, -0.58333333333333337, -1.25});
}

TEST(Pool2dGeometryTest, GoldenMaxCeil) {
  expect_golden(PoolKind::kMax, {1, 6, 6}, pool(3, 3, 2, 2, {1, 1, 1, 1}, true), {1, 4, 4},
                {-1, 0.5, 2, 2, -0.5, 1, 2, 2, 0, 1.5, 2, -1.25, 0, 1.5, 1.5, -1.25});
}

// Kernel 2x3, stride 2, padding (0, 1): F.avg_pool2d(x, (2, 3), 2, (0, 1), ceil_mode=True).
TEST(Pool2dGeometryTest, GoldenAvgCeilNonSquare) {
  expect_golden(PoolKind::kAvg, {1, 5, 7}, pool(2, 3, 2, 2, {0, 1, 0, 1}, true), {1, 3, 4},
                {-0.75, 0, 0.79166666666666663, -0.375, 0.58333333333333337, -0.125, -0.75, 0.25,
                 0.16666666666666666, -0.75, 0.75, -0.16666666666666666});
  expect_golden(PoolKind::kAvg, {1, 5, 7}, pool(2, 3, 2, 2, {0, 1, 0, 1}, true, false), {1, 3, 4},
                {-1.125, 0, 0.79166666666666663, -0.5625, 0.875, -0.125, -0.75, 0.375, 0.25, -0.75,
                 0.75, -0.25});
}

// 5 + 1 + 1 - 2 = 5 over stride 2: ceil gives 4 windows, but the 4th would start in the
// bottom padding, so PyTorch keeps 3.
TEST(Pool2dGeometryTest, GoldenCeilDropsWindowStartingInPadding) {
  expect_golden(PoolKind::kAvg, {1, 5, 5}, pool(2, 2, 2, 2, {1, 1, 1, 1}, true), {1, 3, 3},
                {-0.5, -0.4375, 0.3125, 0.75, -0.5625, -0.125, 0.25, 0.5625, -1.125});
}

TEST(Pool2dGeometryTest, GoldenAvgExcludePadFloor) {
  expect_golden(PoolKind::kAvg, {1, 5, 6}, pool(3, 2, 1, 2, {1, 0, 1, 0}, false, false), {1, 5, 3},
                {-1.5, 0, 1.5, -1.375, 0.125, 0.91666666666666663, -1.125, 0.375,
                 0.45833333333333331, -0.875, 0.625, 0, -0.75, 0.75, 0.125});
}

// Both kinds, plain and blocked channels, forward and gradients through a conv before.
void check_case(int64_t c, int64_t h, int64_t w, const Pool2dOptions& o, uint32_t seed) {
  for (PoolKind kind : {PoolKind::kMax, PoolKind::kAvg}) {
    SCOPED_TRACE(kind == PoolKind::kMax ? "max" : "avg");
    Net fwd({c, h, w});
    fwd.custom("pool", {}, pool_layer("pool", kind, o)).flatten("flat");
    check_forward(fwd, 2, seed);
    Net net({c, h, w});
    net.conv("conv", conv_options(c, c, 1))
        .custom("pool", {}, pool_layer("pool", kind, o))
        .flatten("flat");
    check_gradients(net, 2, seed);
  }
}

TEST(Pool2dGeometryTest, CeilIncludePad) {
  check_case(3, 7, 6, pool(3, 3, 2, 2, {1, 1, 1, 1}, true), 1);
}

TEST(Pool2dGeometryTest, CeilIncludePadBlocked) {
  check_case(16, 6, 7, pool(3, 2, 2, 2, {1, 0, 1, 1}, true), 2);
}

TEST(Pool2dGeometryTest, CeilExcludePadAsymmetric) {
  check_case(3, 8, 7, pool(3, 3, 2, 3, {0, 1, 1, 0}, true, false), 3);
}

TEST(Pool2dGeometryTest, FloorNonSquareExcludePadBlocked) {
  check_case(16, 7, 9, pool(2, 4, 1, 3, {1, 2, 0, 1}, false, false), 4);
}

// Padding over half the kernel (ONNX allows it): corner windows of one input value.
TEST(Pool2dGeometryTest, PaddingOverHalfTheKernel) {
  check_case(3, 6, 7, pool(3, 3, 1, 2, {2, 2, 2, 1}, false, false), 5);
  check_case(16, 6, 6, pool(3, 3, 1, 1, {2, 2, 2, 2}, false), 6);
}

// Dilated max pooling, plain and blocked channels, with ceil mode and padding over half the
// kernel: forward against the reference and gradients through a conv before.
TEST(Pool2dGeometryTest, DilatedMax) {
  uint32_t seed = 7;
  for (const int64_t c : {3, 16}) {
    for (const bool ceil : {false, true}) {
      Pool2dOptions o = pool(2, 3, 1, 2, {1, 2, 0, 1}, ceil);
      o.window.dilation_h = 2;
      o.window.dilation_w = 3;
      Net fwd({c, 9, 11});
      fwd.custom("pool", {}, pool_layer("pool", PoolKind::kMax, o)).flatten("flat");
      EXPECT_EQ(fwd.graph().nodes()[1].dims, (Dims{c, 8, ceil ? 5 : 4}));
      check_forward(fwd, 2, seed);
      Net net({c, 9, 11});
      net.conv("conv", conv_options(c, c, 1))
          .custom("pool", {}, pool_layer("pool", PoolKind::kMax, o))
          .flatten("flat");
      check_gradients(net, 2, seed++);
    }
  }
}

TEST(Pool2dGeometryTest, SquareConstructorIsTheSquareOptions) {
  const Pool2d a("p", PoolKind::kAvg, 3, 0, 1);
  EXPECT_EQ(a.options().window.stride_h, 3);
  EXPECT_EQ(a.options().window.pads, (Pads2d{1, 1, 1, 1}));
  EXPECT_FALSE(a.options().ceil_mode);
  EXPECT_TRUE(a.options().count_include_pad);
}

void add_pool(const Dims& input, const Pool2dOptions& o) {
  Graph g("t", input, 10);
  g.add(std::make_unique<Pool2d>("p", PoolKind::kMax, o));
}

TEST(Pool2dGeometryTest, RejectsBadOptions) {
  const std::string name = "max_pool2d \"p\": ";
  expect_error([] { add_pool({3, 8, 8}, pool(3, 0, 1, 1, {}, false)); }, {name, "kernel", "3x0"});
  expect_error([] { add_pool({3, 8, 8}, pool(3, 3, 1, 0, {}, false)); }, {name, "stride"});
  expect_error(
      [] {
        add_pool({3, 8, 8}, pool(3, 3, 1, 1, {0, 0, -1, 0}, false));
      },
      {name, "padding"});
  expect_error(
      [] {
        add_pool({3, 8, 8}, pool(4, 2, 1, 1, {0, 2, 0, 0}, false));
      },
      {name, "smaller than the kernel"});
  Pool2dOptions dilated = pool(3, 3, 1, 1, {}, false);
  dilated.window.dilation_w = 2;
  expect_error(
      [&] {
        Graph g("t", {3, 8, 8}, 10);
        g.add(std::make_unique<Pool2d>("p", PoolKind::kAvg, dilated));
      },
      {"avg_pool2d \"p\": ", "dilation must be 1 for average pooling"});
  expect_error(
      [] {
        add_pool({3, 2, 8}, pool(4, 2, 1, 1, {1, 0, 0, 0}, true));
      },
      {name, "smaller than the kernel 4x2"});
}

}  // namespace
}  // namespace cnnmem::layer_test
