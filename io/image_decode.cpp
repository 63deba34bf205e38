// Image decoding implementation: format by magic bytes, libpng's simplified API for PNG,
// TurboJPEG for JPEG, then interleaved -> planar; the channel conversion and bilinear resize.
//
// Both decoders are asked for interleaved 8-bit pixels with the alpha channel kept (PNG), so that
// no library composites anything; this file drops alpha while making the pixels planar. Header
// sizes are checked against the pixel cap and against what the input bytes can encode before the
// pixel buffer is allocated, so a 100-byte file cannot ask for 256 MiB.
// Not here: files in directories, labels (io/image_folder.cpp).
#include "io/image_decode.h"

#include <png.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "framework/error.h"

namespace cnnmem {
namespace {

// Deflate cannot expand one input byte into more than 1032 output bytes (zlib's FAQ).
constexpr int64_t kDeflateMaxRatio = 1032;
// JPEG: every 8x8 block of every component costs at least one bit of entropy-coded data in
// Huffman coding (its DC code), 512 pixels a byte; twice that leaves room for arithmetic coding
// of flat areas. A header that declares more is a lie or a broken file.
constexpr int64_t kJpegMaxPixelsPerByte = 1024;

std::string dims_text(int64_t height, int64_t width) {
  return std::to_string(height) + "x" + std::to_string(width);
}

bool is_png(std::span<const uint8_t> b) {
  static constexpr uint8_t kMagic[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  return b.size() >= 8 && std::equal(kMagic, kMagic + 8, b.begin());
}

bool is_jpeg(std::span<const uint8_t> b) {
  return b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF;
}

// Refuses an empty image or one over kImageMaxPixels.
void check_dims(int64_t height, int64_t width, const std::string& name) {
  if (height < 1 || width < 1) {
    throw Error("image: " + name + " declares an empty image (" + dims_text(height, width) +
                "); the file is corrupt");
  }
  if (height > kImageMaxPixels / width) {
    throw Error("image: " + name + " is " + dims_text(height, width) +
                " pixels, more than the 2^26 (67108864) accepted; shrink it before training");
  }
}

// Interleaved (H, W, stored) -> planar (C, H, W), keeping the first `channels` of each pixel.
DecodedImage to_planar(const std::vector<uint8_t>& interleaved, int64_t stored, int64_t channels,
                       int64_t height, int64_t width) {
  DecodedImage out;
  out.channels = channels;
  out.height = height;
  out.width = width;
  const int64_t plane = height * width;
  out.pixels.resize(static_cast<size_t>(channels * plane));
  for (int64_t c = 0; c < channels; ++c) {
    uint8_t* dst = out.pixels.data() + c * plane;
    const uint8_t* src = interleaved.data() + c;
    for (int64_t i = 0; i < plane; ++i) dst[i] = src[i * stored];
  }
  return out;
}

// Frees libpng's state however the read ends (png_image_free is a no-op once finish_read ran).
struct PngImageFree {
  png_image* image;
  ~PngImageFree() { png_image_free(image); }
};

DecodedImage decode_png(std::span<const uint8_t> bytes, const std::string& name) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  PngImageFree guard{&image};
  if (png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()) == 0) {
    throw Error("image: " + name + " is a corrupt PNG file (libpng: " + image.message +
                "); re-export it");
  }
  const int64_t height = image.height, width = image.width;
  check_dims(height, width, name);
  // The least raw data an image can have is 1 bit a pixel plus a filter byte a row.
  const int64_t raw_min = height * ((width + 7) / 8 + 1);
  if (raw_min > kDeflateMaxRatio * static_cast<int64_t>(bytes.size())) {
    throw Error("image: " + name + " declares " + dims_text(height, width) +
                " pixels, more than its " + std::to_string(bytes.size()) +
                " bytes can hold (deflate expands at most 1032x); the file is corrupt");
  }
  const bool colour = (image.format & PNG_FORMAT_FLAG_COLOR) != 0;  // RGB, RGBA and palette
  const bool alpha = (image.format & PNG_FORMAT_FLAG_ALPHA) != 0;   // also tRNS
  image.format = (colour ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY) | (alpha ? PNG_FORMAT_FLAG_ALPHA : 0);
  image.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;  // 16-bit data without gAMA: sRGB, not linear
  const int64_t channels = colour ? 3 : 1;
  const int64_t stored = channels + (alpha ? 1 : 0);
  std::vector<uint8_t> interleaved(static_cast<size_t>(height * width * stored));
  if (png_image_finish_read(&image, nullptr, interleaved.data(), 0, nullptr) == 0) {
    throw Error("image: " + name + " is a corrupt PNG file (libpng: " + image.message +
                "); re-export it");
  }
  return to_planar(interleaved, stored, channels, height, width);
}

// Owns a TurboJPEG decompressor.
struct TjHandle {
  tjhandle handle = tjInitDecompress();
  ~TjHandle() {
    if (handle != nullptr) tjDestroy(handle);
  }
  TjHandle() = default;
  TjHandle(const TjHandle&) = delete;
  TjHandle& operator=(const TjHandle&) = delete;
};

[[noreturn]] void jpeg_corrupt(const std::string& name, tjhandle handle) {
  throw Error("image: " + name + " is a corrupt JPEG file (libjpeg: " + tjGetErrorStr2(handle) +
              "); re-export it");
}

DecodedImage decode_jpeg(std::span<const uint8_t> bytes, const std::string& name) {
  TjHandle tj;
  if (tj.handle == nullptr) {
    throw Error("image: cannot start decoding " + name + " (TurboJPEG: " + tjGetErrorStr2(nullptr) +
                "); out of memory?");
  }
  int w = 0, h = 0, subsamp = 0, colourspace = 0;
  if (tjDecompressHeader3(tj.handle, bytes.data(), bytes.size(), &w, &h, &subsamp, &colourspace) !=
      0) {
    jpeg_corrupt(name, tj.handle);
  }
  if (w < 1 || h < 1) {  // TurboJPEG's answer for a file that ends before its frame header
    throw Error("image: " + name + " is a corrupt JPEG file (no image frame before its end); " +
                "re-export it");
  }
  const int64_t height = h, width = w;
  check_dims(height, width, name);
  if (height * width > kJpegMaxPixelsPerByte * static_cast<int64_t>(bytes.size())) {
    throw Error("image: " + name + " declares " + dims_text(height, width) +
                " pixels, more than its " + std::to_string(bytes.size()) +
                " bytes can encode; the file is corrupt");
  }
  if (colourspace == TJCS_CMYK || colourspace == TJCS_YCCK) {
    throw Error("image: " + name +
                " is a CMYK JPEG; only grey and RGB (YCbCr) JPEG are "
                "accepted, convert it to RGB");
  }
  const bool grey = colourspace == TJCS_GRAY;
  const int64_t channels = grey ? 1 : 3;
  std::vector<uint8_t> interleaved(static_cast<size_t>(height * width * channels));
  // LIMITSCANS: refuse progressive files of more than 500 scans (a decoding-time bomb);
  // STOPONWARNING: a damaged file ("premature end of data") is an error, not a grey smear.
  const int flags = TJFLAG_LIMITSCANS | TJFLAG_STOPONWARNING;
  if (tjDecompress2(tj.handle, bytes.data(), bytes.size(), interleaved.data(), w, 0, h,
                    grey ? TJPF_GRAY : TJPF_RGB, flags) != 0) {
    jpeg_corrupt(name, tj.handle);
  }
  return to_planar(interleaved, channels, channels, height, width);
}

}  // namespace

