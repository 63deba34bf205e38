// Tests for layers/losses.h (mse, bce-with-logits, pixel-cross-entropy) through the real code
// path: the loss of a known output against PyTorch 1.13's functional losses, the gradients of
// a conv before the loss against finite differences of a double reference, partial batches,
// the targets' bytes in the bill, and the losses' refusals.
// Not here: softmax cross-entropy over (N, K) logits (tests/layers/softmax_cross_entropy_test.cpp).
#include "layers/losses.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tests/layers/layer_harness.h"

namespace cnnmem::layer_test {
namespace {

// Targets of a batch: int32 class indices or floats, as the loss's TargetShape says.
struct Targets {
  std::vector<int32_t> classes;
  std::vector<float> dense;
};

double ref_loss(const std::string& loss, const RefTensor& x, const Targets& t) {
  const int64_t e = dims_product(x.dims);
  double sum = 0;
  if (loss == "pixel-cross-entropy") {
    const int64_t k = x.dims[0], hw = x.dims[1] * x.dims[2];
    for (int64_t i = 0; i < x.n; ++i) {
      for (int64_t p = 0; p < hw; ++p) {
        double z = 0;
        for (int64_t c = 0; c < k; ++c) z += std::exp(x.v[i * e + c * hw + p]);
        const int32_t y = t.classes[i * hw + p];
        sum += std::log(z) - x.v[i * e + y * hw + p];
      }
    }
    return sum / static_cast<double>(x.n * hw);
  }
  for (int64_t j = 0; j < x.n * e; ++j) {
    const double v = x.v[j], y = t.dense[j];
    sum += loss == "mse" ? (v - y) * (v - y) : std::log1p(std::exp(v)) - v * y;
  }
  return sum / static_cast<double>(x.n * e);
}

struct LossRun {
  float loss = 0;
  std::vector<NamedTensor> gradients;
  int64_t target_bytes = 0;
};

LossRun run_loss(const Net& net, const std::string& loss, const Batch& batch, const Targets& t,
                 const std::vector<NamedTensor>& params, int64_t valid_rows = -1) {
  const Graph g = net.graph();
  OptimizerConfig cfg;
  cfg.name = "sgd";
  cfg.lr = 0;
  const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
  ExecutorOptions o;
  o.batch = batch.n;
  Executor ex(g, o, opt.get(), make_loss(loss));
  ex.bind();
  ex.load_weights(params, "test");
  std::copy(batch.images.begin(), batch.images.end(), ex.staging_images());
  if (ex.target().kind == TargetKind::kDense) {
    std::copy(t.dense.begin(), t.dense.end(), ex.staging_dense_targets());
  } else {
    std::copy(t.classes.begin(), t.classes.end(), ex.staging_labels());
  }
  if (valid_rows >= 0) ex.set_valid_rows(valid_rows);
  ex.run_step();
  return {ex.loss(), ex.gradients(), ex.target().bytes()};
}

Targets random_targets(const std::string& loss, const Dims& out, int64_t n, std::mt19937& rng) {
  Targets t;
  if (loss == "pixel-cross-entropy") {
    std::uniform_int_distribution<int32_t> c(0, static_cast<int32_t>(out[0] - 1));
    for (int64_t j = 0; j < n * out[1] * out[2]; ++j) t.classes.push_back(c(rng));
  } else {
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    for (int64_t j = 0; j < n * dims_product(out); ++j) t.dense.push_back(u(rng));
  }
  return t;
}

// A 1x1 convolution with the identity as its weights: the model's output is its input.
std::vector<NamedTensor> identity_conv(int64_t c) {
  NamedTensor w{"conv.weight", {c, c, 1, 1}, std::vector<float>(static_cast<size_t>(c * c))};
  for (int64_t i = 0; i < c; ++i) w.data[static_cast<size_t>(i * c + i)] = 1.0f;
  return {w, NamedTensor{"conv.bias", {c}, std::vector<float>(static_cast<size_t>(c))}};
}

// PyTorch 1.13, float64: x = 3 sin(0.7 i) as (2, 3, 2, 3); class targets (7 i) mod 3 as
// (2, 2, 3); dense targets ((5 i) mod 11) / 10 as x's shape.
TEST(LossesTest, MatchPyTorchOnAKnownOutput) {
  const int64_t n = 2, k = 3, h = 2, w = 3;
  Net net({k, h, w});
  net.conv("conv", conv_options(k, k, 1));
  Batch batch{n, {}, {}};
  Targets t;
  for (int64_t i = 0; i < n * k * h * w; ++i) {
    batch.images.push_back(static_cast<float>(3 * std::sin(0.7 * static_cast<double>(i))));
    t.dense.push_back(static_cast<float>((i * 5) % 11) / 10.0f);
  }
  for (int64_t i = 0; i < n * h * w; ++i) t.classes.push_back(static_cast<int32_t>((i * 7) % k));
  const std::vector<std::pair<std::string, double>> golden = {
      {"pixel-cross-entropy", 2.85344394411204},
      {"mse", 5.002422154105304},
      {"bce-with-logits", 1.2241122687032526}};
  for (const auto& [loss, want] : golden) {
    SCOPED_TRACE(loss);
    EXPECT_NEAR(run_loss(net, loss, batch, t, identity_conv(k)).loss, want, 1e-5 * want);
  }
}

TEST(LossesTest, ConvGradientsMatchFiniteDifferences) {
  for (const std::string loss : {"mse", "bce-with-logits", "pixel-cross-entropy"}) {
    for (int64_t out_c : {4, 16}) {  // plain and blocked conv outputs
      SCOPED_TRACE(loss + ", " + std::to_string(out_c) + " channels");
      Net net({3, 5, 4});
      net.conv("conv", conv_options(3, out_c, 3, 1, 1));
      std::mt19937 rng(7);
      const std::vector<NamedTensor> params = net.random_params(rng);
      const Batch batch = net.random_batch(rng, 2);
      const Targets t = random_targets(loss, {out_c, 5, 4}, 2, rng);
      const LossRun run = run_loss(net, loss, batch, t, params);
      RefParams ref = to_double(params);
      const double want = ref_loss(loss, net.forward(ref, batch, true), t);
      EXPECT_NEAR(run.loss, want, 1e-5 * std::max(1.0, want));
      EXPECT_EQ(run.target_bytes, loss == "pixel-cross-entropy" ? 5 * 4 * 4 : out_c * 5 * 4 * 4);
      for (const NamedTensor& grad : run.gradients) {
        std::vector<double>& v = ref[grad.name];
        std::vector<float> got;
        std::vector<double> fd;
        for (size_t at = 0; at < v.size(); at += 1 + v.size() / 24) {
          const double saved = v[at];
          v[at] = saved + 1e-6;
          const double up = ref_loss(loss, net.forward(ref, batch, true), t);
          v[at] = saved - 1e-6;
          const double down = ref_loss(loss, net.forward(ref, batch, true), t);
          v[at] = saved;
          fd.push_back((up - down) / 2e-6);
          got.push_back(grad.data[at]);
        }
        expect_close(got, fd, 1e-3, "gradient of " + grad.name);
      }
    }
  }
}

// A partial last batch: only the valid rows count, in the loss and in its mean.
TEST(LossesTest, OnlyValidRowsCount) {
  for (const std::string loss : {"mse", "bce-with-logits", "pixel-cross-entropy"}) {
    SCOPED_TRACE(loss);
    Net net({2, 3, 3});
    net.conv("conv", conv_options(2, 3, 1));
    std::mt19937 rng(3);
    const std::vector<NamedTensor> params = net.random_params(rng);
    Batch batch = net.random_batch(rng, 3);
    const Targets t = random_targets(loss, {3, 3, 3}, 3, rng);
    const float partial = run_loss(net, loss, batch, t, params, 2).loss;
    Batch two = batch;
    two.n = 2;
    two.images.resize(two.images.size() * 2 / 3);
    Targets t2 = t;
    t2.dense.resize(t2.dense.size() * 2 / 3);
    t2.classes.resize(t2.classes.size() * 2 / 3);
    EXPECT_NEAR(partial, run_loss(net, loss, two, t2, params).loss, 1e-6);
  }
}

TEST(LossesTest, RefusesOutputsThatDoNotFit) {
  Net logits({3, 4, 4});
  logits.conv("conv", conv_options(3, 4, 1)).flatten("flat");
  expect_error(
      [&] { make_loss("pixel-cross-entropy")->target(logits.graph().nodes().back().dims); },
      {"pixel-cross-entropy", "K x H x W", "64"});
  Net seg({3, 4, 4});
  seg.conv("conv", conv_options(3, 4, 1));
  expect_error([&] { make_loss("cross-entropy")->target(seg.graph().nodes().back().dims); },
               {"cross-entropy", "4x4x4", "pixel-cross-entropy"});
  expect_error([] { make_loss("hinge"); }, {"hinge", "mse", "bce-with-logits"});
}

}  // namespace
}  // namespace cnnmem::layer_test
