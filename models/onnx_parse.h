// Stage 1 of the ONNX import, inside (models/onnx_import.h has the public side): the constants,
// the lowering state and the op table shared by models/onnx_parse*.cpp and onnx_lower_*.cpp.
//
// A node is lowered by the function its op_type maps to in Lowering::op_table()
// (models/onnx_parse_ops.cpp): adding an op is one line there and one member function. Patterns
// spanning several nodes (GELU's Div-Erf-Add-Mul-Mul, LayerNorm's ReduceMean-...-Add,
// ShuffleNet's Reshape-Transpose-Reshape) are tried first, from their first node.
// Usage: Lowering(model, "m.onnx").run() -> OnnxNet; throws Error.
// Not here: protobuf's classes (onnx/onnx_pb.h), layers, oneDNN.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "models/onnx_import.h"
#include "onnx/onnx_pb.h"

namespace cnnmem::onnx_parse {

constexpr int64_t kMaxElements = int64_t{1} << 28;  // per constant tensor (1 GiB of floats)
constexpr int64_t kMaxValue = int64_t{1} << 40;     // per-sample elements of any tensor
constexpr int64_t kMaxAttr = int64_t{1} << 20;      // kernel, stride, pad, dilation, group
// The batch size in folded shape arithmetic (Shape of a tensor): unknown at import, so any
// arithmetic on it is refused; Reshape, Resize and Expand take it as "the batch".
constexpr int64_t kBatch = -(int64_t{1} << 62);

struct Const {
  Dims shape;
  std::vector<float> f;    // FLOAT tensors
  std::vector<int64_t> i;  // INT64, INT32 and BOOL tensors
  bool is_float = true;
  std::string name;  // initializer name ("" for Constant nodes and folded values)
  size_t size() const { return is_float ? f.size() : i.size(); }
  double at(size_t k) const { return is_float ? f[k] : static_cast<double>(i[k]); }
};

struct Value {
  int node = 0;       // Graph node id
  Dims dims;          // one sample, in cnnmem's layout (C, H, W) or (F)
  bool nhwc = false;  // the ONNX tensor is (N, H, W, C), a Transpose of cnnmem's (N, C, H, W)
};

std::string shape_str(const Dims& dims);
int64_t shape_product(const Dims& dims);
std::string printable(std::string s);  // control characters become '?'
int64_t checked_product(const Dims& dims, int64_t limit, const std::string& what);
Const read_tensor(const onnx::TensorProto& t, const std::string& what);

class Lowering {
 public:
  Lowering(const onnx::ModelProto& model, std::string source)
      : model_(model), graph_(model.graph()), source_(std::move(source)) {}
  OnnxNet run();

  using LowerFn = void (Lowering::*)();
  using PatternFn = bool (Lowering::*)();

 private:
  // ---- the graph (onnx_parse_graph.cpp) ----
  void read_opset_and_constants();
  void read_input_and_output();
  std::vector<int> topological_order();
  void check_result();
  void lower_node();
  static const std::map<std::string, LowerFn>& op_table();  // onnx_parse_ops.cpp
  static const std::multimap<std::string, PatternFn>& pattern_table();
  std::string label(int k) const;

  // ---- messages, attributes and inputs (onnx_parse_node.cpp) ----
  [[noreturn]] void fail(const std::string& msg) const;
  [[noreturn]] void fail_attr(const std::string& attr, const std::string& msg) const;
  const onnx::AttributeProto* attr(const std::string& name) const;
  void allow_attrs(std::initializer_list<const char*> names) const;
  int64_t attr_int(const std::string& name, int64_t fallback) const;
  float attr_float(const std::string& name, float fallback) const;
  std::string attr_string(const std::string& name, const std::string& fallback) const;
  Dims attr_ints(const std::string& name) const;
  size_t input_count() const;  // without trailing empty (absent) optional inputs
  const std::string& input(size_t k) const { return node_->input(static_cast<int>(k)); }
  bool has_input(size_t k) const { return k < input_count() && !input(k).empty(); }
  const Value& runtime(size_t k) const;
  const Const& constant(size_t k, const char* what) const;
  const Const* maybe_constant(size_t k) const;
  const Const* constant_named(const std::string& name) const;
  // The constant `name`, folding the shape arithmetic that computes it now when the walk has not
  // reached it yet (patterns look ahead); nullptr when it is not a foldable constant.
  const Const* constant_ahead(const std::string& name, int depth = 0);
  void expect_io(size_t min_in, size_t max_in) const;
  void output(const Value& v);
  void output_const(Const c);
  int push(OnnxLayerSpec spec, const std::vector<int>& inputs, Dims dims);
  std::string layer_name(const std::string& weight_name);
  // `base` made printable and unique among layer names and weight names.
  std::string unique_name(const std::string& base);
  void check_dims(const Dims& dims) const;
  bool all_inputs_constant() const;

