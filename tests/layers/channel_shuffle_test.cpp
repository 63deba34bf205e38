// Tests for layers/channel_shuffle.h through the real code path: a hand-worked permutation,
// forward against a naive double reference after plain and blocked convs, gradients through a
// conv before it against finite differences, every primitive jit, and the errors.
// Not here: grouped convolution (tests/layers/conv2d_test.cpp).
#include "layers/channel_shuffle.h"

#include <gtest/gtest.h>

#include "tests/layers/channel_ops.h"
#include "tests/layers/layer_harness.h"

namespace cnnmem::layer_test {
namespace {

// 6 channels of one value each, 2 groups: channels 0 1 2 | 3 4 5 become 0 3 1 4 2 5.
TEST(ChannelShuffleLayerTest, HandWorked) {
  Net net({6, 1, 1});
  net.custom("shuffle", {}, channel_shuffle_layer("shuffle", 2)).flatten("flat");
  const Batch batch{1, {0, 1, 2, 3, 4, 5}, {0}};
  const std::vector<float> want = {0, 3, 1, 4, 2, 5};
  EXPECT_EQ(run_executor(net, batch, {}, false).output, want);
  EXPECT_EQ(run_executor(net, batch, {}, true).output, want);
}

Net shuffled(int64_t channels, int64_t groups, bool conv_after) {
  Net net({3, 4, 5});
  net.conv("conv", conv_options(3, channels, 3, 1, 1));
  net.custom("shuffle", {}, channel_shuffle_layer("shuffle", groups));
  if (conv_after) net.conv("after", conv_options(channels, 2, 3));
  net.flatten("flat");
  return net;
}

TEST(ChannelShuffleLayerTest, Forward) {
  check_forward(shuffled(6, 3, false), 2, 1);
  check_forward(shuffled(32, 4, false), 2, 2);  // blocked producer
  check_forward(shuffled(12, 12, false), 1, 3);
}

TEST(ChannelShuffleLayerTest, Gradients) {
  check_gradients(shuffled(6, 3, true), 2, 4);
  check_gradients(shuffled(32, 2, true), 2, 5);
}

TEST(ChannelShuffleLayerTest, Jit) {
  const Graph g = shuffled(32, 4, true).graph();
  ExecutorOptions o;
  o.batch = 2;
  auto opt = make_optimizer(OptimizerConfig{});
  const Executor ex(g, o, opt.get(), std::make_unique<SoftmaxCrossEntropy>());
  for (const std::string& impl : ex.implementations()) {
    EXPECT_EQ(impl.find("ref"), std::string::npos) << impl;
  }
}

TEST(ChannelShuffleLayerTest, Errors) {
  expect_error([] { ChannelShuffle("s", 0); }, {"channel_shuffle \"s\"", "groups", "got 0"});
  expect_error([] { shuffled(6, 4, false).graph(); }, {"groups 4", "6 channels"});
}

}  // namespace
}  // namespace cnnmem::layer_test
