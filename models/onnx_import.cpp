// Stage 2 of the ONNX import (models/onnx_import.h): the checked layer specs of parse_onnx
// become cnnmem layers in a Graph; the weights pass through unchanged.
// Not here: protobuf parsing and checks (models/onnx_import_parse.cpp).
#include "models/onnx_import.h"

#include <cmath>
#include <fstream>
#include <iterator>
#include <memory>

#include "framework/error.h"
#include "layers/adaptive_avg_pool2d.h"
#include "layers/add.h"
#include "layers/batch_norm2d.h"
#include "layers/binary.h"
#include "layers/channel_scale.h"
#include "layers/channel_shuffle.h"
#include "layers/channel_slice.h"
#include "layers/concat.h"
#include "layers/conv2d.h"
#include "layers/conv_transpose2d.h"
#include "layers/elu.h"
#include "layers/flatten.h"
#include "layers/gelu.h"
#include "layers/group_norm.h"
#include "layers/hardsigmoid.h"
#include "layers/hardswish.h"
#include "layers/layer_norm.h"
#include "layers/leaky_relu.h"
#include "layers/linear.h"
#include "layers/pad.h"
#include "layers/pool2d.h"
#include "layers/prelu.h"
#include "layers/reduce_spatial.h"
#include "layers/relu.h"
#include "layers/relu6.h"
#include "layers/resize.h"
#include "layers/sigmoid.h"
#include "layers/silu.h"
#include "layers/tanh.h"

