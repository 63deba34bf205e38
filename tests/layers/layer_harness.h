// Shared harness of the layer tests: given a network description (`Net`,
// tests/layers/layer_net.h: a cnnmem Graph and a double-precision reference of the same
// network), checks the real code path (Executor plan, bind,
// load_weights, run_forward / run_step) against the reference:
//   check_forward:   the last layer's output and the loss, in inference and in training;
//   check_gradients: every parameter gradient against central finite differences of the
//                    reference loss (softmax cross-entropy, mean over the batch).
// Layers without parameters are checked through the parameters of the layers around them.
//
// Usage (a layer test's cases live in namespace cnnmem::layer_test, so these names need no
// prefix):
//   Net net({3, 7, 6});
//   net.conv("conv", conv_options(3, 5, 3)).relu("relu").flatten("flat");
//   check_forward(net, /*batch=*/2, /*seed=*/1);
//
// Not here: the cases themselves (each layer's *_test.cpp has its own case builder), and any
// test-only hook in the library.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "framework/error.h"
#include "framework/executor.h"
#include "framework/graph.h"
#include "io/safetensors.h"
#include "layers/softmax_cross_entropy.h"
#include "optimizers/optimizer.h"
#include "tests/layers/layer_net.h"
#include "tests/layers/layer_reference.h"

namespace cnnmem::layer_test {

// ---- Running the real code path -------------------------------------------------------------

struct ExecutorRun {
  std::vector<float> output;  // (N, K) logits after run_forward
  float forward_loss = 0;
  std::vector<NamedTensor> gradients;  // after run_step (training only)
  float step_loss = 0;
  std::vector<NamedTensor> weights;  // parameters and state tensors after the last run
};

// Plans, binds, loads `params` (parameters and state tensors), runs forward; in training also one
// step of SGD with lr 0, so the weights do not move and the gradients belong to `params`.
inline ExecutorRun run_executor(const Net& net, const Batch& batch,
                                const std::vector<NamedTensor>& params, bool training) {
  const Graph g = net.graph();
  OptimizerConfig cfg;
  cfg.name = "sgd";
  cfg.lr = 0;
  const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
  ExecutorOptions o;
  o.training = training;
  o.batch = batch.n;
  Executor ex(g, o, training ? opt.get() : nullptr,
              training ? std::make_unique<SoftmaxCrossEntropy>() : nullptr);
  ex.bind();
  ex.load_weights(params, "test");
  std::copy(batch.images.begin(), batch.images.end(), ex.staging_images());
  ExecutorRun r;
  if (training) std::copy(batch.labels.begin(), batch.labels.end(), ex.staging_labels());
  ex.run_forward();  // an inference pass has no labels and no loss
  r.output.assign(ex.logits(), ex.logits() + batch.n * g.classes());
  if (training) {
    r.forward_loss = ex.loss();
    ex.run_step();
    r.gradients = ex.gradients();
    r.step_loss = ex.loss();
  }
  r.weights = ex.weights();
  return r;
}

// Expects max |got - want| <= rtol * max |want|; `want` must not be all zeros.
inline void expect_close(const std::vector<float>& got, const std::vector<double>& want,
                         double rtol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double scale = 0, worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    scale = std::max(scale, std::abs(want[i]));
    const double err = std::abs(static_cast<double>(got[i]) - want[i]);
    if (err > worst || std::isnan(err)) worst = err, at = i;
  }
  ASSERT_GT(scale, 0.0) << what << ": the reference is all zeros; the case checks nothing";
  EXPECT_LE(worst, rtol * scale) << what << ": element " << at << " is " << got[at]
                                 << ", reference " << want[at] << " (max |reference| " << scale
                                 << ")";
}

// Forward output and loss against the double reference, in inference and in training.
inline void check_forward(const Net& net, int64_t batch, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<NamedTensor> params = net.random_params(rng);
  const Batch b = net.random_batch(rng, batch);
  for (NamedTensor& t : net.random_states(rng)) params.push_back(std::move(t));
  for (bool training : {false, true}) {
    SCOPED_TRACE(training ? "training" : "inference");
    const RefTensor want = net.forward(to_double(params), b, training);
    const double want_loss = ref_softmax_cross_entropy(want, b.labels);
    const ExecutorRun run = run_executor(net, b, params, training);
    expect_close(run.output, want.v, 1e-4, "output");
    if (training) {
      EXPECT_NEAR(run.forward_loss, want_loss, 1e-4 * std::max(1.0, std::abs(want_loss)));
    }
  }
}

// Every parameter gradient of one training step against central finite differences of the
// double reference loss. Tensors larger than `max_checked` are checked at that many evenly
// spaced elements (first and last included).
inline void check_gradients(const Net& net, int64_t batch, uint32_t seed,
                            int64_t max_checked = 48) {
  // Small, so that a perturbation rarely crosses a ReLU kink or swaps a max-pool winner.
  constexpr double kEps = 1e-6;
  std::mt19937 rng(seed);
  const std::vector<NamedTensor> params = net.random_params(rng);
  const Batch b = net.random_batch(rng, batch);
  std::vector<NamedTensor> all = params;
  for (NamedTensor& t : net.random_states(rng)) all.push_back(std::move(t));
  RefParams ref = to_double(all);
  const ExecutorRun run = run_executor(net, b, all, true);
  const double want_loss = net.loss(ref, b);
  EXPECT_NEAR(run.step_loss, want_loss, 1e-4 * std::max(1.0, std::abs(want_loss)));
  ASSERT_EQ(run.gradients.size(), params.size());
  for (size_t t = 0; t < params.size(); ++t) {
    const NamedTensor& grad = run.gradients[t];
    SCOPED_TRACE(grad.name);
    ASSERT_TRUE(ref.count(grad.name)) << "unexpected gradient " << grad.name;
    std::vector<double>& w = ref[grad.name];
    ASSERT_EQ(grad.data.size(), w.size());
    const auto size = static_cast<int64_t>(w.size());
    const int64_t checked = std::min(size, max_checked);
    std::vector<float> got;
    std::vector<double> want;
    for (int64_t i = 0; i < checked; ++i) {
      const auto at = static_cast<size_t>(checked == 1 ? 0 : i * (size - 1) / (checked - 1));
      const double saved = w[at];
      w[at] = saved + kEps;
      const double up = net.loss(ref, b);
      w[at] = saved - kEps;
      const double down = net.loss(ref, b);
      w[at] = saved;
      want.push_back((up - down) / (2 * kEps));
      got.push_back(grad.data[at]);
    }
    expect_close(got, want, 1e-3, "gradient of " + grad.name);
  }
}

// Expects `f` to throw cnnmem::Error with a one-line message containing every one of `words`.
inline void expect_error(const std::function<void()>& f, const std::vector<std::string>& words) {
  try {
    f();
    ADD_FAILURE() << "expected cnnmem::Error, nothing was thrown";
  } catch (const Error& e) {
    for (const std::string& word : words) EXPECT_THAT(e.what(), ::testing::HasSubstr(word));
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

}  // namespace cnnmem::layer_test
