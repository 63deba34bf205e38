// Tests for framework/graph.h: node ids and shapes as layers are added, the errors that name the
// layer and both shapes (and leave the graph as it was), consumers of a residual branch, the
// trainable parameter count worked out by hand, repeated names and bad input sizes.
// Not here: what a layer computes (tests/layers), compiling a graph (step_compiler_test.cpp).
#include "framework/graph.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "framework/error.h"
#include "framework/layer.h"
#include "layers/add.h"
#include "layers/batch_norm2d.h"
#include "layers/conv2d.h"
#include "layers/flatten.h"
#include "layers/linear.h"
#include "layers/relu.h"
#include "tests/util/expect_error.h"

namespace cnnmem {
namespace {

using test::error_of;
std::unique_ptr<Conv2d> conv(const std::string& name, int64_t in, int64_t out, int64_t kernel,
                             int64_t padding) {
  Conv2dOptions o;
  o.in_channels = in;
  o.out_channels = out;
  o.kernel = kernel;
  o.padding = padding;
  return std::make_unique<Conv2d>(name, o);
}

// (1, 4, 4) -> conv 3x3 pad 1 to 2 channels -> relu -> flatten (32) -> linear to 3 classes.
Graph tiny() {
  Graph g("tiny", {1, 4, 4}, 3);
  g.add(conv("conv", 1, 2, 3, 1));
  g.add(std::make_unique<Relu>("relu"));
  g.add(std::make_unique<Flatten>("flat"));
  g.add(std::make_unique<Linear>("fc", 32, 3));
  return g;
}

TEST(Graph, AddReturnsNodeIdsAndInfersEachOutputShape) {
  Graph g("tiny", {1, 4, 4}, 3);
  EXPECT_EQ(g.name(), "tiny");
  EXPECT_EQ(g.classes(), 3);
  EXPECT_EQ(g.output(), 0);  // only the input node
  EXPECT_EQ(g.add(conv("conv", 1, 2, 3, 1)), 1);
  EXPECT_EQ(g.add(std::make_unique<Relu>("relu")), 2);
  EXPECT_EQ(g.add(std::make_unique<Flatten>("flat")), 3);
  EXPECT_EQ(g.add(std::make_unique<Linear>("fc", 32, 3)), 4);
  EXPECT_EQ(g.output(), 4);
  ASSERT_EQ(g.nodes().size(), 5u);
  EXPECT_EQ(g.nodes()[0].layer, nullptr);
  EXPECT_EQ(g.input_dims(), (Dims{1, 4, 4}));
  // 3x3 with padding 1 keeps 4x4; flatten is 2 * 4 * 4.
  const std::vector<Dims> want = {{1, 4, 4}, {2, 4, 4}, {2, 4, 4}, {32}, {3}};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(g.nodes()[i].dims, want[i]) << i;
  // Without explicit inputs a layer reads the node added before it.
  for (size_t i = 1; i < want.size(); ++i) {
    EXPECT_EQ(g.nodes()[i].inputs, (std::vector<int>{static_cast<int>(i) - 1})) << i;
    EXPECT_EQ(g.nodes()[i].layer->name(),
              (std::vector<std::string>{"", "conv", "relu", "flat", "fc"}[i]));
  }
}

TEST(Graph, ShapeErrorsNameTheLayerAndBothShapesAndAddNothing) {
  Graph g = tiny();
  EXPECT_EQ(error_of([&] { g.add(std::make_unique<Linear>("fc2", 10, 5)); }),
            "linear \"fc2\": input has 3 features, weights expect 10");
  EXPECT_EQ(error_of([&] { g.add(conv("conv2", 3, 4, 3, 1), {2}); }),
            "conv2d \"conv2\": input has 2 channels, weights expect 3");
  EXPECT_EQ(error_of([&] { g.add(conv("conv3", 2, 4, 5, 0), {1}); }),
            "conv2d \"conv3\": input 2x4x4 is smaller than the kernel 5x5 with padding 0");
  EXPECT_EQ(error_of([&] {
              g.add(std::make_unique<Add>("sum"), {1, 4});
            }),
            "add \"sum\": inputs have different shapes 2x4x4 and 3; both branches must produce the "
            "same shape");
  EXPECT_EQ(g.nodes().size(), 5u);
  EXPECT_EQ(g.output(), 4);
}

TEST(Graph, ConsumersCountEveryReaderOfANode) {
  // conv -> relu, and add(conv, relu): the residual shape of ResNet's blocks.
  Graph g("res", {2, 4, 4}, 32);
  const int c = g.add(conv("conv", 2, 2, 3, 1));
  const int r = g.add(std::make_unique<Relu>("relu"));
  const int a = g.add(std::make_unique<Add>("sum"), {c, r});
  const int f = g.add(std::make_unique<Flatten>("flat"));
  EXPECT_EQ(g.nodes()[static_cast<size_t>(a)].dims, (Dims{2, 4, 4}));
  EXPECT_EQ(g.consumers(0), 1);  // the input: conv
  EXPECT_EQ(g.consumers(c), 2);  // relu and the add
  EXPECT_EQ(g.consumers(r), 1);
  EXPECT_EQ(g.consumers(a), 1);
  EXPECT_EQ(g.consumers(f), 0);  // the output
}

TEST(Graph, ParamCountIsTheTrainableParametersOfEveryLayer) {
  // conv: 2 * 1 * 3 * 3 weights + 2 biases = 20; fc: 3 * 32 + 3 = 99.
  EXPECT_EQ(tiny().param_count(), 119);
  // Without bias: 2 * 1 * 3 * 3 = 18. BatchNorm: weight and bias of 2 channels = 4 (its running
  // statistics are state, not parameters).
  Graph g("bn", {1, 4, 4}, 32);
  Conv2dOptions o;
  o.in_channels = 1;
  o.out_channels = 2;
  o.kernel = 3;
  o.padding = 1;
  o.bias = false;
  g.add(std::make_unique<Conv2d>("conv", o));
  g.add(std::make_unique<BatchNorm2d>("bn", 2));
  g.add(std::make_unique<Relu>("relu"));
  g.add(std::make_unique<Flatten>("flat"));
  EXPECT_EQ(g.param_count(), 18 + 4);
  EXPECT_EQ(Graph("empty", {1, 2, 2}, 4).param_count(), 0);
}

TEST(Graph, RepeatedLayerNameIsRejected) {
  Graph g = tiny();
  EXPECT_EQ(error_of([&] { g.add(std::make_unique<Relu>("conv")); }),
            "model tiny: two layers are named \"conv\"");
  EXPECT_EQ(error_of([&] { g.add(std::make_unique<Linear>("fc", 3, 3)); }),
            "model tiny: two layers are named \"fc\"");
  EXPECT_EQ(g.nodes().size(), 5u);
}

TEST(Graph, InputOfZeroOrNegativeSizeIsRejected) {
  EXPECT_EQ(error_of([] {
              Graph("m", {1, 0, 4}, 3);
            }),
            "model m: input 1x0x4 has a zero or negative size");
  EXPECT_EQ(error_of([] {
              Graph("m", {-3, 4, 4}, 3);
            }),
            "model m: input -3x4x4 has a zero or negative size");
}

TEST(Graph, DimsHelpers) {
  EXPECT_EQ(dims_str({1, 28, 28}), "1x28x28");
  EXPECT_EQ(dims_str({10}), "10");
  EXPECT_EQ(dims_str({}), "");
  EXPECT_EQ(dims_product({2, 3, 4}), 24);
  EXPECT_EQ(dims_product({}), 1);
}

}  // namespace
}  // namespace cnnmem
