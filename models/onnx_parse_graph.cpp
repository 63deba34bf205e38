// Stage 1 of the ONNX import (models/onnx_import.h): protobuf bytes -> checked cnnmem layer
// specs and weights. Needs protobuf and ONNX's generated classes, not oneDNN (fuzz/onnx_fuzz.cpp
// runs it alone).
//
// Steps:
//   1. Parse the ModelProto; find the default-domain opset, the one runtime input and output.
//   2. Read initializers as constants.
//   3. Order the nodes topologically (Kahn); a name nobody produces is a dangling input, nodes
//      left over form a cycle. Constant nodes are read first (patterns look at them ahead).
//   4. Lower each node through Lowering::op_table() (onnx_parse_ops.cpp), after trying the
//      patterns that start with its op: a layer spec, an alias (Identity, Dropout, flattening
//      of a flat tensor, the final Softmax) or a constant (shape arithmetic is folded),
//      checking attributes and chaining shapes.
//   5. Check that every layer is used and the output is the last one; count the convolutions
//      with a BatchNorm folded in.
// Not here: the ops (onnx_lower_*.cpp), layers, oneDNN, the Graph (models/onnx_import.cpp).
#include <algorithm>
#include <set>

#include "framework/error.h"
#include "models/onnx_parse.h"

