// Stage 1 of the ONNX import (models/onnx_parse.h): the dense and bookkeeping ops: Gemm, MatMul
// (and the Add that is its bias), Flatten, Reshape to (N, F), BatchNormalization,
// InstanceNormalization, Dropout, Identity, Constant, Relu, Clip and the final Softmax.
// Usage: through Lowering::op_table().
// Not here: the layers (models/onnx_import.cpp), shape arithmetic (onnx_lower_fold.cpp).
#include <cmath>

#include "framework/error.h"
#include "models/onnx_parse.h"

namespace cnnmem::onnx_parse {

void Lowering::gemm(bool matmul) {
  if (matmul) {
    allow_attrs({});
    expect_io(2, 2);
  } else {
    allow_attrs({"alpha", "beta", "transA", "transB"});
    expect_io(2, 3);
  }
  accept_nhwc_ = matmul;
  const Value x = runtime(0);
  if (x.nhwc) return matmul_1x1(x);
  if (x.dims.size() != 1) {
    fail("needs a 2-D (N, features) input, got a sample of " + shape_str(x.dims) +
         " (flatten it first)");
  }
  if (!matmul && attr_int("transA", 0) != 0) fail_attr("transA", "must be 0");
  const Const& b = constant(1, "B");
  if (b.shape.size() != 2) fail("B " + shape_str(b.shape) + " is not a matrix");
  const bool trans_b = !matmul && attr_int("transB", 0) != 0;
  const int64_t in = trans_b ? b.shape[1] : b.shape[0];
  const int64_t out = trans_b ? b.shape[0] : b.shape[1];
  if (in != x.dims[0]) {
    fail("input has " + std::to_string(x.dims[0]) + " features, B " + shape_str(b.shape) +
         " expects " + std::to_string(in));
  }
  if (out <= 0) fail("B " + shape_str(b.shape) + " has no output features");
  const float alpha = matmul ? 1.0f : attr_float("alpha", 1.0f);
  const float beta = matmul ? 1.0f : attr_float("beta", 1.0f);
  // PyTorch's [out, in], scaled by alpha.
  std::vector<float> weight(static_cast<size_t>(in * out));
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t i = 0; i < in; ++i) {
      weight[static_cast<size_t>(o * in + i)] =
          alpha * b.f[static_cast<size_t>(trans_b ? o * in + i : i * out + o)];
    }
  }
  OnnxLayerSpec s;
  s.kind = OnnxLayerKind::kLinear;
  s.in_channels = in;
  s.out_channels = out;
  s.name = layer_name(b.name);
  net_.weights.push_back({s.name + ".weight", {out, in}, std::move(weight)});
  if (!matmul && has_input(2)) {
    const Const& c = constant(2, "C");
    const int64_t n = static_cast<int64_t>(c.f.size());
    const bool vector =
        c.shape.size() <= 2 && (n == out || n == 1) && (c.shape.size() < 2 || c.shape[0] == 1);
    if (!vector) {
      fail("bias C " + shape_str(c.shape) + " is not a vector of " + std::to_string(out) +
           " (or a scalar)");
    }
    std::vector<float> bias(static_cast<size_t>(out));
    for (int64_t o = 0; o < out; ++o) bias[static_cast<size_t>(o)] = beta * c.f[n == 1 ? 0 : o];
    net_.weights.push_back({s.name + ".bias", {out}, std::move(bias)});
    s.bias = true;
  }
  const bool fusable = matmul;
  push(std::move(s), {x.node}, {out});
  if (fusable) matmul_out_[node_->output(0)] = net_.layers.size() - 1;
}

void Lowering::clip() {
  expect_io(1, 3);
  const Value x = runtime(0);
  float lo = -INFINITY, hi = INFINITY;
  if (opset_ < 11) {
    allow_attrs({"min", "max"});
    lo = attr_float("min", lo);
    hi = attr_float("max", hi);
  } else {
    allow_attrs({});
    for (size_t k = 1; k < 3; ++k) {
      if (!has_input(k)) continue;
      const Const& c = constant(k, k == 1 ? "min" : "max");
      if (c.f.size() != 1) fail(std::string(k == 1 ? "min" : "max") + " must be a scalar");
      (k == 1 ? lo : hi) = c.f[0];
    }
  }
  OnnxLayerSpec s;
  if (lo == 0.0f && hi == 6.0f) {
    s.kind = OnnxLayerKind::kRelu6;
  } else if (lo == 0.0f && std::isinf(hi) && hi > 0) {
    s.kind = OnnxLayerKind::kRelu;
  } else {
    fail("Clip(" + std::to_string(lo) + ", " + std::to_string(hi) +
         ") is not supported: only Clip(0, 6) (ReLU6) and Clip(0, inf) (ReLU)");
  }
  push(std::move(s), {x.node}, x.dims);
}

