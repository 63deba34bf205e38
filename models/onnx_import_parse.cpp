// Stage 1 of the ONNX import (models/onnx_import.h): protobuf bytes -> checked cnnmem layer
// specs and weights. Needs protobuf and ONNX's generated classes, not oneDNN (fuzz/onnx_fuzz.cpp
// runs it alone).
//
// Steps:
//   1. Parse the ModelProto; find the default-domain opset, the one runtime input and output.
//   2. Read initializers (and later Constant nodes) as constants.
//   3. Order the nodes topologically (Kahn); a name nobody produces is a dangling input, nodes
//      left over form a cycle.
//   4. Lower each node to a layer spec, an alias (Identity, Dropout, flattening of a flat
//      tensor, the final Softmax) or a constant, checking attributes and chaining shapes.
// Not here: layers, oneDNN, the Graph (models/onnx_import.cpp).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "framework/error.h"
#include "models/onnx_import.h"
#include "onnx/onnx_pb.h"

namespace cnnmem {
namespace {

constexpr int64_t kMaxElements = int64_t{1} << 28;  // per constant tensor (1 GiB of floats)
constexpr int64_t kMaxValue = int64_t{1} << 40;     // per-sample elements of any tensor
constexpr int64_t kMaxAttr = int64_t{1} << 20;      // kernel, stride, pad, dilation, group

struct Const {
  Dims shape;
  std::vector<float> f;    // FLOAT tensors
  std::vector<int64_t> i;  // INT64, INT32 and BOOL tensors
  bool is_float = true;
  std::string name;  // initializer name ("" for Constant nodes)
};

struct Value {
  int node = 0;  // Graph node id
  Dims dims;     // one sample
};

// graph.cpp's dims_str/dims_product, kept here so that this file links without the layers.
std::string shape_str(const Dims& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "x" : "") + std::to_string(dims[i]);
  return s;
}

int64_t shape_product(const Dims& dims) {
  int64_t p = 1;
  for (int64_t d : dims) p *= d;
  return p;
}

// Names come from the file: control characters (a newline would break the one-line message or
// a report) become '?'.
std::string printable(std::string s) {
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return s;
}

int64_t checked_product(const Dims& dims, int64_t limit, const std::string& what) {
  int64_t p = 1;
  for (int64_t d : dims) {
    if (d < 0) throw Error(what + " has a negative dimension " + shape_str(dims));
    if (d != 0 && p > limit / d) throw Error(what + " is too large: " + shape_str(dims));
    p *= d;
  }
  return p;
}

Const read_tensor(const onnx::TensorProto& t, const std::string& what) {
  Const c;
  c.name = t.name();
  if (t.data_location() == onnx::TensorProto::EXTERNAL || t.external_data_size() > 0) {
    throw Error(what + ": external tensor data is not supported (save the model with its data)");
  }
  for (int64_t d : t.dims()) c.shape.push_back(d);
  const int64_t n = checked_product(c.shape, kMaxElements, what);
  const auto count = static_cast<size_t>(n);
  const std::string& raw = t.raw_data();
  switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      if (t.has_raw_data()) {
        if (raw.size() != count * sizeof(float)) {
          throw Error(what + ": raw data has " + std::to_string(raw.size()) + " bytes, shape " +
                      shape_str(c.shape) + " needs " + std::to_string(count * sizeof(float)));
        }
        c.f.resize(count);
        if (count > 0) std::memcpy(c.f.data(), raw.data(), raw.size());
      } else {
        if (static_cast<size_t>(t.float_data_size()) != count) {
          throw Error(what + ": has " + std::to_string(t.float_data_size()) +
                      " float values, shape " + shape_str(c.shape) + " needs " + std::to_string(n));
        }
        c.f.assign(t.float_data().begin(), t.float_data().end());
      }
      return c;
    case onnx::TensorProto::INT64:
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::BOOL: {
      c.is_float = false;
      const size_t width = t.data_type() == onnx::TensorProto::INT64   ? 8
                           : t.data_type() == onnx::TensorProto::INT32 ? 4
                                                                       : 1;
      if (t.has_raw_data()) {
        if (raw.size() != count * width) {
          throw Error(what + ": raw data has " + std::to_string(raw.size()) + " bytes, shape " +
                      shape_str(c.shape) + " needs " + std::to_string(count * width));
        }
        for (size_t k = 0; k < count; ++k) {
          int64_t v = 0;
          if (width == 8) {
            std::memcpy(&v, raw.data() + k * 8, 8);
          } else if (width == 4) {
            int32_t v32 = 0;
            std::memcpy(&v32, raw.data() + k * 4, 4);
            v = v32;
          } else {
            v = raw[k] != 0;
          }
          c.i.push_back(v);
        }
      } else if (width == 8) {
        c.i.assign(t.int64_data().begin(), t.int64_data().end());
      } else {
        c.i.assign(t.int32_data().begin(), t.int32_data().end());
      }
      if (c.i.size() != count) {
        throw Error(what + ": has " + std::to_string(c.i.size()) + " values, shape " +
                    shape_str(c.shape) + " needs " + std::to_string(n));
      }
      return c;
    }
    default:
      throw Error(what + ": data type " + std::to_string(t.data_type()) +
                  " is not supported (FLOAT, and INT64/INT32/BOOL for shapes and flags)");
  }
}

