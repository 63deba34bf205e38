// NumPy .npy reader: one array per file (np.save's format, versions 1.0, 2.0 and 3.0), and the
// loader that pairs an image array with a label array into an ImageData.
//
// A .npy file is the magic "\x93NUMPY", a version (major, minor), the header length (u16 LE for
// 1.0, u32 LE for 2.0/3.0), an ASCII header that is a Python dict literal
//   {'descr': '<f4', 'fortran_order': False, 'shape': (60000, 28, 28), }
// padded with spaces and a newline, then the elements. Supported dtypes (descr): u1 i1 u2 i2 u4
// i4 u8 i8 f4 f8, little-endian ('<', or '|' for one-byte types). Fortran-order arrays are
// transposed on reading, so NpyArray::data is always C order (row-major).
// Not here: .npz archives, pickled object arrays, structured or big-endian dtypes (each is
// rejected with a message saying how to re-save the array), memory mapping, or writing.
//
// Usage:
//   cnnmem::NpyArray a = cnnmem::read_npy("x.npy");  // a.shape {N, 28, 28}, a.dtype kU1
//   cnnmem::ImageData d = cnnmem::load_npy_images("x.npy", "y.npy");
//   // d.pixels (uint8 images) or d.values (float32 images), (N, C, H, W); d.labels (N)
//   cnnmem::ImageData e = cnnmem::load_npy_images("x.npy", "y.npy", /*channels_last=*/true);
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "io/image_data.h"

namespace cnnmem {

// The element types a .npy file may hold here, by NumPy's short names (u1 = uint8, f4 = float32).
enum class NpyDtype { kU1, kI1, kU2, kI2, kU4, kI4, kU8, kI8, kF4, kF8 };

// "u1", "f4", ...: the dtype as np.dtype(...).str writes it, without the byte order.
const char* npy_dtype_name(NpyDtype dtype);
// Bytes per element: 1, 2, 4 or 8.
int npy_dtype_size(NpyDtype dtype);
// A shape as Python writes the tuple, for messages: "(2, 3)", "(5,)", "()".
std::string npy_shape_text(const std::vector<int64_t>& shape);

// The contents of one .npy file.
struct NpyArray {
  std::vector<int64_t> shape;  // outermost first; {} for a 0-d array (one element)
  NpyDtype dtype = NpyDtype::kU1;
  std::vector<uint8_t> data;  // element_count() elements, little-endian, C order

  int64_t element_count() const;  // the product of shape (1 for a 0-d array)
};

// Parses a whole .npy file held in memory; `name` names it in messages. Throws cnnmem::Error for a
// bad magic, a version other than 1.0/2.0/3.0, a header that runs past the end, a header that is
// not a dict of exactly 'descr', 'fortran_order' and 'shape', a big-endian, object, structured or
// otherwise unsupported dtype, a shape whose element count or byte size overflows, and data whose
// size is not exactly what the shape needs (truncated, or trailing bytes).
NpyArray parse_npy(std::span<const uint8_t> bytes, const std::string& name);

// Reads the file at `path` and parses it like parse_npy. Also throws if the file is missing, a
// directory or unreadable. Memory: the file's size (twice that for a Fortran-order array).
NpyArray read_npy(const std::string& path);

// Pairs an image array with a label array (the names are used in messages):
//  - images: uint8 (ImageData::pixels) or float32 (ImageData::values; NaN or inf is an error),
//    of shape (N, H, W) (grey: C = 1), (N, C, H, W) or (N, H, W, C), stored as (N, C, H, W).
//  - layout of a 4-d array: with `channels_last` set, it decides (true: N, H, W, C). Otherwise a
//    channel count is 1, 3 or 4: if only shape[1] is one, (N, C, H, W); if only shape[3] is,
//    (N, H, W, C); if both or neither are, (N, C, H, W) when shape[1] <= 4, else (N, H, W, C) when
//    shape[3] <= 4, else an error that names the shape and says to pass channels_last.
//  - labels: 1-d of N integers (any supported integer dtype), each in [0, 255] since cnnmem keeps
//    a label in one byte. ImageData::classes = the largest label + 1.
// Throws cnnmem::Error for any other dtype or rank, an empty dimension, or a count mismatch.
ImageData npy_image_data(NpyArray images, const std::string& images_name, const NpyArray& labels,
                         const std::string& labels_name,
                         std::optional<bool> channels_last = std::nullopt);

// Reads both files with read_npy and pairs them with npy_image_data. Memory: the image file's
// size, twice that while a float32 or (N, H, W, C) array is converted.
ImageData load_npy_images(const std::string& images_path, const std::string& labels_path,
                          std::optional<bool> channels_last = std::nullopt);

}  // namespace cnnmem