DecodedImage decode_image(std::span<const uint8_t> bytes, const std::string& name) {
  if (is_png(bytes)) return decode_png(bytes, name);
  if (is_jpeg(bytes)) return decode_jpeg(bytes, name);
  throw Error("image: " + name + " is neither a PNG nor a JPEG file (by its first bytes); " +
              "only PNG and JPEG images are accepted, convert it");
}

DecodedImage decode_image_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw Error("image: " + path + " not found; check the path");
  }
  if (std::filesystem::is_directory(path, ec)) {
    throw Error("image: " + path + " is a directory, not an image file; pass the file path");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("image: cannot open " + path + "; check that the file is readable");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0 || !in) {
    throw Error("image: cannot read the size of " + path + "; check that it is a regular file");
  }
  if (size > kImageMaxFileBytes) {
    throw Error("image: " + path + " is " + std::to_string(size) +
                " bytes, larger than the 1 GiB accepted for one image; shrink it");
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (in.gcount() != size) {
    throw Error("image: cannot read " + path + " to the end; the file changed while reading?");
  }
  return decode_image(bytes, path);
}

DecodedImage convert_channels(const DecodedImage& image, int64_t channels) {
  if (channels != 1 && channels != 3) {
    const std::string n = std::to_string(channels);
    throw Error(setting("channels", "channels " + n, n) +
                " is not supported; use 1 (grey) or 3 (RGB)");
  }
  CNNMEM_CHECK(image.channels == 1 || image.channels == 3);
  if (image.channels == channels) return image;
  DecodedImage out;
  out.channels = channels;
  out.height = image.height;
  out.width = image.width;
  const size_t plane = static_cast<size_t>(image.height * image.width);
  out.pixels.resize(plane * static_cast<size_t>(channels));
  const uint8_t* src = image.pixels.data();
  if (channels == 3) {  // grey -> RGB
    for (size_t c = 0; c < 3; ++c) std::copy_n(src, plane, out.pixels.data() + c * plane);
    return out;
  }
  for (size_t i = 0; i < plane; ++i) {  // RGB -> grey, BT.601 luma in thousandths, rounded
    const int luma = 299 * src[i] + 587 * src[plane + i] + 114 * src[2 * plane + i];
    out.pixels[i] = static_cast<uint8_t>((luma + 500) / 1000);
  }
  return out;
}

