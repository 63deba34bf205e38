// Stage 1 of the ONNX import (models/onnx_parse.h): the windowed ops: Conv, ConvTranspose,
// MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool and Pad. Kernels, strides, dilations
// and pads are kept per axis (the spec's *_hw fields); whether a layer takes them is stage 2's
// business.
// Usage: through Lowering::op_table().
// Not here: the layers (models/onnx_import.cpp).
#include <algorithm>

#include "framework/error.h"
#include "models/onnx_parse.h"

namespace cnnmem::onnx_parse {
namespace {

// Per-axis output of a window of `span` taps: floor, or PyTorch's ceil_mode (the last window
// must start inside the input or its left padding).
int64_t window_out(int64_t in, int64_t pad_begin, int64_t pad_end, int64_t span, int64_t stride,
                   bool ceil) {
  const int64_t room = in + pad_begin + pad_end - span;
  int64_t out = room / stride + 1;
  if (ceil && room % stride != 0) {
    out += 1;
    if ((out - 1) * stride >= in + pad_begin) out -= 1;
  }
  return out;
}

}  // namespace

Dims Lowering::window_pads(const Value& x, const OnnxLayerSpec& s) const {
  const std::string auto_pad = attr_string("auto_pad", "NOTSET");
  Dims pads = attr_ints("pads");
  if (auto_pad == "NOTSET") {
    if (pads.empty()) return {0, 0, 0, 0};
    if (pads.size() != 4) fail_attr("pads", "must have 4 values (2-D only)");
    for (int64_t p : pads) {
      if (p < 0 || p > kMaxAttr) fail_attr("pads", "out of range");
    }
    return pads;
  }
  if (auto_pad == "VALID") return {0, 0, 0, 0};
  if (auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER") {
    fail_attr("auto_pad", "unknown value \"" + auto_pad + "\"");
  }
  pads = {0, 0, 0, 0};
  for (size_t a = 0; a < 2; ++a) {
    const int64_t in = x.dims[a + 1];
    const int64_t out = (in + s.stride_hw[a] - 1) / s.stride_hw[a];
    const int64_t span = s.dilation_hw[a] * (s.kernel_hw[a] - 1) + 1;
    const int64_t total = std::max<int64_t>(0, (out - 1) * s.stride_hw[a] + span - in);
    const int64_t small = total / 2;
    pads[a] = auto_pad == "SAME_UPPER" ? small : total - small;
    pads[a + 2] = total - pads[a];
  }
  return pads;
}

void Lowering::window(const Value& x, const Dims& kernel_shape, bool allow_dilation,
                      OnnxLayerSpec& s) const {
  if (x.dims.size() != 3) {
    fail("needs an NCHW input, got a sample of " + shape_str(x.dims) +
         " (cnnmem supports 2-D convolution and pooling only)");
  }
  if (kernel_shape.size() != 2) fail_attr("kernel_shape", "must have 2 values (2-D only)");
  for (int64_t k : kernel_shape) {
    if (k <= 0 || k > kMaxAttr) fail_attr("kernel_shape", "out of range");
  }
  const auto pair = [&](const char* name) {
    Dims v = attr_ints(name);
    if (v.empty()) return Dims{1, 1};
    if (v.size() != 2) fail_attr(name, "must have 2 values (2-D only)");
    for (int64_t e : v) {
      if (e < 1 || e > kMaxAttr) fail_attr(name, "value " + std::to_string(e) + " is out of range");
    }
    return v;
  };
  s.kernel_hw = kernel_shape;
  s.stride_hw = pair("strides");
  s.dilation_hw = pair("dilations");
  if (!allow_dilation && s.dilation_hw != Dims{1, 1}) {
    fail_attr("dilations", "must be 1 for average pooling");
  }
  s.pads = window_pads(x, s);
  s.kernel = s.kernel_hw[0];
  s.stride = s.stride_hw[0];
  s.dilation = s.dilation_hw[0];
  s.padding = s.pads[0];
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
  OnnxLayerSpec s;
  s.kind = OnnxLayerKind::kConv;
  window(x, kernel_shape, true, s);
  const int64_t groups = attr_int("group", 1);
  if (groups <= 0 || groups > kMaxAttr) fail_attr("group", "out of range");
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
  s.groups = groups;
  Dims out = {s.out_channels, 0, 0};
  for (size_t a = 0; a < 2; ++a) {
    const int64_t span = s.dilation_hw[a] * (s.kernel_hw[a] - 1) + 1;
    if (x.dims[a + 1] + s.pads[a] + s.pads[a + 2] < span) {
      fail("input " + shape_str(x.dims) + " is smaller than the kernel " + std::to_string(span));
    }
    out[a + 1] = window_out(x.dims[a + 1], s.pads[a], s.pads[a + 2], span, s.stride_hw[a], false);
  }
  const Const* bias = maybe_constant(2);
  if (has_input(2)) {
    if (bias == nullptr || !bias->is_float || bias->shape != Dims{s.out_channels}) {
      fail("bias must be a constant float vector of " + std::to_string(s.out_channels));
    }
  }
  s.bias = bias != nullptr;
  s.name = layer_name(weight.name);
  // torch.onnx.export's constant folding of Conv + BatchNorm leaves an anonymous weight and bias.
  if (bias != nullptr && weight.name.rfind("onnx::Conv_", 0) == 0) net_.folded_batch_norms += 1;
  net_.weights.push_back({s.name + ".weight", weight.shape, weight.f});
  if (bias != nullptr) net_.weights.push_back({s.name + ".bias", bias->shape, bias->f});
  push(std::move(s), {x.node}, out);
}

// ConvTranspose's output_shape, or auto_pad SAME_* (output = input * stride), fixes the total
// padding per axis; SAME_UPPER puts the odd pad at the end, the others at the beginning. A
// negative total (the output is larger than the pads-free one) is extra output at the end: it
// becomes output_padding.
void Lowering::transpose_pads(const Value& x, OnnxLayerSpec& s) const {
  const std::string auto_pad = attr_string("auto_pad", "NOTSET");
  const Dims shape = attr_ints("output_shape");
  const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
  if (shape.empty() && !same) return;
  if (!shape.empty() && shape.size() != 2) fail_attr("output_shape", "must have 2 values (H, W)");
  for (size_t a = 0; a < 2; ++a) {
    const int64_t target = shape.empty() ? x.dims[a + 1] * s.stride_hw[a] : shape[a];
    if (target <= 0 || target > kMaxAttr) fail_attr("output_shape", "out of range");
    const int64_t span = s.dilation_hw[a] * (s.kernel_hw[a] - 1) + 1;
    const int64_t total =
        s.stride_hw[a] * (x.dims[a + 1] - 1) + s.output_padding_hw[a] + span - target;
    const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);  // floor
    int64_t begin = auto_pad == "SAME_UPPER" ? half : total - half;
    int64_t end = total - begin;
    if (end < 0) {
      s.output_padding_hw[a] -= end;
      end = 0;
    }
    if (begin < 0) {
      fail_attr("output_shape", std::to_string(target) + " needs a negative leading pad");
    }
    s.pads[a] = begin;
    s.pads[a + 2] = end;
  }
}

