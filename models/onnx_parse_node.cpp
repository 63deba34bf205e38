// Stage 1 of the ONNX import (models/onnx_parse.h): what every op's lowering uses on its node:
// one-line messages naming the node, attributes, inputs (runtime tensors or constants), and
// pushing a layer spec.
// Usage: inside a Lowering member, `allow_attrs({"axis"}); expect_io(1, 1); runtime(0)`.
// Not here: the ops (onnx_lower_*.cpp), the graph walk (onnx_parse_graph.cpp).
#include "framework/error.h"
#include "models/onnx_parse.h"

namespace cnnmem::onnx_parse {

void Lowering::fail(const std::string& msg) const {
  throw Error(source_ + ": node \"" + node_name_ + "\" (" + node_->op_type() + "): " + msg);
}

void Lowering::fail_attr(const std::string& attr, const std::string& msg) const {
  fail("attribute " + attr + ": " + msg);
}

const onnx::AttributeProto* Lowering::attr(const std::string& name) const {
  for (const onnx::AttributeProto& a : node_->attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

void Lowering::allow_attrs(std::initializer_list<const char*> names) const {
  for (const onnx::AttributeProto& a : node_->attribute()) {
    bool ok = false;
    for (const char* n : names) ok = ok || a.name() == n;
    if (!ok) fail_attr(a.name(), "is not supported by cnnmem's importer");
  }
}

int64_t Lowering::attr_int(const std::string& name, int64_t fallback) const {
  const onnx::AttributeProto* a = attr(name);
  if (a == nullptr) return fallback;
  if (a->type() != onnx::AttributeProto::INT) fail_attr(name, "must be an integer");
  return a->i();
}

float Lowering::attr_float(const std::string& name, float fallback) const {
  const onnx::AttributeProto* a = attr(name);
  if (a == nullptr) return fallback;
  if (a->type() != onnx::AttributeProto::FLOAT) fail_attr(name, "must be a float");
  return a->f();
}

std::string Lowering::attr_string(const std::string& name, const std::string& fallback) const {
  const onnx::AttributeProto* a = attr(name);
  if (a == nullptr) return fallback;
  if (a->type() != onnx::AttributeProto::STRING) fail_attr(name, "must be a string");
  return a->s();
}

Dims Lowering::attr_ints(const std::string& name) const {
  const onnx::AttributeProto* a = attr(name);
  if (a == nullptr) return {};
  if (a->type() != onnx::AttributeProto::INTS) fail_attr(name, "must be a list of integers");
  return Dims(a->ints().begin(), a->ints().end());
}

size_t Lowering::input_count() const {
  size_t n = static_cast<size_t>(node_->input_size());
  while (n > 0 && node_->input(static_cast<int>(n - 1)).empty()) --n;
  return n;
}

const Value& Lowering::runtime(size_t k) const {
  if (!has_input(k)) fail("input " + std::to_string(k) + " is missing");
  auto it = values_.find(input(k));
  if (it == values_.end()) {
    fail("input \"" + input(k) + "\" is a constant; cnnmem needs a tensor computed from the " +
         "model's input here");
  }
  if (it->second.nhwc && !accept_nhwc_) {
    fail("input \"" + input(k) +
         "\" is channels-last (transposed to NHWC); cnnmem follows such "
         "a tensor only through element-wise ops, MatMul and LayerNorm until it is transposed "
         "back");
  }
  return it->second;
}

const Const* Lowering::maybe_constant(size_t k) const {
  if (!has_input(k)) return nullptr;
  auto it = consts_.find(input(k));
  return it == consts_.end() ? nullptr : &it->second;
}

const Const& Lowering::constant(size_t k, const char* what) const {
  const Const* c = maybe_constant(k);
  if (c == nullptr) {
    fail(std::string("input ") + std::to_string(k) + " (" + what +
         ") must be a constant (an initializer), got a computed tensor");
  }
  if (!c->is_float) fail(std::string("input ") + what + " must be a float tensor");
  return *c;
}

void Lowering::expect_io(size_t min_in, size_t max_in) const {
  const size_t n = input_count();
  if (n < min_in || n > max_in) {
    fail("has " + std::to_string(n) + " inputs, expected " + std::to_string(min_in) +
         (min_in == max_in ? "" : " to " + std::to_string(max_in)));
  }
  int outputs = 0;
  for (const std::string& o : node_->output()) outputs += !o.empty();
  if (outputs != 1 || node_->output(0).empty()) {
    fail("has " + std::to_string(outputs) + " outputs; cnnmem supports the single-output form");
  }
}

const Const* Lowering::constant_named(const std::string& name) const {
  auto it = consts_.find(name);
  return it == consts_.end() ? nullptr : &it->second;
}

bool Lowering::all_inputs_constant() const {
  for (size_t k = 0; k < input_count(); ++k) {
    if (has_input(k) && maybe_constant(k) == nullptr) return false;
  }
  return input_count() > 0;
}

void Lowering::output(const Value& v) { values_[node_->output(0)] = v; }

void Lowering::output_const(Const c) {
  c.name.clear();
  consts_[node_->output(0)] = std::move(c);
}

void Lowering::check_dims(const Dims& dims) const {
  try {
    checked_product(dims, kMaxValue, "output " + shape_str(dims));
  } catch (const Error& e) {
    fail(e.what());
  }
  for (int64_t d : dims) {
    if (d <= 0) fail("output " + shape_str(dims) + " is empty");
  }
}

std::string Lowering::layer_name(const std::string& weight_name) {
  const std::string suffix = ".weight";
  std::string base;
  if (weight_name.size() > suffix.size() &&
      weight_name.compare(weight_name.size() - suffix.size(), suffix.size(), suffix) == 0) {
    base = weight_name.substr(0, weight_name.size() - suffix.size());
  } else {
    base = node_name_;
  }
  return unique_name(base);
}

std::string Lowering::unique_name(const std::string& raw) {
  const std::string base = printable(raw);
  const auto taken = [&](const std::string& n) {
    if (names_.count(n) > 0) return true;
    for (const NamedTensor& w : net_.weights) {
      if (w.name == n) return true;
    }
    return false;
  };
  std::string name = base;
  for (int k = 2; taken(name); ++k) name = base + "_" + std::to_string(k);
  names_.insert(name);
  return name;
}

int Lowering::push(OnnxLayerSpec spec, const std::vector<int>& inputs, Dims dims) {
  check_dims(dims);
  if (spec.name.empty()) spec.name = layer_name("");
  spec.inputs = inputs;
  spec.onnx_node = node_name_;
  spec.onnx_op = node_->op_type();
  spec.dims = std::move(dims);
  net_.layers.push_back(std::move(spec));
  const int id = static_cast<int>(net_.layers.size());
  output({id, net_.layers.back().dims});
  return id;
}

}  // namespace cnnmem::onnx_parse