void Lowering::flatten(int64_t axis) {
  const Value x = runtime(0);
  const auto rank = static_cast<int64_t>(x.dims.size()) + 1;  // with the batch
  if (axis < 0) axis += rank;
  if (axis != 1) {
    fail_attr("axis", std::to_string(axis) + " is not supported: only flattening to (N, -1)");
  }
  if (x.dims.size() == 1) {  // already (N, F): no layer
    output(x);
    return;
  }
  if (x.dims.size() != 3) fail("needs an NCHW input, got a sample of " + shape_str(x.dims));
  OnnxLayerSpec s;
  s.kind = OnnxLayerKind::kFlatten;
  push(std::move(s), {x.node}, {shape_product(x.dims)});
}

void Lowering::reshape() {
  allow_attrs({"allowzero"});
  expect_io(2, 2);
  if (maybe_constant(0) != nullptr) return fold_reshape();
  const Value x = runtime(0);
  const Const* shape = maybe_constant(1);
  if (shape == nullptr || shape->is_float) fail("the shape must be a constant INT64 tensor");
  const Dims& t = shape->i;
  // t[0] is the batch (the folded batch symbol, 0, -1 or the exporter's example batch); the rest
  // is resolved against one sample.
  const int64_t features = shape_product(x.dims);
  Dims rest;
  int64_t known = 1, infer = -1;
  bool ok = !t.empty() && (t[0] == kBatch || t[0] >= -1);
  for (size_t k = 1; ok && k < t.size(); ++k) {
    int64_t d = t[k];
    if (d == 0 && attr_int("allowzero", 0) == 0 && k - 1 < x.dims.size()) d = x.dims[k - 1];
    if (d == -1 && infer < 0 && t[0] != -1) {
      infer = static_cast<int64_t>(rest.size());
    } else if (d <= 0) {
      ok = false;
    } else {
      known *= d;
    }
    rest.push_back(d);
  }
  if (ok && infer >= 0) {
    ok = known > 0 && features % known == 0;
    if (ok) rest[static_cast<size_t>(infer)] = features / known;
  }
  ok = ok && shape_product(rest) == features;
  if (ok && rest == x.dims) return output(x);
  if (!ok || rest != Dims{features}) {
    fail("Reshape to " + shape_str(t) + " is not supported: only to (N, " +
         std::to_string(features) + ") or (N, -1)");
  }
  flatten(1);
}

// MatMul of a channels-last (N, H, W, C) tensor by a constant [C, OC]: a 1x1 convolution of the
// (N, C, H, W) tensor (as ConvNeXt's Linear layers inside its blocks).
void Lowering::matmul_1x1(const Value& x) {
  const Const& b = constant(1, "B");
  if (b.shape.size() != 2 || b.shape[0] != x.dims[0]) {
    fail("B " + shape_str(b.shape) + " does not multiply " + std::to_string(x.dims[0]) +
         " channels");
  }
  const int64_t in = b.shape[0], out = b.shape[1];
  std::vector<float> weight(static_cast<size_t>(in * out));
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t i = 0; i < in; ++i) {
      weight[static_cast<size_t>(o * in + i)] = b.f[static_cast<size_t>(i * out + o)];
    }
  }
  OnnxLayerSpec s;
  s.kind = OnnxLayerKind::kConv;
  s.in_channels = in;
  s.out_channels = out;
  s.name = layer_name(b.name);
  net_.weights.push_back({s.name + ".weight", {out, in, 1, 1}, std::move(weight)});
  push(std::move(s), {x.node}, {out, x.dims[1], x.dims[2]});
  values_[node_->output(0)].nhwc = true;
  matmul_out_[node_->output(0)] = net_.layers.size() - 1;
}

