// Tests for layers/concat.h through the real code path: forward against a naive double
// reference (plain and blocked layouts, mixed layouts, three inputs, batch 1 where producers
// write in place and batch 2 where the concat copies), gradients through convs before and after
// it against finite differences, the in-place decision, every primitive jit, and the errors.
// Not here: the memory bills of in-place concatenation (tests/framework/concat_memory_test.cpp).
#include "layers/concat.h"

#include <gtest/gtest.h>

#include "tests/layers/channel_ops.h"
#include "tests/layers/layer_harness.h"

namespace cnnmem::layer_test {
namespace {

// Two convs of the image concatenated, then `tail` (a flatten, or a conv and a flatten).
Net two_branches(int64_t a, int64_t b, bool conv_after) {
  Net net({3, 5, 4});
  net.conv("a", conv_options(3, a, 3, 1, 1)).from("input").conv("b", conv_options(3, b, 1));
  net.custom("cat", {"a", "b"}, concat_layer("cat"));
  if (conv_after) net.conv("after", conv_options(a + b, 3, 3));
  net.flatten("flat");
  return net;
}

TEST(ConcatLayerTest, ForwardPlainLayouts) {
  for (int64_t batch : {1, 2}) {
    SCOPED_TRACE(batch);
    check_forward(two_branches(5, 7, false), batch, 1);
  }
}

TEST(ConcatLayerTest, ForwardBlockedLayouts) {
  for (int64_t batch : {1, 2}) check_forward(two_branches(16, 32, false), batch, 2);
}

TEST(ConcatLayerTest, ForwardMixedLayoutsAndUnalignedBlocks) {
  for (int64_t batch : {1, 3}) {
    check_forward(two_branches(5, 32, false), batch, 3);
    check_forward(two_branches(24, 16, false), batch, 4);
  }
}

TEST(ConcatLayerTest, ForwardThreeInputsIncludingTheImage) {
  Net net({3, 4, 4});
  net.conv("a", conv_options(3, 16, 3, 1, 1)).from("input").pool("p", PoolKind::kMax, 1);
  net.custom("cat", {"a", "input", "p"}, concat_layer("cat")).flatten("flat");
  for (int64_t batch : {1, 2}) check_forward(net, batch, 5);
}

TEST(ConcatLayerTest, GradientsThroughConvsBeforeAndAfter) {
  for (int64_t batch : {1, 2}) {
    check_gradients(two_branches(5, 7, true), batch, 6);
    check_gradients(two_branches(16, 32, true), batch, 7);
    check_gradients(two_branches(24, 16, true), batch, 8);
  }
}

TEST(ConcatLayerTest, DenseNetForwardAndGradients) {
  for (int64_t growth : {16, 32}) {
    SCOPED_TRACE("growth " + std::to_string(growth));
    DenseNetShape s;
    s.growth = growth;
    s.layers = 2;
    const Net net = dense_net(s);
    for (int64_t batch : {1, 2}) {
      check_forward(net, batch, 9);
      check_gradients(net, batch, 10, 8);
    }
  }
}

// Training at batch 1: both convs write into the concat's buffer and the concat has no op of
// its own; at batch 2 (a channel slice of a batch is strided: no jit kernel writes it), in
// inference, or with in-place concatenation off it copies with one primitive. Every primitive
// is jit.
TEST(ConcatLayerTest, InPlaceDecisionAndJit) {
  const auto opt = make_optimizer(OptimizerConfig{});
  for (int64_t batch : {1, 2}) {
    for (bool training : {true, false}) {
      for (bool in_place : {true, false}) {
        SCOPED_TRACE("batch " + std::to_string(batch) + (training ? " training" : " inference") +
                     (in_place ? " in place" : " naive"));
        const Graph g = two_branches(16, 32, true).graph();
        ExecutorOptions o;
        o.training = training;
        o.batch = batch;
        o.in_place_concat = in_place;
        const Executor ex(g, o, training ? opt.get() : nullptr,
                          training ? std::make_unique<SoftmaxCrossEntropy>() : nullptr);
        const auto* cat = dynamic_cast<const Concat*>(g.nodes()[3].layer.get());
        ASSERT_NE(cat, nullptr);
        const bool views = in_place && training && batch == 1;
        EXPECT_EQ(cat->in_place(), views);
        EXPECT_EQ(cat->inputs_in_place(), views ? 2 : 0);
        bool concat_op = false;
        for (const std::string& impl : ex.implementations()) {
          EXPECT_EQ(impl.find("ref"), std::string::npos) << impl;
          concat_op = concat_op || impl.starts_with("cat.forward");
        }
        EXPECT_EQ(concat_op, !views);
      }
    }
  }
}

TEST(ConcatLayerTest, Errors) {
  const auto add = [](std::vector<std::string> inputs, Net net) {
    net.custom("cat", std::move(inputs), concat_layer("cat"));
    return net.graph();
  };
  Net one({3, 4, 4});
  one.conv("a", conv_options(3, 4, 1));
  expect_error([&] { add({"a"}, one); }, {"concat \"cat\"", "at least two inputs", "got 1"});
  Net sizes({3, 4, 4});
  sizes.conv("a", conv_options(3, 4, 1)).from("input").conv("b", conv_options(3, 4, 3));
  expect_error([&] { add({"a", "b"}, sizes); }, {"4x4x4", "4x2x2", "height or width"});
  Net flat({3, 4, 4});
  flat.flatten("f");
  expect_error([&] { add({"f", "input"}, flat); }, {"CxHxW", "48"});
}

}  // namespace
}  // namespace cnnmem::layer_test
