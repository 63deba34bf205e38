// Tests for the models of models/torchvision.h added for issue 16 (efficientnet_b0,
// mobilenet_v3_small/large, regnet_y_400mf, mnasnet1_0, wide_resnet50_2, resnext50_32x4d,
// convnext_tiny, densenet121, squeezenet1_1, shufflenet_v2_x1_0, googlenet, inception_v3,
// fcn_resnet50, lraspp_mobilenet_v3_large): the parameter count, and every parameter's and state
// tensor's name and shape equal torchvision 0.14's state_dict, from
// tests/fixtures/torchvision/state_dicts.txt (made by tests/models/torchvision_state_dicts.py);
// each plans training with jit primitives only.
// Not here: the older models (tests/models/torchvision_test.cpp), memory (zoo_memory_test.cpp),
// values against PyTorch (torchvision_values_test.cpp).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "framework/executor.h"
#include "framework/layer.h"
#include "layers/losses.h"
#include "models/torchvision.h"
#include "models/zoo.h"
#include "optimizers/optimizer.h"

namespace cnnmem {
namespace {

struct Want {
  int64_t params = 0;
  std::map<std::string, Dims> params_by_name, states_by_name;
};

std::map<std::string, Want> read_fixture() {
  std::ifstream f(std::string(CNNMEM_SOURCE_DIR) + "/tests/fixtures/torchvision/state_dicts.txt");
  EXPECT_TRUE(f.good());
  std::map<std::string, Want> out;
  std::string line, model;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string kind, name, shape;
    in >> kind >> name;
    if (kind == "#") {
      model = name;
      in >> out[model].params;
      continue;
    }
    in >> shape;
    Dims dims;
    if (shape != "-") {
      std::istringstream s(shape);
      std::string part;
      while (std::getline(s, part, 'x')) dims.push_back(std::stoll(part));
    }
    (kind == "P" ? out[model].params_by_name : out[model].states_by_name)[name] = dims;
  }
  return out;
}

class TorchvisionNames : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchvisionNames, StateDictMatchesTorchvision) {
  static const std::map<std::string, Want> fixture = read_fixture();
  const std::string& model = GetParam();
  ASSERT_TRUE(fixture.count(model));
  const Want& want = fixture.at(model);
  const Graph g = make_model(model);
  EXPECT_EQ(g.param_count(), want.params);
  ExecutorOptions o;
  o.training = false;
  o.batch = 1;
  const Executor ex(g, o, nullptr);
  std::map<std::string, Dims> params, states;
  for (const ParamBinding& p : ex.params()) params[p.name] = p.torch_shape;
  for (const StateBinding& s : ex.states()) states[s.name] = s.torch_shape;
  EXPECT_EQ(params.size(), ex.params().size()) << "a parameter name repeats";
  EXPECT_EQ(params, want.params_by_name);
  EXPECT_EQ(states, want.states_by_name);
}

// A training step plans with oneDNN's jit kernels only (no reference implementation).
TEST_P(TorchvisionNames, TrainingPlansJitOnly) {
  const int64_t size = GetParam() == "inception_v3" ? 75 : 64;  // its smallest input
  const Graph g = make_model(GetParam(), Dims{3, size, size});
  OptimizerConfig cfg;
  cfg.name = "adam";
  const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
  ExecutorOptions o;
  o.batch = 2;
  const Executor ex(g, o, opt.get(), make_loss(default_loss_name(g.nodes().back().dims)));
  for (const std::string& impl : ex.implementations()) {
    if (impl.find(".diff_sum") != std::string::npos) continue;  // see torchvision_test.cpp
    EXPECT_EQ(impl.find("ref"), std::string::npos) << impl;
  }
}

INSTANTIATE_TEST_SUITE_P(Issue16, TorchvisionNames,
                         ::testing::Values("efficientnet_b0", "mobilenet_v3_small",
                                           "mobilenet_v3_large", "regnet_y_400mf", "mnasnet1_0",
                                           "wide_resnet50_2", "resnext50_32x4d", "convnext_tiny",
                                           "fcn_resnet50", "lraspp_mobilenet_v3_large",
                                           "densenet121", "squeezenet1_1", "shufflenet_v2_x1_0",
                                           "googlenet", "inception_v3"));

}  // namespace
}  // namespace cnnmem
