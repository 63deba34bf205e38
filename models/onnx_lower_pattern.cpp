// Stage 1 of the ONNX import (models/onnx_parse.h): multi-node patterns of torch.onnx.export
// (opset 13) recognised as one layer spec, matched from their first node:
//   GELU        Div(x, sqrt 2) Erf Add(1) Mul(x) Mul(0.5)                       -> activation
//   SiLU        Sigmoid(x) Mul(x)                                               -> activation
//   HardSwish   HardSigmoid(x; 1/6, 1/2) Mul(x)                                 -> activation
//   LayerNorm   ReduceMean(x, last axis of NHWC or C of NCHW) Sub Pow(2) ReduceMean
//               Add(eps) Sqrt Div [Mul(weight) Add(bias)]                        -> layer norm
//   shuffle     Reshape(x, N g C/g H W) Transpose(0 2 1 3 4) Reshape(N C H W)    -> shuffle
//   GroupNorm   Reshape(x, N g -1) InstanceNormalization(1, 0) Reshape(Shape x)
//               [Mul(weight) Add(bias)]                                          -> group norm
// Every intermediate result must have the pattern's next node as its only reader; otherwise the
// pattern does not match and the nodes are lowered one by one (and usually refused).
// Usage: through Lowering::pattern_table().
// Not here: single-node ops.
#include <cmath>

#include "framework/error.h"
#include "models/onnx_parse.h"

