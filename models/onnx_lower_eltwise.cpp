// Stage 1 of the ONNX import (models/onnx_parse.h): element-wise ops: the activations (Sigmoid,
// Tanh, HardSigmoid, HardSwish, LeakyRelu, Elu, PRelu, Gelu) and the broadcasting binaries
// Add/Sub/Mul/Div (two tensors, or a tensor and a constant operand, as in squeeze-excitation
// blocks and layer scales); on constants only they are folded (onnx_lower_fold.cpp).
// Usage: through Lowering::op_table().
// Not here: the layers (models/onnx_import.cpp), multi-node patterns (onnx_lower_pattern.cpp).
#include <map>

#include "framework/error.h"
#include "models/onnx_parse.h"

namespace cnnmem::onnx_parse {
namespace {

// NumPy broadcasting of two per-sample shapes (aligned on the right); false when they do not
// broadcast.
bool broadcast(const Dims& a, const Dims& b, Dims& out) {
  const size_t n = std::max(a.size(), b.size());
  out.assign(n, 1);
  for (size_t k = 0; k < n; ++k) {
    const int64_t da = k < n - a.size() ? 1 : a[k - (n - a.size())];
    const int64_t db = k < n - b.size() ? 1 : b[k - (n - b.size())];
    if (da != db && da != 1 && db != 1) return false;
    out[k] = std::max(da, db);
  }
  return true;
}

}  // namespace

void Lowering::activation() {
  static const std::map<std::string, OnnxActivation> kinds = {
      {"Sigmoid", OnnxActivation::kSigmoid},
      {"Tanh", OnnxActivation::kTanh},
      {"HardSigmoid", OnnxActivation::kHardSigmoid},
      {"HardSwish", OnnxActivation::kHardSwish},
      {"LeakyRelu", OnnxActivation::kLeakyRelu},
      {"Elu", OnnxActivation::kElu},
      {"PRelu", OnnxActivation::kPRelu},
      {"Gelu", OnnxActivation::kGelu}};
  const std::string& op = node_->op_type();
  OnnxLayerSpec s;
  s.kind = OnnxLayerKind::kActivation;
  s.activation = kinds.at(op);
  if (op == "HardSigmoid") {
    allow_attrs({"alpha", "beta"});
    s.alpha = attr_float("alpha", 0.2f);
    s.beta = attr_float("beta", 0.5f);
  } else if (op == "LeakyRelu" || op == "Elu") {
    allow_attrs({"alpha"});
    s.alpha = attr_float("alpha", op == "Elu" ? 1.0f : 0.01f);
  } else if (op == "Gelu") {
    allow_attrs({"approximate"});
    if (attr_string("approximate", "none") != "none") {
      fail_attr("approximate", "only \"none\" (the exact erf form) is supported");
    }
  } else {
    allow_attrs({});
  }
  expect_io(op == "PRelu" ? 2 : 1, op == "PRelu" ? 2 : 1);
  accept_nhwc_ = op != "PRelu";
  const Value x = runtime(0);
  if (op == "PRelu") {
    const Const& slope = constant(1, "slope");
    const auto n = static_cast<int64_t>(slope.f.size());
    const bool per_channel = x.dims.size() == 3 && n == x.dims[0];
    if (n != 1 && !per_channel) {
      fail("slope " + shape_str(slope.shape) + " must have 1 value or one per channel");
    }
    s.in_channels = n;
    s.name = layer_name(slope.name);
    // The parameter keeps the initializer's name ("act.weight"; "onnx::PRelu_16" when the
    // exporter folded PyTorch's away); PyTorch's PReLU layout [slopes].
    s.weight_name = slope.name.empty() ? s.name + ".weight" : unique_name(slope.name);
    net_.weights.push_back({s.weight_name, {n}, slope.f});
  }
  push(std::move(s), {x.node}, x.dims);
  values_[node_->output(0)].nhwc = x.nhwc;
}

void Lowering::binary() {
  allow_attrs({});
  expect_io(2, 2);
  if (all_inputs_constant()) return fold_arith();
  const std::string& op = node_->op_type();
  if (op == "Add" && matmul_bias()) return;
  OnnxLayerSpec s;
  s.kind = OnnxLayerKind::kBinary;
  s.binary = op == "Add"   ? OnnxBinary::kAdd
             : op == "Sub" ? OnnxBinary::kSub
             : op == "Mul" ? OnnxBinary::kMul
                           : OnnxBinary::kDiv;
  const Const* c0 = maybe_constant(0);
  const Const* c1 = maybe_constant(1);
  Dims out;
  if (c0 == nullptr && c1 == nullptr) {
    const Value a = runtime(0);
    const Value b = runtime(1);
    if (!broadcast(a.dims, b.dims, out)) {
      fail("inputs " + shape_str(a.dims) + " and " + shape_str(b.dims) + " do not broadcast");
    }
    if (op == "Add" && a.dims == b.dims) s.kind = OnnxLayerKind::kAdd;  // residual
    push(std::move(s), {a.node, b.node}, out);
    return;
  }
  s.operand_first = c0 != nullptr;
  const Const& c = s.operand_first ? *c0 : *c1;
  const Value x = runtime(s.operand_first ? 1 : 0);
  if (!c.is_float) fail("the constant operand must be a float tensor");
  // Drop the constant's batch dim (1) when it has the full rank.
  Dims cd = c.shape;
  if (cd.size() == x.dims.size() + 1) {
    if (cd[0] != 1) fail("constant " + shape_str(c.shape) + " has a batch dim other than 1");
    cd.erase(cd.begin());
  }
  if (cd.size() > x.dims.size() || !broadcast(x.dims, cd, out) || out != x.dims) {
    fail("constant " + shape_str(c.shape) + " does not broadcast onto " + shape_str(x.dims));
  }
  s.operand_dims = cd;
  if (!channel_scale(c, x, s)) {
    s.name = layer_name("");
    net_.weights.push_back({s.name + ".operand", cd, c.f});
  }
  push(std::move(s), {x.node}, out);
}

// x * c, c * x or x / c with c of one value or one per channel (C x 1 x 1): a channel scale
// (in_channels set), whose scale is the weight named after the layer. Trainable (operand_param)
// when c is a named initializer of one value per channel multiplied in (ConvNeXt's layer_scale:
// the layer and its parameter keep that name); frozen (a state tensor) otherwise: a constant, a
// single value, or a divisor (its reciprocal is stored). False: not such an op.
bool Lowering::channel_scale(const Const& c, const Value& x, OnnxLayerSpec& s) {
  const bool mul = s.binary == OnnxBinary::kMul;
  if (x.dims.size() != 3 || x.nhwc ||
      !(mul || (s.binary == OnnxBinary::kDiv && !s.operand_first))) {
    return false;
  }
  Dims aligned(3 - std::min<size_t>(3, s.operand_dims.size()), 1);
  aligned.insert(aligned.end(), s.operand_dims.begin(), s.operand_dims.end());
  const int64_t channels = x.dims[0];
  if (aligned[1] != 1 || aligned[2] != 1 || (aligned[0] != 1 && aligned[0] != channels)) {
    return false;
  }
  const bool one = aligned[0] == 1;
  s.operand_param =
      mul && (!one || channels == 1) && !c.name.empty() && c.name.rfind("onnx::", 0) != 0;
  s.in_channels = channels;
  s.name = s.operand_param ? unique_name(c.name) : layer_name("");
  std::vector<float> scale(static_cast<size_t>(channels));
  for (size_t k = 0; k < scale.size(); ++k) {
    const float v = c.f[one ? 0 : k];
    scale[k] = mul ? v : 1.f / v;
  }
  net_.weights.push_back({s.name, {channels, 1, 1}, std::move(scale)});
  return true;
}

}  // namespace cnnmem::onnx_parse
