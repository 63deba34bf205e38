// ONNX import of element-wise ops with a constant (models/onnx_lower_eltwise.cpp, stage 2 in
// models/onnx_import.cpp), on hand-built models shaped like torch.onnx.export's: PRelu with its
// slope an initializer (per channel, single, and through the exporter's Unsqueeze) becomes a
// PReLU layer whose parameter keeps the initializer's name; a Mul by a C x 1 x 1 initializer
// (ConvNeXt's layer_scale) becomes a trainable channel scale named after it, so that parameter
// counts equal PyTorch's; a Mul or Div by a constant (a single value or one per channel) becomes a
// frozen channel scale (a state tensor, no parameter); other constant operands are refused in one
// line. Values against hand-computed outputs; a training step with predicted == measured.
// Not here: element-wise ops between two tensors (onnx_parse_test.cpp, onnx_conformance_test.cpp).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "framework/error.h"
#include "framework/executor.h"
#include "io/safetensors.h"
#include "layers/channel_scale.h"
#include "layers/prelu.h"
#include "layers/softmax_cross_entropy.h"
#include "models/onnx_import.h"
#include "optimizers/optimizer.h"
#include "tests/models/onnx_test_util.h"

namespace cnnmem {
namespace {

using namespace onnx_test;  // NOLINT(google-build-using-namespace)

ImportedModel import(const onnx::ModelProto& m) {
  ImportOptions o;
  o.flatten_output = true;
  return import_onnx_bytes(bytes(m), "t.onnx", o);
}

const Layer& layer(const ImportedModel& im, size_t node) {
  return *im.graph.nodes().at(node).layer;
}

// One training step (SGD) with the imported weights: predicted == measured, and the names of the
// parameters that got a gradient.
std::vector<std::string> train_step(const ImportedModel& im) {
  OptimizerConfig cfg;
  cfg.name = "sgd";
  const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
  ExecutorOptions o;
  o.batch = 2;
  Executor ex(im.graph, o, opt.get(), std::make_unique<SoftmaxCrossEntropy>());
  ex.bind();
  ex.load_weights(im.weights, "t.onnx");
  ex.staging_labels()[0] = 0;
  ex.staging_labels()[1] = 1;
  ex.run_step();
  EXPECT_EQ(ex.predicted().peak_bytes, ex.measured().peak_bytes);
  std::vector<std::string> names;
  for (const NamedTensor& g : ex.gradients()) names.push_back(g.name);
  return names;
}

// x (1, 2, 1, 2) -> PRelu(slope "act.weight" [2] through Unsqueeze, as a PRESERVE export has it)
// -> PRelu(one slope "onnx::PRelu_7" [1, 1, 1], as an EVAL export has it).
TEST(OnnxLowerEltwise, PReluKeepsTheSlopeInitializerName) {
  onnx::ModelProto m = model({1, 2, 1, 2}, "y");
  initializer(m, "act.weight", {2}, {0.5f, -2.0f});
  initializer(m, "onnx::PRelu_7", {1, 1, 1}, {0.25f});
  onnx::TensorProto* axes = m.mutable_graph()->add_initializer();
  axes->set_name("axes");
  axes->set_data_type(onnx::TensorProto::INT64);
  axes->add_dims(2);
  axes->add_int64_data(1);
  axes->add_int64_data(2);
  node(m, "/act/Unsqueeze", "Unsqueeze", {"act.weight", "axes"}, {"slope"});
  node(m, "/act/PRelu", "PRelu", {"x", "slope"}, {"a"});
  node(m, "/act1/PRelu", "PRelu", {"a", "onnx::PRelu_7"}, {"y"});
  const ImportedModel im = import(m);
  const auto* first = dynamic_cast<const PRelu*>(&layer(im, 1));
  const auto* second = dynamic_cast<const PRelu*>(&layer(im, 2));
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(first->name(), "act");
  EXPECT_EQ(first->weight_name(), "act.weight");
  EXPECT_EQ(first->slopes(), 2);
  EXPECT_EQ(second->weight_name(), "onnx::PRelu_7");
  EXPECT_EQ(second->slopes(), 1);
  EXPECT_EQ(im.graph.param_count(), 3);
  // Channel 0 slope 0.5, channel 1 slope -2; then 0.25 below zero.
  const std::vector<float> out = run_inference(im, {-4, 2, -1, 3}, 1);
  EXPECT_EQ(out, (std::vector<float>{-0.5f, 2, 2, 3}));
  EXPECT_EQ(train_step(im), (std::vector<std::string>{"act.weight", "onnx::PRelu_7"}));
}

// Conv -> Mul by "blk.layer_scale" (C x 1 x 1): a trainable channel scale of that name.
TEST(OnnxLowerEltwise, MulByAParameterIsATrainableChannelScale) {
  onnx::ModelProto m = model({1, 2, 1, 1}, "y");
  initializer(m, "conv.weight", {3, 2, 1, 1}, {1, 0, 0, 1, 1, 1});
  initializer(m, "blk.layer_scale", {3, 1, 1}, {2, -1, 0.5f});
  node(m, "/conv/Conv", "Conv", {"x", "conv.weight"}, {"c"});
  node(m, "/blk/Mul", "Mul", {"blk.layer_scale", "c"}, {"y"});
  const ImportedModel im = import(m);
  const auto* scale = dynamic_cast<const ChannelScale*>(&layer(im, 2));
  ASSERT_NE(scale, nullptr);
  EXPECT_EQ(scale->name(), "blk.layer_scale");
  EXPECT_TRUE(scale->trainable());
  EXPECT_EQ(im.graph.param_count(), 6 + 3);  // as PyTorch counts them
  const std::vector<float> out = run_inference(im, {3, 5}, 1);
  EXPECT_EQ(out, (std::vector<float>{6, -5, 4}));
  EXPECT_EQ(train_step(im), (std::vector<std::string>{"conv.weight", "blk.layer_scale"}));
}

// x / 2 (a Constant node), then * an anonymous per-channel constant: frozen channel scales (state
// tensors: the reciprocal for the Div), no parameters. The Mul by a single named value is frozen
// too (cnnmem would train C copies of it).
TEST(OnnxLowerEltwise, MulOrDivByAConstantIsAFrozenChannelScale) {
  onnx::ModelProto m = model({1, 3, 1, 1}, "y");
  onnx::NodeProto* two = node(m, "two", "Constant", {}, {"k"});
  onnx::AttributeProto* a = two->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  a->mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
  a->mutable_t()->add_float_data(2.0f);
  initializer(m, "onnx::Mul_5", {1, 3, 1, 1}, {1, 10, 100});
  initializer(m, "gain", {1}, {-1});
  node(m, "div", "Div", {"x", "k"}, {"d"});
  node(m, "mul", "Mul", {"d", "onnx::Mul_5"}, {"e"});
  node(m, "neg", "Mul", {"e", "gain"}, {"y"});
  const ImportedModel im = import(m);
  for (size_t k = 1; k <= 3; ++k) {
    const auto* scale = dynamic_cast<const ChannelScale*>(&layer(im, k));
    ASSERT_NE(scale, nullptr) << k;
    EXPECT_FALSE(scale->trainable()) << k;
  }
  EXPECT_EQ(im.graph.param_count(), 0);
  const SafetensorsFile weights{im.weights, {}};
  const NamedTensor* half = find_tensor(weights, "div");
  ASSERT_NE(half, nullptr);
  EXPECT_EQ(half->data, (std::vector<float>{0.5f, 0.5f, 0.5f}));
  const std::vector<float> out = run_inference(im, {4, 6, 8}, 1);
  EXPECT_EQ(out, (std::vector<float>{-2, -30, -400}));
  EXPECT_TRUE(train_step(im).empty());
}

TEST(OnnxLowerEltwise, OtherConstantOperandsAreRefusedInOneLine) {
  const auto refused = [](const std::string& op, const std::vector<int64_t>& dims,
                          bool constant_first) {
    onnx::ModelProto m = model({1, 3, 2, 2}, "y");
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    initializer(m, "c", dims, std::vector<float>(static_cast<size_t>(n), 2.0f));
    node(m, "op", op,
         constant_first ? std::vector<std::string>{"c", "x"} : std::vector<std::string>{"x", "c"},
         {"y"});
    try {
      import(m);
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      EXPECT_NE(msg.find("node \"op\" (" + op + ")"), std::string::npos) << msg;
      return msg;
    }
    ADD_FAILURE() << op << " imported";
    return std::string();
  };
  EXPECT_NE(refused("Add", {3, 1, 1}, false).find("constant operand 3x1x1"), std::string::npos);
  EXPECT_NE(refused("Sub", {1}, false).find("Mul by, or Div by"), std::string::npos);
  EXPECT_NE(refused("Div", {3, 1, 1}, true).find("constant operand"), std::string::npos);
  EXPECT_NE(refused("Mul", {1, 2, 2}, false).find("constant operand 1x2x2"), std::string::npos);
}

}  // namespace
}  // namespace cnnmem