namespace cnnmem {
namespace onnx_parse {

std::string Lowering::label(int k) const {
  const onnx::NodeProto& node = graph_.node(k);
  return node.name().empty() ? node.op_type() + "_" + std::to_string(k) : node.name();
}

void Lowering::read_opset_and_constants() {
  net_.name = printable(graph_.name().empty() ? source_ : graph_.name());
  for (const onnx::OperatorSetIdProto& o : model_.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") opset_ = o.version();
  }
  if (opset_ < 1 || opset_ > 18) {
    throw Error(source_ + ": default-domain opset " + std::to_string(opset_) +
                " is missing or not supported (1 to 18)");
  }
  for (const onnx::TensorProto& t : graph_.initializer()) {
    if (t.name().empty()) throw Error(source_ + ": an initializer has no name");
    if (consts_.count(t.name()) > 0) {
      throw Error(source_ + ": initializer \"" + t.name() + "\" is defined twice");
    }
    consts_[t.name()] = read_tensor(t, source_ + ": initializer \"" + t.name() + "\"");
  }
}

void Lowering::read_input_and_output() {
  const onnx::ValueInfoProto* in = nullptr;
  for (const onnx::ValueInfoProto& v : graph_.input()) {
    if (consts_.count(v.name()) > 0) continue;
    if (in != nullptr) {
      throw Error(source_ + ": inputs \"" + in->name() + "\" and \"" + v.name() +
                  "\" are not initializers; cnnmem models take one input");
    }
    in = &v;
  }
  if (in == nullptr) throw Error(source_ + ": the graph has no input");
  if (!in->type().has_tensor_type() ||
      in->type().tensor_type().elem_type() != onnx::TensorProto::FLOAT ||
      !in->type().tensor_type().has_shape()) {
    throw Error(source_ + ": input \"" + in->name() + "\" is not a float tensor of known shape");
  }
  const auto& shape = in->type().tensor_type().shape();
  if (shape.dim_size() != 4) {
    throw Error(source_ + ": input \"" + in->name() + "\" has rank " +
                std::to_string(shape.dim_size()) + "; cnnmem models take (N, C, H, W) images");
  }
  for (int d = 1; d < shape.dim_size(); ++d) {
    const int64_t v = shape.dim(d).has_dim_value() ? shape.dim(d).dim_value() : 0;
    if (v <= 0 || v > (int64_t{1} << 24)) {
      throw Error(source_ + ": input \"" + in->name() + "\" dim " + std::to_string(d) +
                  " must be a fixed size between 1 and 2^24 (only the batch may vary)");
    }
    net_.input_dims.push_back(v);
  }
  checked_product(net_.input_dims, int64_t{1} << 31, source_ + ": input \"" + in->name() + "\"");
  values_[in->name()] = {0, net_.input_dims};
  if (graph_.output_size() != 1) {
    throw Error(source_ + ": the graph has " + std::to_string(graph_.output_size()) +
                " outputs; cnnmem models have one");
  }
  output_name_ = graph_.output(0).name();
  uses_[output_name_] += 1;
}

std::vector<int> Lowering::topological_order() {
  const int n = graph_.node_size();
  for (int k = 0; k < n; ++k) {
    for (const std::string& o : graph_.node(k).output()) {
      if (o.empty()) continue;
      if (producer_.count(o) > 0 || consts_.count(o) > 0 || values_.count(o) > 0) {
        throw Error(source_ + ": node \"" + label(k) + "\" (" + graph_.node(k).op_type() +
                    "): output \"" + o + "\" is defined twice");
      }
      producer_[o] = k;
    }
  }
  std::vector<int> waiting(static_cast<size_t>(n), 0);
  std::vector<std::vector<int>> readers(static_cast<size_t>(n));
  for (int k = 0; k < n; ++k) {
    for (const std::string& i : graph_.node(k).input()) {
      if (i.empty()) continue;
      uses_[i] += 1;
      readers_of_[i].push_back(k);
      auto p = producer_.find(i);
      if (p != producer_.end()) {
        waiting[static_cast<size_t>(k)] += 1;
        readers[static_cast<size_t>(p->second)].push_back(k);
      } else if (consts_.count(i) == 0 && values_.count(i) == 0) {
        throw Error(source_ + ": node \"" + label(k) + "\" (" + graph_.node(k).op_type() +
                    "): input \"" + i + "\" is produced by no node, initializer or graph input");
      }
    }
  }
  if (producer_.count(output_name_) == 0 && values_.count(output_name_) == 0) {
    throw Error(source_ + ": the graph output \"" + output_name_ + "\" is produced by no node");
  }
  std::vector<int> order, ready;
  for (int k = n - 1; k >= 0; --k) {
    if (waiting[static_cast<size_t>(k)] == 0) ready.push_back(k);
  }
  while (!ready.empty()) {
    const int k = ready.back();
    ready.pop_back();
    order.push_back(k);
    for (int r : readers[static_cast<size_t>(k)]) {
      if (--waiting[static_cast<size_t>(r)] == 0) ready.push_back(r);
    }
  }
  if (static_cast<int>(order.size()) != n) {
    for (int k = 0; k < n; ++k) {
      if (waiting[static_cast<size_t>(k)] > 0) {
        throw Error(source_ + ": node \"" + label(k) + "\" (" + graph_.node(k).op_type() +
                    ") is part of a cycle; an ONNX graph must be acyclic");
      }
    }
  }
  return order;
}

void Lowering::lower_node() {
  if (!node_->domain().empty() && node_->domain() != "ai.onnx") {
    fail("domain \"" + node_->domain() + "\" is not supported (only the default ONNX domain)");
  }
  const std::string& op = node_->op_type();
  accept_nhwc_ = false;
  const auto patterns = pattern_table().equal_range(op);
  for (auto p = patterns.first; p != patterns.second; ++p) {
    if ((this->*(p->second))()) return;
  }
  const auto& table = op_table();
  auto it = table.find(op);
  if (it == table.end()) {
    std::string known;
    for (const auto& entry : table) known += (known.empty() ? "" : ", ") + entry.first;
    fail("op " + op + " is not supported (supported: " + known +
         "; Softmax/LogSoftmax at the end only)");
  }
  (this->*(it->second))();
}

void Lowering::check_result() {
  auto out = values_.find(output_name_);
  if (out == values_.end()) {
    throw Error(source_ + ": the graph output \"" + output_name_ +
                "\" is a constant, not computed from the input");
  }
  if (out->second.node != static_cast<int>(net_.layers.size())) {
    throw Error(source_ + ": the graph output \"" + output_name_ +
                "\" is not the last layer's output (unused nodes follow it)");
  }
  net_.output_dims = out->second.dims;
  // Every layer but the last must be read by another (cnnmem runs every layer).
  std::vector<int> readers_of(net_.layers.size() + 1, 0);
  for (const OnnxLayerSpec& s : net_.layers) {
    for (int i : s.inputs) readers_of[static_cast<size_t>(i)] += 1;
  }
  for (size_t i = 0; i + 1 < net_.layers.size(); ++i) {
    if (readers_of[i + 1] == 0) {
      throw Error(source_ + ": the output of layer \"" + net_.layers[i].name +
                  "\" is never used; cnnmem models have one output");
    }
  }
}

const Const* Lowering::constant_ahead(const std::string& name, int depth) {
  static const std::set<std::string> foldable = {
      "Shape",    "Gather", "Unsqueeze", "Squeeze",  "Concat",
      "Cast",     "Slice",  "Add",       "Sub",      "Mul",
      "Div",      "Floor",  "Reshape",   "Identity", "ConstantOfShape",
      "Transpose"};
  if (const Const* c = constant_named(name)) return c;
  auto p = producer_.find(name);
  if (p == producer_.end() || depth > 64 || consumed_.count(p->second) > 0) return nullptr;
  const int k = p->second;
  const onnx::NodeProto& n = graph_.node(k);
  if (foldable.count(n.op_type()) == 0) return nullptr;
  for (const std::string& i : n.input()) {
    const bool shape_of_value = n.op_type() == "Shape" && values_.count(i) > 0;
    if (!i.empty() && !shape_of_value && constant_ahead(i, depth + 1) == nullptr) return nullptr;
  }
  const onnx::NodeProto* node = node_;
  const int index = node_index_;
  const std::string node_name = node_name_;
  const bool accept = accept_nhwc_;
  node_ = &n;
  node_index_ = k;
  node_name_ = label(k);
  lower_node();
  consumed_.insert(k);
  node_ = node;
  node_index_ = index;
  node_name_ = node_name;
  accept_nhwc_ = accept;
  return constant_named(name);
}

OnnxNet Lowering::run() {
  read_opset_and_constants();
  read_input_and_output();
  const std::vector<int> order = topological_order();
  // Constant nodes first: a pattern reads the constants of nodes it has not reached yet.
  for (int pass = 0; pass < 2; ++pass) {
    for (int k : order) {
      const bool is_constant = graph_.node(k).op_type() == "Constant";
      if (consumed_.count(k) > 0 || is_constant != (pass == 0)) continue;
      node_ = &graph_.node(k);
      node_index_ = k;
      node_name_ = label(k);
      lower_node();
    }
  }
  node_ = nullptr;
  check_result();
  return std::move(net_);
}

}  // namespace onnx_parse

OnnxNet parse_onnx(std::string_view bytes, const std::string& source) {
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) {
    throw Error(source + ": over 2 GiB; protobuf files are limited to 2 GiB");
  }
  onnx::ModelProto model;
  if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    throw Error(source + ": not a valid ONNX protobuf (truncated or corrupt file?)");
  }
  if (!model.has_graph()) throw Error(source + ": the ONNX model has no graph");
  try {
    return onnx_parse::Lowering(model, source).run();
  } catch (const Error& e) {
    throw Error(onnx_parse::printable(e.what()));
  }
}

}  // namespace cnnmem
