// The NumPy image loader (io/npy.h): an image array and a label array made into one ImageData,
// with the image layout decided from the shape (or told), NHWC transposed to NCHW, float values
// checked for NaN and inf, and labels checked to fit one byte.
// Not here: parsing .npy files (io/npy.cpp), normalisation or splitting (train/).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "framework/error.h"
#include "io/npy.h"

namespace cnnmem {
namespace {

// Where the dimensions of an image array are.
struct Layout {
  int64_t n = 0, c = 0, h = 0, w = 0;
  bool channels_last = false;  // the array is (N, H, W, C)
};

bool is_channel_count(int64_t d) { return d == 1 || d == 3 || d == 4; }

Layout image_layout(const NpyArray& a, const std::string& name, std::optional<bool> channels_last) {
  const std::vector<int64_t>& s = a.shape;
  Layout l;
  if (s.size() == 3) {
    l = {s[0], 1, s[1], s[2], false};
  } else if (s.size() == 4) {
    bool last = false;
    if (channels_last.has_value()) {
      last = *channels_last;
    } else if (is_channel_count(s[1]) != is_channel_count(s[3])) {
      last = is_channel_count(s[3]);
    } else if (s[1] > 4 && s[3] <= 4) {
      last = true;
    } else if (s[1] > 4) {
      throw Error("npy: " + name + " has shape " + npy_shape_text(s) +
                  ", where neither dimension 1 nor 3 looks like a channel count (1, 3 or 4); " +
                  "pass " + setting("channels_last", "channels_last (true: N, H, W, C)"));
    }
    l = last ? Layout{s[0], s[3], s[1], s[2], true} : Layout{s[0], s[1], s[2], s[3], false};
  } else {
    throw Error("npy: " + name + " has shape " + npy_shape_text(s) +
                "; images must be (N, H, W), (N, C, H, W) or (N, H, W, C)");
  }
  if (l.n == 0) throw Error("npy: " + name + " has shape " + npy_shape_text(s) + ": no images");
  if (l.c == 0 || l.h == 0 || l.w == 0) {
    throw Error("npy: " + name + " has shape " + npy_shape_text(s) + ": its images are empty");
  }
  return l;
}

// The images as (N, C, H, W) elements of T, from the array's bytes in its layout.
template <typename T>
std::vector<T> to_nchw(const std::vector<uint8_t>& bytes, const Layout& l) {
  std::vector<T> out(bytes.size() / sizeof(T));
  if (!l.channels_last) {
    std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
  }
  const int64_t plane = l.h * l.w;
  for (int64_t i = 0; i < l.n; ++i) {
    const uint8_t* src = bytes.data() + static_cast<size_t>(i * plane * l.c) * sizeof(T);
    T* dst = out.data() + i * plane * l.c;
    for (int64_t p = 0; p < plane; ++p) {
      for (int64_t c = 0; c < l.c; ++c) {
        std::memcpy(&dst[c * plane + p], src + static_cast<size_t>(p * l.c + c) * sizeof(T),
                    sizeof(T));
      }
    }
  }
  return out;
}

// Throws for the first NaN or inf in the float32 elements, by its index in the file's order.
void check_finite(const std::vector<uint8_t>& bytes, int64_t sample, const std::string& name) {
  for (size_t j = 0; j * 4 < bytes.size(); ++j) {
    float v = 0;
    std::memcpy(&v, bytes.data() + j * 4, 4);
    if (!std::isfinite(v)) {
      throw Error("npy: " + name + ": element " + std::to_string(j) + " (image " +
                  std::to_string(static_cast<int64_t>(j) / sample) + ") is " +
                  (std::isnan(v) ? "NaN" : "inf") +
                  "; clean the images first, e.g. np.nan_to_num(x)");
    }
  }
}

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Label i of an integer array, or -1 when it is above int64's range (a u8 label).
int64_t label_value(const NpyArray& a, size_t i) {
  const uint8_t* p = a.data.data() + i * static_cast<size_t>(npy_dtype_size(a.dtype));
  switch (a.dtype) {
    case NpyDtype::kU1:
      return load<uint8_t>(p);
    case NpyDtype::kI1:
      return load<int8_t>(p);
    case NpyDtype::kU2:
      return load<uint16_t>(p);
    case NpyDtype::kI2:
      return load<int16_t>(p);
    case NpyDtype::kU4:
      return load<uint32_t>(p);
    case NpyDtype::kI4:
      return load<int32_t>(p);
    case NpyDtype::kI8:
      return load<int64_t>(p);
    case NpyDtype::kU8: {
      const auto u = load<uint64_t>(p);
      return u > uint64_t{std::numeric_limits<int64_t>::max()} ? -1 : static_cast<int64_t>(u);
    }
    default:
      return -1;  // floats are refused before
  }
}

// The labels as bytes, each checked to be in [0, 255].
std::vector<uint8_t> byte_labels(const NpyArray& labels, const std::string& name) {
  if (labels.dtype == NpyDtype::kF4 || labels.dtype == NpyDtype::kF8) {
    throw Error("npy: " + name + " has dtype " + npy_dtype_name(labels.dtype) +
                "; labels must be integers: np.save(f, y.astype(np.int64))");
  }
  if (labels.shape.size() != 1) {
    throw Error("npy: " + name + " has shape " + npy_shape_text(labels.shape) +
                "; labels must be 1-d (N): np.save(f, y.reshape(-1))");
  }
  std::vector<uint8_t> out(static_cast<size_t>(labels.shape[0]));
  for (size_t i = 0; i < out.size(); ++i) {
    const int64_t v = label_value(labels, i);
    if (v < 0 || v > 255) {
      const std::string text = (labels.dtype == NpyDtype::kU8)
                                   ? std::to_string(load<uint64_t>(labels.data.data() + i * 8))
                                   : std::to_string(v);
      throw Error("npy: " + name + ": label " + std::to_string(i) + " is " + text +
                  ", outside [0, 255]; cnnmem keeps a label in one byte, renumber the classes " +
                  "from 0");
    }
    out[i] = static_cast<uint8_t>(v);
  }
  return out;
}

}  // namespace

ImageData npy_image_data(NpyArray images, const std::string& images_name, const NpyArray& labels,
                         const std::string& labels_name, std::optional<bool> channels_last) {
  if (images.dtype != NpyDtype::kU1 && images.dtype != NpyDtype::kF4) {
    const bool is_float = images.dtype == NpyDtype::kF8;
    throw Error("npy: " + images_name + " has dtype " + npy_dtype_name(images.dtype) +
                "; images must be uint8 (pixels 0..255) or float32: np.save(f, x.astype(" +
                (is_float ? "np.float32" : "np.uint8") + "))");
  }
  const Layout l = image_layout(images, images_name, channels_last);
  std::vector<uint8_t> label_bytes = byte_labels(labels, labels_name);
  if (static_cast<int64_t>(label_bytes.size()) != l.n) {
    throw Error("npy: " + images_name + " holds " + std::to_string(l.n) + " images but " +
                labels_name + " holds " + std::to_string(label_bytes.size()) +
                " labels; the files do not belong together");
  }
  ImageData d;
  d.count = l.n;
  d.channels = l.c;
  d.height = l.h;
  d.width = l.w;
  if (images.dtype == NpyDtype::kF4) {
    check_finite(images.data, d.sample_size(), images_name);
    d.values = to_nchw<float>(images.data, l);
  } else if (l.channels_last) {
    d.pixels = to_nchw<uint8_t>(images.data, l);
  } else {
    d.pixels = std::move(images.data);
  }
  d.classes = *std::max_element(label_bytes.begin(), label_bytes.end()) + 1;
  d.labels = std::move(label_bytes);
  return d;
}

ImageData load_npy_images(const std::string& images_path, const std::string& labels_path,
                          std::optional<bool> channels_last) {
  NpyArray labels = read_npy(labels_path);  // the small one first: its errors come cheap
  return npy_image_data(read_npy(images_path), images_path, labels, labels_path, channels_last);
}

}  // namespace cnnmem