namespace {

// Where output index `o` of `out` samples an input axis of `in` pixels: the two input indices
// and the weight of the second (half-pixel centres, clamped at 0 like PyTorch).
struct Tap {
  int64_t i0 = 0, i1 = 0;
  double frac = 0;
};

std::vector<Tap> taps(int64_t in, int64_t out) {
  std::vector<Tap> t(static_cast<size_t>(out));
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  for (int64_t o = 0; o < out; ++o) {
    const double src = std::max(0.0, (static_cast<double>(o) + 0.5) * scale - 0.5);
    Tap& tap = t[static_cast<size_t>(o)];
    tap.i0 = std::min(static_cast<int64_t>(src), in - 1);
    tap.i1 = std::min(tap.i0 + 1, in - 1);
    tap.frac = src - static_cast<double>(tap.i0);
  }
  return t;
}

}  // namespace

DecodedImage resize_bilinear(const DecodedImage& image, int64_t height, int64_t width) {
  if (height < 1 || width < 1 || height > kImageMaxPixels / width) {
    const std::string hw = dims_text(height, width);
    throw Error(setting("resize", "resize " + hw, hw) +
                " is out of range; use HxW of at least 1x1 and at most 2^26 pixels");
  }
  if (height == image.height && width == image.width) return image;
  DecodedImage out;
  out.channels = image.channels;
  out.height = height;
  out.width = width;
  out.pixels.resize(static_cast<size_t>(image.channels * height * width));
  const std::vector<Tap> ty = taps(image.height, height);
  const std::vector<Tap> tx = taps(image.width, width);
  for (int64_t c = 0; c < image.channels; ++c) {
    const uint8_t* src = image.pixels.data() + c * image.height * image.width;
    uint8_t* dst = out.pixels.data() + c * height * width;
    for (int64_t y = 0; y < height; ++y) {
      const Tap& a = ty[static_cast<size_t>(y)];
      const uint8_t* r0 = src + a.i0 * image.width;
      const uint8_t* r1 = src + a.i1 * image.width;
      for (int64_t x = 0; x < width; ++x) {
        const Tap& b = tx[static_cast<size_t>(x)];
        const double top = r0[b.i0] + b.frac * (r0[b.i1] - r0[b.i0]);
        const double bottom = r1[b.i0] + b.frac * (r1[b.i1] - r1[b.i0]);
        const double v = top + a.frac * (bottom - top);
        dst[y * width + x] = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
      }
    }
  }
  return out;
}

}  // namespace cnnmem
