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
// Supported (one NCHW image input, whose batch dim is ignored; one output of any shape):
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
// Also (stage 1 parses them into specs, stage 2 builds their layers): non-square/asymmetric
// windows and ceil_mode, auto_pad SAME_* (explicit pads from the static shapes), MaxPool
// dilations, pool pads up to the kernel, ConvTranspose (with output_shape or auto_pad SAME_*),
// GlobalMaxPool, Pad, Sigmoid, Tanh, HardSigmoid, HardSwish, LeakyRelu, Elu, PRelu (its slope a
// parameter under the initializer's name), Gelu, broadcasting Add/Sub/Mul/Div of two tensors,
// Mul/Div by a constant of one value or C x 1 x 1 values as a channel scale (trained when it is a
// named C x 1 x 1 initializer multiplied in, ConvNeXt's layer_scale; frozen otherwise),
// ReduceMean/ReduceSum over H and W, Concat and Split/Slice on channels, Resize/Upsample (nearest
// with every ONNX coordinate mode but tf_crop_and_resize and every nearest_mode; linear with
// half_pixel, pytorch_half_pixel, align_corners), InstanceNormalization, and the patterns of
// models/onnx_lower_pattern.cpp (GELU, SiLU, HardSwish, LayerNorm over channels, channel shuffle,
// GroupNorm). NHWC stretches between Transpose(0,2,3,1) and back (ConvNeXt) are followed without
// layers: MatMul there is a 1x1 convolution. Shape arithmetic on constants (Shape of a tensor,
// Gather, Unsqueeze, Squeeze, Concat, Cast, Slice, Add/Sub/Mul/Div/Floor, ConstantOfShape, Reshape)
// is folded at import; the batch is a symbol there, and arithmetic on it is refused. Layer names:
// the PyTorch module name when the node's weight initializer is called
// "<module>.weight" (torch.onnx.export keeps parameter names), else the node's name (or
// "<op>_<index>" when it has none), made unique. Weights get PyTorch's names and layouts
// (OIHW, [out, in]) for those layer names, so Executor::load_weights takes them unchanged.
//
// Usage:
//   cnnmem::ImportedModel m = cnnmem::import_onnx("model.onnx");
//   cnnmem::Executor ex(m.graph, options, optimizer);
//   ex.bind();
//   ex.load_weights(m.weights, "model.onnx");
// Not here: ops beyond the list (they are refused), training-mode exports, dynamic H and W.
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
  kBatchNorm,
  // Parsed, shapes inferred; import_onnx refuses them until their layers exist.
  kConvTranspose,
  kGlobalMaxPool,
  kActivation,      // activation, alpha, beta; PRelu: in_channels slopes, weight weight_name
  kBinary,          // binary; inputs 2 tensors, or 1 and a constant: a channel scale (in_channels
                    // > 0, the weight "<name>") or the refused operand "<name>.operand"
  kReduce,          // reduce over H, W; keepdims
  kConcat,          // along channels; inputs 2 or more
  kChannelSlice,    // channels [channel_begin, channel_end) of the input
  kChannelShuffle,  // groups
  kPad,             // pad_mode, pad_value, pads
  kResize,          // resize_mode, coordinate_mode, nearest_mode, scale_h/scale_w, dims
  kLayerNorm,       // over channels per pixel; in_channels, eps, "<name>.weight"/".bias"
  kGroupNorm,       // groups, in_channels, eps, "<name>.weight"/".bias"
  kInstanceNorm     // in_channels, eps, "<name>.weight"/".bias"
};

enum class OnnxActivation {
  kSigmoid,
  kTanh,
  kHardSigmoid,
  kHardSwish,
  kSilu,
  kGelu,
  kLeakyRelu,
  kElu,
  kPRelu
};
enum class OnnxBinary { kAdd, kSub, kMul, kDiv };
enum class OnnxReduce { kMean, kSum };
enum class OnnxPadMode { kConstant, kReflect, kEdge };
enum class OnnxResizeMode { kNearest, kLinear };

