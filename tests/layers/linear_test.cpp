// Tests for layers/linear.h through the real code path (Graph -> Executor -> oneDNN): forward
// against a naive double loop, weight, bias and input gradients against finite differences, and
// the rejected features and input shapes.
// Not here: linear after a convolution's blocked layout (tests/layers/flatten_test.cpp).
#include "layers/linear.h"

#include <gtest/gtest.h>

#include "tests/layers/layer_harness.h"

namespace cnnmem::layer_test {
namespace {

// One fully connected case. The input image is (in, 1, 1), flattened before the layer.
class LinearCase {
 public:
  LinearCase& batch(int64_t n) {
    n_ = n;
    return *this;
  }
  LinearCase& features(int64_t in, int64_t out) {
    in_ = in;
    out_ = out;
    return *this;
  }
  LinearCase& bias(bool on) {
    bias_ = on;
    return *this;
  }
  LinearCase& seed(uint32_t s) {
    seed_ = s;
    return *this;
  }

  // input -> flatten -> fc
  void check_forward() const {
    Net net({in_, 1, 1});
    net.flatten("flat").linear("fc", in_, out_, bias_);
    layer_test::check_forward(net, n_, seed_);
  }
  // input -> flatten -> pre (in -> in) -> fc: pre's gradients flow through fc's diff_src.
  void check_gradients() const {
    Net net({in_, 1, 1});
    net.flatten("flat").linear("pre", in_, in_).linear("fc", in_, out_, bias_);
    layer_test::check_gradients(net, n_, seed_);
  }

 private:
  int64_t n_ = 1, in_ = 1, out_ = 1;
  bool bias_ = true;
  uint32_t seed_ = 1;
};

TEST(LinearLayerTest, ForwardBatch1) { LinearCase().batch(1).features(7, 5).check_forward(); }

TEST(LinearLayerTest, ForwardBatch3NoBias) {
  LinearCase().batch(3).features(7, 5).bias(false).check_forward();
}

TEST(LinearLayerTest, ForwardBlocked16To32) {
  LinearCase().batch(2).features(16, 32).seed(2).check_forward();
}

TEST(LinearLayerTest, ForwardWide) {
  LinearCase().batch(3).features(200, 10).seed(3).check_forward();
}

TEST(LinearLayerTest, ForwardOneFeatureToTwo) {
  LinearCase().batch(3).features(1, 2).seed(4).check_forward();
}

TEST(LinearLayerTest, GradientsBatch3) { LinearCase().batch(3).features(7, 5).check_gradients(); }

TEST(LinearLayerTest, GradientsBatch1NoBias) {
  LinearCase().batch(1).features(6, 3).bias(false).seed(5).check_gradients();
}

TEST(LinearLayerTest, GradientsBlocked16To32) {
  LinearCase().batch(2).features(16, 32).seed(6).check_gradients();
}

// The input of a linear layer may be a whole (C, H, W) image flattened in C, H, W order.
TEST(LinearLayerTest, GradientsAfterFlatteningAnImage) {
  Net net({3, 4, 5});
  net.flatten("flat").linear("fc1", 60, 9).relu("relu").linear("fc2", 9, 4);
  layer_test::check_gradients(net, 3, 7);
}

// A handcrafted case: y = W x + b with small integers, exact in float.
TEST(LinearLayerTest, HandWorkedForward) {
  Net net({3, 1, 1});
  net.flatten("flat").linear("fc", 3, 2);
  const std::vector<NamedTensor> params = {{"fc.weight", {2, 3}, {1, 2, 3, -1, 0, 2}},
                                           {"fc.bias", {2}, {0.5f, -4}}};
  const layer_test::Batch batch{2, {1, 1, 1, 2, -1, 0}, {0, 1}};
  // Row 0: [1 + 2 + 3 + 0.5, -1 + 0 + 2 - 4]; row 1: [2 - 2 + 0 + 0.5, -2 + 0 + 0 - 4].
  const std::vector<float> want = {6.5f, -3, 0.5f, -6};
  EXPECT_EQ(layer_test::run_executor(net, batch, params, false).output, want);
  EXPECT_EQ(layer_test::run_executor(net, batch, params, true).output, want);
}

// Adds flatten (optionally) and one linear layer to a graph whose input is `input`.
void add_linear(const Dims& input, bool flatten, int64_t in, int64_t out) {
  Graph g("t", input, 10);
  if (flatten) g.add(std::make_unique<Flatten>("flat"));
  g.add(std::make_unique<Linear>("fc", in, out));
}

TEST(LinearLayerTest, RejectsBadFeatures) {
  const std::string name = "linear \"fc\": ";
  expect_error([] { add_linear({4, 1, 1}, true, 0, 3); }, {name, "features", "0->3"});
  expect_error([] { add_linear({4, 1, 1}, true, 4, -1); }, {name, "features", "4->-1"});
}

TEST(LinearLayerTest, RejectsInputsThatDoNotFit) {
  const std::string name = "linear \"fc\": ";
  expect_error(
      [] {
        add_linear({6, 1, 1}, true, 7, 3);
      },
      {name + "input has 6 features, weights expect 7"});
  expect_error([] { add_linear({2, 3, 4}, false, 24, 3); }, {name, "2x3x4", "flatten"});
}

}  // namespace
}  // namespace cnnmem::layer_test