void Lowering::conv_transpose() {
  allow_attrs({"auto_pad", "dilations", "group", "kernel_shape", "output_padding", "output_shape",
               "pads", "strides"});
  expect_io(2, 3);
  const Value x = runtime(0);
  const Const& weight = constant(1, "W");
  if (weight.shape.size() != 4) {
    fail("weight " + shape_str(weight.shape) + " is not (in, out / group, kH, kW) (2-D only)");
  }
  OnnxLayerSpec s;
  s.kind = OnnxLayerKind::kConvTranspose;
  window(x, {weight.shape[2], weight.shape[3]}, true, s);
  const int64_t groups = attr_int("group", 1);
  if (groups <= 0 || groups > kMaxAttr) fail_attr("group", "out of range");
  if (weight.shape[0] != x.dims[0] || x.dims[0] % groups != 0) {
    fail("input has " + std::to_string(x.dims[0]) + " channels, weights " +
         shape_str(weight.shape) + " with group " + std::to_string(groups) + " expect " +
         std::to_string(weight.shape[0]));
  }
  s.groups = groups;
  s.in_channels = weight.shape[0];
  s.out_channels = weight.shape[1] * groups;
  const Dims op = attr_ints("output_padding");
  if (!op.empty()) s.output_padding_hw = op;
  if (s.output_padding_hw.size() != 2) fail_attr("output_padding", "must have 2 values");
  transpose_pads(x, s);
  Dims out = {s.out_channels, 0, 0};
  for (size_t a = 0; a < 2; ++a) {
    const int64_t p = s.output_padding_hw[a];
    if (p < 0 || (p >= s.stride_hw[a] && p >= s.dilation_hw[a])) {
      fail_attr("output_padding", "must be smaller than the stride or the dilation");
    }
    const int64_t span = s.dilation_hw[a] * (s.kernel_hw[a] - 1) + 1;
    out[a + 1] = s.stride_hw[a] * (x.dims[a + 1] - 1) + p + span - s.pads[a] - s.pads[a + 2];
  }
  const Const* bias = maybe_constant(2);
  if (has_input(2) && (bias == nullptr || !bias->is_float || bias->shape != Dims{s.out_channels})) {
    fail("bias must be a constant float vector of " + std::to_string(s.out_channels));
  }
  s.bias = bias != nullptr;
  s.name = layer_name(weight.name);
  net_.weights.push_back({s.name + ".weight", weight.shape, weight.f});
  if (bias != nullptr) net_.weights.push_back({s.name + ".bias", bias->shape, bias->f});
  push(std::move(s), {x.node}, out);
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
  OnnxLayerSpec s;
  s.kind = max ? OnnxLayerKind::kMaxPool : OnnxLayerKind::kAvgPool;
  window(x, attr_ints("kernel_shape"), max, s);
  Dims span(2);
  for (size_t a = 0; a < 2; ++a) span[a] = s.dilation_hw[a] * (s.kernel_hw[a] - 1) + 1;
  for (size_t a = 0; a < 4; ++a) {
    if (s.pads[a] >= span[a % 2]) {
      fail_attr("pads", shape_str(s.pads) +
                            " must be smaller than the kernel (a window of "
                            "padding only)");
    }
  }
  s.count_include_pad = max || attr_int("count_include_pad", 0) != 0;
  const bool ceil = attr_int("ceil_mode", 0) != 0;
  Dims out = {x.dims[0], 0, 0};
  for (size_t a = 0; a < 2; ++a) {
    if (x.dims[a + 1] + s.pads[a] + s.pads[a + 2] < span[a]) {
      fail("input " + shape_str(x.dims) + " is smaller than the kernel " + std::to_string(span[a]));
    }
    out[a + 1] = window_out(x.dims[a + 1], s.pads[a], s.pads[a + 2], span[a], s.stride_hw[a], ceil);
    // ceil_mode is kept only where it changes the output size.
    const int64_t floor_out =
        window_out(x.dims[a + 1], s.pads[a], s.pads[a + 2], span[a], s.stride_hw[a], false);
    s.ceil_mode = s.ceil_mode || out[a + 1] != floor_out;
  }
  push(std::move(s), {x.node}, out);
}

