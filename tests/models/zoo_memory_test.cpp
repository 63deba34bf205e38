// The memory bill of every built-in model, at batch 1 and 2: a training step with Adam and an
// inference pass with greedy-by-size reuse both run, and what the arena measured equals what the
// executor predicted from shapes alone before it allocated anything: the peak, the bytes per tag
// at the peak, each tag's own peak, the arena size and the op where the peak happens.
// About five and a half minutes on one core for the 120 cases (the VGGs dominate); the sanitizer
// run in `.ci/run` leaves the suite out (tests/framework/executor_test.cpp covers the small
// models there). The models added for issue 16 run at 3x64x64 (kSmallInput; inception_v3 at
// 3x107x107): at 224x224 one of their training cases takes up to a minute.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "framework/executor.h"
#include "layers/losses.h"
#include "models/zoo.h"
#include "optimizers/optimizer.h"
#include "tests/framework/memory_expect.h"

namespace cnnmem {
namespace {

// The models of issue 16, run at a smaller input (the bill is exact at any input size).
bool small_input(const std::string& model) {
  for (const char* m :
       {"efficientnet_b0", "mobilenet_v3_small", "mobilenet_v3_large", "regnet_y_400mf",
        "mnasnet1_0", "wide_resnet50_2", "resnext50_32x4d", "convnext_tiny",  //
        "fcn_resnet50", "lraspp_mobilenet_v3_large",                          //
        "densenet121", "squeezenet1_1", "shufflenet_v2_x1_0", "googlenet", "inception_v3"}) {
    if (model == m) return true;
  }
  return false;
}
const Dims kSmallInput = {3, 64, 64};

std::vector<std::string> every_model() {
  std::vector<std::string> names = model_names();
  names.push_back("deep-chain-8");
  return names;
}

// "vgg-mini" -> "vgg_mini": a test name may hold letters, digits and underscores only.
std::string test_name(const ::testing::TestParamInfo<std::tuple<std::string, int, bool>>& info) {
  const auto& [model, batch, training] = info.param;
  std::string name = model;
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name + (training ? "_train_adam_b" : "_infer_greedy_b") + std::to_string(batch);
}

class ZooMemory : public ::testing::TestWithParam<std::tuple<std::string, int, bool>> {};

TEST_P(ZooMemory, PredictedEqualsMeasured) {
  const auto& [model, batch, training] = GetParam();
  // inception_v3: the smallest input that trains at batch 1 (at 75x75, its smallest, Mixed_7's
  // maps are 1x1 and BatchNorm has a single value per channel, as PyTorch refuses too).
  const Dims small = model == "inception_v3" ? Dims{3, 107, 107} : kSmallInput;
  const Graph g = small_input(model) ? make_model(model, small) : make_model(model);
  OptimizerConfig cfg;
  cfg.name = "adam";
  const std::unique_ptr<Optimizer> opt = training ? make_optimizer(cfg) : nullptr;
  ExecutorOptions o;
  o.training = training;
  o.batch = batch;
  o.strategy = Strategy::kGreedyBySize;
  // Cross-entropy, or pixel-cross-entropy for the segmentation models' K x H x W outputs.
  Executor ex(g, o, opt.get(), make_loss(default_loss_name(g.nodes().back().dims)));
  const MemoryStats predicted = ex.predicted();  // before anything is allocated
  ex.bind();
  ex.init_weights(1);
  // A deterministic batch that is not constant (BatchNorm sees a spread of values).
  const Dims& in = g.input_dims();
  const int64_t n = batch * in[0] * in[1] * in[2];
  float* images = ex.staging_images();
  for (int64_t i = 0; i < n; ++i) images[i] = std::sin(0.37F * static_cast<float>(i % 1009));
  if (int32_t* labels = ex.staging_labels(); labels != nullptr) {
    for (int64_t i = 0; i < batch * ex.target().elements; ++i) {
      labels[i] = static_cast<int32_t>((3 + 5 * i) % g.classes());
    }
  }
  ex.run_step();
  const MemoryStats measured = ex.measured();
  EXPECT_GT(predicted.peak_bytes, 4 * g.param_count());
  expect_same(predicted, measured);
  if (training) {
    EXPECT_TRUE(std::isfinite(ex.loss()));
    // Adam: two moments per weight element.
    EXPECT_EQ(measured.by_tag[tag_index(Tag::kOptimizerState)],
              2 * measured.by_tag[tag_index(Tag::kGrad)]);
  }
}

INSTANTIATE_TEST_SUITE_P(EveryModel, ZooMemory,
                         ::testing::Combine(::testing::ValuesIn(every_model()),
                                            ::testing::Values(1, 2), ::testing::Bool()),
                         test_name);

}  // namespace
}  // namespace cnnmem