struct OnnxLayerSpec {
  OnnxLayerKind kind = OnnxLayerKind::kRelu;
  std::string name;         // the cnnmem layer name, unique
  std::string onnx_node;    // the ONNX node (the first of a recognised pattern) and its op,
  std::string onnx_op;      // for stage 2's messages
  std::vector<int> inputs;  // Graph node ids: 0 is the input, i + 1 the i-th spec
  Dims dims;                // output dims of one sample
  // conv: channels, kernel, stride, padding, dilation, groups, bias; linear: in/out, bias;
  // pools: kernel, stride, padding; batch norm: channels (in_channels), eps, momentum.
  // kernel/stride/padding/dilation are the square, symmetric form; when `square()` is false
  // they are meaningless and the *_hw fields hold the truth.
  int64_t in_channels = 0, out_channels = 0, kernel = 1, stride = 1, padding = 0, dilation = 1,
          groups = 1;
  bool bias = false;
  double eps = 1e-5;
  double momentum = 0.1;  // batch norm, PyTorch's meaning
  // Windows of conv, conv transpose and pools as (H, W) pairs; pads (top, left, bottom, right)
  // for those and for kPad.
  Dims kernel_hw{1, 1}, stride_hw{1, 1}, dilation_hw{1, 1}, pads{0, 0, 0, 0};
  Dims output_padding_hw{0, 0};   // conv transpose
  bool ceil_mode = false;         // pools: output size rounded up
  bool count_include_pad = true;  // avg pool: PyTorch's default
  OnnxActivation activation = OnnxActivation::kSigmoid;
  double alpha = 0, beta = 0;  // HardSigmoid alpha*x+beta, LeakyRelu slope, Elu alpha
  OnnxBinary binary = OnnxBinary::kAdd;
  Dims operand_dims;           // constant operand of a binary, per sample, broadcastable
  bool operand_first = false;  // binary: the constant is the left operand (c - x, c / x)
  bool operand_param = false;  // channel scale: the constant is a PyTorch parameter (trained)
  std::string weight_name;     // PRelu: its slope's name (the initializer's)
  OnnxReduce reduce = OnnxReduce::kMean;
  bool keepdims = true;
  int64_t channel_begin = 0, channel_end = 0;  // channel slice
  OnnxPadMode pad_mode = OnnxPadMode::kConstant;
  float pad_value = 0;
  OnnxResizeMode resize_mode = OnnxResizeMode::kNearest;
  std::string coordinate_mode = "half_pixel";  // ONNX's coordinate_transformation_mode
  std::string nearest_mode = "round_prefer_floor";
  double scale_h = 1, scale_w = 1;  // output / input, as given or implied by sizes

  bool square() const {
    return kernel_hw[0] == kernel_hw[1] && stride_hw[0] == stride_hw[1] &&
           dilation_hw[0] == dilation_hw[1] && pads[0] == pads[1] && pads[0] == pads[2] &&
           pads[0] == pads[3];
  }
};

struct OnnxNet {
  std::string name;                   // the ONNX graph's name, or the file's
  Dims input_dims;                    // of one sample
  std::vector<OnnxLayerSpec> layers;  // empty when the output is the input (Identity only)
  std::vector<NamedTensor> weights;   // PyTorch names, shapes and layouts
  std::string dropped_output_op;      // "Softmax", "LogSoftmax" or ""
  Dims output_dims;                   // of one sample (after a dropped Softmax: its input's)
  // Convolutions into which the exporter folded a BatchNorm (torch.onnx.export in eval mode
  // with the default training=EVAL): their weights are anonymous ("onnx::Conv_123") and carry
  // a bias, where the model's other parameters keep their PyTorch names.
  int folded_batch_norms = 0;
};

// Parses and checks a serialized ModelProto; `source` names it in messages. Throws Error.
OnnxNet parse_onnx(std::string_view bytes, const std::string& source);

// ---- Stage 2: the cnnmem model -------------------------------------------------------------

struct ImportOptions {
  // A model ending in a CxHxW tensor gets a trailing flatten ("output_flatten"), so that its
  // output is (N, C*H*W) in C, H, W order. Off: the output keeps its shape (output_dims).
  bool flatten_output = false;
};

struct ImportedModel {
  Graph graph;
  std::vector<NamedTensor> weights;  // parameters and BatchNorm state, for load_weights
  std::string dropped_output_op;     // "Softmax", "LogSoftmax" or ""
  // The graph's output per sample: (classes) for a classifier, (C, H, W) for a feature extractor
  // or a segmentation net. graph.classes() is the number of elements of one output sample (the
  // classes of a classifier; C*H*W otherwise), which is what the step compiler sizes the output
  // by until it takes any output shape.
  Dims output_dims;
  // Convolutions into which torch.onnx.export folded a BatchNorm (eval-mode export), and, when
  // there are any, a one-line warning saying what that means for the training bill.
  int folded_batch_norms = 0;
  std::string batch_norm_warning;
};

// The warning of ImportedModel::batch_norm_warning for `folded` convolutions ("" for none).
std::string folded_batch_norm_warning(int folded);

// Reads the file and imports it. Throws Error (one line) for a file that cannot be read or a
// model that cannot be imported.
ImportedModel import_onnx(const std::string& path, const ImportOptions& options = {});
ImportedModel import_onnx_bytes(std::string_view bytes, const std::string& source,
                                const ImportOptions& options = {});

}  // namespace cnnmem
