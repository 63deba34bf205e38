// Small learnable image sets for data tests: each class is a shape in a colour (a filled square,
// a horizontal bar, a vertical bar, a ring ...) at a jittered place on a noisy background, so
// that a small CNN learns them in a few hundred steps, far above chance. Deterministic per seed.
// Writers put a set into the formats the data readers take: CIFAR binary records and .npy
// arrays (the IDX and image writers are tests/util/idx_writer.h and tests/util/image_writer.h).
//
// Usage:
//   test::ShapeSet s = test::shape_images(200, 3, 32, 32, 4, /*seed=*/1);
//   test::write_file(dir / "data_batch_1.bin", test::cifar_records(s, 0, 200));
// Not here: reading any format (io/ is what the tests check).
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace cnnmem::test {

struct ShapeSet {
  int64_t count = 0, channels = 0, height = 0, width = 0;
  std::vector<uint8_t> pixels;  // (N, C, H, W)
  std::vector<uint8_t> labels;  // (N)
};

// Class k draws shape k % 4 (square, horizontal bar, vertical bar, ring) in colour k / 4 (colour
// images: red, green, blue ...; grey images: all shapes in white, so at most 4 classes differ).
inline ShapeSet shape_images(int64_t count, int64_t channels, int64_t height, int64_t width,
                             int classes, uint64_t seed) {
  ShapeSet s{count, channels, height, width, {}, {}};
  s.pixels.resize(static_cast<size_t>(count * channels * height * width));
  s.labels.resize(static_cast<size_t>(count));
  std::mt19937_64 rng(seed);
  const int64_t size = std::max<int64_t>(4, std::min(height, width) / 2);
  for (int64_t i = 0; i < count; ++i) {
    const int k = static_cast<int>(rng() % static_cast<uint64_t>(classes));
    s.labels[static_cast<size_t>(i)] = static_cast<uint8_t>(k);
    const int64_t y0 = static_cast<int64_t>(rng() % static_cast<uint64_t>(height - size + 1));
    const int64_t x0 = static_cast<int64_t>(rng() % static_cast<uint64_t>(width - size + 1));
    for (int64_t y = 0; y < height; ++y) {
      for (int64_t x = 0; x < width; ++x) {
        const int64_t dy = y - y0, dx = x - x0;
        const bool in_box = dy >= 0 && dy < size && dx >= 0 && dx < size;
        const bool mid_row = dy >= size / 2 - 1 && dy <= size / 2;
        const bool mid_col = dx >= size / 2 - 1 && dx <= size / 2;
        const bool edge = dy == 0 || dy == size - 1 || dx == 0 || dx == size - 1;
        const bool on = in_box && (k % 4 == 0   ? true
                                   : k % 4 == 1 ? mid_row
                                   : k % 4 == 2 ? mid_col
                                                : edge);
        for (int64_t c = 0; c < channels; ++c) {
          const bool lit = on && (channels == 1 || c == (k / 4) % channels);
          const auto noise = static_cast<int>(rng() % 40);
          s.pixels[static_cast<size_t>(((i * channels + c) * height + y) * width + x)] =
              static_cast<uint8_t>(lit ? 215 + noise : noise);
        }
      }
    }
  }
  return s;
}

// Images [begin, end) of `s` (3x32x32) as CIFAR-10 records (label byte, then 3072 pixels), or
// CIFAR-100 records (coarse label = label / 5, fine label, pixels) with `cifar100`.
inline std::string cifar_records(const ShapeSet& s, int64_t begin, int64_t end,
                                 bool cifar100 = false) {
  std::string out;
  const int64_t n = s.channels * s.height * s.width;
  for (int64_t i = begin; i < end; ++i) {
    const uint8_t label = s.labels[static_cast<size_t>(i)];
    if (cifar100) out += static_cast<char>(label / 5);
    out += static_cast<char>(label);
    out.append(reinterpret_cast<const char*>(s.pixels.data() + i * n), static_cast<size_t>(n));
  }
  return out;
}

// A version 1.0 .npy file of `descr` ("|u1", "<f4", "<i8") and `shape` ("(3, 2)", "(5,)")
// holding `data`: the header dict padded with spaces to a multiple of 64 bytes.
inline std::string npy_file(const std::string& descr, const std::string& shape,
                            const std::string& data) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + dict.size() + 1) % 64 != 0) dict += ' ';
  dict += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>(dict.size() >> 8);
  return out + dict + data;
}

}  // namespace cnnmem::test