class Lowering {
 public:
  Lowering(const onnx::ModelProto& model, std::string source)
      : model_(model), graph_(model.graph()), source_(std::move(source)) {}

  OnnxNet run();

 private:
  // ---- messages and attributes ----
  [[noreturn]] void fail(const std::string& msg) const {
    throw Error(source_ + ": node \"" + node_name_ + "\" (" + node_->op_type() + "): " + msg);
  }
  [[noreturn]] void fail_attr(const std::string& attr, const std::string& msg) const {
    fail("attribute " + attr + ": " + msg);
  }
  const onnx::AttributeProto* attr(const std::string& name) const {
    for (const onnx::AttributeProto& a : node_->attribute()) {
      if (a.name() == name) return &a;
    }
    return nullptr;
  }
  void allow_attrs(std::initializer_list<const char*> names) const;
  int64_t attr_int(const std::string& name, int64_t fallback) const;
  float attr_float(const std::string& name, float fallback) const;
  std::string attr_string(const std::string& name, const std::string& fallback) const;
  Dims attr_ints(const std::string& name) const;

  // ---- inputs ----
  size_t input_count() const;  // without trailing empty (absent) optional inputs
  const std::string& input(size_t k) const { return node_->input(static_cast<int>(k)); }
  bool has_input(size_t k) const { return k < input_count() && !input(k).empty(); }
  const Value& runtime(size_t k) const;
  const Const& constant(size_t k, const char* what) const;
  const Const* maybe_constant(size_t k) const;
  void expect_io(size_t min_in, size_t max_in) const;
  void output(const Value& v);
  int push(OnnxLayerSpec spec, const std::vector<int>& inputs, Dims dims);
  std::string layer_name(const std::string& weight_name);
  void check_dims(const Dims& dims) const {
    try {
      checked_product(dims, kMaxValue, "output " + shape_str(dims));
    } catch (const Error& e) {
      fail(e.what());
    }
  }

  // ---- ops ----
  void lower_node();
  void conv();
  void pool(bool max);
  void global_avg_pool();
  void gemm(bool matmul);
  void clip();
  void flatten(int64_t axis);
  void reshape();
  void add();
  void batch_norm();
  void dropout();
  void constant_node();
  void softmax();
  // Spatial attributes of Conv/MaxPool/AveragePool: the one square kernel, stride, dilation
  // and symmetric padding they reduce to, or an Error naming the attribute.
  struct Window {
    int64_t kernel = 1, stride = 1, padding = 0, dilation = 1;
  };
  Window window(const Value& x, const Dims& kernel_shape, bool allow_dilation) const;

  const onnx::ModelProto& model_;
  const onnx::GraphProto& graph_;
  std::string source_;
  int64_t opset_ = 0;
  std::map<std::string, Const> consts_;
  std::map<std::string, Value> values_;
  std::map<std::string, int> uses_;
  std::set<std::string> names_;
  std::string output_name_;
  // MatMul layers without bias, by output name: a following Add of a constant becomes the bias.
  std::map<std::string, size_t> matmul_out_;
  OnnxNet net_;
  const onnx::NodeProto* node_ = nullptr;
  std::string node_name_;
};

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

