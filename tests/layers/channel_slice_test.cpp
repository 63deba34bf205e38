// Tests for layers/channel_slice.h through the real code path: forward against a naive double
// reference in plain and blocked layouts (slices on and inside a channel block), an ONNX-style
// Split (two slices of one input, concatenated back in the other order), gradients through a
// conv before it against finite differences, every primitive jit, and the errors.
// Not here: concatenation itself (tests/layers/concat_test.cpp).
#include "layers/channel_slice.h"

#include <gtest/gtest.h>

#include "tests/layers/channel_ops.h"
#include "tests/layers/layer_harness.h"

namespace cnnmem::layer_test {
namespace {

Net sliced(int64_t channels, int64_t start, int64_t end, bool conv_after) {
  Net net({3, 4, 5});
  net.conv("conv", conv_options(3, channels, 3, 1, 1));
  net.custom("slice", {}, channel_slice_layer("slice", start, end));
  if (conv_after) net.conv("after", conv_options(end - start, 2, 3));
  net.flatten("flat");
  return net;
}

TEST(ChannelSliceLayerTest, Forward) {
  check_forward(sliced(7, 2, 5, false), 2, 1);     // nchw
  check_forward(sliced(48, 16, 40, false), 2, 2);  // on a block
  check_forward(sliced(32, 5, 21, false), 3, 3);   // inside a block
  check_forward(sliced(32, 0, 32, false), 1, 4);   // everything
}

TEST(ChannelSliceLayerTest, Gradients) {
  check_gradients(sliced(7, 2, 5, true), 2, 5);
  check_gradients(sliced(48, 16, 40, true), 2, 6);
  check_gradients(sliced(32, 5, 21, true), 2, 7);
}

// Split into two outputs read back in swapped order: both slices' gradients reach the conv.
TEST(ChannelSliceLayerTest, SplitIntoTwoAndConcatSwapped) {
  Net net({3, 4, 4});
  net.conv("conv", conv_options(3, 20, 3, 1, 1));
  net.custom("lo", {"conv"}, channel_slice_layer("lo", 0, 16));
  net.custom("hi", {"conv"}, channel_slice_layer("hi", 16, 20));
  net.custom("cat", {"hi", "lo"}, concat_layer("cat")).conv("after", conv_options(20, 2, 3));
  net.flatten("flat");
  check_forward(net, 2, 8);
  check_gradients(net, 2, 9);
}

TEST(ChannelSliceLayerTest, Jit) {
  for (int64_t start : {0, 5, 16}) {
    const Graph g = sliced(48, start, start + 16, true).graph();
    ExecutorOptions o;
    o.batch = 2;
    auto opt = make_optimizer(OptimizerConfig{});
    const Executor ex(g, o, opt.get(), std::make_unique<SoftmaxCrossEntropy>());
    for (const std::string& impl : ex.implementations()) {
      EXPECT_EQ(impl.find("ref"), std::string::npos) << impl;
    }
  }
}

TEST(ChannelSliceLayerTest, Errors) {
  expect_error([] { ChannelSlice("s", -1, 2); }, {"channel_slice \"s\"", "start -1"});
  expect_error([] { ChannelSlice("s", 3, 3); }, {"start < end", "end 3"});
  expect_error([] { sliced(4, 2, 6, false).graph(); }, {"[2, 6)", "input's 4"});
}

}  // namespace
}  // namespace cnnmem::layer_test