namespace cnnmem::onnx_parse {

int Lowering::sole_reader(const std::string& value, const char* op) const {
  auto it = readers_of_.find(value);
  auto uses = uses_.find(value);
  if (it == readers_of_.end() || it->second.size() != 1 || uses == uses_.end() ||
      uses->second != 1) {
    return -1;
  }
  const int k = it->second[0];
  return graph_.node(k).op_type() == op && graph_.node(k).output_size() >= 1 ? k : -1;
}

void Lowering::finish_pattern(const std::vector<int>& nodes, int last) {
  const Value v = values_.at(node_->output(0));
  values_.erase(node_->output(0));
  values_[graph_.node(last).output(0)] = v;
  for (int k : nodes) consumed_.insert(k);
}

namespace {

// The input of binary node `n` that is not `known` ("" when neither or both are).
std::string other_input(const onnx::NodeProto& n, const std::string& known) {
  if (n.input_size() != 2) return "";
  if (n.input(0) == known && n.input(1) != known) return n.input(1);
  if (n.input(1) == known && n.input(0) != known) return n.input(0);
  return "";
}

}  // namespace

bool Lowering::gelu_pattern() {
  const Const* root2 = maybe_constant(1);
  if (input_count() != 2 || root2 == nullptr || root2->size() != 1 ||
      std::abs(root2->at(0) - std::sqrt(2.0)) > 1e-4 || values_.count(input(0)) == 0) {
    return false;
  }
  const std::string x = input(0);
  const int erf = sole_reader(node_->output(0), "Erf");
  const int add = erf < 0 ? -1 : sole_reader(node_at(erf).output(0), "Add");
  const Const* one =
      add < 0 ? nullptr : constant_named(other_input(node_at(add), node_at(erf).output(0)));
  const int mul = one == nullptr ? -1 : sole_reader(node_at(add).output(0), "Mul");
  if (one == nullptr || one->size() != 1 || one->at(0) != 1.0 || mul < 0 ||
      other_input(node_at(mul), node_at(add).output(0)) != x) {
    return false;
  }
  const int half = sole_reader(node_at(mul).output(0), "Mul");
  const Const* c =
      half < 0 ? nullptr : constant_named(other_input(node_at(half), node_at(mul).output(0)));
  if (c == nullptr || c->size() != 1 || c->at(0) != 0.5) return false;
  accept_nhwc_ = true;
  const Value v = runtime(0);
  OnnxLayerSpec s;
  s.kind = OnnxLayerKind::kActivation;
  s.activation = OnnxActivation::kGelu;
  push(std::move(s), {v.node}, v.dims);
  values_[node_->output(0)].nhwc = v.nhwc;
  finish_pattern({erf, add, mul, half}, half);
  return true;
}

bool Lowering::self_gate_pattern() {
  if (input_count() != 1 || values_.count(input(0)) == 0) return false;
  const bool hard = node_->op_type() == "HardSigmoid";
  if (hard &&
      (std::abs(attr_float("alpha", 0.2f) - 1.0 / 6) > 1e-6 || attr_float("beta", 0.5f) != 0.5f)) {
    return false;
  }
  const int mul = sole_reader(node_->output(0), "Mul");
  if (mul < 0 || other_input(node_at(mul), node_->output(0)) != input(0)) return false;
  accept_nhwc_ = true;
  const Value v = runtime(0);
  OnnxLayerSpec s;
  s.kind = OnnxLayerKind::kActivation;
  s.activation = hard ? OnnxActivation::kHardSwish : OnnxActivation::kSilu;
  push(std::move(s), {v.node}, v.dims);
  values_[node_->output(0)].nhwc = v.nhwc;
  finish_pattern({mul}, mul);
  return true;
}

bool Lowering::layer_norm_pattern() {
  auto xv = values_.find(input(0));
  if (xv == values_.end() || xv->second.dims.size() != 3) return false;
  const Dims axes = attr_ints("axes");
  const bool nhwc = xv->second.nhwc;
  if (!(nhwc ? (axes == Dims{-1} || axes == Dims{3}) : axes == Dims{1}) ||
      attr_int("keepdims", 1) != 1) {
    return false;
  }
  const std::string x = input(0);
  const int sub = sole_reader(node_->output(0), "Sub");
  if (sub < 0 || node_at(sub).input(0) != x) return false;
  const std::string d = node_at(sub).output(0);
  auto dr = readers_of_.find(d);
  if (dr == readers_of_.end() || dr->second.size() != 2 || uses_[d] != 2) return false;
  const int pow = graph_.node(dr->second[0]).op_type() == "Pow" ? dr->second[0] : dr->second[1];
  const int div = pow == dr->second[0] ? dr->second[1] : dr->second[0];
  const Const* two = constant_named(node_at(pow).input_size() == 2 ? node_at(pow).input(1) : "");
  if (node_at(pow).op_type() != "Pow" || two == nullptr || two->size() != 1 || two->at(0) != 2) {
    return false;
  }
  const int mean2 = sole_reader(node_at(pow).output(0), "ReduceMean");
  const int add = mean2 < 0 ? -1 : sole_reader(node_at(mean2).output(0), "Add");
  const Const* eps =
      add < 0 ? nullptr : constant_named(other_input(node_at(add), node_at(mean2).output(0)));
  const int sqrt = eps == nullptr ? -1 : sole_reader(node_at(add).output(0), "Sqrt");
  if (sqrt < 0 || eps->size() != 1 || !(eps->at(0) > 0) ||
      sole_reader(node_at(sqrt).output(0), "Div") != div || node_at(div).input(0) != d) {
    return false;
  }
  std::vector<int> nodes = {sub, pow, mean2, add, sqrt, div};
  int last = div;
  const int64_t channels = xv->second.dims[0];
  const int mul = sole_reader(node_at(div).output(0), "Mul");
  const Const* w =
      mul < 0 ? nullptr : constant_named(other_input(node_at(mul), node_at(div).output(0)));
  const int bias = w == nullptr ? -1 : sole_reader(node_at(mul).output(0), "Add");
  const Const* b =
      bias < 0 ? nullptr : constant_named(other_input(node_at(bias), node_at(mul).output(0)));
  const bool affine = b != nullptr && w->is_float && b->is_float &&
                      static_cast<int64_t>(w->size()) == channels &&
                      static_cast<int64_t>(b->size()) == channels;
  OnnxLayerSpec s;
  s.kind = OnnxLayerKind::kLayerNorm;
  s.in_channels = channels;
  s.eps = eps->at(0);
  s.name = layer_name(affine ? w->name : "");
  s.bias = affine;
  if (affine) {
    nodes.insert(nodes.end(), {mul, bias});
    last = bias;
    net_.weights.push_back({s.name + ".weight", {channels}, w->f});
    net_.weights.push_back({s.name + ".bias", {channels}, b->f});
  }
  accept_nhwc_ = true;
  const Value v = runtime(0);
  push(std::move(s), {v.node}, v.dims);
  values_[node_->output(0)].nhwc = nhwc;
  finish_pattern(nodes, last);
  return true;
}

bool Lowering::shuffle_pattern() {
  auto xv = values_.find(input(0));
  const Const* s1 = maybe_constant(1);
  if (xv == values_.end() || xv->second.nhwc || xv->second.dims.size() != 3 || s1 == nullptr ||
      s1->is_float || s1->i.size() != 5) {
    return false;
  }
  const Dims& x = xv->second.dims;
  const int64_t groups = s1->i[1];
  if (groups <= 1 || x[0] % groups != 0 || s1->i[2] != x[0] / groups || s1->i[3] != x[1] ||
      s1->i[4] != x[2]) {
    return false;
  }
  const int t = sole_reader(node_->output(0), "Transpose");
  if (t < 0) return false;
  const onnx::AttributeProto* perm = nullptr;
  for (const onnx::AttributeProto& a : node_at(t).attribute()) {
    perm = a.name() == "perm" ? &a : perm;
  }
  if (perm == nullptr || Dims(perm->ints().begin(), perm->ints().end()) != Dims{0, 2, 1, 3, 4}) {
    return false;
  }
  const int back = sole_reader(node_at(t).output(0), "Reshape");
  const Const* s2 = back < 0 || node_at(back).input_size() != 2
                        ? nullptr
                        : constant_ahead(node_at(back).input(1));
  if (s2 == nullptr || s2->is_float || s2->i.size() != 4 || s2->i[2] != x[1] || s2->i[3] != x[2] ||
      (s2->i[1] != x[0] && s2->i[1] != -1)) {
    return false;
  }
  OnnxLayerSpec s;
  s.kind = OnnxLayerKind::kChannelShuffle;
  s.groups = groups;
  push(std::move(s), {xv->second.node}, x);
  finish_pattern({t, back}, back);
  return true;
}

bool Lowering::group_norm_pattern() {
  auto xv = values_.find(input(0));
  const Const* s1 = maybe_constant(1);
  if (xv == values_.end() || xv->second.nhwc || xv->second.dims.size() != 3 || s1 == nullptr ||
      s1->is_float || s1->i.size() != 3 || s1->i[2] != -1) {
    return false;
  }
  const std::string x = input(0);
  const int64_t channels = xv->second.dims[0], groups = s1->i[1];
  const int in = sole_reader(node_->output(0), "InstanceNormalization");
  if (groups <= 0 || channels % groups != 0 || in < 0 || node_at(in).input_size() != 3) {
    return false;
  }
  const Const* scale = constant_named(node_at(in).input(1));
  const Const* shift = constant_named(node_at(in).input(2));
  for (const Const* c : {scale, shift}) {
    if (c == nullptr || static_cast<int64_t>(c->size()) != groups) return false;
    for (size_t k = 0; k < c->size(); ++k) {
      if (c->at(k) != (c == scale ? 1.0 : 0.0)) return false;
    }
  }
  const int back = sole_reader(node_at(in).output(0), "Reshape");
  if (back < 0) return false;
  auto shape = producer_.find(node_at(back).input(1));
  const bool shape_of_x = shape != producer_.end() && node_at(shape->second).op_type() == "Shape" &&
                          node_at(shape->second).input(0) == x &&
                          node_at(shape->second).attribute_size() == 0;
  if (!shape_of_x) return false;
  float eps = 1e-5f;
  for (const onnx::AttributeProto& a : node_at(in).attribute()) {
    eps = a.name() == "epsilon" ? a.f() : eps;
  }
  OnnxLayerSpec s;
  s.kind = OnnxLayerKind::kGroupNorm;
  s.groups = groups;
  s.in_channels = channels;
  s.eps = eps;
  std::vector<int> nodes = {in, back};
  int last = back;
  const int mul = sole_reader(node_at(back).output(0), "Mul");
  const Const* w =
      mul < 0 ? nullptr : constant_named(other_input(node_at(mul), node_at(back).output(0)));
  const int add = w == nullptr ? -1 : sole_reader(node_at(mul).output(0), "Add");
  const Const* b =
      add < 0 ? nullptr : constant_named(other_input(node_at(add), node_at(mul).output(0)));
  s.name = layer_name("");
  if (b != nullptr && w->is_float && b->is_float && static_cast<int64_t>(w->size()) == channels &&
      static_cast<int64_t>(b->size()) == channels) {
    s.bias = true;
    nodes.insert(nodes.end(), {mul, add});
    last = add;
    net_.weights.push_back({s.name + ".weight", {channels}, w->f});
    net_.weights.push_back({s.name + ".bias", {channels}, b->f});
  }
  push(std::move(s), {xv->second.node}, xv->second.dims);
  finish_pattern(nodes, last);
  return true;
}

}  // namespace cnnmem::onnx_parse
