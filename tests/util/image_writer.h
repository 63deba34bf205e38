// PNG and JPEG files made by tests, from planar (C, H, W) pixels: the image decoder's tests, image
// folder data sets for the reader's and the training tests.
//
// PNG goes through libpng's full write API (so grey+alpha, palette and 16-bit files can be made
// exactly as specified, with no gAMA chunk), JPEG through TurboJPEG (4:4:4, no chroma
// subsampling, so colours survive closely). A failure to write is a test failure (ADD_FAILURE).
// Not here: reading images (io/image_decode.h), directory layouts (each test makes its own).
//
// Usage:
//   std::vector<uint8_t> rgb(3 * 4 * 5, 128);                 // (C=3, H=4, W=5)
//   test::write_png(path("cat/a.png"), 3, 4, 5, rgb.data());  // channels 1, 2 (grey+alpha), 3, 4
//   test::write_jpeg(path("cat/b.jpg"), 3, 4, 5, rgb.data(), 95);  // channels 1 or 3
//   test::write_png16(path("deep.png"), 1, 4, 5, values16.data());
//   test::write_png_palette(path("p.png"), 4, 5, indices.data(), {{255, 0, 0}, {0, 0, 255}});
#pragma once

#include <gtest/gtest.h>
#include <png.h>
#include <turbojpeg.h>

#include <array>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace cnnmem::test {

namespace image_writer_detail {

// Writes rows of already-interleaved bytes (`row_bytes` each) with libpng; false on any error.
// Plain data only between setjmp and a possible longjmp (no destructors are skipped).
inline bool write_png_rows(const std::string& path, int color_type, int bit_depth, int64_t h,
                           int64_t w, const std::vector<uint8_t>& data, size_t row_bytes,
                           const std::vector<png_color>& palette,
                           const std::vector<uint8_t>& trns) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png != nullptr ? png_create_info_struct(png) : nullptr;
  bool ok = png != nullptr && info != nullptr;
  if (ok && setjmp(png_jmpbuf(png)) != 0) ok = false;
  if (ok) {
    png_init_io(png, f);
    png_set_IHDR(png, info, static_cast<png_uint_32>(w), static_cast<png_uint_32>(h), bit_depth,
                 color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (!palette.empty()) {
      png_set_PLTE(png, info, palette.data(), static_cast<int>(palette.size()));
    }
    if (!trns.empty()) {
      png_set_tRNS(png, info, trns.data(), static_cast<int>(trns.size()), nullptr);
    }
    png_write_info(png, info);
    for (int64_t y = 0; y < h; ++y) {
      png_write_row(png, data.data() + static_cast<size_t>(y) * row_bytes);
    }
    png_write_end(png, nullptr);
  }
  png_destroy_write_struct(&png, &info);
  return std::fclose(f) == 0 && ok;
}

inline int png_color_type(int channels) {
  switch (channels) {
    case 1:
      return PNG_COLOR_TYPE_GRAY;
    case 2:
      return PNG_COLOR_TYPE_GRAY_ALPHA;
    case 3:
      return PNG_COLOR_TYPE_RGB;
    default:
      return PNG_COLOR_TYPE_RGB_ALPHA;
  }
}

}  // namespace image_writer_detail

// An 8-bit PNG of `channels` 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA) from planar `chw`.
inline void write_png(const std::string& path, int channels, int64_t h, int64_t w,
                      const uint8_t* chw) {
  std::vector<uint8_t> rows(static_cast<size_t>(channels * h * w));
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t i = 0; i < h * w; ++i) rows[i * channels + c] = chw[c * h * w + i];
  }
  const bool ok =
      image_writer_detail::write_png_rows(path, image_writer_detail::png_color_type(channels), 8, h,
                                          w, rows, static_cast<size_t>(channels * w), {}, {});
  if (!ok) ADD_FAILURE() << "write_png: cannot write " << path;
}

// A 16-bit PNG (big-endian samples, no gAMA chunk) of `channels` 1..4 from planar `chw`.
inline void write_png16(const std::string& path, int channels, int64_t h, int64_t w,
                        const uint16_t* chw) {
  std::vector<uint8_t> rows(static_cast<size_t>(2 * channels * h * w));
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t i = 0; i < h * w; ++i) {
      const uint16_t v = chw[c * h * w + i];
      rows[2 * (i * channels + c)] = static_cast<uint8_t>(v >> 8);
      rows[2 * (i * channels + c) + 1] = static_cast<uint8_t>(v & 0xFF);
    }
  }
  const bool ok = image_writer_detail::write_png_rows(
      path, image_writer_detail::png_color_type(channels), 16, h, w, rows,
      static_cast<size_t>(2 * channels * w), {}, {});
  if (!ok) ADD_FAILURE() << "write_png16: cannot write " << path;
}

// An 8-bit palette PNG: `indices` (H, W) into `palette` (RGB entries); `alpha` (optional, one
// per leading entry) becomes a tRNS chunk.
inline void write_png_palette(const std::string& path, int64_t h, int64_t w, const uint8_t* indices,
                              const std::vector<std::array<uint8_t, 3>>& palette,
                              const std::vector<uint8_t>& alpha = {}) {
  std::vector<png_color> colors;
  for (const auto& p : palette) colors.push_back(png_color{p[0], p[1], p[2]});
  const std::vector<uint8_t> rows(indices, indices + h * w);
  const bool ok = image_writer_detail::write_png_rows(path, PNG_COLOR_TYPE_PALETTE, 8, h, w, rows,
                                                      static_cast<size_t>(w), colors, alpha);
  if (!ok) ADD_FAILURE() << "write_png_palette: cannot write " << path;
}

// A baseline JPEG of `channels` 1 (grey) or 3 (RGB, 4:4:4) from planar `chw`; quality 1..100.
inline void write_jpeg(const std::string& path, int channels, int64_t h, int64_t w,
                       const uint8_t* chw, int quality) {
  std::vector<uint8_t> interleaved(static_cast<size_t>(channels * h * w));
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t i = 0; i < h * w; ++i) interleaved[i * channels + c] = chw[c * h * w + i];
  }
  tjhandle tj = tjInitCompress();
  unsigned char* jpeg = nullptr;
  unsigned long size = 0;
  const int rc = tjCompress2(tj, interleaved.data(), static_cast<int>(w), 0, static_cast<int>(h),
                             channels == 1 ? TJPF_GRAY : TJPF_RGB, &jpeg, &size,
                             channels == 1 ? TJSAMP_GRAY : TJSAMP_444, quality, 0);
  if (rc != 0) {
    ADD_FAILURE() << "write_jpeg: " << path << ": " << tjGetErrorStr2(tj);
  } else {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(jpeg), static_cast<std::streamsize>(size));
    if (!out.good()) ADD_FAILURE() << "write_jpeg: cannot write " << path;
  }
  tjFree(jpeg);
  tjDestroy(tj);
}

}  // namespace cnnmem::test