namespace cnnmem {
namespace {

// Why a parsed spec cannot be built ("" when it can): the feature cnnmem's layers lack.
std::string not_yet(const OnnxLayerSpec& s) {
  switch (s.kind) {
    case OnnxLayerKind::kBinary:
      if (s.inputs.size() == 2 || s.in_channels > 0) return "";
      return s.onnx_op + " with the constant operand " + dims_str(s.operand_dims) +
             " (cnnmem takes a constant only as a scale of a CxHxW tensor's channels: Mul by, or "
             "Div by, one value or C x 1 x 1 values)";
    case OnnxLayerKind::kResize: {
      const bool nearest = s.resize_mode == OnnxResizeMode::kNearest;
      // Nearest takes every parsed coordinate mode and rounding; linear PyTorch's three.
      const std::string& c = s.coordinate_mode;
      if (nearest || c == "half_pixel" || c == "pytorch_half_pixel" || c == "align_corners") {
        return "";
      }
      return "Resize linear with coordinate_transformation_mode " + c +
             " (cnnmem's bilinear takes half_pixel, pytorch_half_pixel and align_corners)";
    }
    default:
      return "";
  }
}

Window2d window_of(const OnnxLayerSpec& s) {
  Window2d w;
  w.kernel_h = s.kernel_hw[0];
  w.kernel_w = s.kernel_hw[1];
  w.stride_h = s.stride_hw[0];
  w.stride_w = s.stride_hw[1];
  w.dilation_h = s.dilation_hw[0];
  w.dilation_w = s.dilation_hw[1];
  w.pads = {s.pads[0], s.pads[1], s.pads[2], s.pads[3]};
  return w;
}

std::unique_ptr<Layer> make_activation(const OnnxLayerSpec& s) {
  const auto alpha = static_cast<float>(s.alpha), beta = static_cast<float>(s.beta);
  switch (s.activation) {
    case OnnxActivation::kSigmoid:
      return std::make_unique<Sigmoid>(s.name);
    case OnnxActivation::kTanh:
      return std::make_unique<Tanh>(s.name);
    case OnnxActivation::kHardSigmoid:
      return std::make_unique<HardSigmoid>(s.name, alpha, beta);
    case OnnxActivation::kHardSwish:
      return std::make_unique<HardSwish>(s.name);
    case OnnxActivation::kSilu:
      return std::make_unique<Silu>(s.name);
    case OnnxActivation::kGelu:
      return std::make_unique<Gelu>(s.name);
    case OnnxActivation::kLeakyRelu:
      return std::make_unique<LeakyRelu>(s.name, alpha);
    case OnnxActivation::kElu:
      return std::make_unique<Elu>(s.name, alpha);
    case OnnxActivation::kPRelu:
      return std::make_unique<PRelu>(s.name, s.in_channels, 0.25f, s.weight_name);
    default:
      break;
  }
  throw InternalError("unknown ONNX activation");
}

// Conv, its transpose and the pools: per-axis windows and per-side pads.
std::unique_ptr<Layer> make_windowed(const OnnxLayerSpec& s, const Dims& in) {
  switch (s.kind) {
    case OnnxLayerKind::kConv: {
      Conv2dOptions o(s.in_channels, s.out_channels, 1, 1, 0, 1, s.bias, s.groups);
      o.geometry = window_of(s);
      return std::make_unique<Conv2d>(s.name, o);
    }
    case OnnxLayerKind::kConvTranspose: {
      ConvTranspose2dOptions o(s.in_channels, s.out_channels, 1, 1, 0, 0, s.groups, s.bias);
      o.window = window_of(s);
      o.output_padding_h = s.output_padding_hw[0];
      o.output_padding_w = s.output_padding_hw[1];
      return std::make_unique<ConvTranspose2d>(s.name, o);
    }
    case OnnxLayerKind::kGlobalMaxPool: {
      Pool2dOptions o;
      o.window.kernel_h = o.window.stride_h = in[1];
      o.window.kernel_w = o.window.stride_w = in[2];
      return std::make_unique<Pool2d>(s.name, PoolKind::kMax, o);
    }
    default: {
      Pool2dOptions o;
      o.window = window_of(s);
      o.ceil_mode = s.ceil_mode;
      o.count_include_pad = s.count_include_pad;
      const bool max = s.kind == OnnxLayerKind::kMaxPool;
      return std::make_unique<Pool2d>(s.name, max ? PoolKind::kMax : PoolKind::kAvg, o);
    }
  }
}

std::unique_ptr<Layer> make_resize(const OnnxLayerSpec& s, const Dims& in) {
  const ResizeMode mode =
      s.resize_mode == OnnxResizeMode::kNearest ? ResizeMode::kNearest : ResizeMode::kBilinear;
  const bool nearest = mode == ResizeMode::kNearest;
  const bool corners = !nearest && s.coordinate_mode == "align_corners";
  // Scales as PyTorch's scale_factor when they give the output size exactly (the source index
  // is then dst / scale, as F.interpolate computes it); the output size otherwise.
  const bool by_scale = std::floor(static_cast<double>(in[1]) * s.scale_h) == s.dims[1] &&
                        std::floor(static_cast<double>(in[2]) * s.scale_w) == s.dims[2];
  ResizeOptions o = by_scale ? ResizeOptions::scale(mode, s.scale_h, s.scale_w, corners)
                             : ResizeOptions::size(mode, s.dims[1], s.dims[2], corners);
  if (nearest) {
    const std::string& c = s.coordinate_mode;
    o.nearest_coords = c == "half_pixel"             ? NearestCoords::kHalfPixel
                       : c == "pytorch_half_pixel"   ? NearestCoords::kPyTorchHalfPixel
                       : c == "align_corners"        ? NearestCoords::kAlignCorners
                       : c == "tf_half_pixel_for_nn" ? NearestCoords::kTfHalfPixel
                                                     : NearestCoords::kAsymmetric;
    const std::string& r = s.nearest_mode;
    o.nearest_round = r == "ceil"                 ? NearestRound::kCeil
                      : r == "round_prefer_floor" ? NearestRound::kRoundPreferFloor
                      : r == "round_prefer_ceil"  ? NearestRound::kRoundPreferCeil
                                                  : NearestRound::kFloor;
  }
  return std::make_unique<Resize>(s.name, o);
}

std::unique_ptr<Layer> make_elementwise(const OnnxLayerSpec& s) {
  switch (s.kind) {
    case OnnxLayerKind::kActivation:
      return make_activation(s);
    case OnnxLayerKind::kBinary: {
      // A constant operand: a channel scale (a PyTorch parameter, or frozen).
      if (s.inputs.size() == 1) {
        return std::make_unique<ChannelScale>(s.name, s.in_channels, 1.f, s.operand_param);
      }
      constexpr BinaryOp kOps[] = {BinaryOp::kAdd, BinaryOp::kSub, BinaryOp::kMul, BinaryOp::kDiv};
      return std::make_unique<Binary>(s.name, kOps[static_cast<int>(s.binary)]);
    }
    case OnnxLayerKind::kReduce:
      return std::make_unique<ReduceSpatial>(
          s.name, s.reduce == OnnxReduce::kMean ? ReduceKind::kMean : ReduceKind::kSum, s.keepdims);
    case OnnxLayerKind::kPad: {
      constexpr PadMode kModes[] = {PadMode::kConstant, PadMode::kReflect, PadMode::kEdge};
      PadOptions o;
      o.mode = kModes[static_cast<int>(s.pad_mode)];
      o.pads = {s.pads[0], s.pads[1], s.pads[2], s.pads[3]};
      o.value = s.pad_value;
      return std::make_unique<Pad>(s.name, o);
    }
    case OnnxLayerKind::kConcat:
      return std::make_unique<Concat>(s.name);
    case OnnxLayerKind::kChannelSlice:
      return std::make_unique<ChannelSlice>(s.name, s.channel_begin, s.channel_end);
    case OnnxLayerKind::kChannelShuffle:
      return std::make_unique<ChannelShuffle>(s.name, s.groups);
    case OnnxLayerKind::kLayerNorm:
      return std::make_unique<LayerNorm2d>(s.name, s.in_channels, s.eps, s.bias);
    case OnnxLayerKind::kGroupNorm:
      return std::make_unique<GroupNorm>(s.name, s.groups, s.in_channels, s.eps, s.bias);
    case OnnxLayerKind::kInstanceNorm:
      return std::make_unique<InstanceNorm2d>(s.name, s.in_channels, s.eps, true);
    default:
      break;
  }
  throw InternalError("unknown ONNX layer kind");
}

std::unique_ptr<Layer> make_layer(const OnnxLayerSpec& s, const Graph& graph,
                                  const std::string& source) {
  const std::string missing = not_yet(s);
  if (!missing.empty()) {
    throw Error(source + ": node \"" + s.onnx_node + "\" (" + s.onnx_op + "): " + missing +
                " is parsed but not supported by import_onnx yet");
  }
  const Dims& in = graph.nodes()[static_cast<size_t>(s.inputs.at(0))].dims;
  switch (s.kind) {
    case OnnxLayerKind::kConv:
    case OnnxLayerKind::kConvTranspose:
    case OnnxLayerKind::kMaxPool:
    case OnnxLayerKind::kAvgPool:
    case OnnxLayerKind::kGlobalMaxPool:
      return make_windowed(s, in);
    case OnnxLayerKind::kResize:
      return make_resize(s, in);
    case OnnxLayerKind::kGlobalAvgPool:
      return std::make_unique<AdaptiveAvgPool2d>(s.name, 1, 1);
    case OnnxLayerKind::kLinear:
      return std::make_unique<Linear>(s.name, s.in_channels, s.out_channels, s.bias);
    case OnnxLayerKind::kRelu:
      return std::make_unique<Relu>(s.name);
    case OnnxLayerKind::kRelu6:
      return std::make_unique<Relu6>(s.name);
    case OnnxLayerKind::kFlatten:
      return std::make_unique<Flatten>(s.name);
    case OnnxLayerKind::kAdd:
      return std::make_unique<Add>(s.name);
    case OnnxLayerKind::kBatchNorm:
      return std::make_unique<BatchNorm2d>(s.name, s.in_channels, s.eps, s.momentum);
    default:
      return make_elementwise(s);
  }
}

}  // namespace

std::string folded_batch_norm_warning(int folded) {
  if (folded == 0) return "";
  return std::to_string(folded) +
         " convolutions have a BatchNorm folded in by torch.onnx.export (eval mode): the bill is "
         "for the network without BatchNorm; to keep it, export with "
         "torch.onnx.export(model, x, path, training=torch.onnx.TrainingMode.PRESERVE, "
         "do_constant_folding=False)";
}

ImportedModel import_onnx_bytes(std::string_view bytes, const std::string& source,
                                const ImportOptions& options) {
  OnnxNet net = parse_onnx(bytes, source);
  const Dims out = net.output_dims;
  const bool flatten = out.size() == 3 && options.flatten_output;
  if (net.layers.empty() && !flatten) throw Error(source + ": the model has no layers");
  const int64_t classes = dims_product(out);
  if (classes > INT32_MAX) throw Error(source + ": the output has too many elements per sample");
  Graph graph(net.name, net.input_dims, static_cast<int>(classes));
  for (const OnnxLayerSpec& s : net.layers) {
    const int id = graph.add(make_layer(s, graph, source), s.inputs);
    if (graph.nodes()[static_cast<size_t>(id)].dims != s.dims) {
      throw InternalError("ONNX import: layer \"" + s.name + "\" infers " +
                          dims_str(graph.nodes()[static_cast<size_t>(id)].dims) +
                          ", the importer " + dims_str(s.dims));
    }
  }
  if (flatten) graph.add(std::make_unique<Flatten>("output_flatten"));
  ImportedModel m{std::move(graph),
                  std::move(net.weights),
                  std::move(net.dropped_output_op),
                  flatten ? Dims{classes} : out,
                  net.folded_batch_norms,
                  folded_batch_norm_warning(net.folded_batch_norms)};
  return m;
}

ImportedModel import_onnx(const std::string& path, const ImportOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the ONNX file (check the path)");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path + ": cannot read the ONNX file");
  return import_onnx_bytes(bytes, path, options);
}

}  // namespace cnnmem
