// Tests for layers/resize.h through the real code path: PyTorch goldens (F.interpolate) for
// nearest by scale and by size (upsampling and downsampling), bilinear with align_corners false
// (half pixel, a non-integer scale) and true; forward against the double reference after a conv
// with blocked channels; gradients through a conv before the resize against finite differences;
// the rejected options; ONNX's nearest coordinate modes and roundings (hand-worked rows, the
// double reference, finite differences).
// Not here: modes other than nearest and bilinear (not supported).
#include "layers/resize.h"

#include <gtest/gtest.h>

#include "tests/layers/geometry_reference.h"
#include "tests/layers/layer_harness.h"

namespace cnnmem::layer_test {
namespace {

CustomLayer resize(const std::string& name, const ResizeOptions& o) {
  CustomLayer l;
  l.make = [=] { return std::make_unique<Resize>(name, o); };
  l.ref = [=](const std::vector<const RefTensor*>& in, const RefParams&, bool) {
    return ref_resize(*in[0], o);
  };
  return l;
}

// golden_input -> resize -> flatten against PyTorch (and the double reference).
void expect_golden(const Dims& input, const ResizeOptions& o, const Dims& out,
                   const std::vector<double>& want) {
  Net net(input);
  net.custom("up", {}, resize("up", o)).flatten("flat");
  EXPECT_EQ(net.graph().nodes()[1].dims, out);
  const Batch batch{1, golden_input(dims_product(input)), {0}};
  for (bool training : {false, true}) {
    const std::vector<float> got = run_executor(net, batch, {}, training).output;
    expect_close(got, want, 1e-6, "PyTorch");
    expect_close(got, net.forward({}, batch).v, 1e-6, "reference");
  }
}

constexpr auto kNearest = ResizeMode::kNearest;
constexpr auto kBilinear = ResizeMode::kBilinear;

// F.interpolate(x, scale_factor=(1.5, 2.5), mode='nearest'): OH = floor(4.5) = 4.
TEST(ResizeLayerTest, GoldenNearestByScale) {
  expect_golden(
      {1, 3, 4}, ResizeOptions::scale(kNearest, 1.5, 2.5), {1, 4, 10},
      {-2,    -2,   -2,    -1.25, -1.25, -0.5, -0.5, -0.5, 0.25, 0.25, -2,   -2,    -2,    -1.25,
       -1.25, -0.5, -0.5,  -0.5,  0.25,  0.25, 1,    1,    1,    1.75, 1.75, -1.75, -1.75, -1.75,
       -1,    -1,   -0.25, -0.25, -0.25, 0.5,  0.5,  1.25, 1.25, 1.25, 2,    2});
}

TEST(ResizeLayerTest, GoldenNearestDownBySize) {
  expect_golden({1, 5, 7}, ResizeOptions::size(kNearest, 3, 4), {1, 3, 4},
                {-2, -1.25, 0.25, 1.75, -1, -0.25, 1.25, -1.5, 1, 1.75, -1, 0.5});
}

// scale_factor 1.7: PyTorch samples at 1 / 1.7, not at 3 / 5.
TEST(ResizeLayerTest, GoldenBilinearHalfPixelByScale) {
  expect_golden({1, 3, 4}, ResizeOptions::scale(kBilinear, 1.7, 2.0), {1, 5, 8},
                {-2,           -1.8125,      -1.4375,      -1.0625,      -0.6875,
                 -0.3125,      0.0625,       0.25,         -0.852941155, -0.665441096,
                 -0.290441096, -0.321691126, -0.759191215, -0.790441275, -0.415441215,
                 -0.227941215, 0.911764979,  1.09926498,   1.47426498,   0.81801492,
                 -0.869485378, -1.5257355,   -1.15073538,  -0.963235438, 0.301470518,
                 0.488970518,  0.863970518,  0.770220578,  0.207720697,  0.113970757,
                 0.488970757,  0.676470757,  -0.25,        -0.0625,      0.3125,
                 0.6875,       1.0625,       1.4375,       1.8125,       2});
}

TEST(ResizeLayerTest, GoldenBilinearDownBySize) {
  expect_golden({1, 5, 7}, ResizeOptions::size(kBilinear, 2, 3), {1, 2, 3},
                {-0.75, 0.999999881, -0.791666567, 1.04166663, -0.75000006, 0.645833373});
}

TEST(ResizeLayerTest, GoldenBilinearAlignCorners) {
  expect_golden({1, 3, 4}, ResizeOptions::size(kBilinear, 5, 6, true), {1, 5, 6},
                {-2,    -1.54999995,   -1.0999999,    -0.649999976, -0.199999928, 0.25,
                 -0.5,  -0.0499999821, -0.0250000656, -0.850000083, -0.824999928, -0.375,
                 1,     1.45000005,    1.04999983,    -1.05000019,  -1.44999993,  -1,
                 0.375, 0.825000048,   0.849999905,   0.0249999017, 0.0500000715, 0.5,
                 -0.25, 0.200000018,   0.650000036,   1.10000002,   1.55000007,   2});
}

// Blocked channels from the conv before: the resize reads them through a reorder.
TEST(ResizeLayerTest, ForwardAfterBlockedConv) {
  for (const ResizeOptions& o :
       {ResizeOptions::scale(kNearest, 2, 2), ResizeOptions::size(kBilinear, 7, 5),
        ResizeOptions::size(kBilinear, 7, 5, true)}) {
    Net net({3, 4, 3});
    net.conv("conv", conv_options(3, 16, 3, 1, 1)).custom("up", {}, resize("up", o)).flatten("f");
    check_forward(net, 2, 1);
  }
}

TEST(ResizeLayerTest, Gradients) {
  uint32_t seed = 2;
  for (const ResizeOptions& o :
       {ResizeOptions::scale(kNearest, 2, 3), ResizeOptions::size(kNearest, 3, 2),
        ResizeOptions::scale(kBilinear, 1.7, 2), ResizeOptions::size(kBilinear, 3, 2),
        ResizeOptions::size(kBilinear, 6, 7, true)}) {
    Net net({3, 4, 5});
    net.conv("conv", conv_options(3, 4, 1)).custom("up", {}, resize("up", o)).flatten("f");
    check_gradients(net, 2, seed++);
  }
}

TEST(ResizeLayerTest, GradientsBlocked) {
  Net net({16, 3, 4});
  net.conv("conv", conv_options(16, 16, 1))
      .custom("up", {}, resize("up", ResizeOptions::scale(kBilinear, 2, 2)))
      .flatten("f");
  check_gradients(net, 2, 9);
}

ResizeOptions onnx_nearest(ResizeOptions o, NearestCoords c, NearestRound r) {
  o.nearest_coords = c;
  o.nearest_round = r;
  return o;
}

// ONNX's nearest modes, source rows worked by hand: 4 -> 8 rows (x = (d + 0.5) / 2 - 0.5 for
// half_pixel, d / 2 asymmetric, 3d / 7 align_corners, (d + 0.5) / 2 tf_half_pixel_for_nn) and
// 8 -> 3 (half_pixel: 0.83, 3.5, 6.17: the tie 3.5 rounds by the preference).
TEST(ResizeLayerTest, OnnxNearestTaps) {
  using C = NearestCoords;
  using R = NearestRound;
  const auto rows = [](C c, R r, int64_t in, int64_t out) {
    std::vector<int64_t> v;
    const ResizeOptions o = onnx_nearest(ResizeOptions::size(kNearest, out, out), c, r);
    for (const Resize::Tap& t : Resize::taps(o, in, out, 0)) v.push_back(t.i0);
    return v;
  };
  using V = std::vector<int64_t>;
  EXPECT_EQ(rows(C::kHalfPixel, R::kRoundPreferFloor, 4, 8), (V{0, 0, 1, 1, 2, 2, 3, 3}));
  EXPECT_EQ(rows(C::kHalfPixel, R::kCeil, 4, 8), (V{0, 1, 1, 2, 2, 3, 3, 3}));
  EXPECT_EQ(rows(C::kAsymmetric, R::kRoundPreferCeil, 4, 8), (V{0, 1, 1, 2, 2, 3, 3, 3}));
  EXPECT_EQ(rows(C::kAsymmetric, R::kRoundPreferFloor, 4, 8), (V{0, 0, 1, 1, 2, 2, 3, 3}));
  EXPECT_EQ(rows(C::kAlignCorners, R::kFloor, 4, 8), (V{0, 0, 0, 1, 1, 2, 2, 3}));
  EXPECT_EQ(rows(C::kTfHalfPixel, R::kFloor, 4, 8), (V{0, 0, 1, 1, 2, 2, 3, 3}));
  EXPECT_EQ(rows(C::kHalfPixel, R::kRoundPreferFloor, 8, 3), (V{1, 3, 6}));
  EXPECT_EQ(rows(C::kHalfPixel, R::kRoundPreferCeil, 8, 3), (V{1, 4, 6}));
  EXPECT_EQ(rows(C::kPyTorchHalfPixel, R::kCeil, 8, 1), (V{0}));
}

// Every ONNX nearest mode against the double reference, forward and gradients.
TEST(ResizeLayerTest, OnnxNearestForwardAndGradients) {
  uint32_t seed = 20;
  for (const NearestCoords c : {NearestCoords::kHalfPixel, NearestCoords::kPyTorchHalfPixel,
                                NearestCoords::kAlignCorners, NearestCoords::kTfHalfPixel}) {
    for (const NearestRound r :
         {NearestRound::kCeil, NearestRound::kRoundPreferFloor, NearestRound::kRoundPreferCeil}) {
      for (const ResizeOptions& base :
           {ResizeOptions::scale(kNearest, 2, 3), ResizeOptions::size(kNearest, 3, 7)}) {
        Net net({3, 4, 5});
        net.conv("conv", conv_options(3, 4, 1))
            .custom("up", {}, resize("up", onnx_nearest(base, c, r)))
            .flatten("f");
        check_forward(net, 2, seed);
        check_gradients(net, 2, seed++);
      }
    }
  }
}

void add_resize(const Dims& input, const ResizeOptions& o) {
  Graph g("t", input, 10);
  g.add(std::make_unique<Resize>("r", o));
}

TEST(ResizeLayerTest, RejectsBadOptions) {
  const std::string name = "resize \"r\": ";
  expect_error([] { add_resize({3, 4, 4}, ResizeOptions{}); }, {name, "either"});
  ResizeOptions both = ResizeOptions::size(kNearest, 4, 4);
  both.scale_h = both.scale_w = 2;
  expect_error([&] { add_resize({3, 4, 4}, both); }, {name, "either"});
  expect_error(
      [] {
        add_resize({3, 4, 4}, ResizeOptions::scale(kNearest, 2, -1));
      },
      {name, "scale"});
  expect_error(
      [] {
        add_resize({3, 4, 4}, ResizeOptions::scale(kNearest, 2, 2, true));
      },
      {name, "align_corners"});
  expect_error(
      [] {
        add_resize({3, 4, 4}, ResizeOptions::scale(kNearest, 0.2, 1));
      },
      {name, "empty"});
  expect_error([] { add_resize({12}, ResizeOptions::scale(kNearest, 2, 2)); }, {name, "CxHxW"});
  expect_error(
      [] {
        ResizeOptions o = ResizeOptions::scale(kBilinear, 2, 2);
        o.nearest_round = NearestRound::kCeil;
        add_resize({3, 4, 4}, o);
      },
      {name, "nearest mode only"});
}

}  // namespace
}  // namespace cnnmem::layer_test