void Lowering::global_pool(bool max) {
  allow_attrs({});
  expect_io(1, 1);
  const Value x = runtime(0);
  if (x.dims.size() != 3) fail("needs an NCHW input, got a sample of " + shape_str(x.dims));
  OnnxLayerSpec s;
  s.kind = max ? OnnxLayerKind::kGlobalMaxPool : OnnxLayerKind::kGlobalAvgPool;
  push(std::move(s), {x.node}, {x.dims[0], 1, 1});
}

void Lowering::pad() {
  allow_attrs({"mode", "pads", "value"});
  expect_io(1, opset_ >= 11 ? 3 : 1);
  const Value x = runtime(0);
  if (x.dims.size() != 3) fail("needs an NCHW input, got a sample of " + shape_str(x.dims));
  OnnxLayerSpec s;
  s.kind = OnnxLayerKind::kPad;
  const std::string mode = attr_string("mode", "constant");
  if (mode == "constant") {
    s.pad_mode = OnnxPadMode::kConstant;
  } else if (mode == "reflect") {
    s.pad_mode = OnnxPadMode::kReflect;
  } else if (mode == "edge") {
    s.pad_mode = OnnxPadMode::kEdge;
  } else {
    fail_attr("mode", "\"" + mode + "\" is not supported (constant, reflect, edge)");
  }
  Dims pads;
  if (opset_ >= 11) {
    const Const* p = maybe_constant(1);
    if (p == nullptr || p->is_float) fail("pads must be a constant INT64 tensor");
    pads = p->i;
    if (const Const* v = maybe_constant(2)) {
      if (v->size() != 1) fail("constant_value must be a scalar");
      s.pad_value = static_cast<float>(v->at(0));
    } else if (has_input(2)) {
      fail("constant_value must be a constant");
    }
  } else {
    pads = attr_ints("pads");
    s.pad_value = attr_float("value", 0.0f);
  }
  // (N, C, H, W) begins then ends.
  if (pads.size() != 8 || pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0) {
    fail("pads " + shape_str(pads) + " must be 8 values padding only H and W");
  }
  s.pads = {pads[2], pads[3], pads[6], pads[7]};
  for (size_t a = 0; a < 4; ++a) {
    if (s.pads[a] < 0 || s.pads[a] > kMaxAttr) fail("pads " + shape_str(pads) + " out of range");
    if (s.pad_mode == OnnxPadMode::kReflect && s.pads[a] >= x.dims[1 + a % 2]) {
      fail("reflect pads " + shape_str(pads) + " must be smaller than the input " +
           shape_str(x.dims));
    }
  }
  Dims out = {x.dims[0], x.dims[1] + s.pads[0] + s.pads[2], x.dims[2] + s.pads[1] + s.pads[3]};
  push(std::move(s), {x.node}, std::move(out));
}

}  // namespace cnnmem::onnx_parse
