// Tests for layers/softmax_cross_entropy.h through the real code path: handcrafted (N, K)
// logits (the input image flattened is the logits) against log-sum-exp in double, stability
// for large logits, the count of correct predictions, partial batches (valid rows), and the
// gradient (softmax - onehot) / N through a linear layer's weight gradient against finite
// differences.
// Not here: the layers before the loss (their own tests).
#include "layers/softmax_cross_entropy.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/layers/layer_harness.h"

namespace cnnmem::layer_test {
namespace {

struct LossRun {
  float loss = 0;
  int64_t correct = 0;
};

// Feeds `logits` (N, K) as (K, 1, 1) images through flatten into the loss.
LossRun run_loss(const std::vector<float>& logits, int64_t k, const std::vector<int32_t>& labels,
                 bool training, int64_t valid_rows = -1) {
  const auto n = static_cast<int64_t>(labels.size());
  Graph g("t", {k, 1, 1}, static_cast<int>(k));
  g.add(std::make_unique<Flatten>("flat"));
  OptimizerConfig cfg;
  cfg.lr = 0;
  const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
  // The loss lives in training steps; evaluation runs their forward part (run_forward).
  ExecutorOptions o;
  o.training = true;
  o.batch = n;
  Executor ex(g, o, opt.get(), std::make_unique<SoftmaxCrossEntropy>());
  ex.bind();
  if (valid_rows >= 0) ex.set_valid_rows(valid_rows);
  std::copy(logits.begin(), logits.end(), ex.staging_images());
  std::copy(labels.begin(), labels.end(), ex.staging_labels());
  if (training) {
    ex.run_step();
  } else {
    ex.run_forward();
  }
  return {ex.loss(), ex.correct()};
}

double naive_loss(const std::vector<float>& logits, int64_t k, const std::vector<int32_t>& labels) {
  const auto n = static_cast<int64_t>(labels.size());
  return layer_test::ref_softmax_cross_entropy(
      RefTensor{n, {k}, std::vector<double>(logits.begin(), logits.end())}, labels);
}

TEST(SoftmaxCrossEntropyLossTest, HandcraftedLogits) {
  const std::vector<float> logits = {1,  2,    3, 4,    // label 2: wrong (argmax 3)
                                     0,  0,    0, 0,    // label 1: loss log 4, wrong (a tie)
                                     -1, 0.5f, 2, -3};  // label 2: right
  const std::vector<int32_t> labels = {2, 1, 2};
  // Row 0 by hand: log(e + e^2 + e^3 + e^4) - 3.
  const double row0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0) + std::exp(4.0)) - 3;
  const double row2 = std::log(std::exp(-1.0) + std::exp(0.5) + std::exp(2.0) + std::exp(-3.0)) - 2;
  const double want = (row0 + std::log(4.0) + row2) / 3;
  EXPECT_NEAR(naive_loss(logits, 4, labels), want, 1e-12);
  for (bool training : {false, true}) {
    SCOPED_TRACE(training ? "training" : "inference");
    const LossRun r = run_loss(logits, 4, labels, training);
    EXPECT_NEAR(r.loss, want, 1e-6);
    EXPECT_EQ(r.correct, 1);
  }
}

TEST(SoftmaxCrossEntropyLossTest, RandomLogitsMatchLogSumExp) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-5.0f, 5.0f);
  const int64_t n = 5, k = 10;
  std::vector<float> logits(static_cast<size_t>(n * k));
  for (float& v : logits) v = u(rng);
  const std::vector<int32_t> labels = {0, 9, 3, 3, 7};
  const double want = naive_loss(logits, k, labels);
  EXPECT_NEAR(run_loss(logits, k, labels, false).loss, want, 1e-5 * want);
}