  // ---- ops (onnx_lower_*.cpp) ----
  void conv();
  void conv_transpose();
  void pool(bool max);
  void max_pool() { pool(true); }
  void avg_pool() { pool(false); }
  void global_pool(bool max);
  void global_avg_pool() { global_pool(false); }
  void global_max_pool() { global_pool(true); }
  void pad();
  void gemm(bool matmul);
  void gemm_op() { gemm(false); }
  void matmul_op() { gemm(true); }
  void relu();
  void clip();
  void activation();
  void flatten(int64_t axis);
  void flatten_op();
  void reshape();
  void transpose();
  void binary();
  bool channel_scale(const Const& c, const Value& x, OnnxLayerSpec& s);
  bool matmul_bias();
  void matmul_1x1(const Value& x);
  void batch_norm();
  void instance_norm();
  void dropout();
  void identity();
  void constant_node();
  void softmax();
  void reduce();
  void concat();
  void split();
  void slice();
  void resize();
  // Shape arithmetic folded into constants (onnx_lower_fold.cpp).
  void fold_shape();
  void fold_gather();
  void fold_unsqueeze(bool squeeze);
  void fold_unsqueeze_op() { fold_unsqueeze(false); }
  void fold_squeeze_op() { fold_unsqueeze(true); }
  void fold_concat();
  void fold_cast();
  void fold_slice();
  void fold_arith();
  void fold_constant_of_shape();
  void fold_reshape();
  void fold_transpose();
  Dims reshape_target(const Dims& from, const Const& shape) const;
  // Patterns (onnx_lower_pattern.cpp): true when matched and lowered.
  bool gelu_pattern();
  bool layer_norm_pattern();
  bool shuffle_pattern();
  bool group_norm_pattern();
  bool self_gate_pattern();
  // The node index of the one reader of `value` when it is an `op` node (-1 otherwise).
  int sole_reader(const std::string& value, const char* op) const;
  const onnx::NodeProto& node_at(int k) const { return graph_.node(k); }
  // Ends a pattern: `last`'s output is the layer just pushed; the nodes are marked lowered.
  void finish_pattern(const std::vector<int>& nodes, int last);

  // Spatial attributes of Conv/ConvTranspose/MaxPool/AveragePool: kernel, strides, dilations
  // and pads (top, left, bottom, right) as the spec's *_hw fields, or an Error naming the
  // attribute.
  void window(const Value& x, const Dims& kernel_shape, bool allow_dilation,
              OnnxLayerSpec& s) const;
  Dims window_pads(const Value& x, const OnnxLayerSpec& s) const;
  void transpose_pads(const Value& x, OnnxLayerSpec& s) const;

  const onnx::ModelProto& model_;
  const onnx::GraphProto& graph_;
  std::string source_;
  int64_t opset_ = 0;
  std::map<std::string, Const> consts_;
  std::map<std::string, Value> values_;
  std::map<std::string, int> uses_;
  std::map<std::string, int> producer_;                 // output name -> node index
  std::map<std::string, std::vector<int>> readers_of_;  // value name -> reading node indices
  std::set<int> consumed_;                              // nodes lowered by a pattern
  std::set<std::string> names_;
  std::string output_name_;
  // MatMul layers without bias, by output name: a following Add of a constant becomes the bias.
  std::map<std::string, size_t> matmul_out_;
  OnnxNet net_;
  const onnx::NodeProto* node_ = nullptr;
  int node_index_ = 0;
  bool accept_nhwc_ = false;  // the op being lowered follows channels-last tensors
  std::string node_name_;
};

}  // namespace cnnmem::onnx_parse
