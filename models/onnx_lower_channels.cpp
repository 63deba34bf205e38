// Stage 1 of the ONNX import (models/onnx_parse.h): ops that move whole channels or planes:
// ReduceMean/ReduceSum over H and W, Concat, Split and Slice along the channel axis, and
// Resize/Upsample of H and W. On constants, Concat and Slice are folded (onnx_lower_fold.cpp).
// Usage: through Lowering::op_table().
// Not here: the layers (models/onnx_import.cpp).
#include <algorithm>
#include <cmath>

#include "framework/error.h"
#include "models/onnx_parse.h"

namespace cnnmem::onnx_parse {

void Lowering::reduce() {
  const bool axes_input = node_->op_type() == "ReduceSum" && opset_ >= 13;
  allow_attrs({"axes", "keepdims"});
  expect_io(1, axes_input ? 2 : 1);
  const Value x = runtime(0);
  Dims axes = attr_ints("axes");
  if (axes_input && has_input(1)) {
    const Const* a = maybe_constant(1);
    if (a == nullptr || a->is_float) fail("axes must be a constant INT64 tensor");
    axes = a->i;
  }
  const auto rank = static_cast<int64_t>(x.dims.size()) + 1;
  for (int64_t& a : axes) a = a < 0 ? a + rank : a;
  std::sort(axes.begin(), axes.end());
  if (rank != 4 || axes != Dims{2, 3}) {
    fail(
        "only the reduction of an NCHW tensor over H and W (axes [2, 3]) is supported, got "
        "axes " +
        shape_str(attr_ints("axes")) + " of a sample of " + shape_str(x.dims));
  }
  OnnxLayerSpec s;
  s.kind = OnnxLayerKind::kReduce;
  s.reduce = node_->op_type() == "ReduceMean" ? OnnxReduce::kMean : OnnxReduce::kSum;
  s.keepdims = attr_int("keepdims", 1) != 0;
  Dims out = s.keepdims ? Dims{x.dims[0], 1, 1} : Dims{x.dims[0]};
  push(std::move(s), {x.node}, std::move(out));
}

void Lowering::concat() {
  allow_attrs({"axis"});
  if (input_count() < 1) fail("has no inputs");
  expect_io(1, input_count());
  if (all_inputs_constant()) return fold_concat();
  std::vector<int> nodes;
  Dims out;
  for (size_t k = 0; k < input_count(); ++k) {
    const Value& v = runtime(k);
    if (v.dims.size() != 3) fail("needs NCHW inputs, got a sample of " + shape_str(v.dims));
    if (out.empty()) {
      out = v.dims;
      const int64_t axis = attr_int("axis", 1);
      if (axis != 1 && axis != -3) {
        fail_attr("axis", std::to_string(axis) + " must be 1 (channels)");
      }
    } else if (v.dims[1] != out[1] || v.dims[2] != out[2]) {
      fail("inputs " + shape_str(out) + " and " + shape_str(v.dims) + " differ in H or W");
    } else {
      out[0] += v.dims[0];
    }
    nodes.push_back(v.node);
  }
  if (nodes.size() == 1) return output(runtime(0));
  OnnxLayerSpec s;
  s.kind = OnnxLayerKind::kConcat;
  push(std::move(s), nodes, out);
}

void Lowering::split() {
  allow_attrs({"axis", "split", "num_outputs"});
  if (input_count() < 1 || input_count() > 2) fail("expects 1 or 2 inputs");
  const Value x = runtime(0);
  const int64_t axis = attr_int("axis", 0);
  if (x.dims.size() != 3 || (axis != 1 && axis != -3)) {
    fail("only splitting an NCHW tensor along channels (axis 1) is supported");
  }
  Dims sizes = attr_ints("split");
  if (has_input(1)) {
    const Const* c = maybe_constant(1);
    if (c == nullptr || c->is_float) fail("split must be a constant INT64 tensor");
    sizes = c->i;
  }
  const int64_t outputs = node_->output_size();
  if (sizes.empty()) {
    if (outputs < 1 || x.dims[0] % outputs != 0) fail("outputs do not divide the channels");
    sizes.assign(static_cast<size_t>(outputs), x.dims[0] / outputs);
  }
  int64_t sum = 0;
  for (int64_t v : sizes) sum += v < 0 ? x.dims[0] + 1 : v;
  if (static_cast<int64_t>(sizes.size()) != outputs || sum != x.dims[0]) {
    fail("split " + shape_str(sizes) + " does not cut " + std::to_string(x.dims[0]) +
         " channels into " + std::to_string(outputs) + " outputs");
  }
  std::vector<std::pair<std::string, Value>> outs;
  int64_t begin = 0;
  for (int o = 0; o < outputs; ++o) {
    const int64_t end = begin + sizes[static_cast<size_t>(o)];
    const std::string& name = node_->output(o);
    if (!name.empty() && uses_[name] > 0 && end > begin) {
      OnnxLayerSpec s;
      s.kind = OnnxLayerKind::kChannelSlice;
      s.channel_begin = begin;
      s.channel_end = end;
      const int id = push(std::move(s), {x.node}, {end - begin, x.dims[1], x.dims[2]});
      outs.push_back({name, {id, net_.layers.back().dims}});
    }
    begin = end;
  }
  values_.erase(node_->output(0));
  for (const auto& [name, v] : outs) values_[name] = v;
}

void Lowering::slice() {
  allow_attrs({"axes", "ends", "starts"});
  expect_io(opset_ >= 10 ? 3 : 1, opset_ >= 10 ? 5 : 1);
  if (maybe_constant(0) != nullptr) return fold_slice();
  const Value x = runtime(0);
  Dims starts = attr_ints("starts"), ends = attr_ints("ends"), axes = attr_ints("axes"), steps;
  const auto ints = [&](size_t k, Dims& into) {
    if (!has_input(k)) return;
    const Const* c = maybe_constant(k);
    if (c == nullptr || c->is_float) fail("starts, ends, axes and steps must be INT64 constants");
    into = c->i;
  };
  ints(1, starts);
  ints(2, ends);
  ints(3, axes);
  ints(4, steps);
  if (axes.empty()) axes = {0};
  const auto rank = static_cast<int64_t>(x.dims.size()) + 1;
  const bool one = starts.size() == 1 && ends.size() == 1 && axes.size() == 1;
  const int64_t axis = one ? (axes[0] < 0 ? axes[0] + rank : axes[0]) : 0;
  if (!one || x.dims.size() != 3 || axis != 1 || (!steps.empty() && steps != Dims{1})) {
    fail("only a slice of the channels (axis 1, step 1) of an NCHW tensor is supported");
  }
  const int64_t c = x.dims[0];
  const auto clamp = [c](int64_t v) { return std::clamp(v < 0 ? v + c : v, int64_t{0}, c); };
  OnnxLayerSpec s;
  s.kind = OnnxLayerKind::kChannelSlice;
  s.channel_begin = clamp(starts[0]);
  s.channel_end = clamp(ends[0]);
  if (s.channel_end <= s.channel_begin) fail("the slice of the channels is empty");
  if (s.channel_begin == 0 && s.channel_end == c) return output(x);
  Dims out = {s.channel_end - s.channel_begin, x.dims[1], x.dims[2]};
  push(std::move(s), {x.node}, std::move(out));
}

// Resize (opset 10+: X, roi, scales, sizes) and Upsample (scales as input or attribute) of H and
// W; the batch and channel scales must be 1.
void Lowering::resize() {
  const bool upsample = node_->op_type() == "Upsample";
  allow_attrs({"coordinate_transformation_mode", "cubic_coeff_a", "exclude_outside",
               "extrapolation_value", "mode", "nearest_mode", "scales"});
  expect_io(1, 4);
  const Value x = runtime(0);
  if (x.dims.size() != 3) fail("needs an NCHW input, got a sample of " + shape_str(x.dims));
  OnnxLayerSpec s;
  s.kind = OnnxLayerKind::kResize;
  const std::string mode = attr_string("mode", "nearest");
  if (mode == "nearest") {
    s.resize_mode = OnnxResizeMode::kNearest;
  } else if (mode == "linear" || mode == "bilinear") {
    s.resize_mode = OnnxResizeMode::kLinear;
  } else {
    fail_attr("mode", "\"" + mode + "\" is not supported (nearest, linear)");
  }
  const bool modern = !upsample && opset_ >= 11;
  s.coordinate_mode =
      attr_string("coordinate_transformation_mode", modern ? "half_pixel" : "asymmetric");
  s.nearest_mode = attr_string("nearest_mode", modern ? "round_prefer_floor" : "floor");
  static constexpr const char* kCoordinates[] = {
      "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn"};
  if (std::find(std::begin(kCoordinates), std::end(kCoordinates), s.coordinate_mode) ==
      std::end(kCoordinates)) {
    fail_attr("coordinate_transformation_mode", "\"" + s.coordinate_mode + "\" is not supported");
  }
  static constexpr const char* kRoundings[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                               "ceil"};
  if (std::find(std::begin(kRoundings), std::end(kRoundings), s.nearest_mode) ==
      std::end(kRoundings)) {
    fail_attr("nearest_mode", "\"" + s.nearest_mode + "\" is not an ONNX rounding");
  }
  if (attr_int("exclude_outside", 0) != 0) fail_attr("exclude_outside", "must be 0");
  std::vector<double> scales;
  Dims sizes;
  if (const onnx::AttributeProto* a = attr("scales")) {
    scales.assign(a->floats().begin(), a->floats().end());
  }
  const size_t scales_at = modern ? 2 : 1;
  if (const Const* c = maybe_constant(scales_at)) {
    for (size_t k = 0; k < c->size(); ++k) scales.push_back(c->at(k));
  } else if (has_input(scales_at)) {
    fail("scales must be a constant (shape arithmetic that cannot be folded)");
  }
  if (modern && has_input(3)) {
    const Const* c = maybe_constant(3);
    if (c == nullptr || c->is_float) fail("sizes must be a constant INT64 tensor (or foldable)");
    sizes = c->i;
  }
  Dims out = x.dims;
  if (!sizes.empty()) {
    if (sizes.size() != 4 || (sizes[0] != kBatch && sizes[0] <= 0) || sizes[1] != x.dims[0]) {
      fail("sizes " + shape_str(sizes) + " must be (N, " + std::to_string(x.dims[0]) + ", H, W)");
    }
    out = {x.dims[0], sizes[2], sizes[3]};
  } else {
    if (scales.size() != 4 || scales[0] != 1 || scales[1] != 1 || !(scales[2] > 0) ||
        !(scales[3] > 0) || scales[2] > kMaxAttr || scales[3] > kMaxAttr) {
      fail("scales must be (1, 1, H scale, W scale) with positive H and W scales");
    }
    out = {x.dims[0], static_cast<int64_t>(std::floor(x.dims[1] * scales[2])),
           static_cast<int64_t>(std::floor(x.dims[2] * scales[3]))};
  }
  s.scale_h = scales.size() == 4 ? scales[2] : static_cast<double>(out[1]) / x.dims[1];
  s.scale_w = scales.size() == 4 ? scales[3] : static_cast<double>(out[2]) / x.dims[2];
  push(std::move(s), {x.node}, out);
}

}  // namespace cnnmem::onnx_parse