void Lowering::output(const Value& v) { values_[node_->output(0)] = v; }

std::string Lowering::layer_name(const std::string& weight_name) {
  const std::string suffix = ".weight";
  std::string base;
  if (weight_name.size() > suffix.size() &&
      weight_name.compare(weight_name.size() - suffix.size(), suffix.size(), suffix) == 0) {
    base = weight_name.substr(0, weight_name.size() - suffix.size());
  } else {
    base = node_name_;
  }
  base = printable(base);
  std::string name = base;
  for (int k = 2; names_.count(name) > 0; ++k) name = base + "_" + std::to_string(k);
  names_.insert(name);
  return name;
}

int Lowering::push(OnnxLayerSpec spec, const std::vector<int>& inputs, Dims dims) {
  check_dims(dims);
  if (spec.name.empty()) spec.name = layer_name("");
  spec.inputs = inputs;
  spec.dims = std::move(dims);
  net_.layers.push_back(std::move(spec));
  const int id = static_cast<int>(net_.layers.size());
  output({id, net_.layers.back().dims});
  return id;
}

Lowering::Window Lowering::window(const Value& x, const Dims& kernel_shape,
                                  bool allow_dilation) const {
  if (x.dims.size() != 3) {
    fail("needs an NCHW input, got a sample of " + shape_str(x.dims) +
         " (cnnmem supports 2-D convolution and pooling only)");
  }
  if (kernel_shape.size() != 2) fail_attr("kernel_shape", "must have 2 values (2-D only)");
  if (kernel_shape[0] != kernel_shape[1]) {
    fail_attr("kernel_shape", shape_str(kernel_shape) + " is not square (cnnmem's kernels are)");
  }
  Window w;
  w.kernel = kernel_shape[0];
  if (w.kernel <= 0 || w.kernel > kMaxAttr) fail_attr("kernel_shape", "out of range");
  const auto same_pair = [&](const char* name, int64_t fallback, int64_t lo) {
    Dims v = attr_ints(name);
    if (v.empty()) return fallback;
    if (v.size() != 2) fail_attr(name, "must have 2 values (2-D only)");
    if (v[0] != v[1]) {
      fail_attr(name, shape_str(v) + " differs between H and W (cnnmem needs them equal)");
    }
    if (v[0] < lo || v[0] > kMaxAttr) {
      fail_attr(name, "value " + std::to_string(v[0]) + " is out of range");
    }
    return v[0];
  };
  w.stride = same_pair("strides", 1, 1);
  w.dilation = same_pair("dilations", 1, 1);
  if (!allow_dilation && w.dilation != 1) fail_attr("dilations", "must be 1 for pooling");
  const std::string auto_pad = attr_string("auto_pad", "NOTSET");
  const Dims pads = attr_ints("pads");
  if (auto_pad == "NOTSET") {
    if (!pads.empty()) {
      if (pads.size() != 4) fail_attr("pads", "must have 4 values (2-D only)");
      if (pads[0] != pads[1] || pads[0] != pads[2] || pads[0] != pads[3]) {
        fail_attr("pads", shape_str(pads) + " is not symmetric (cnnmem pads all sides equally)");
      }
      if (pads[0] < 0 || pads[0] > kMaxAttr) fail_attr("pads", "out of range");
      w.padding = pads[0];
    }
  } else if (auto_pad == "VALID") {
    w.padding = 0;
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    int64_t total[2] = {0, 0};
    for (int a = 0; a < 2; ++a) {
      const int64_t in = x.dims[static_cast<size_t>(a) + 1];
      const int64_t out = (in + w.stride - 1) / w.stride;
      const int64_t span = w.dilation * (w.kernel - 1) + 1;
      total[a] = std::max<int64_t>(0, (out - 1) * w.stride + span - in);
    }
    if (total[0] != total[1] || total[0] % 2 != 0) {
      fail_attr("auto_pad", auto_pad + " pads this input asymmetrically (H " +
                                std::to_string(total[0]) + ", W " + std::to_string(total[1]) +
                                " in all); cnnmem pads all sides equally");
    }
    w.padding = total[0] / 2;
  } else {
    fail_attr("auto_pad", "unknown value \"" + auto_pad + "\"");
  }
  const int64_t span = w.dilation * (w.kernel - 1) + 1;
  if (x.dims[1] + 2 * w.padding < span || x.dims[2] + 2 * w.padding < span) {
    fail("input " + shape_str(x.dims) + " is smaller than the kernel " + std::to_string(span));
  }
  return w;
}

