// Tests for layers/pool2d.h (max_pool2d and avg_pool2d) through the real code path (Graph ->
// Executor -> oneDNN): forward against a naive double loop with PyTorch's padding semantics
// (max ignores the pad, average counts it), backward through a conv before the pool against
// finite differences, and the rejected hyper-parameters and input shapes.
// Not here: ceil mode or global pooling (not supported).
#include "layers/pool2d.h"

#include <gtest/gtest.h>

#include "tests/layers/layer_harness.h"

namespace cnnmem::layer_test {
namespace {

// One pooling case; every check runs for both kinds unless `kind` is given.
class PoolCase {
 public:
  PoolCase& kind(PoolKind k) {
    kinds_ = {k};
    return *this;
  }
  PoolCase& batch(int64_t n) {
    n_ = n;
    return *this;
  }
  PoolCase& channels(int64_t c) {
    c_ = c;
    return *this;
  }
  PoolCase& size(int64_t h, int64_t w) {
    h_ = h;
    w_ = w;
    return *this;
  }
  PoolCase& kernel(int64_t k) {
    k_ = k;
    return *this;
  }
  PoolCase& stride(int64_t s) {
    s_ = s;
    return *this;
  }
  PoolCase& padding(int64_t p) {
    p_ = p;
    return *this;
  }
  PoolCase& seed(uint32_t s) {
    seed_ = s;
    return *this;
  }

  // input -> pool -> flatten
  void check_forward() const {
    for (PoolKind kind : kinds_) {
      SCOPED_TRACE(kind == PoolKind::kMax ? "max" : "avg");
      Net net({c_, h_, w_});
      net.pool("pool", kind, k_, s_, p_).flatten("flat");
      layer_test::check_forward(net, n_, seed_);
    }
  }
  // input -> 1x1 conv -> pool -> flatten: the conv's gradients flow through the pool's
  // backward (max: through the saved argmax indices).
  void check_gradients() const {
    for (PoolKind kind : kinds_) {
      SCOPED_TRACE(kind == PoolKind::kMax ? "max" : "avg");
      Net net({c_, h_, w_});
      net.conv("conv", conv_options(c_, c_, 1)).pool("pool", kind, k_, s_, p_).flatten("flat");
      layer_test::check_gradients(net, n_, seed_);
    }
  }

