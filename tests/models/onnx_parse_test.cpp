// Stage 1 of the ONNX import (parse_onnx, models/onnx_import.h) on the ops and export patterns
// whose layers are not in cnnmem yet: tests/fixtures/onnx/stage1_ops.onnx (PyTorch 1.13's export
// of one of each, made by scripts/make_torchvision_onnx.py --small) and hand-built models: the
// spec kinds and fields stage 2 will construct, the folded shape arithmetic, any output shape,
// the BatchNorm-folded count, and stage 2's one-line refusal of what it cannot build yet.
// Not here: models that import fully (onnx_import_test.cpp), the ONNX backend cases
// (onnx_conformance_test.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include "framework/error.h"
#include "framework/layer.h"
#include "models/onnx_import.h"
#include "tests/models/onnx_test_util.h"

namespace cnnmem {
namespace {

using namespace onnx_test;  // NOLINT(google-build-using-namespace)

std::string fixture(const std::string& name) {
  return std::string(CNNMEM_SOURCE_DIR) + "/tests/fixtures/onnx/" + name;
}

using K = OnnxLayerKind;

OnnxNet parse(const onnx::ModelProto& m) { return parse_onnx(bytes(m), "t.onnx"); }

std::string parse_error(const onnx::ModelProto& m) {
  try {
    parse(m);
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    return e.what();
  }
  return "";
}

const OnnxLayerSpec& spec(const OnnxNet& net, const std::string& name) {
  for (const OnnxLayerSpec& s : net.layers) {
    if (s.name == name) return s;
  }
  ADD_FAILURE() << "no layer " << name;
  return net.layers.at(0);
}

const NamedTensor* weight(const OnnxNet& net, const std::string& name) {
  for (const NamedTensor& t : net.weights) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

// An INT64 vector, or a scalar when `scalar`.
void int_initializer(onnx::ModelProto& m, const std::string& name, const std::vector<int64_t>& v,
                     bool scalar = false) {
  onnx::TensorProto* t = m.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  if (!scalar) t->add_dims(static_cast<int64_t>(v.size()));
  for (int64_t x : v) t->add_int64_data(x);
}

void attr_string(onnx::NodeProto* n, const std::string& name, const std::string& v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

// PyTorch 1.13's export (opset 13, eval mode) of one of each op and pattern: every node becomes
// the spec stage 2 will build, with its fields.
TEST(OnnxParse, PyTorchExportOfEveryNewOpAndPattern) {
  const OnnxNet net = parse_onnx(read_file(fixture("stage1_ops.onnx")), "stage1_ops.onnx");
  const std::vector<K> kinds = {
      K::kConv,           K::kRelu,       K::kLayerNorm,     K::kConv,
      K::kLayerNorm,      K::kConv,       K::kActivation,    K::kConv,
      K::kBinary,         K::kAdd,        K::kGroupNorm,     K::kInstanceNorm,
      K::kChannelShuffle, K::kReduce,     K::kConv,          K::kRelu,
      K::kConv,           K::kActivation, K::kBinary,        K::kChannelSlice,
      K::kChannelSlice,   K::kConcat,     K::kConvTranspose, K::kMaxPool,
      K::kResize,         K::kAdd,        K::kActivation,    K::kPad,
      K::kActivation,     K::kActivation, K::kActivation,    K::kActivation,
      K::kActivation,     K::kActivation, K::kActivation};
  ASSERT_EQ(net.layers.size(), kinds.size());
  for (size_t i = 0; i < kinds.size(); ++i) EXPECT_EQ(net.layers[i].kind, kinds[i]) << i;
  const auto& layers = net.layers;
  // Conv (3, 1) kernel, pads (1, 0): non-square, with the BatchNorm folded in.
  EXPECT_EQ(layers[0].kernel_hw, (Dims{3, 1}));
  EXPECT_EQ(layers[0].pads, (Dims{1, 0, 1, 0}));
  EXPECT_FALSE(layers[0].square());
  EXPECT_EQ(net.folded_batch_norms, 1);
  // LayerNorm2d (Transpose ... Transpose) and the CNBlock's LayerNorm in NHWC.
  EXPECT_EQ(layers[2].name, "ln");
  EXPECT_EQ(layers[2].in_channels, 8);
  EXPECT_NEAR(layers[2].eps, 1e-6, 1e-12);
  EXPECT_TRUE(layers[2].bias);
  ASSERT_NE(weight(net, "ln.weight"), nullptr);
  EXPECT_EQ(layers[4].name, "block.block.2");
  // The block's Linear layers as 1x1 convolutions, GELU, layer scale.
  EXPECT_EQ(layers[5].out_channels, 32);
  EXPECT_EQ(layers[5].kernel, 1);
  EXPECT_TRUE(layers[5].bias);
  EXPECT_EQ(weight(net, layers[5].name + ".weight")->shape, (Dims{32, 8, 1, 1}));
  EXPECT_EQ(layers[6].activation, OnnxActivation::kGelu);
  EXPECT_EQ(layers[8].binary, OnnxBinary::kMul);
  EXPECT_EQ(layers[8].operand_dims, (Dims{8, 1, 1}));
  EXPECT_TRUE(layers[8].operand_param);
  EXPECT_EQ(layers[9].inputs, (std::vector<int>{9, 3}));  // residual
  // GroupNorm(2, 8), InstanceNorm2d(affine), channel_shuffle(2).
  EXPECT_EQ(layers[10].groups, 2);
  EXPECT_TRUE(layers[10].bias);
  EXPECT_EQ(layers[11].name, "inorm");
  EXPECT_EQ(layers[12].groups, 2);
  // Squeeze-excitation: mean over H, W (keepdims), HardSigmoid, broadcasting Mul of 2 tensors.
  EXPECT_EQ(layers[13].reduce, OnnxReduce::kMean);
  EXPECT_TRUE(layers[13].keepdims);
  EXPECT_EQ(layers[17].activation, OnnxActivation::kHardSigmoid);
  EXPECT_NEAR(layers[17].alpha, 1.0 / 6, 1e-6);
  EXPECT_NEAR(layers[17].beta, 0.5, 1e-6);
  EXPECT_EQ(layers[18].inputs, (std::vector<int>{13, 18}));
  EXPECT_TRUE(layers[18].operand_dims.empty());
  // chunk(2) as two channel slices, cat in the other order.
  EXPECT_EQ(layers[19].channel_begin, 0);
  EXPECT_EQ(layers[19].channel_end, 4);
  EXPECT_EQ(layers[20].channel_begin, 4);
  EXPECT_EQ(layers[20].channel_end, 8);
  EXPECT_EQ(layers[21].inputs, (std::vector<int>{21, 20}));
  // ConvTranspose2d(8, 8, 3, stride 2, pad 1, output_padding 1, groups 2): 8x8 -> 16x16.
  EXPECT_EQ(layers[22].groups, 2);
  EXPECT_EQ(layers[22].output_padding_hw, (Dims{1, 1}));
  EXPECT_EQ(layers[22].dims, (Dims{8, 16, 16}));
  // MaxPool(3, 2, ceil_mode): 16 -> 8 (floor would give 7).
  EXPECT_TRUE(layers[23].ceil_mode);
  EXPECT_EQ(layers[23].dims, (Dims{8, 8, 8}));
  // interpolate(size=y.shape[-2:]): Resize with sizes folded from Shape.
  EXPECT_EQ(layers[24].resize_mode, OnnxResizeMode::kLinear);
  EXPECT_EQ(layers[24].coordinate_mode, "half_pixel");
  EXPECT_EQ(layers[24].scale_h, 1.0);
  // PReLU(8), reflect pad of 1 (pads computed by constant arithmetic), the activations.
  EXPECT_EQ(layers[26].activation, OnnxActivation::kPRelu);
  EXPECT_EQ(layers[26].in_channels, 8);
  EXPECT_EQ(layers[27].pad_mode, OnnxPadMode::kReflect);
  EXPECT_EQ(layers[27].pads, (Dims{1, 1, 1, 1}));
  const std::vector<OnnxActivation> acts = {OnnxActivation::kGelu,      OnnxActivation::kSilu,
                                            OnnxActivation::kHardSwish, OnnxActivation::kLeakyRelu,
                                            OnnxActivation::kElu,       OnnxActivation::kTanh,
                                            OnnxActivation::kSigmoid};
  for (size_t i = 0; i < acts.size(); ++i) EXPECT_EQ(layers[28 + i].activation, acts[i]) << i;
  EXPECT_NEAR(layers[31].alpha, 0.1, 1e-6);
  EXPECT_EQ(net.output_dims, (Dims{8, 10, 10}));
}

// Stage 2 builds every op of the fixture: the layer scale (a Mul by a named C x 1 x 1 initializer)
// as a trainable channel scale of that name, PRelu with its slope; inference runs.
TEST(OnnxParse, Stage2BuildsEveryParsedOp) {
  const ImportedModel im = import_onnx(fixture("stage1_ops.onnx"));
  const auto& nodes = im.graph.nodes();
  ASSERT_EQ(nodes.size(), 36U);  // the input and the 35 specs
  EXPECT_STREQ(nodes[9].layer->kind(), "channel_scale");
  EXPECT_STREQ(nodes[27].layer->kind(), "prelu");
  const std::vector<float> x(static_cast<size_t>(dims_product(im.graph.input_dims())), 0.5f);
  for (const float v : onnx_test::run_inference(im, x, 1)) ASSERT_TRUE(std::isfinite(v));
}

// torchvision's flatten as Shape -> Gather -> Unsqueeze -> Concat -> Reshape: folded with the
// batch as a symbol; arithmetic on the batch is refused naming the node.
TEST(OnnxParse, ShapeArithmeticIsFolded) {
  onnx::ModelProto m = model({1, 2, 3, 3}, "y");
  int_initializer(m, "zero", {0});
  int_initializer(m, "index", {0}, true);
  int_initializer(m, "minus1", {-1});
  node(m, "shape", "Shape", {"x"}, {"s"});
  attr_int(node(m, "gather", "Gather", {"s", "index"}, {"n"}), "axis", 0);
  node(m, "unsq", "Unsqueeze", {"n", "zero"}, {"n1"});
  attr_int(node(m, "cat", "Concat", {"n1", "minus1"}, {"target"}), "axis", 0);
  node(m, "reshape", "Reshape", {"x", "target"}, {"y"});
  const OnnxNet net = parse(m);
  ASSERT_EQ(net.layers.size(), 1U);
  EXPECT_EQ(net.layers[0].kind, K::kFlatten);
  EXPECT_EQ(net.output_dims, (Dims{18}));
  // N * 2: depends on the batch.
  onnx::ModelProto b = model({1, 2, 3, 3}, "y");
  int_initializer(b, "zero", {0});
  int_initializer(b, "two", {2});
  node(b, "shape", "Shape", {"x"}, {"s"});
  node(b, "gather", "Gather", {"s", "zero"}, {"n"});
  node(b, "twice", "Mul", {"n", "two"}, {"n2"});
  node(b, "relu", "Relu", {"x"}, {"y"});
  const std::string msg = parse_error(b);
  EXPECT_NE(msg.find("node \"twice\" (Mul)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("batch size"), std::string::npos) << msg;
}

// H / 2 from the input's static shape, as Resize(sizes) in segmentation heads; Div, Cast, Floor,
// ConstantOfShape and Slice fold too.
TEST(OnnxParse, ResizeSizesFromFoldedShape) {
  onnx::ModelProto m = model({1, 2, 8, 6}, "y");
  int_initializer(m, "hw", {2});
  int_initializer(m, "end", {4});
  int_initializer(m, "zero", {0});
  int_initializer(m, "two", {2});
  node(m, "shape", "Shape", {"x"}, {"s"});
  node(m, "slice", "Slice", {"s", "hw", "end", "zero"}, {"s_hw"});
  node(m, "half", "Div", {"s_hw", "two"}, {"hw2"});
  node(m, "head", "Slice", {"s", "zero", "hw", "zero"}, {"nc"});
  attr_int(node(m, "cat", "Concat", {"nc", "hw2"}, {"sizes"}), "axis", 0);
  onnx::NodeProto* r = node(m, "resize", "Resize", {"x", "", "", "sizes"}, {"y"});
  attr_string(r, "mode", "nearest");
  const OnnxNet net = parse(m);
  ASSERT_EQ(net.layers.size(), 1U);
  EXPECT_EQ(net.layers[0].kind, K::kResize);
  EXPECT_EQ(net.layers[0].dims, (Dims{2, 4, 3}));
  EXPECT_EQ(net.layers[0].scale_h, 0.5);
  EXPECT_EQ(net.layers[0].coordinate_mode, "half_pixel");
}

// Any output shape: a single Conv imports (stage 2), its output N x C x H x W.
TEST(OnnxParse, SingleConvImportsWithItsOutputShape) {
  onnx::ModelProto m = model({1, 2, 4, 4}, "y");
  initializer(m, "conv.weight", {3, 2, 3, 3}, std::vector<float>(54, 0.1f));
  attr_ints(node(m, "conv", "Conv", {"x", "conv.weight"}, {"y"}), "pads", {1, 1, 1, 1});
  const ImportedModel im = import_onnx_bytes(bytes(m), "t.onnx");
  EXPECT_EQ(im.output_dims, (Dims{3, 4, 4}));
  EXPECT_EQ(im.graph.classes(), 48);
  EXPECT_EQ(im.folded_batch_norms, 0);
  EXPECT_TRUE(im.batch_norm_warning.empty());
}

// An eval-mode export's folded Conv + BatchNorm: anonymous "onnx::Conv_*" weight with a bias.
TEST(OnnxParse, FoldedBatchNormIsCountedWithAWarning) {
  onnx::ModelProto m = model({1, 2, 4, 4}, "y");
  initializer(m, "onnx::Conv_7", {3, 2, 1, 1}, std::vector<float>(6, 0.1f));
  initializer(m, "onnx::Conv_8", {3}, {0, 0, 0});
  node(m, "/conv/Conv", "Conv", {"x", "onnx::Conv_7", "onnx::Conv_8"}, {"y"});
  const ImportedModel im = import_onnx_bytes(bytes(m), "t.onnx");
  EXPECT_EQ(im.folded_batch_norms, 1);
  EXPECT_NE(im.batch_norm_warning.find("TrainingMode.PRESERVE"), std::string::npos);
  EXPECT_EQ(im.batch_norm_warning.find('\n'), std::string::npos);
}

// Hand-built cases the fixture does not have: ReduceSum without keepdims, GlobalMaxPool, Split,
// Pad edge (opset 11 inputs), AveragePool with count_include_pad 0, Resize by scales.
TEST(OnnxParse, MoreShapesAndAttributes) {
  onnx::ModelProto m = model({1, 4, 6, 6}, "y", 13);
  int_initializer(m, "pads", {0, 0, 1, 2, 0, 0, 1, 0});
  int_initializer(m, "split", {1, 3});
  int_initializer(m, "axes", {2, 3});
  initializer(m, "scales", {4}, {1, 1, 2, 2});
  attr_string(node(m, "pad", "Pad", {"x", "pads"}, {"p"}), "mode", "edge");  // 4x8x8
  attr_int(node(m, "split", "Split", {"p", "split"}, {"a", "b"}), "axis", 1);
  onnx::NodeProto* ap = node(m, "avg", "AveragePool", {"b"}, {"c"});
  attr_ints(ap, "kernel_shape", {3, 3});
  attr_ints(ap, "pads", {1, 1, 1, 1});
  node(m, "gmp", "GlobalMaxPool", {"a"}, {"g"});        // 1x1x1
  node(m, "up", "Resize", {"c", "", "scales"}, {"u"});  // 3x16x16
  node(m, "mul", "Mul", {"u", "g"}, {"v"});
  attr_int(node(m, "sum", "ReduceSum", {"v", "axes"}, {"y"}), "keepdims", 0);
  const OnnxNet net = parse(m);
  ASSERT_EQ(net.layers.size(), 8U);
  EXPECT_EQ(spec(net, "pad").kind, K::kPad);
  EXPECT_EQ(spec(net, "pad").pad_mode, OnnxPadMode::kEdge);
  EXPECT_EQ(spec(net, "pad").pads, (Dims{1, 2, 1, 0}));
  EXPECT_EQ(spec(net, "pad").dims, (Dims{4, 8, 8}));
  EXPECT_EQ(spec(net, "split").channel_end, 1);
  EXPECT_EQ(spec(net, "split_2").channel_begin, 1);
  EXPECT_FALSE(spec(net, "avg").count_include_pad);
  EXPECT_EQ(spec(net, "gmp").kind, K::kGlobalMaxPool);
  EXPECT_EQ(spec(net, "up").dims, (Dims{3, 16, 16}));
  EXPECT_EQ(spec(net, "mul").kind, K::kBinary);
  EXPECT_EQ(spec(net, "sum").reduce, OnnxReduce::kSum);
  EXPECT_FALSE(spec(net, "sum").keepdims);
  EXPECT_EQ(net.output_dims, (Dims{3}));
  // A Transpose cnnmem cannot follow is refused naming the node.
  onnx::ModelProto t = model({1, 4, 6, 6}, "y");
  attr_ints(node(t, "tr", "Transpose", {"x"}, {"y"}), "perm", {0, 1, 3, 2});
  EXPECT_NE(parse_error(t).find("node \"tr\" (Transpose)"), std::string::npos);
}

}  // namespace
// auto_pad SAME_* pads from the static shapes: the odd pad at the end (UPPER) or the beginning
// (LOWER), for Conv, the pools and ConvTranspose (whose SAME output is input * stride).
TEST(OnnxParse, AutoPadSameGivesExplicitPads) {
  const auto one = [](const std::string& op, const std::string& pad, int64_t k, int64_t stride) {
    onnx::ModelProto m = model({1, 1, 5, 5}, "y");
    std::vector<std::string> in = {"x"};
    if (op != "MaxPool") {
      initializer(m, "w", {1, 1, k, k}, std::vector<float>(static_cast<size_t>(k * k), 1.f));
      in.push_back("w");
    }
    onnx::NodeProto* n = node(m, "n", op, in, {"y"});
    attr_string(n, "auto_pad", pad);
    attr_ints(n, "strides", {stride, stride});
    if (op == "MaxPool") attr_ints(n, "kernel_shape", {k, k});
    const OnnxNet net = parse(m);
    return std::make_pair(net.layers[0].pads, net.output_dims);
  };
  EXPECT_EQ(one("Conv", "SAME_UPPER", 2, 2), std::make_pair(Dims{0, 0, 1, 1}, Dims{1, 3, 3}));
  EXPECT_EQ(one("Conv", "SAME_LOWER", 2, 2), std::make_pair(Dims{1, 1, 0, 0}, Dims{1, 3, 3}));
  EXPECT_EQ(one("MaxPool", "SAME_LOWER", 2, 1), std::make_pair(Dims{1, 1, 0, 0}, Dims{1, 5, 5}));
  EXPECT_EQ(one("MaxPool", "VALID", 3, 2), std::make_pair(Dims{0, 0, 0, 0}, Dims{1, 2, 2}));
  // ConvTranspose 3x3 stride 2 over 5x5: SAME gives 10x10, total pad 8 + 3 - 10 = 1.
  EXPECT_EQ(one("ConvTranspose", "SAME_UPPER", 3, 2),
            std::make_pair(Dims{0, 0, 1, 1}, Dims{1, 10, 10}));
  EXPECT_EQ(one("ConvTranspose", "SAME_LOWER", 2, 2),
            std::make_pair(Dims{0, 0, 0, 0}, Dims{1, 10, 10}));
}

// ConvTranspose's output_shape fixes the pads; an output larger than the pads-free one is
// output_padding at the end; a negative leading pad is refused naming output_shape.
TEST(OnnxParse, ConvTransposeOutputShape) {
  const auto build = [](const Dims& shape, const std::string& pad) {
    onnx::ModelProto m = model({1, 1, 3, 3}, "y");
    initializer(m, "w", {1, 2, 3, 3}, std::vector<float>(18, 1.f));
    onnx::NodeProto* n = node(m, "t", "ConvTranspose", {"x", "w"}, {"y"});
    attr_ints(n, "strides", {3, 2});
    attr_ints(n, "output_shape", shape);
    if (!pad.empty()) attr_string(n, "auto_pad", pad);
    return m;
  };
  // Pads-free output: 3 * 2 + 3 = 9 by 2 * 2 + 3 = 7.
  const OnnxNet net = parse(build({10, 8}, ""));
  EXPECT_EQ(net.layers[0].pads, (Dims{0, 0, 0, 0}));
  EXPECT_EQ(net.layers[0].output_padding_hw, (Dims{1, 1}));
  EXPECT_EQ(net.output_dims, (Dims{2, 10, 8}));
  const OnnxNet smaller = parse(build({6, 5}, ""));
  EXPECT_EQ(smaller.layers[0].pads, (Dims{2, 1, 1, 1}));
  EXPECT_EQ(smaller.output_dims, (Dims{2, 6, 5}));
  const std::string msg = parse_error(build({10, 8}, "SAME_UPPER"));
  EXPECT_NE(msg.find("output_shape"), std::string::npos) << msg;
}

}  // namespace cnnmem
