// Tests for layers/flatten.h through the real code path (Graph -> Executor -> oneDNN): the
// output is PyTorch's flatten(1) in C, H, W order whatever layout the producer chose (plain
// input: a free view; a conv's blocked dst: a reorder), and gradients flow back into the
// producer's layout.
// Not here: the layers around it (their own tests).
#include "layers/flatten.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/layers/layer_harness.h"

namespace cnnmem::layer_test {
namespace {

bool has_buffer(const Schedule& s, const std::string& name) {
  return std::any_of(s.buffers.begin(), s.buffers.end(),
                     [&](const Buffer& b) { return b.name == name; });
}

TEST(FlattenLayerTest, InfersTheProductOfTheDims) {
  Graph g("t", {3, 4, 5}, 60);
  g.add(std::make_unique<Flatten>("flat"));
  EXPECT_EQ(g.nodes().back().dims, (Dims{60}));
  g.add(std::make_unique<Flatten>("flat2"));
  EXPECT_EQ(g.nodes().back().dims, (Dims{60}));
}

// The input is plain NCHW: the output is the input itself, value for value, with no copy.
TEST(FlattenLayerTest, PlainInputIsAFreeView) {
  Net net({3, 4, 5});
  net.flatten("flat");
  std::vector<float> images(2 * 60);
  for (size_t i = 0; i < images.size(); ++i) images[i] = static_cast<float>(i) - 50.0f;
  const layer_test::Batch batch{2, images, {7, 59}};
  for (bool training : {false, true}) {
    SCOPED_TRACE(training ? "training" : "inference");
    EXPECT_EQ(layer_test::run_executor(net, batch, {}, training).output, images);
  }
  ExecutorOptions o;
  o.training = false;
  o.batch = 2;
  const Graph g = net.graph();
  const Executor ex(g, o, nullptr);
  EXPECT_FALSE(has_buffer(ex.schedule(), "flat.dst"));
}

TEST(FlattenLayerTest, ForwardAfterConv) {
  Net net({3, 5, 6});
  net.conv("conv", conv_options(3, 5, 3, 1, 1)).flatten("flat");
  check_forward(net, 3, 1);
}

// 32 output channels: oneDNN picks a blocked layout (nChw8c / nChw16c) where the ISA has one,
// so flatten must reorder to C, H, W order.
TEST(FlattenLayerTest, ForwardAfterBlockedConv) {
  Net net({16, 4, 3});
  net.conv("conv", conv_options(16, 32, 3, 1, 1)).flatten("flat");
  check_forward(net, 2, 2);
}

TEST(FlattenLayerTest, ForwardAfterPoolIntoLinear) {
  Net net({16, 6, 6});
  net.pool("pool", PoolKind::kMax, 2).flatten("flat").linear("fc", 16 * 9, 7);
  check_forward(net, 2, 3);
}

// The linear layer's diff_src comes back flat and must land in the conv's layout.
TEST(FlattenLayerTest, GradientsBetweenConvAndLinear) {
  Net net({3, 5, 4});
  net.conv("conv", conv_options(3, 4, 3, 1, 1)).flatten("flat").linear("fc", 4 * 20, 6);
  check_gradients(net, 3, 4);
}

TEST(FlattenLayerTest, GradientsBetweenBlockedConvAndLinear) {
  Net net({16, 4, 3});
  net.conv("conv", conv_options(16, 32, 3, 1, 1)).flatten("flat").linear("fc", 32 * 12, 5);
  check_gradients(net, 2, 5);
}

// Flattening an already flat tensor changes nothing, forward or backward.
TEST(FlattenLayerTest, GradientsThroughTwoFlattens) {
  Net net({3, 4, 4});
  net.conv("conv", conv_options(3, 2, 3)).flatten("flat1").flatten("flat2").linear("fc", 8, 3);
  check_gradients(net, 2, 6);
}

TEST(FlattenLayerTest, RejectsTwoInputs) {
  expect_error(
      [] {
        Graph g("t", {3, 4, 4}, 48);
        g.add(std::make_unique<Flatten>("f"), {0, 0});
      },
      {"flatten \"f\": ", "exactly one input"});
}

}  // namespace
}  // namespace cnnmem::layer_test