 private:
  std::vector<PoolKind> kinds_ = {PoolKind::kMax, PoolKind::kAvg};
  int64_t n_ = 1, c_ = 1, h_ = 4, w_ = 4, k_ = 2, s_ = 0, p_ = 0;
  uint32_t seed_ = 1;
};

TEST(Pool2dLayerTest, ForwardKernel2Stride2) {
  PoolCase().batch(1).channels(3).size(8, 8).kernel(2).stride(2).check_forward();
}

TEST(Pool2dLayerTest, ForwardKernel3Stride2Padding1) {
  PoolCase().batch(3).channels(5).size(7, 6).kernel(3).stride(2).padding(1).check_forward();
}

TEST(Pool2dLayerTest, ForwardOverlappingWindowsBlockedChannels) {
  PoolCase().batch(2).channels(16).size(5, 7).kernel(3).stride(1).padding(1).check_forward();
}

// Padding of half the kernel: corner windows hold a single input value.
TEST(Pool2dLayerTest, ForwardKernel2Padding1) {
  PoolCase().batch(2).channels(3).size(4, 5).kernel(2).stride(1).padding(1).seed(2).check_forward();
}

TEST(Pool2dLayerTest, ForwardKernel4Stride3Padding2) {
  PoolCase().batch(1).channels(2).size(9, 10).kernel(4).stride(3).padding(2).check_forward();
}

TEST(Pool2dLayerTest, ForwardDefaultStrideIsKernel) {
  Graph g("t", {2, 9, 8}, 1);
  g.add(std::make_unique<Pool2d>("pool", PoolKind::kMax, 3));
  EXPECT_EQ(g.nodes().back().dims, (Dims{2, 3, 2}));
  PoolCase().batch(2).channels(2).size(9, 8).kernel(3).stride(0).seed(3).check_forward();
}

// Hand-worked: a 2x2 all-negative image, kernel 2, stride 1, padding 1 -> 3x3. Max ignores the
// pad (a zero pad would win every window); average divides every window by 4.
TEST(Pool2dLayerTest, HandWorkedPaddingSemantics) {
  const layer_test::Batch batch{1, {-4, -3, -2, -1}, {0}};
  const std::vector<float> want_max = {-4, -3, -3, -2, -1, -1, -2, -1, -1};
  const std::vector<float> want_avg = {-1,    -1.75f, -0.75f, -1.5f, -2.5f,
                                       -1.0f, -0.5f,  -0.75f, -0.25f};
  for (bool training : {false, true}) {
    SCOPED_TRACE(training ? "training" : "inference");
    Net max({1, 2, 2});
    max.pool("pool", PoolKind::kMax, 2, 1, 1).flatten("flat");
    EXPECT_EQ(layer_test::run_executor(max, batch, {}, training).output, want_max);
    Net avg({1, 2, 2});
    avg.pool("pool", PoolKind::kAvg, 2, 1, 1).flatten("flat");
    EXPECT_EQ(layer_test::run_executor(avg, batch, {}, training).output, want_avg);
  }
}

TEST(Pool2dLayerTest, GradientsKernel2Stride2) {
  PoolCase().batch(2).channels(3).size(6, 6).kernel(2).stride(2).check_gradients();
}

TEST(Pool2dLayerTest, GradientsKernel3Stride2Padding1) {
  PoolCase().batch(3).channels(4).size(7, 6).kernel(3).stride(2).padding(1).check_gradients();
}

TEST(Pool2dLayerTest, GradientsOverlappingWindowsBlockedChannels) {
  PoolCase()
      .batch(2)
      .channels(16)
      .size(5, 4)
      .kernel(3)
      .stride(1)
      .padding(1)
      .seed(4)
      .check_gradients();
}

// Pooling followed by a linear layer: the pool's diff_dst arrives from a reorder of the
// linear layer's diff_src.
TEST(Pool2dLayerTest, GradientsIntoLinear) {
  for (PoolKind kind : {PoolKind::kMax, PoolKind::kAvg}) {
    Net net({3, 6, 6});
    net.conv("conv", conv_options(3, 8, 3, 1, 1))
        .pool("pool", kind, 2)
        .flatten("flat")
        .linear("fc", 8 * 9, 5);
    layer_test::check_gradients(net, 2, 5);
  }
}

// Adds one pool to a graph whose input is `input`.
void add_pool(const Dims& input, int64_t kernel, int64_t stride, int64_t padding) {
  Graph g("t", input, 10);
  g.add(std::make_unique<Pool2d>("p", PoolKind::kMax, kernel, stride, padding));
}

TEST(Pool2dLayerTest, RejectsBadHyperParameters) {
  const std::string name = "max_pool2d \"p\": ";
  expect_error([] { add_pool({3, 8, 8}, 0, 1, 0); }, {name, "kernel"});
  expect_error([] { add_pool({3, 8, 8}, 2, -1, 0); }, {name, "stride"});
  expect_error([] { add_pool({3, 8, 8}, 2, 2, -1); }, {name, "padding"});
  expect_error([] { add_pool({3, 8, 8}, 3, 1, 3); }, {name, "padding", "smaller than the kernel"});
  expect_error(
      [] {
        Graph g("t", {3, 8, 8}, 10);
        g.add(std::make_unique<Pool2d>("p", PoolKind::kAvg, 0));
      },
      {"avg_pool2d \"p\": ", "kernel"});
}

TEST(Pool2dLayerTest, RejectsInputsThatDoNotFit) {
  const std::string name = "max_pool2d \"p\": ";
  expect_error([] { add_pool({3, 4, 4}, 5, 1, 0); }, {name, "4", "smaller than the kernel 5"});
  expect_error([] { add_pool({3, 8, 3}, 5, 1, 0); }, {name, "smaller than the kernel"});
  expect_error(
      [] {
        Graph g("t", {3, 4, 4}, 10);
        g.add(std::make_unique<Flatten>("flat"));
        g.add(std::make_unique<Pool2d>("p", PoolKind::kMax, 2));
      },
      {name, "CxHxW"});
}

}  // namespace
}  // namespace cnnmem::layer_test