// A MatMul's bias: MatMul(x, W) + b. False when the Add is not one.
bool Lowering::matmul_bias() {
  const Const* c0 = maybe_constant(0);
  const Const* c1 = maybe_constant(1);
  const size_t k = c0 == nullptr ? 0 : 1;
  const Const* c = c0 == nullptr ? c1 : c0;
  auto it = has_input(k) ? matmul_out_.find(input(k)) : matmul_out_.end();
  if (c == nullptr || it == matmul_out_.end() || uses_[input(k)] != 1) return false;
  OnnxLayerSpec& s = net_.layers[it->second];
  if (!c->is_float || static_cast<int64_t>(c->f.size()) != s.out_channels || c->shape.empty() ||
      c->shape.back() != s.out_channels) {
    fail("bias " + shape_str(c->shape) + " is not a vector of " + std::to_string(s.out_channels));
  }
  s.bias = true;
  net_.weights.push_back({s.name + ".bias", {s.out_channels}, c->f});
  matmul_out_.erase(it);
  output(values_.at(input(k)));
  return true;
}

void Lowering::batch_norm() {
  allow_attrs({"epsilon", "momentum", "training_mode", "spatial"});
  expect_io(5, 5);
  if (attr_int("training_mode", 0) != 0) {
    fail_attr("training_mode", "1 is not supported: export the model in eval mode");
  }
  if (attr_int("spatial", 1) != 1) fail_attr("spatial", "0 is not supported");
  const Value x = runtime(0);
  if (x.dims.size() != 3) fail("needs an NCHW input, got a sample of " + shape_str(x.dims));
  const int64_t channels = x.dims[0];
  static constexpr const char* kInputs[] = {"", "scale", "B", "mean", "var"};
  static constexpr const char* kNames[] = {"", "weight", "bias", "running_mean", "running_var"};
  OnnxLayerSpec s;
  s.kind = OnnxLayerKind::kBatchNorm;
  s.in_channels = channels;
  s.eps = attr_float("epsilon", 1e-5f);
  if (!(s.eps > 0) || s.eps > 1) fail_attr("epsilon", "must be in (0, 1]");
  const float momentum = attr_float("momentum", 0.9f);
  if (!(momentum >= 0 && momentum <= 1)) fail_attr("momentum", "must be in [0, 1]");
  s.name = layer_name(constant(1, "scale").name);
  for (size_t k = 1; k < 5; ++k) {
    const Const& c = constant(k, kInputs[k]);
    if (c.shape != Dims{channels}) {
      fail(std::string(kInputs[k]) + " " + shape_str(c.shape) + " is not a vector of " +
           std::to_string(channels));
    }
    net_.weights.push_back({s.name + "." + kNames[k], {channels}, c.f});
  }
  net_.weights.push_back({s.name + ".num_batches_tracked", {}, {0.0f}});
  // cnnmem's momentum is PyTorch's, the weight of the new batch statistics; ONNX's is the
  // weight of the running ones.
  s.momentum = 1.0 - momentum;
  push(std::move(s), {x.node}, x.dims);
}

void Lowering::relu() {
  allow_attrs({});
  expect_io(1, 1);
  OnnxLayerSpec s;
  s.kind = OnnxLayerKind::kRelu;
  accept_nhwc_ = true;
  const Value x = runtime(0);
  push(std::move(s), {x.node}, x.dims);
  values_[node_->output(0)].nhwc = x.nhwc;
}

void Lowering::flatten_op() {
  allow_attrs({"axis"});
  expect_io(1, 1);
  if (maybe_constant(0) != nullptr) fail("flattening a constant is not supported");
  flatten(attr_int("axis", 1));
}

void Lowering::identity() {
  allow_attrs({});
  expect_io(1, 1);
  if (const Const* c = maybe_constant(0)) {
    // An alias of a parameter (the exporter's deduplication of equal tensors) is named after
    // the parameter it stands for.
    Const alias = *c;
    consts_[node_->output(0)] = alias;
    if (!c->name.empty()) consts_[node_->output(0)].name = node_->output(0);
    return;
  }
  accept_nhwc_ = true;
  output(runtime(0));
}

