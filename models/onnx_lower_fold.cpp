// Stage 1 of the ONNX import (models/onnx_parse.h): the exporter's static shape arithmetic folded
// into constants: Shape (of a tensor whose per-sample shape is known; the batch is the symbol
// kBatch, since cnnmem fixes it only when it plans a step), Gather, Unsqueeze, Squeeze, Concat,
// Cast, Slice, Add/Sub/Mul/Div/Floor, ConstantOfShape and Reshape of constants. Arithmetic on the
// batch symbol is refused (the model's shapes would depend on the batch size).
// Usage: through Lowering::op_table() (Shape, Gather, ...) or from the runtime op's lowering
// when all its inputs are constants (Concat, Slice, Reshape, Add, ...).
// Not here: anything computed from the image (layers).
#include <algorithm>
#include <cmath>

#include "framework/error.h"
#include "models/onnx_parse.h"

namespace cnnmem::onnx_parse {
namespace {

// A constant of `shape` whose element k is element pick(k) of `from` (same type).
template <typename Pick>
Const gather_elements(const Const& from, Dims shape, int64_t count, Pick pick) {
  Const c;
  c.is_float = from.is_float;
  c.shape = std::move(shape);
  for (int64_t k = 0; k < count; ++k) {
    const auto at = static_cast<size_t>(pick(k));
    if (from.is_float) {
      c.f.push_back(from.f[at]);
    } else {
      c.i.push_back(from.i[at]);
    }
  }
  return c;
}

}  // namespace

void Lowering::fold_shape() {
  allow_attrs({"start", "end"});
  expect_io(1, 1);
  Dims shape;
  if (const Const* c = maybe_constant(0)) {
    shape = c->shape;
  } else {
    accept_nhwc_ = true;
    const Value& v = runtime(0);
    shape = v.dims;
    if (v.nhwc) shape = {v.dims[1], v.dims[2], v.dims[0]};
    shape.insert(shape.begin(), kBatch);
  }
  const auto rank = static_cast<int64_t>(shape.size());
  const auto clamp = [rank](int64_t v) {
    return std::clamp(v < 0 ? v + rank : v, int64_t{0}, rank);
  };
  const int64_t start = clamp(attr_int("start", 0));
  const int64_t end = std::max(start, clamp(attr_int("end", rank)));
  Const c;
  c.is_float = false;
  c.i.assign(shape.begin() + start, shape.begin() + end);
  c.shape = {end - start};
  output_const(std::move(c));
}

void Lowering::fold_gather() {
  allow_attrs({"axis"});
  expect_io(2, 2);
  const Const* data = maybe_constant(0);
  const Const* idx = maybe_constant(1);
  if (data == nullptr || idx == nullptr || idx->is_float) {
    fail("only Gather of constants (shape arithmetic) is supported");
  }
  const auto rank = static_cast<int64_t>(data->shape.size());
  int64_t axis = attr_int("axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) fail_attr("axis", "out of range");
  const int64_t n = data->shape[static_cast<size_t>(axis)];
  Dims shape(data->shape.begin(), data->shape.begin() + axis);
  shape.insert(shape.end(), idx->shape.begin(), idx->shape.end());
  shape.insert(shape.end(), data->shape.begin() + axis + 1, data->shape.end());
  int64_t inner = 1;
  for (size_t k = static_cast<size_t>(axis) + 1; k < data->shape.size(); ++k) {
    inner *= data->shape[k];
  }
  const auto count = static_cast<int64_t>(idx->i.size());
  for (int64_t v : idx->i) {
    if (v < -n || v >= n) fail("index " + std::to_string(v) + " is out of range");
  }
  const int64_t total = checked_product(shape, kMaxElements, "Gather's output");
  output_const(gather_elements(*data, shape, total, [&](int64_t k) {
    const int64_t in = k % inner, j = (k / inner) % count, outer = k / inner / count;
    const int64_t v = idx->i[static_cast<size_t>(j)];
    return (outer * n + (v < 0 ? v + n : v)) * inner + in;
  }));
}

void Lowering::fold_unsqueeze(bool squeeze) {
  allow_attrs({"axes"});
  expect_io(1, 2);
  const Const* data = maybe_constant(0);
  if (data == nullptr) fail("only Unsqueeze/Squeeze of constants (shape arithmetic) is supported");
  Dims axes = attr_ints("axes");
  if (has_input(1)) {
    const Const* a = maybe_constant(1);
    if (a == nullptr || a->is_float) fail("axes must be a constant INT64 tensor");
    axes = a->i;
  }
  Const c = *data;
  const auto rank = static_cast<int64_t>(data->shape.size() + (squeeze ? 0 : axes.size()));
  for (int64_t& a : axes) {
    if (a < 0) a += rank;
    if (a < 0 || a >= rank) fail_attr("axes", "out of range");
  }
  std::sort(axes.begin(), axes.end());
  if (squeeze) {
    Dims shape;
    for (size_t k = 0; k < data->shape.size(); ++k) {
      const bool listed = std::count(axes.begin(), axes.end(), static_cast<int64_t>(k)) > 0;
      if (listed && data->shape[k] != 1) fail("cannot squeeze a dim of " + shape_str(data->shape));
      if (!(listed || (axes.empty() && data->shape[k] == 1))) shape.push_back(data->shape[k]);
    }
    c.shape = shape;
  } else {
    for (int64_t a : axes) {
      c.shape.insert(c.shape.begin() + std::min<int64_t>(a, static_cast<int64_t>(c.shape.size())),
                     1);
    }
  }
  // The same values in another shape keep the initializer's name (PRelu's slope, exported as
  // Unsqueeze(act.weight), is still the parameter act.weight).
  const std::string name = data->name;
  output_const(std::move(c));
  consts_[node_->output(0)].name = name;
}

void Lowering::fold_concat() {
  const Const& first = *maybe_constant(0);
  const auto rank = static_cast<int64_t>(first.shape.size());
  int64_t axis = attr_int("axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) fail_attr("axis", "out of range");
  Const c;
  c.is_float = first.is_float;
  c.shape = first.shape;
  c.shape[static_cast<size_t>(axis)] = 0;
  int64_t outer = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= first.shape[static_cast<size_t>(k)];
  for (size_t k = 0; k < input_count(); ++k) {
    const Const& in = *maybe_constant(k);
    Dims a = in.shape, b = first.shape;
    if (a.size() == b.size()) a[static_cast<size_t>(axis)] = b[static_cast<size_t>(axis)] = 0;
    if (a != b || in.is_float != first.is_float) fail("constant inputs do not concatenate");
    c.shape[static_cast<size_t>(axis)] += in.shape[static_cast<size_t>(axis)];
  }
  checked_product(c.shape, kMaxElements, "Concat's output");
  for (int64_t o = 0; o < outer; ++o) {
    for (size_t k = 0; k < input_count(); ++k) {
      const Const& in = *maybe_constant(k);
      const auto chunk = static_cast<int64_t>(in.size()) / std::max<int64_t>(outer, 1);
      for (int64_t e = 0; e < chunk; ++e) {
        const auto at = static_cast<size_t>(o * chunk + e);
        if (c.is_float) {
          c.f.push_back(in.f[at]);
        } else {
          c.i.push_back(in.i[at]);
        }
      }
    }
  }
  output_const(std::move(c));
}

void Lowering::fold_cast() {
  allow_attrs({"to", "saturate"});
  expect_io(1, 1);
  const Const* data = maybe_constant(0);
  if (data == nullptr) fail("only Cast of constants (shape arithmetic) is supported");
  const int64_t to = attr_int("to", 0);
  Const c;
  c.shape = data->shape;
  if (to == onnx::TensorProto::FLOAT || to == onnx::TensorProto::DOUBLE) {
    for (size_t k = 0; k < data->size(); ++k) {
      if (!data->is_float && data->i[k] == kBatch) fail("casts the batch size");
      c.f.push_back(static_cast<float>(data->at(k)));
    }
  } else if (to == onnx::TensorProto::INT64 || to == onnx::TensorProto::INT32 ||
             to == onnx::TensorProto::BOOL) {
    c.is_float = false;
    for (size_t k = 0; k < data->size(); ++k) {
      const double v = data->at(k);
      if (!data->is_float) {
        c.i.push_back(to == onnx::TensorProto::BOOL ? data->i[k] != 0 : data->i[k]);
      } else if (!(std::abs(v) < 9e18)) {
        fail("casts " + std::to_string(v) + " to an integer");
      } else {
        c.i.push_back(to == onnx::TensorProto::BOOL ? v != 0 : static_cast<int64_t>(v));
      }
    }
  } else {
    fail_attr("to", "type " + std::to_string(to) + " is not supported");
  }
  output_const(std::move(c));
}

}  // namespace cnnmem::onnx_parse
