// Stage 2 of the ONNX import (models/onnx_import.h): the checked layer specs of parse_onnx
// become cnnmem layers in a Graph; the weights pass through unchanged.
// Not here: protobuf parsing and checks (models/onnx_import_parse.cpp).
#include "models/onnx_import.h"

#include <fstream>
#include <iterator>
#include <memory>

#include "framework/error.h"
#include "layers/adaptive_avg_pool2d.h"
#include "layers/add.h"
#include "layers/batch_norm2d.h"
#include "layers/conv2d.h"
#include "layers/flatten.h"
#include "layers/linear.h"
#include "layers/pool2d.h"
#include "layers/relu.h"
#include "layers/relu6.h"

namespace cnnmem {
namespace {

// Why a parsed spec cannot be built yet ("" when it can): the attribute or feature whose layer
// support is missing. The lead replaces these lines as the layers merge.
std::string not_yet(const OnnxLayerSpec& s) {
  const bool window = s.kind == OnnxLayerKind::kConv || s.kind == OnnxLayerKind::kMaxPool ||
                      s.kind == OnnxLayerKind::kAvgPool;
  if (window) {
    if (s.kernel_hw[0] != s.kernel_hw[1]) {
      return "attribute kernel_shape " + dims_str(s.kernel_hw) + " is not square";
    }
    if (s.stride_hw[0] != s.stride_hw[1]) {
      return "attribute strides " + dims_str(s.stride_hw) + " differ between H and W";
    }
    if (s.dilation_hw[0] != s.dilation_hw[1]) {
      return "attribute dilations " + dims_str(s.dilation_hw) + " differ between H and W";
    }
    if (!s.square()) {
      return "attribute pads " + dims_str(s.pads) +
             " is not symmetric (cnnmem pads all sides equally)";
    }
    if (s.ceil_mode) return "attribute ceil_mode 1 (it changes the output size here)";
    if (!s.count_include_pad && s.padding > 0) {
      return "attribute count_include_pad 0 with pads (cnnmem's avg_pool2d counts the padding, "
             "PyTorch's default)";
    }
    return "";
  }
  switch (s.kind) {
    case OnnxLayerKind::kConvTranspose:
      return "ConvTranspose";
    case OnnxLayerKind::kGlobalMaxPool:
      return "GlobalMaxPool";
    case OnnxLayerKind::kActivation:
      return "the activation";
    case OnnxLayerKind::kBinary:
      return "a broadcasting or constant-operand element-wise op";
    case OnnxLayerKind::kReduce:
      return "a reduction over H and W";
    case OnnxLayerKind::kConcat:
      return "Concat";
    case OnnxLayerKind::kChannelSlice:
      return "a slice of the channels";
    case OnnxLayerKind::kChannelShuffle:
      return "the channel shuffle";
    case OnnxLayerKind::kPad:
      return "Pad";
    case OnnxLayerKind::kResize:
      return "Resize";
    case OnnxLayerKind::kLayerNorm:
      return "LayerNorm over channels";
    case OnnxLayerKind::kGroupNorm:
      return "GroupNorm";
    case OnnxLayerKind::kInstanceNorm:
      return "InstanceNormalization";
    default:
      return "";
  }
}

std::unique_ptr<Layer> make_layer(const OnnxLayerSpec& s, const std::string& source) {
  const std::string missing = not_yet(s);
  if (!missing.empty()) {
    throw Error(source + ": node \"" + s.onnx_node + "\" (" + s.onnx_op + "): " + missing +
                " is parsed but not supported by import_onnx yet");
  }
  switch (s.kind) {
    case OnnxLayerKind::kConv: {
      return std::make_unique<Conv2d>(
          s.name, Conv2dOptions(s.in_channels, s.out_channels, s.kernel, s.stride, s.padding,
                                s.dilation, s.bias, s.groups));
    }
    case OnnxLayerKind::kMaxPool:
      return std::make_unique<Pool2d>(s.name, PoolKind::kMax, s.kernel, s.stride, s.padding);
    case OnnxLayerKind::kAvgPool:
      return std::make_unique<Pool2d>(s.name, PoolKind::kAvg, s.kernel, s.stride, s.padding);
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
      break;
  }
  throw InternalError("unknown ONNX layer kind");
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
    const int id = graph.add(make_layer(s, source), s.inputs);
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
