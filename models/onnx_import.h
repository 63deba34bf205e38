// ONNX import: a cnnmem Graph and its weights from an ONNX model (e.g. torch.onnx.export).
//
// Two stages:
//   1. parse_onnx (models/onnx_import_parse.cpp): protobuf bytes -> a list of cnnmem layer specs
//      with their inputs, output dims and weights. Checks everything (malformed protobuf, cycles,
//      dangling inputs, unsupported ops and attributes, shapes that do not chain) and throws
//      Error with one line naming the node, the op and the attribute. Needs protobuf and ONNX's
//      generated classes only, not oneDNN, so a fuzzer can run it (fuzz/onnx_fuzz.cpp).
//   2. import_onnx (models/onnx_import.cpp): the specs become layers of a Graph.
//
// Supported (one NCHW image input, whose batch dim is ignored; one output):
//   Conv (groups, square kernel, equal strides/dilations, symmetric pads; auto_pad NOTSET, VALID,
//   or SAME_* when it pads symmetrically), MaxPool / AveragePool (square kernel, symmetric pads,
//   no ceil_mode change, AveragePool with pads needs count_include_pad=1), GlobalAveragePool,
//   Gemm (transA=0; alpha/beta folded into the weights), MatMul with a constant right side (and
//   a following Add of a constant vector as its bias), Relu, Clip(0, 6) as ReLU6 (attributes or
//   constant inputs), Flatten (axis 1), Reshape to (N, -1)/(N, F), Add of two tensors of the
//   same shape (residual), BatchNormalization (inference form: running statistics become state
//   tensors), Dropout and Identity (no layer), Constant, and Softmax / LogSoftmax as the last op
//   (dropped: cnnmem's loss is softmax cross-entropy over the logits; `dropped_output_op` says
//   which one was dropped).
// Layer names: the PyTorch module name when the node's weight initializer is called
// "<module>.weight" (torch.onnx.export keeps parameter names), else the node's name (or
// "<op>_<index>" when it has none), made unique. Weights get PyTorch's names and layouts
// (OIHW, [out, in]) for those layer names, so Executor::load_weights takes them unchanged.
//
// Usage:
//   cnnmem::ImportedModel m = cnnmem::import_onnx("model.onnx");
//   cnnmem::Executor ex(m.graph, options, optimizer);
//   ex.bind();
//   ex.load_weights(m.weights, "model.onnx");
// Not here: ops beyond the list (they are refused), training-mode exports, dynamic shapes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "framework/graph.h"
#include "framework/tensor.h"

namespace cnnmem {

// ---- Stage 1: the parsed model (no oneDNN) -------------------------------------------------

enum class OnnxLayerKind {
  kConv,
  kMaxPool,
  kAvgPool,
  kGlobalAvgPool,
  kLinear,
  kRelu,
  kRelu6,
  kFlatten,
  kAdd,
  kBatchNorm
};

struct OnnxLayerSpec {
  OnnxLayerKind kind = OnnxLayerKind::kRelu;
  std::string name;         // the cnnmem layer name, unique
  std::vector<int> inputs;  // Graph node ids: 0 is the input, i + 1 the i-th spec
  Dims dims;                // output dims of one sample
  // conv: channels, kernel, stride, padding, dilation, groups, bias; linear: in/out, bias;
  // pools: kernel, stride, padding; batch norm: channels (in_channels), eps, momentum.
  int64_t in_channels = 0, out_channels = 0, kernel = 1, stride = 1, padding = 0, dilation = 1,
          groups = 1;
  bool bias = false;
  double eps = 1e-5;
  double momentum = 0.1;  // batch norm, PyTorch's meaning
};

struct OnnxNet {
  std::string name;                   // the ONNX graph's name, or the file's
  Dims input_dims;                    // of one sample
  std::vector<OnnxLayerSpec> layers;  // empty when the output is the input (Identity only)
  std::vector<NamedTensor> weights;   // PyTorch names, shapes and layouts
  std::string dropped_output_op;      // "Softmax", "LogSoftmax" or ""
};

// Parses and checks a serialized ModelProto; `source` names it in messages. Throws Error.
OnnxNet parse_onnx(std::string_view bytes, const std::string& source);

// ---- Stage 2: the cnnmem model -------------------------------------------------------------

struct ImportOptions {
  // A model ending in a CxHxW tensor gets a trailing flatten ("output_flatten"), so that its
  // output is (N, C*H*W) in C, H, W order (cnnmem's step ends in logits). Off: such a model is
  // refused with an Error.
  bool flatten_output = false;
};

struct ImportedModel {
  Graph graph;
  std::vector<NamedTensor> weights;  // parameters and BatchNorm state, for load_weights
  std::string dropped_output_op;     // "Softmax", "LogSoftmax" or ""
};

// Reads the file and imports it. Throws Error (one line) for a file that cannot be read or a
// model that cannot be imported.
ImportedModel import_onnx(const std::string& path, const ImportOptions& options = {});
ImportedModel import_onnx_bytes(std::string_view bytes, const std::string& source,
                                const ImportOptions& options = {});

}  // namespace cnnmem