// InstanceNormalization: statistics per sample and channel, scale and bias per channel.
void Lowering::instance_norm() {
  allow_attrs({"epsilon"});
  expect_io(3, 3);
  const Value x = runtime(0);
  if (x.dims.size() != 3) fail("needs an NCHW input, got a sample of " + shape_str(x.dims));
  OnnxLayerSpec s;
  s.kind = OnnxLayerKind::kInstanceNorm;
  s.in_channels = x.dims[0];
  s.eps = attr_float("epsilon", 1e-5f);
  if (!(s.eps > 0) || s.eps > 1) fail_attr("epsilon", "must be in (0, 1]");
  const Const& scale = constant(1, "scale");
  const Const& bias = constant(2, "B");
  if (scale.shape != Dims{s.in_channels} || bias.shape != Dims{s.in_channels}) {
    fail("scale and B must be vectors of " + std::to_string(s.in_channels));
  }
  s.name = layer_name(scale.name);
  s.bias = true;
  net_.weights.push_back({s.name + ".weight", scale.shape, scale.f});
  net_.weights.push_back({s.name + ".bias", bias.shape, bias.f});
  push(std::move(s), {x.node}, x.dims);
}

void Lowering::dropout() {
  allow_attrs({"ratio", "seed", "is_test"});
  if (input_count() < 1 || input_count() > 3) fail("expects 1 to 3 inputs");
  if (has_input(2)) {
    const Const* mode = maybe_constant(2);
    if (mode == nullptr || mode->is_float || mode->i.size() != 1) {
      fail("training_mode must be a constant boolean");
    }
    if (mode->i[0] != 0) fail("training_mode true is not supported: export in eval mode");
  }
  for (int o = 1; o < node_->output_size(); ++o) {
    if (!node_->output(o).empty() && uses_[node_->output(o)] > 0) {
      fail("its mask output is used; cnnmem imports dropout as the identity of an eval export");
    }
  }
  if (node_->output_size() < 1 || node_->output(0).empty()) fail("has no output");
  accept_nhwc_ = true;
  output(runtime(0));
}

void Lowering::constant_node() {
  allow_attrs({"value", "value_float", "value_floats", "value_int", "value_ints"});
  if (node_->attribute_size() != 1) fail("needs exactly one value attribute");
  if (node_->output_size() != 1 || node_->output(0).empty()) fail("needs one output");
  const onnx::AttributeProto& a = node_->attribute(0);
  Const c;
  if (a.name() == "value") {
    if (a.type() != onnx::AttributeProto::TENSOR) fail_attr("value", "must be a tensor");
    c = read_tensor(a.t(), source_ + ": node \"" + node_name_ + "\" (Constant): value");
  } else if (a.name() == "value_float" && a.type() == onnx::AttributeProto::FLOAT) {
    c.f = {a.f()};
  } else if (a.name() == "value_floats" && a.type() == onnx::AttributeProto::FLOATS) {
    c.f.assign(a.floats().begin(), a.floats().end());
    c.shape = {static_cast<int64_t>(c.f.size())};
  } else if (a.name() == "value_int" && a.type() == onnx::AttributeProto::INT) {
    c.is_float = false;
    c.i = {a.i()};
  } else if (a.name() == "value_ints" && a.type() == onnx::AttributeProto::INTS) {
    c.is_float = false;
    c.i.assign(a.ints().begin(), a.ints().end());
    c.shape = {static_cast<int64_t>(c.i.size())};
  } else {
    fail_attr(a.name(), "has the wrong type");
  }
  c.name.clear();
  consts_[node_->output(0)] = std::move(c);
}

void Lowering::softmax() {
  allow_attrs({"axis"});
  expect_io(1, 1);
  const Value x = runtime(0);
  if (node_->output(0) != output_name_) {
    fail("is supported only as the last op (cnnmem's loss applies softmax to the logits)");
  }
  if (x.dims.size() != 1) fail("needs (N, classes) logits, got a sample of " + shape_str(x.dims));
  const int64_t axis = attr_int("axis", opset_ >= 13 ? -1 : 1);
  if (axis != 1 && axis != -1) fail_attr("axis", std::to_string(axis) + " must be 1 (classes)");
  net_.dropped_output_op = node_->op_type();
  output(x);
}

}  // namespace cnnmem::onnx_parse
