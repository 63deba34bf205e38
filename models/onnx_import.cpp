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

std::unique_ptr<Layer> make_layer(const OnnxLayerSpec& s) {
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
  }
  throw InternalError("unknown ONNX layer kind");
}

}  // namespace

ImportedModel import_onnx_bytes(std::string_view bytes, const std::string& source,
                                const ImportOptions& options) {
  OnnxNet net = parse_onnx(bytes, source);
  const Dims out = net.layers.empty() ? net.input_dims : net.layers.back().dims;
  const bool flatten = out.size() == 3 && options.flatten_output;
  if (net.layers.empty() && !flatten) throw Error(source + ": the model has no layers");
  if (out.size() != 1 && !flatten) {
    throw Error(source + ": the model's output is " + dims_str(out) +
                " per sample; cnnmem needs (N, classes) logits (end the model with Flatten)");
  }
  const int64_t classes = dims_product(out);
  if (classes > INT32_MAX) throw Error(source + ": the output has too many classes");
  Graph graph(net.name, net.input_dims, static_cast<int>(classes));
  for (const OnnxLayerSpec& s : net.layers) {
    const int id = graph.add(make_layer(s), s.inputs);
    if (graph.nodes()[static_cast<size_t>(id)].dims != s.dims) {
      throw InternalError("ONNX import: layer \"" + s.name + "\" infers " +
                          dims_str(graph.nodes()[static_cast<size_t>(id)].dims) +
                          ", the importer " + dims_str(s.dims));
    }
  }
  if (flatten) graph.add(std::make_unique<Flatten>("output_flatten"));
  return {std::move(graph), std::move(net.weights), std::move(net.dropped_output_op)};
}

ImportedModel import_onnx(const std::string& path, const ImportOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the ONNX file (check the path)");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path + ": cannot read the ONNX file");
  return import_onnx_bytes(bytes, path, options);
}

}  // namespace cnnmem