// exp(1000) overflows float and double; the loss must subtract the row maximum first.
TEST(SoftmaxCrossEntropyLossTest, LargeLogitsAreStable) {
  const std::vector<float> logits = {1000, 0, -1000, 999,   // label 3
                                     1000, 0, -1000, 999};  // label 0: right
  const double want = (1 + 2 * std::log1p(std::exp(-1.0))) / 2;
  const LossRun r = run_loss(logits, 4, {3, 0}, false);
  EXPECT_TRUE(std::isfinite(r.loss));
  EXPECT_NEAR(r.loss, want, 1e-6);
  EXPECT_EQ(r.correct, 1);
}

// A last, partial batch: only the first rows count in the mean and in the correct count.
TEST(SoftmaxCrossEntropyLossTest, ValidRowsOnly) {
  const std::vector<float> logits = {3,  0,   // label 0: right
                                     0,  1,   // label 0: wrong
                                     50, 0};  // label 1: padding row, a huge loss if counted
  const std::vector<int32_t> labels = {0, 0, 1};
  const double want = (std::log1p(std::exp(-3.0)) + std::log1p(std::exp(1.0))) / 2;
  const LossRun r = run_loss(logits, 2, labels, false, 2);
  EXPECT_NEAR(r.loss, want, 1e-6);
  EXPECT_EQ(r.correct, 1);
  EXPECT_NEAR(run_loss(logits, 2, labels, false).loss, (2 * want + 50) / 3, 1e-5);
}

// The loss gradient (softmax - onehot) / N reaches the linear layer's weights and bias.
TEST(SoftmaxCrossEntropyLossTest, GradientThroughLinear) {
  Net net({5, 1, 1});
  net.flatten("flat").linear("fc", 5, 4);
  check_gradients(net, 3, 1);
}

TEST(SoftmaxCrossEntropyLossTest, GradientTwoClassesBatch1) {
  Net net({3, 1, 1});
  net.flatten("flat").linear("fc", 3, 2);
  check_gradients(net, 1, 2);
}

TEST(SoftmaxCrossEntropyLossTest, GradientTenClassesBatch4) {
  Net net({6, 1, 1});
  net.flatten("flat").linear("fc", 6, 10, false);
  check_gradients(net, 4, 3);
}

// With valid rows, the gradient is that of the first rows' mean: the same as a step on a batch
// of only those rows.
TEST(SoftmaxCrossEntropyLossTest, GradientOfValidRowsOnly) {
  Net net({4, 1, 1});
  net.flatten("flat").linear("fc", 4, 3);
  std::mt19937 rng(4);
  const std::vector<NamedTensor> params = net.random_params(rng);
  const layer_test::Batch full = net.random_batch(rng, 3);
  const layer_test::Batch first{
      2, {full.images.begin(), full.images.begin() + 8}, {full.labels[0], full.labels[1]}};
  const Graph g = net.graph();
  OptimizerConfig cfg;
  cfg.lr = 0;
  const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
  ExecutorOptions o;
  o.batch = 3;
  Executor ex(g, o, opt.get(), std::make_unique<SoftmaxCrossEntropy>());
  ex.bind();
  ex.load_weights(params, "test");
  ex.set_valid_rows(2);
  std::copy(full.images.begin(), full.images.end(), ex.staging_images());
  std::copy(full.labels.begin(), full.labels.end(), ex.staging_labels());
  ex.run_step();
  const std::vector<NamedTensor> got = ex.gradients();
  const std::vector<NamedTensor> want =
      layer_test::run_executor(net, first, params, true).gradients;
  ASSERT_EQ(got.size(), want.size());
  for (size_t t = 0; t < got.size(); ++t) {
    ASSERT_EQ(got[t].data.size(), want[t].data.size());
    for (size_t i = 0; i < got[t].data.size(); ++i) {
      EXPECT_NEAR(got[t].data[i], want[t].data[i], 1e-6) << got[t].name << "[" << i << "]";
    }
  }
}

}  // namespace
}  // namespace cnnmem::layer_test