void Lowering::conv() {
  allow_attrs({"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"});
  expect_io(2, 3);
  const Value x = runtime(0);
  const Const& weight = constant(1, "W");
  if (weight.shape.size() != 4) {
    fail("weight " + shape_str(weight.shape) + " is not OIHW (2-D only)");
  }
  Dims kernel_shape = attr_ints("kernel_shape");
  const Dims weight_kernel = {weight.shape[2], weight.shape[3]};
  if (kernel_shape.empty()) kernel_shape = weight_kernel;
  if (kernel_shape != weight_kernel) {
    fail_attr("kernel_shape",
              shape_str(kernel_shape) + " differs from the weight's " + shape_str(weight_kernel));
  }
  const Window w = window(x, kernel_shape, true);
  const int64_t groups = attr_int("group", 1);
  if (groups <= 0 || groups > kMaxAttr) fail_attr("group", "out of range");
  OnnxLayerSpec s;
  s.kind = OnnxLayerKind::kConv;
  s.out_channels = weight.shape[0];
  s.in_channels = weight.shape[1] * groups;
  if (s.in_channels != x.dims[0]) {
    fail("input has " + std::to_string(x.dims[0]) + " channels, weights " +
         shape_str(weight.shape) + " with group " + std::to_string(groups) + " expect " +
         std::to_string(s.in_channels));
  }
  if (s.out_channels <= 0 || s.out_channels % groups != 0) {
    fail_attr("group", std::to_string(groups) + " does not divide the " +
                           std::to_string(s.out_channels) + " output channels");
  }
  s.kernel = w.kernel;
  s.stride = w.stride;
  s.padding = w.padding;
  s.dilation = w.dilation;
  s.groups = groups;
  const Const* bias = maybe_constant(2);
  if (has_input(2)) {
    if (bias == nullptr || !bias->is_float || bias->shape != Dims{s.out_channels}) {
      fail("bias must be a constant float vector of " + std::to_string(s.out_channels));
    }
  }
  s.bias = bias != nullptr;
  s.name = layer_name(weight.name);
  net_.weights.push_back({s.name + ".weight", weight.shape, weight.f});
  if (bias != nullptr) net_.weights.push_back({s.name + ".bias", bias->shape, bias->f});
  const int64_t span = w.dilation * (w.kernel - 1) + 1;
  push(std::move(s), {x.node},
       {weight.shape[0], (x.dims[1] + 2 * w.padding - span) / w.stride + 1,
        (x.dims[2] + 2 * w.padding - span) / w.stride + 1});
}

