// Stage 1 of the ONNX import (models/onnx_parse.h): folded shape arithmetic, continued: Slice,
// Add/Sub/Mul/Div/Floor (NumPy broadcasting), ConstantOfShape and Reshape of constants.
// Usage: through Lowering::op_table() and the runtime ops (onnx_lower_channels.cpp, ...).
// Not here: Shape, Gather, Unsqueeze, Concat, Cast (onnx_lower_fold.cpp).
#include <algorithm>
#include <cmath>

#include "framework/error.h"
#include "models/onnx_parse.h"

namespace cnnmem::onnx_parse {
namespace {

// Flat index into `shape` (broadcast onto `out`, right-aligned) of output element `k`.
int64_t broadcast_index(int64_t k, const Dims& out, const Dims& shape) {
  int64_t index = 0, stride = 1;
  for (size_t d = out.size(); d-- > 0;) {
    const int64_t coord = k % out[d];
    k /= out[d];
    const size_t back = out.size() - 1 - d;
    if (back < shape.size()) {
      const int64_t n = shape[shape.size() - 1 - back];
      index += (n == 1 ? 0 : coord) * stride;
      stride *= n;
    }
  }
  return index;
}

}  // namespace

void Lowering::fold_slice() {
  const Const& data = *maybe_constant(0);
  const auto rank = static_cast<int64_t>(data.shape.size());
  Dims p[4];  // starts, ends, axes, steps
  for (size_t k = 1; k < 5; ++k) {
    if (!has_input(k)) continue;
    const Const* c = maybe_constant(k);
    if (c == nullptr || c->is_float) fail("starts, ends, axes and steps must be INT64 constants");
    p[k - 1] = c->i;
  }
  if (opset_ < 10) {
    p[0] = attr_ints("starts");
    p[1] = attr_ints("ends");
    p[2] = attr_ints("axes");
  }
  Dims begin(data.shape.size(), 0), step(data.shape.size(), 1), out = data.shape;
  for (size_t j = 0; j < p[0].size(); ++j) {
    int64_t a = j < p[2].size() ? p[2][j] : static_cast<int64_t>(j);
    if (a < 0) a += rank;
    if (a < 0 || a >= rank || j >= p[1].size()) fail("starts, ends and axes do not match");
    const auto ax = static_cast<size_t>(a);
    const int64_t n = data.shape[ax], st = j < p[3].size() ? p[3][j] : 1;
    if (st == 0) fail("a step of 0");
    const auto clamp = [n, st](int64_t v) {
      v = v < 0 ? v + n : v;
      return st > 0 ? std::clamp<int64_t>(v, 0, n) : std::clamp<int64_t>(v, -1, n - 1);
    };
    const int64_t b = clamp(p[0][j]), e = clamp(p[1][j]);
    begin[ax] = b;
    step[ax] = st;
    out[ax] = st > 0 ? std::max<int64_t>(0, (e - b + st - 1) / st)
                     : std::max<int64_t>(0, (b - e - st - 1) / -st);
  }
  const int64_t total = checked_product(out, kMaxElements, "Slice's output");
  const Dims in_strides = [&] {
    Dims s(data.shape.size(), 1);
    for (size_t k = data.shape.size(); k-- > 1;) s[k - 1] = s[k] * data.shape[k];
    return s;
  }();
  Const c;
  c.is_float = data.is_float;
  c.shape = out;
  for (int64_t k = 0; k < total; ++k) {
    int64_t rest = k, at = 0;
    for (size_t d = out.size(); d-- > 0;) {
      at += (begin[d] + (rest % out[d]) * step[d]) * in_strides[d];
      rest /= out[d];
    }
    if (c.is_float) {
      c.f.push_back(data.f[static_cast<size_t>(at)]);
    } else {
      c.i.push_back(data.i[static_cast<size_t>(at)]);
    }
  }
  output_const(std::move(c));
}

void Lowering::fold_arith() {
  const std::string& op = node_->op_type();
  const bool unary = op == "Floor";
  allow_attrs({});
  expect_io(unary ? 1 : 2, unary ? 1 : 2);
  if (!all_inputs_constant()) fail("only " + op + " of constants is supported here");
  const Const& a = *maybe_constant(0);
  const Const& b = unary ? a : *maybe_constant(1);
  const size_t n = std::max(a.shape.size(), b.shape.size());
  Dims out(n, 1);
  for (size_t k = 0; k < n; ++k) {
    const int64_t da = k < n - a.shape.size() ? 1 : a.shape[k - (n - a.shape.size())];
    const int64_t db = k < n - b.shape.size() ? 1 : b.shape[k - (n - b.shape.size())];
    if (da != db && da != 1 && db != 1) {
      fail("constants " + shape_str(a.shape) + " and " + shape_str(b.shape) + " do not broadcast");
    }
    out[k] = std::max(da, db);
  }
  const int64_t total = checked_product(out, kMaxElements, op + "'s output");
  Const c;
  c.shape = out;
  c.is_float = a.is_float || b.is_float;
  for (int64_t k = 0; k < total; ++k) {
    const auto ia = static_cast<size_t>(broadcast_index(k, out, a.shape));
    const auto ib = static_cast<size_t>(broadcast_index(k, out, b.shape));
    if ((!a.is_float && a.i[ia] == kBatch) || (!b.is_float && b.i[ib] == kBatch)) {
      fail(
          "computes with the batch size, which cnnmem does not know at import (export with a "
          "fixed-shape graph)");
    }
    if (c.is_float) {
      const double x = a.at(ia), y = b.at(ib);
      const double r = op == "Add"   ? x + y
                       : op == "Sub" ? x - y
                       : op == "Mul" ? x * y
                       : op == "Div" ? x / y
                                     : std::floor(x);
      c.f.push_back(static_cast<float>(r));
    } else {
      const int64_t x = a.i[ia], y = b.i[ib];
      if (op == "Div" && y == 0) fail("divides by zero");
      if ((op == "Mul" || op == "Add" || op == "Sub") &&
          (std::abs(x) > kMaxValue || std::abs(y) > kMaxValue)) {
        fail("shape arithmetic out of range");
      }
      c.i.push_back(op == "Add"   ? x + y
                    : op == "Sub" ? x - y
                    : op == "Mul" ? x * y
                    : op == "Div" ? x / y
                                  : x);
    }
  }
  output_const(std::move(c));
}

void Lowering::fold_constant_of_shape() {
  allow_attrs({"value"});
  expect_io(1, 1);
  const Const* shape = maybe_constant(0);
  if (shape == nullptr || shape->is_float) fail("only a constant shape is supported");
  for (int64_t d : shape->i) {
    if (d == kBatch) fail("the shape depends on the batch size, unknown at import");
  }
  Const value;
  value.f = {0.0f};
  if (const onnx::AttributeProto* a = attr("value")) {
    if (a->type() != onnx::AttributeProto::TENSOR) fail_attr("value", "must be a tensor");
    value = read_tensor(a->t(), source_ + ": node \"" + node_name_ + "\": value");
    if (value.size() != 1) fail_attr("value", "must have one element");
  }
  const int64_t total = checked_product(shape->i, kMaxElements, "ConstantOfShape's output");
  Const c;
  c.shape = shape->i;
  c.is_float = value.is_float;
  if (c.is_float) {
    c.f.assign(static_cast<size_t>(total), value.f[0]);
  } else {
    c.i.assign(static_cast<size_t>(total), value.i[0]);
  }
  output_const(std::move(c));
}

Dims Lowering::reshape_target(const Dims& from, const Const& shape) const {
  if (shape.is_float) fail("the shape must be an INT64 tensor");
  Dims out;
  int64_t known = 1, infer = -1;
  for (size_t k = 0; k < shape.i.size(); ++k) {
    int64_t d = shape.i[k];
    if (d == 0 && attr_int("allowzero", 0) == 0) {
      if (k >= from.size()) fail("Reshape's 0 has no dim to copy");
      d = from[k];
    }
    if (d == -1 && infer < 0) {
      infer = static_cast<int64_t>(k);
    } else if (d < 0) {
      fail("Reshape to " + shape_str(shape.i) + " is not supported");
    } else {
      known *= d;
    }
    out.push_back(d);
  }
  const int64_t total = shape_product(from);
  if (infer >= 0) {
    if (known == 0 || total % known != 0) {
      fail("Reshape to " + shape_str(shape.i) + " does not fit");
    }
    out[static_cast<size_t>(infer)] = total / known;
  }
  if (shape_product(out) != total) {
    fail("Reshape of " + shape_str(from) + " to " + shape_str(shape.i) + " does not fit");
  }
  return out;
}

void Lowering::fold_reshape() {
  const Const& data = *maybe_constant(0);
  const Const* shape = maybe_constant(1);
  if (shape == nullptr) fail("the shape must be a constant INT64 tensor");
  Const c = data;
  c.shape = reshape_target(data.shape, *shape);
  output_const(std::move(c));
}

void Lowering::fold_transpose() {
  const Const& data = *maybe_constant(0);
  const size_t rank = data.shape.size();
  Dims perm = attr_ints("perm");
  if (perm.empty()) {
    for (size_t k = rank; k-- > 0;) perm.push_back(static_cast<int64_t>(k));
  }
  Dims sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (size_t k = 0; k < rank; ++k) {
    if (sorted.size() != rank || sorted[k] != static_cast<int64_t>(k)) {
      fail_attr("perm",
                shape_str(perm) + " is not a permutation of " + std::to_string(rank) + " axes");
    }
  }
  Dims in_strides(rank, 1), out(rank);
  for (size_t k = rank; k-- > 1;) in_strides[k - 1] = in_strides[k] * data.shape[k];
  for (size_t k = 0; k < rank; ++k) out[k] = data.shape[static_cast<size_t>(perm[k])];
  Const c;
  c.is_float = data.is_float;
  c.shape = out;
  const auto total = static_cast<int64_t>(data.size());
  for (int64_t k = 0; k < total; ++k) {
    int64_t rest = k, at = 0;
    for (size_t d = rank; d-- > 0;) {
      at += (rest % out[d]) * in_strides[static_cast<size_t>(perm[d])];
      rest /= out[d];
    }
    if (c.is_float) {
      c.f.push_back(data.f[static_cast<size_t>(at)]);
    } else {
      c.i.push_back(data.i[static_cast<size_t>(at)]);
    }
  }
  output_const(std::move(c));
}

}  // namespace cnnmem::onnx_parse
