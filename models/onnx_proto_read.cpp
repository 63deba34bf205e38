// Stage 1 of the ONNX import (models/onnx_parse.h): reading ONNX tensors into constants, and the
// small shape helpers every stage-1 file uses.
// Usage: Const c = read_tensor(initializer, "m.onnx: initializer \"w\"");
// Not here: lowering nodes (onnx_parse_graph.cpp, onnx_lower_*.cpp).
#include <cstring>

#include "framework/error.h"
#include "models/onnx_parse.h"

namespace cnnmem::onnx_parse {

// graph.cpp's dims_str/dims_product, kept here so that stage 1 links without the layers.
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

}  // namespace cnnmem::onnx_parse