void Lowering::pool(bool max) {
  if (max) {
    allow_attrs(
        {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"});
  } else {
    allow_attrs({"auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides"});
  }
  expect_io(1, 1);
  const Value x = runtime(0);
  const Window w = window(x, attr_ints("kernel_shape"), false);
  if (2 * w.padding > w.kernel) fail_attr("pads", "more than half the kernel is not supported");
  if (!max && w.padding > 0 && attr_int("count_include_pad", 0) == 0) {
    fail_attr("count_include_pad",
              "0 with pads is not supported: cnnmem's avg_pool2d counts the padding (PyTorch's "
              "default, exported as count_include_pad=1)");
  }
  Dims out = {x.dims[0], 0, 0};
  for (size_t a = 1; a < 3; ++a) {
    const int64_t room = x.dims[a] + 2 * w.padding - w.kernel;
    out[a] = room / w.stride + 1;
    if (attr_int("ceil_mode", 0) != 0 && room % w.stride != 0) {
      fail_attr("ceil_mode", "1 changes the output size here; cnnmem pools with floor");
    }
  }
  OnnxLayerSpec s;
  s.kind = max ? OnnxLayerKind::kMaxPool : OnnxLayerKind::kAvgPool;
  s.kernel = w.kernel;
  s.stride = w.stride;
  s.padding = w.padding;
  push(std::move(s), {x.node}, out);
}

void Lowering::global_avg_pool() {
  allow_attrs({});
  expect_io(1, 1);
  const Value x = runtime(0);
  if (x.dims.size() != 3) fail("needs an NCHW input, got a sample of " + shape_str(x.dims));
  OnnxLayerSpec s;
  s.kind = OnnxLayerKind::kGlobalAvgPool;
  push(std::move(s), {x.node}, {x.dims[0], 1, 1});
}

void Lowering::gemm(bool matmul) {
  if (matmul) {
    allow_attrs({});
    expect_io(2, 2);
  } else {
    allow_attrs({"alpha", "beta", "transA", "transB"});
    expect_io(2, 3);
  }
  const Value x = runtime(0);
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
  const Value x = runtime(0);
  const Const* shape = maybe_constant(1);
  if (shape == nullptr || shape->is_float) fail("the shape must be a constant INT64 tensor");
  const int64_t features = shape_product(x.dims);
  const Dims& t = shape->i;
  const bool batch_first = t.size() == 2 && (t[0] == 0 || t[0] == -1 || t[0] > 0);
  const bool flat = batch_first && (t[1] == features || (t[1] == -1 && t[0] != -1));
  if (!flat || (t[0] == 0 && attr_int("allowzero", 0) != 0)) {
    fail("Reshape to " + shape_str(t) + " is not supported: only to (N, " +
         std::to_string(features) + ") or (N, -1)");
  }
  flatten(1);
}

void Lowering::add() {
  allow_attrs({});
  expect_io(2, 2);
  const Const* c0 = maybe_constant(0);
  const Const* c1 = maybe_constant(1);
  if (c0 == nullptr && c1 == nullptr) {
    const Value a = runtime(0);
    const Value b = runtime(1);
    if (a.dims != b.dims) {
      fail("inputs " + shape_str(a.dims) + " and " + shape_str(b.dims) +
           " differ (cnnmem's add does not broadcast)");
    }
    OnnxLayerSpec s;
    s.kind = OnnxLayerKind::kAdd;
    push(std::move(s), {a.node, b.node}, a.dims);
    return;
  }
  // A MatMul's bias: MatMul(x, W) + b.
  const size_t k = c0 == nullptr ? 0 : 1;
  const Const* c = c0 == nullptr ? c1 : c0;
  auto it = has_input(k) ? matmul_out_.find(input(k)) : matmul_out_.end();
  if (c == nullptr || it == matmul_out_.end() || uses_[input(k)] != 1) {
    fail(
        "adding a constant is supported only as the bias of a MatMul whose result nothing else "
        "reads");
  }
  OnnxLayerSpec& s = net_.layers[it->second];
  if (!c->is_float || static_cast<int64_t>(c->f.size()) != s.out_channels || c->shape.empty() ||
      c->shape.back() != s.out_channels) {
    fail("bias " + shape_str(c->shape) + " is not a vector of " + std::to_string(s.out_channels));
  }
  s.bias = true;
  net_.weights.push_back({s.name + ".bias", {s.out_channels}, c->f});
  matmul_out_.erase(it);
  output(values_.at(input(k)));
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

void Lowering::lower_node() {
  if (!node_->domain().empty() && node_->domain() != "ai.onnx") {
    fail("domain \"" + node_->domain() + "\" is not supported (only the default ONNX domain)");
  }
  const std::string& op = node_->op_type();
  if (op == "Conv") return conv();
  if (op == "MaxPool") return pool(true);
  if (op == "AveragePool") return pool(false);
  if (op == "GlobalAveragePool") return global_avg_pool();
  if (op == "Gemm") return gemm(false);
  if (op == "MatMul") return gemm(true);
  if (op == "Relu") {
    allow_attrs({});
    expect_io(1, 1);
    OnnxLayerSpec s;
    s.kind = OnnxLayerKind::kRelu;
    const Value x = runtime(0);
    push(std::move(s), {x.node}, x.dims);
    return;
  }
  if (op == "Clip") return clip();
  if (op == "Flatten") {
    allow_attrs({"axis"});
    expect_io(1, 1);
    return flatten(attr_int("axis", 1));
  }
  if (op == "Reshape") return reshape();
  if (op == "Add") return add();
  if (op == "BatchNormalization") return batch_norm();
  if (op == "Dropout") return dropout();
  if (op == "Identity") {
    allow_attrs({});
    expect_io(1, 1);
    auto c = consts_.find(input(0));
    if (c != consts_.end()) {
      consts_[node_->output(0)] = c->second;
    } else {
      output(runtime(0));
    }
    return;
  }
  if (op == "Constant") return constant_node();
  if (op == "Softmax" || op == "LogSoftmax") return softmax();
  fail("op " + op +
       " is not supported (supported: Conv, MaxPool, AveragePool, GlobalAveragePool, Gemm, "
       "MatMul, Relu, Clip, Flatten, Reshape, Add, BatchNormalization, Dropout, Identity, "
       "Constant, Softmax/LogSoftmax at the end)");
}

OnnxNet Lowering::run() {
  net_.name = printable(graph_.name().empty() ? source_ : graph_.name());
  for (const onnx::OperatorSetIdProto& o : model_.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") opset_ = o.version();
  }
  if (opset_ < 1 || opset_ > 18) {
    throw Error(source_ + ": default-domain opset " + std::to_string(opset_) +
                " is missing or not supported (1 to 18)");
  }
  // Constants.
  for (const onnx::TensorProto& t : graph_.initializer()) {
    if (t.name().empty()) throw Error(source_ + ": an initializer has no name");
    if (consts_.count(t.name()) > 0) {
      throw Error(source_ + ": initializer \"" + t.name() + "\" is defined twice");
    }
    consts_[t.name()] = read_tensor(t, source_ + ": initializer \"" + t.name() + "\"");
  }
  // The one runtime input.
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

  // Topological order (Kahn).
  const int n = graph_.node_size();
  std::map<std::string, int> producer;
  const auto label = [&](int k) {
    const onnx::NodeProto& node = graph_.node(k);
    return node.name().empty() ? node.op_type() + "_" + std::to_string(k) : node.name();
  };
  for (int k = 0; k < n; ++k) {
    for (const std::string& o : graph_.node(k).output()) {
      if (o.empty()) continue;
      if (producer.count(o) > 0 || consts_.count(o) > 0 || values_.count(o) > 0) {
        throw Error(source_ + ": node \"" + label(k) + "\" (" + graph_.node(k).op_type() +
                    "): output \"" + o + "\" is defined twice");
      }
      producer[o] = k;
    }
  }
  std::vector<int> waiting(static_cast<size_t>(n), 0);
  std::vector<std::vector<int>> readers(static_cast<size_t>(n));
  for (int k = 0; k < n; ++k) {
    for (const std::string& i : graph_.node(k).input()) {
      if (i.empty()) continue;
      uses_[i] += 1;
      auto p = producer.find(i);
      if (p != producer.end()) {
        waiting[static_cast<size_t>(k)] += 1;
        readers[static_cast<size_t>(p->second)].push_back(k);
      } else if (consts_.count(i) == 0 && values_.count(i) == 0) {
        throw Error(source_ + ": node \"" + label(k) + "\" (" + graph_.node(k).op_type() +
                    "): input \"" + i + "\" is produced by no node, initializer or graph input");
      }
    }
  }
  if (producer.count(output_name_) == 0 && values_.count(output_name_) == 0) {
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

  for (int k : order) {
    node_ = &graph_.node(k);
    node_name_ = label(k);
    lower_node();
  }
  node_ = nullptr;
  auto out = values_.find(output_name_);
  if (out == values_.end()) {
    throw Error(source_ + ": the graph output \"" + output_name_ +
                "\" is a constant, not computed from the input");
  }
  if (out->second.node != static_cast<int>(net_.layers.size())) {
    throw Error(source_ + ": the graph output \"" + output_name_ +
                "\" is not the last layer's output (unused nodes follow it)");
  }
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
  return std::move(net_);
}

}  // namespace

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
    return Lowering(model, source).run();
  } catch (const Error& e) {
    throw Error(printable(e.what()));
  }
}

}  // namespace cnnmem
