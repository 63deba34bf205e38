// Tests for layers/batch_norm2d.h through the real code path (Graph -> Executor -> oneDNN):
// forward in training (batch statistics) and inference (running statistics) against a double
// reference, gradients against finite differences, the PyTorch running-statistics update, the
// state tensors (persistent, tagged weight, not trained, saved and loaded by PyTorch name), the
// recompute plan, the implementation oneDNN picked, and every rejected argument.
// Not here: memory accounting of whole models (tests/framework).
#include "layers/batch_norm2d.h"

#include <gtest/gtest.h>

#include "layers/softmax_cross_entropy.h"
#include "tests/layers/layer_harness.h"

namespace cnnmem::layer_test {
namespace {

// No primitive of the step runs oneDNN's slow reference kernels.
void expect_no_ref_kernels(const Executor& ex) {
  for (const std::string& impl : ex.implementations()) {
    EXPECT_EQ(impl.find("ref"), std::string::npos) << impl;
  }
}

TEST(BatchNorm2dLayerTest, ForwardOnTheInput) {
  Net net({3, 5, 4});
  net.batch_norm("bn", 3).flatten("flat");
  check_forward(net, 2, 1);
}

TEST(BatchNorm2dLayerTest, ForwardAfterConv) {
  Net net({3, 6, 5});
  net.conv("conv", conv_options(3, 5, 3, 1, 1)).batch_norm("bn", 5).flatten("flat");
  check_forward(net, 3, 2);
}

TEST(BatchNorm2dLayerTest, ForwardBlockedChannels) {
  Net net({3, 4, 5});
  net.conv("conv", conv_options(3, 32, 3, 1, 1, 1, false)).batch_norm("bn", 32).flatten("flat");
  check_forward(net, 2, 3);
}

// Batch 1 of 1x1 maps has one value per channel: inference works (running statistics).
TEST(BatchNorm2dLayerTest, ForwardOneValuePerChannelInInference) {
  Net net({4, 1, 1});
  net.batch_norm("bn", 4).flatten("flat");
  std::mt19937 rng(4);
  std::vector<NamedTensor> params = net.random_params(rng);
  const layer_test::Batch b = net.random_batch(rng, 1);
  for (NamedTensor& t : net.random_states(rng)) params.push_back(std::move(t));
  const layer_test::RefTensor want = net.forward(layer_test::to_double(params), b, false);
  layer_test::expect_close(layer_test::run_executor(net, b, params, false).output, want.v, 1e-5,
                           "output");
}

// conv1 has no bias: BatchNorm subtracts the mean, so a bias before it gets a zero gradient.
TEST(BatchNorm2dLayerTest, GradientsBetweenConvs) {
  Net net({3, 5, 5});
  net.conv("conv1", conv_options(3, 4, 3, 1, 1, 1, false))
      .batch_norm("bn", 4)
      .relu("relu")
      .conv("conv2", conv_options(4, 3, 3))
      .flatten("flat");
  check_gradients(net, 2, 5);
}

TEST(BatchNorm2dLayerTest, GradientsBlockedChannels) {
  Net net({2, 4, 3});
  net.conv("conv1", conv_options(2, 16, 3, 1, 1, 1, false))
      .batch_norm("bn", 16)
      .conv("conv2", conv_options(16, 3, 1))
      .flatten("flat");
  check_gradients(net, 3, 6);
}

// One training step: running_mean and running_var move towards the batch statistics with
// momentum 0.1, running_var with the unbiased variance; num_batches_tracked counts the step.
TEST(BatchNorm2dLayerTest, RunningStatisticsFollowPyTorch) {
  Net net({2, 4, 3});
  net.conv("conv", conv_options(2, 5, 3, 1, 1)).batch_norm("bn", 5).flatten("flat");
  std::mt19937 rng(7);
  const std::vector<NamedTensor> params = net.random_params(rng);
  const layer_test::Batch b = net.random_batch(rng, 3);
  std::vector<NamedTensor> all = params;
  for (NamedTensor& t : net.random_states(rng)) all.push_back(std::move(t));
  const layer_test::RefParams ref = layer_test::to_double(all);

  Net conv_only({2, 4, 3});
  conv_only.conv("conv", conv_options(2, 5, 3, 1, 1));
  const layer_test::RefTensor x = conv_only.forward(ref, b, true);
  std::vector<double> mean, var;
  layer_test::ref_batch_norm2d(x, ref.at("bn.weight"), ref.at("bn.bias"), ref.at("bn.running_mean"),
                               ref.at("bn.running_var"), 1e-5, true, &mean, &var);
  const double m = 3.0 * 4 * 3;  // N * H * W values per channel
  std::vector<double> want_mean, want_var;
  for (size_t c = 0; c < 5; ++c) {
    want_mean.push_back(0.9 * ref.at("bn.running_mean")[c] + 0.1 * mean[c]);
    want_var.push_back(0.9 * ref.at("bn.running_var")[c] + 0.1 * var[c] * m / (m - 1));
  }

  const Graph g = net.graph();
  OptimizerConfig cfg;
  cfg.name = "sgd";
  cfg.lr = 0;
  const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
  ExecutorOptions o;
  o.batch = b.n;
  Executor ex(g, o, opt.get(), std::make_unique<SoftmaxCrossEntropy>());
  ex.bind();
  ex.load_weights(all, "test");
  std::copy(b.images.begin(), b.images.end(), ex.staging_images());
  std::copy(b.labels.begin(), b.labels.end(), ex.staging_labels());
  ex.run_step();
  std::map<std::string, std::vector<float>> after;
  for (const NamedTensor& t : ex.weights()) after[t.name] = t.data;
  layer_test::expect_close(after.at("bn.running_mean"), want_mean, 1e-5, "running_mean");
  layer_test::expect_close(after.at("bn.running_var"), want_var, 1e-5, "running_var");
  EXPECT_EQ(after.at("bn.num_batches_tracked"), std::vector<float>{4.0f});
  // Parameters do not move with lr 0; the state is no parameter and gets no gradient.
  EXPECT_EQ(after.at("bn.weight"), all[2].data);
  std::vector<std::string> grads;
  for (const NamedTensor& t : ex.gradients()) grads.push_back(t.name);
  EXPECT_EQ(grads, (std::vector<std::string>{"conv.weight", "conv.bias", "bn.weight", "bn.bias"}));
  expect_no_ref_kernels(ex);
}

// The same input gives the same output bit for bit (what a recomputation relies on), and an
// inference pass leaves the running statistics alone.
TEST(BatchNorm2dLayerTest, TrainingForwardIsDeterministicAndInferenceKeepsStatistics) {
  Net net({16, 3, 3});
  net.batch_norm("bn", 16).flatten("flat");
  std::mt19937 rng(8);
  std::vector<NamedTensor> all = net.random_params(rng);
  const layer_test::Batch b = net.random_batch(rng, 2);
  const std::vector<NamedTensor> states = net.random_states(rng);
  all.insert(all.end(), states.begin(), states.end());
  const layer_test::ExecutorRun train = layer_test::run_executor(net, b, all, true);
  const layer_test::ExecutorRun again = layer_test::run_executor(net, b, all, true);
  EXPECT_EQ(train.output, again.output);
  const layer_test::ExecutorRun infer = layer_test::run_executor(net, b, all, false);
  for (const NamedTensor& t : infer.weights) {
    for (const NamedTensor& s : states) {
      if (s.name == t.name) {
        EXPECT_EQ(t.data, s.data) << t.name;
      }
    }
  }
}

// Running statistics are persistent weight-tagged buffers, not parameters: no gradient, no
// optimizer state, not counted; init_weights sets PyTorch's initial values.
TEST(BatchNorm2dLayerTest, StateTensorsAreNotParameters) {
  Graph g("t", {3, 4, 4}, 48);
  g.add(std::make_unique<BatchNorm2d>("bn", 3));
  g.add(std::make_unique<Flatten>("flat"));
  EXPECT_EQ(g.param_count(), 6);
  OptimizerConfig cfg;
  cfg.name = "adam";
  const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
  ExecutorOptions o;
  o.batch = 2;
  Executor ex(g, o, opt.get(), std::make_unique<SoftmaxCrossEntropy>());
  EXPECT_EQ(ex.param_count(), 6);
  ASSERT_EQ(ex.states().size(), 3u);
  EXPECT_EQ(ex.states()[0].name, "bn.running_mean");
  EXPECT_EQ(ex.states()[1].name, "bn.running_var");
  EXPECT_EQ(ex.states()[2].name, "bn.num_batches_tracked");
  EXPECT_EQ(ex.states()[2].torch_shape, Dims{});
  int optimizer_buffers = 0;
  for (const StateBinding& s : ex.states()) {
    const Buffer& buf = ex.schedule().buffers[static_cast<size_t>(s.buffer)];
    EXPECT_EQ(buf.tag, Tag::kWeight) << s.name;
    EXPECT_TRUE(buf.persistent) << s.name;
  }
  for (const Buffer& buf : ex.schedule().buffers) {
    // Nothing but the state itself is named after it (no gradient, no optimizer state).
    if (buf.name.find("running") != std::string::npos) {
      EXPECT_EQ(buf.tag, Tag::kWeight) << buf.name;
    }
    optimizer_buffers += buf.tag == Tag::kOptimizerState;
  }
  EXPECT_EQ(optimizer_buffers, 4);  // Adam's m and v of weight and bias
  ex.bind();
  ex.init_weights(1);
  std::map<std::string, std::vector<float>> w;
  for (const NamedTensor& t : ex.weights()) w[t.name] = t.data;
  EXPECT_EQ(w.size(), 5u);
  EXPECT_EQ(w.at("bn.weight"), std::vector<float>(3, 1.0f));
  EXPECT_EQ(w.at("bn.bias"), std::vector<float>(3, 0.0f));
  EXPECT_EQ(w.at("bn.running_mean"), std::vector<float>(3, 0.0f));
  EXPECT_EQ(w.at("bn.running_var"), std::vector<float>(3, 1.0f));
  EXPECT_EQ(w.at("bn.num_batches_tracked"), std::vector<float>{0.0f});
  // A state_dict without the running statistics is refused, like PyTorch's strict loading.
  std::vector<NamedTensor> partial = ex.weights();
  partial.erase(partial.begin() + 3);
  expect_error([&] { ex.load_weights(partial, "w.safetensors"); },
               {"w.safetensors", "bn.running_var", "missing"});
}

// A recomputation re-plans the forward op (phase recompute) with the same parameters and
// state, and no second running-statistics update.
TEST(BatchNorm2dLayerTest, RecomputePlanRegistersNothingAndUpdatesNothing) {
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  StepBuilder b(engine, true, 2);
  const dnnl::memory::desc md({2, 4, 3, 3}, dnnl::memory::data_type::f32,
                              dnnl::memory::format_tag::nchw);
  const TensorRef x = b.book("x", Tag::kActivation, md);
  BatchNorm2d bn("bn", 4);
  bn.plan_forward(b, {x});
  bn.set_recompute(true);
  bn.plan_forward(b, {x});
  EXPECT_EQ(b.params().size(), 2u);
  EXPECT_EQ(b.states().size(), 3u);
  std::vector<std::pair<std::string, Phase>> ops;
  for (const Op& op : b.ops()) ops.emplace_back(op.name, op.phase);
  EXPECT_EQ(ops, (std::vector<std::pair<std::string, Phase>>{{"bn.forward", Phase::kForward},
                                                             {"bn.running_stats", Phase::kForward},
                                                             {"bn.forward", Phase::kRecompute}}));
}

TEST(BatchNorm2dLayerTest, RejectsBadArguments) {
  const std::string name = "batch_norm2d \"bn\": ";
  expect_error([] { BatchNorm2d("bn", 0); }, {name, "channels"});
  expect_error([] { BatchNorm2d("bn", 4, 0.0); }, {name, "eps"});
  expect_error([] { BatchNorm2d("bn", 4, 1e-5, 1.5); }, {name, "momentum"});
  expect_error(
      [] {
        Graph g("t", {3, 4, 4}, 10);
        g.add(std::make_unique<BatchNorm2d>("bn", 4));
      },
      {name, "input has 3 channels", "normalises 4"});
  expect_error(
      [] {
        Graph g("t", {3, 4, 4}, 10);
        g.add(std::make_unique<Flatten>("flat"));
        g.add(std::make_unique<BatchNorm2d>("bn", 48));
      },
      {name, "CxHxW"});
  // Training needs more than one value per channel (PyTorch raises the same).
  Net net({4, 1, 1});
  net.batch_norm("bn", 4).flatten("flat");
  const Graph g = net.graph();
  OptimizerConfig cfg;
  cfg.name = "sgd";
  const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
  ExecutorOptions o;
  o.batch = 1;
  expect_error([&] { Executor ex(g, o, opt.get(), std::make_unique<SoftmaxCrossEntropy>()); },
               {name, "more than one value per channel"});
}

}  // namespace
}  // namespace cnnmem::layer_test
