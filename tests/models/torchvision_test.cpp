// Tests for models/torchvision.h: every model's parameter count equals torchvision's published
// count, parameter names and shapes match torchvision's state_dict keys (spot checks of every
// kind of module, and the number of tensors), and every model plans an inference pass at batch 1.
// Not here: running the large models (too slow for a test), pretrained weights.
#include "models/torchvision.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "framework/error.h"
#include "framework/executor.h"
#include "framework/layer.h"
#include "layers/batch_norm2d.h"
#include "layers/softmax_cross_entropy.h"
#include "models/zoo.h"
#include "optimizers/optimizer.h"

namespace cnnmem {
namespace {

// Parameter name -> PyTorch shape, from the layers' declarations (no executor).
std::map<std::string, Dims> param_shapes(const Graph& g) {
  std::map<std::string, Dims> out;
  size_t count = 0;
  for (const Node& node : g.nodes()) {
    if (!node.layer) continue;
    std::vector<Dims> in;
    for (int id : node.inputs) in.push_back(g.nodes()[static_cast<size_t>(id)].dims);
    for (const ParamDecl& p : node.layer->params(in)) {
      out[p.name] = p.shape;
      ++count;
    }
  }
  EXPECT_EQ(out.size(), count) << g.name() << ": a parameter name repeats";
  return out;
}

struct Expected {
  const char* model;
  int64_t params;   // torchvision's published count
  size_t tensors;   // len(list(model.parameters()))
  int batch_norms;  // BatchNorm2d modules (3 state tensors each)
};

const Expected kExpected[] = {{"alexnet", 61100840, 16, 0},      {"vgg11", 132863336, 22, 0},
                              {"vgg16", 138357544, 32, 0},       {"vgg19", 143667240, 38, 0},
                              {"vgg11_bn", 132868840, 38, 8},    {"vgg16_bn", 138365992, 58, 13},
                              {"vgg19_bn", 143678248, 70, 16},   {"resnet18", 11689512, 62, 20},
                              {"resnet34", 21797672, 110, 36},   {"resnet50", 25557032, 161, 53},
                              {"mobilenet_v2", 3504872, 158, 52}};

TEST(TorchvisionModelsTest, ParameterCountsMatchTorchvision) {
  for (const Expected& e : kExpected) {
    SCOPED_TRACE(e.model);
    const Graph g = make_model(e.model);
    EXPECT_EQ(g.name(), e.model);
    EXPECT_EQ(g.param_count(), e.params);
    EXPECT_EQ(param_shapes(g).size(), e.tensors);
    EXPECT_EQ(g.input_dims(), (Dims{3, 224, 224}));
    EXPECT_EQ(g.classes(), 1000);
    int bns = 0;
    for (const Node& node : g.nodes())
      bns += dynamic_cast<BatchNorm2d*>(node.layer.get()) != nullptr;
    EXPECT_EQ(bns, e.batch_norms);
  }
}

// Names and shapes of torchvision's state_dict, module kind by module kind.
TEST(TorchvisionModelsTest, ParameterNamesMatchTorchvision) {
  const std::map<std::string, std::map<std::string, Dims>> want = {
      {"alexnet",
       {{"features.0.weight", {64, 3, 11, 11}},
        {"features.3.bias", {192}},
        {"features.10.weight", {256, 256, 3, 3}},
        {"classifier.1.weight", {4096, 9216}},
        {"classifier.4.weight", {4096, 4096}},
        {"classifier.6.bias", {1000}}}},
      {"vgg11",
       {{"features.0.weight", {64, 3, 3, 3}},
        {"features.3.weight", {128, 64, 3, 3}},
        {"features.18.weight", {512, 512, 3, 3}},
        {"classifier.0.weight", {4096, 25088}},
        {"classifier.3.weight", {4096, 4096}},
        {"classifier.6.weight", {1000, 4096}}}},
      {"vgg19", {{"features.34.weight", {512, 512, 3, 3}}, {"classifier.6.bias", {1000}}}},
      {"vgg11_bn",
       {{"features.0.weight", {64, 3, 3, 3}},
        {"features.1.weight", {64}},
        {"features.1.bias", {64}},
        {"features.4.weight", {128, 64, 3, 3}},
        {"features.26.weight", {512}},
        {"classifier.0.weight", {4096, 25088}}}},
      {"vgg16_bn", {{"features.40.weight", {512, 512, 3, 3}}, {"features.41.bias", {512}}}},
      {"vgg19_bn", {{"features.49.weight", {512, 512, 3, 3}}, {"features.50.weight", {512}}}},
      {"resnet18",
       {{"conv1.weight", {64, 3, 7, 7}},
        {"bn1.weight", {64}},
        {"layer1.0.conv1.weight", {64, 64, 3, 3}},
        {"layer1.1.bn2.bias", {64}},
        {"layer2.0.conv1.weight", {128, 64, 3, 3}},
        {"layer2.0.downsample.0.weight", {128, 64, 1, 1}},
        {"layer2.0.downsample.1.weight", {128}},
        {"layer4.1.conv2.weight", {512, 512, 3, 3}},
        {"fc.weight", {1000, 512}},
        {"fc.bias", {1000}}}},
      {"resnet34", {{"layer3.5.conv2.weight", {256, 256, 3, 3}}, {"fc.weight", {1000, 512}}}},
      {"resnet50",
       {{"layer1.0.conv1.weight", {64, 64, 1, 1}},
        {"layer1.0.conv2.weight", {64, 64, 3, 3}},
        {"layer1.0.conv3.weight", {256, 64, 1, 1}},
        {"layer1.0.downsample.0.weight", {256, 64, 1, 1}},
        {"layer2.0.conv2.weight", {128, 128, 3, 3}},
        {"layer4.2.bn3.weight", {2048}},
        {"fc.weight", {1000, 2048}}}},
      {"mobilenet_v2",
       {{"features.0.0.weight", {32, 3, 3, 3}},
        {"features.0.1.weight", {32}},
        {"features.1.conv.0.0.weight", {32, 1, 3, 3}},
        {"features.1.conv.1.weight", {16, 32, 1, 1}},
        {"features.1.conv.2.bias", {16}},
        {"features.2.conv.0.0.weight", {96, 16, 1, 1}},
        {"features.2.conv.1.0.weight", {96, 1, 3, 3}},
        {"features.2.conv.2.weight", {24, 96, 1, 1}},
        {"features.2.conv.3.weight", {24}},
        {"features.17.conv.2.weight", {320, 960, 1, 1}},
        {"features.18.0.weight", {1280, 320, 1, 1}},
        {"features.18.1.bias", {1280}},
        {"classifier.1.weight", {1000, 1280}}}}};
  for (const auto& [model, names] : want) {
    SCOPED_TRACE(model);
    const std::map<std::string, Dims> got = param_shapes(make_model(model));
    for (const auto& [name, shape] : names) {
      ASSERT_TRUE(got.count(name)) << name;
      EXPECT_EQ(got.at(name), shape) << name;
    }
    // No convolution in a BatchNorm model has a bias (torchvision's resnet and mobilenet).
    if (model.rfind("resnet", 0) == 0 || model == "mobilenet_v2") {
      for (const auto& [name, shape] : got) {
        if (shape.size() == 4) {
          EXPECT_FALSE(got.count(name.substr(0, name.size() - 6) + "bias")) << name;
        }
      }
    }
  }
}

TEST(TorchvisionModelsTest, ZooListsEveryModel) {
  const std::vector<std::string> names = model_names();
  for (const Expected& e : kExpected) {
    EXPECT_NE(std::find(names.begin(), names.end(), e.model), names.end()) << e.model;
  }
  EXPECT_FALSE(make_torchvision_model("resnet101").has_value());
  EXPECT_THROW(make_model("resnet101"), Error);
}

// Every new model plans an inference pass at batch 1 (primitive descriptors, buffers, offsets),
// with every BatchNorm's running statistics as weight-tagged state under torchvision's names.
TEST(TorchvisionModelsTest, EveryModelPlansInference) {
  for (const std::string& name : torchvision_model_names()) {
    SCOPED_TRACE(name);
    const Graph g = make_model(name);
    ExecutorOptions o;
    o.training = false;
    o.batch = 1;
    const Executor ex(g, o, nullptr);
    EXPECT_EQ(ex.param_count(), g.param_count());
    EXPECT_GT(ex.predicted().peak_bytes, 4 * g.param_count());
    std::set<std::string> states;
    for (const StateBinding& s : ex.states()) states.insert(s.name);
    int bns = 0;
    for (const Node& node : g.nodes()) {
      if (dynamic_cast<BatchNorm2d*>(node.layer.get()) == nullptr) continue;
      ++bns;
      for (const char* suffix : {".running_mean", ".running_var", ".num_batches_tracked"}) {
        EXPECT_TRUE(states.count(node.layer->name() + suffix)) << node.layer->name() << suffix;
      }
    }
    EXPECT_EQ(states.size(), static_cast<size_t>(3 * bns));
    for (const std::string& impl : ex.implementations()) {
      EXPECT_EQ(impl.find("ref"), std::string::npos) << impl;
    }
  }
}

// A training step plans (residual blocks included); no forward or backward primitive falls back
// to oneDNN's reference kernels.
TEST(TorchvisionModelsTest, ModelsPlanTraining) {
  for (const std::string name : {"alexnet", "vgg11_bn", "resnet18", "resnet50", "mobilenet_v2"}) {
    SCOPED_TRACE(name);
    const Graph g = make_model(name);
    OptimizerConfig cfg;
    cfg.name = "sgd";
    const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
    ExecutorOptions o;
    o.batch = 2;
    const Executor ex(g, o, opt.get(), std::make_unique<SoftmaxCrossEntropy>());
    EXPECT_EQ(ex.params().size(), param_shapes(g).size());
    for (const std::string& impl : ex.implementations()) {
      // The executor's gradient accumulation ("<node>.diff_sum*") is checked in tests/framework.
      if (impl.find(".diff_sum") != std::string::npos) continue;
      EXPECT_EQ(impl.find("ref"), std::string::npos) << impl;
    }
  }
}

}  // namespace
}  // namespace cnnmem
