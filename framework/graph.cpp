#include "framework/graph.h"

#include "framework/error.h"
#include "framework/layer.h"

namespace cnnmem {

std::string dims_str(const Dims& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += "x";
    s += std::to_string(dims[i]);
  }
  return s;
}

int64_t dims_product(const Dims& dims) {
  int64_t p = 1;
  for (int64_t d : dims) p *= d;
  return p;
}

Graph::Graph(std::string name, Dims input_dims, int classes)
    : name_(std::move(name)), classes_(classes) {
  for (int64_t d : input_dims) {
    if (d <= 0) {
      throw Error("model " + name_ + ": input " + dims_str(input_dims) +
                  " has a zero or negative size");
    }
  }
  Node input;
  input.dims = std::move(input_dims);
  nodes_.push_back(std::move(input));
}

Graph::~Graph() = default;
Graph::Graph(Graph&&) noexcept = default;
Graph& Graph::operator=(Graph&&) noexcept = default;

int Graph::add(std::unique_ptr<Layer> layer, std::vector<int> inputs) {
  CNNMEM_CHECK(layer != nullptr);
  if (inputs.empty()) inputs.push_back(output());
  for (const Node& n : nodes_) {
    if (n.layer && n.layer->name() == layer->name()) {
      throw Error("model " + name_ + ": two layers are named \"" + layer->name() + "\"");
    }
  }
  std::vector<Dims> in;
  for (int id : inputs) {
    CNNMEM_CHECK(id >= 0 && id < static_cast<int>(nodes_.size()));
    in.push_back(nodes_[static_cast<size_t>(id)].dims);
  }
  Node node;
  node.dims = layer->infer(in);
  node.layer = std::move(layer);
  node.inputs = std::move(inputs);
  nodes_.push_back(std::move(node));
  return output();
}

int Graph::consumers(int id) const {
  int n = 0;
  for (const Node& node : nodes_) {
    for (int in : node.inputs) n += (in == id);
  }
  return n;
}

int64_t Graph::param_count() const {
  int64_t total = 0;
  for (const Node& node : nodes_) {
    if (!node.layer) continue;
    std::vector<Dims> in;
    for (int id : node.inputs) in.push_back(nodes_[static_cast<size_t>(id)].dims);
    for (const ParamDecl& p : node.layer->params(in)) total += dims_product(p.shape);
  }
  return total;
}

}  // namespace cnnmem
