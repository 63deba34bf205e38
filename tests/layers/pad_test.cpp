// Tests for layers/pad.h through the real code path: PyTorch goldens (F.pad) for reflect,
// replicate (edge) and constant with a value; forward against the double reference after a
// conv with blocked channels; gradients through a conv before the pad against finite
// differences (reflect and edge add several gradients into one input value); rejected options.
// Not here: cropping (negative pads) or circular padding (not supported).
#include "layers/pad.h"

#include <gtest/gtest.h>

#include "tests/layers/geometry_reference.h"
#include "tests/layers/layer_harness.h"

namespace cnnmem::layer_test {
namespace {

PadOptions pad(PadMode mode, Pads2d pads, float value = 0) {
  PadOptions o;
  o.mode = mode;
  o.pads = pads;
  o.value = value;
  return o;
}

CustomLayer pad_layer(const std::string& name, const PadOptions& o) {
  CustomLayer l;
  l.make = [=] { return std::make_unique<Pad>(name, o); };
  l.ref = [=](const std::vector<const RefTensor*>& in, const RefParams&, bool) {
    return ref_pad(*in[0], o);
  };
  return l;
}

void expect_golden(const PadOptions& o, const Dims& out, const std::vector<double>& want) {
  Net net({1, 3, 4});
  net.custom("pad", {}, pad_layer("pad", o)).flatten("flat");
  EXPECT_EQ(net.graph().nodes()[1].dims, out);
  const Batch batch{1, golden_input(12), {0}};
  for (bool training : {false, true}) {
    const std::vector<float> got = run_executor(net, batch, {}, training).output;
    expect_close(got, want, 1e-7, "PyTorch");
    expect_close(got, net.forward({}, batch).v, 1e-7, "reference");
  }
}

// F.pad(x, (1, 3, 2, 1), mode='reflect'): left 1, right 3, top 2, bottom 1.
TEST(PadLayerTest, GoldenReflect) {
  expect_golden(pad(PadMode::kReflect, {2, 1, 1, 3}), {1, 6, 8},
                {0.5,  -0.25, 0.5,  1.25,  2,     1.25,  0.5,   -0.25, 1.75, 1,     1.75,  -1.75,
                 -1,   -1.75, 1.75, 1,     -1.25, -2,    -1.25, -0.5,  0.25, -0.5,  -1.25, -2,
                 1.75, 1,     1.75, -1.75, -1,    -1.75, 1.75,  1,     0.5,  -0.25, 0.5,   1.25,
                 2,    1.25,  0.5,  -0.25, 1.75,  1,     1.75,  -1.75, -1,   -1.75, 1.75,  1});
}

TEST(PadLayerTest, GoldenEdge) {
  expect_golden(pad(PadMode::kEdge, {2, 1, 1, 3}), {1, 6, 8},
                {-2,   -2,   -1.25, -0.5,  0.25,  0.25,  0.25,  0.25, -2,    -2,    -1.25, -0.5,
                 0.25, 0.25, 0.25,  0.25,  -2,    -2,    -1.25, -0.5, 0.25,  0.25,  0.25,  0.25,
                 1,    1,    1.75,  -1.75, -1,    -1,    -1,    -1,   -0.25, -0.25, 0.5,   1.25,
                 2,    2,    2,     2,     -0.25, -0.25, 0.5,   1.25, 2,     2,     2,     2});
}

TEST(PadLayerTest, GoldenConstant) {
  expect_golden(pad(PadMode::kConstant, {1, 0, 0, 2}, 1.5f), {1, 4, 6},
                {1.5, 1.5,  1.5,   1.5, 1.5, 1.5, -2,    -1.25, -0.5, 0.25, 1.5, 1.5,
                 1,   1.75, -1.75, -1,  1.5, 1.5, -0.25, 0.5,   1.25, 2,    1.5, 1.5});
}

TEST(PadLayerTest, ForwardAfterBlockedConv) {
  for (PadMode mode : {PadMode::kConstant, PadMode::kReflect, PadMode::kEdge}) {
    Net net({3, 4, 5});
    net.conv("conv", conv_options(3, 16, 1))
        .custom("pad", {}, pad_layer("pad", pad(mode, {1, 2, 3, 0}, -0.5f)))
        .flatten("f");
    check_forward(net, 2, 1);
  }
}

TEST(PadLayerTest, Gradients) {
  uint32_t seed = 2;
  for (PadMode mode : {PadMode::kConstant, PadMode::kReflect, PadMode::kEdge}) {
    for (int64_t channels : {3, 16}) {
      Net net({channels, 4, 5});
      net.conv("conv", conv_options(channels, channels, 1))
          .custom("pad", {}, pad_layer("pad", pad(mode, {3, 1, 2, 4}, 0.25f)))
          .flatten("f");
      check_gradients(net, 2, seed++);
    }
  }
}

void add_pad(const Dims& input, const PadOptions& o) {
  Graph g("t", input, 10);
  g.add(std::make_unique<Pad>("p", o));
}

TEST(PadLayerTest, RejectsBadOptions) {
  const std::string name = "pad \"p\": ";
  expect_error(
      [] {
        add_pad({3, 4, 4}, pad(PadMode::kConstant, {0, -1, 0, 0}));
      },
      {name, "pads must be >= 0", "cropping"});
  expect_error(
      [] {
        add_pad({3, 4, 4}, pad(PadMode::kReflect, {0, 4, 0, 0}));
      },
      {name, "reflect pads must be smaller than the input 3x4x4"});
  expect_error([] { add_pad({12}, pad(PadMode::kEdge, {1, 1, 1, 1})); }, {name, "CxHxW"});
}

}  // namespace
}  // namespace cnnmem::layer_test
