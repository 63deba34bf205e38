// The model as a graph: layers and the edges between them (a DAG: a residual add is a node with
// two inputs). Shape inference runs as nodes are added, so a shape error names the layer and
// both shapes before anything is planned.
//
// Usage:
//   Graph g("lenet5", {1, 28, 28}, 10);
//   int x = g.add(std::make_unique<Conv2d>("conv1", Conv2dOptions{1, 6, 5, 1, 2}));   // input:
//   previous node g.add(std::make_unique<Relu>("relu1"), {x});
//
// Not here: memory or kernels (a Graph is compiled by framework/executor.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cnnmem {

class Layer;

// Dimensions of one sample, without the batch: (C, H, W) or (F).
using Dims = std::vector<int64_t>;
std::string dims_str(const Dims& dims);  // "1x28x28"
int64_t dims_product(const Dims& dims);

struct Node {
  std::unique_ptr<Layer> layer;  // null for the input node
  std::vector<int> inputs;       // node ids
  Dims dims;                     // output dims of one sample
};

class Graph {
 public:
  Graph(std::string name, Dims input_dims, int classes);
  ~Graph();
  Graph(Graph&&) noexcept;
  Graph& operator=(Graph&&) noexcept;

  // Adds a layer reading the given nodes (default: the last node added); returns its node id.
  // Throws Error when the input shapes do not fit the layer or a name repeats.
  int add(std::unique_ptr<Layer> layer, std::vector<int> inputs = {});

  const std::string& name() const { return name_; }
  const Dims& input_dims() const { return nodes_.front().dims; }
  int classes() const { return classes_; }
  int output() const { return static_cast<int>(nodes_.size()) - 1; }
  const std::vector<Node>& nodes() const { return nodes_; }
  // Number of nodes reading node `id`.
  int consumers(int id) const;
  // Trainable parameter count (from the layers' declarations).
  int64_t param_count() const;

 private:
  std::string name_;
  int classes_;
  std::vector<Node> nodes_;
};

}  // namespace cnnmem
