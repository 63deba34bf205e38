#include "train/preprocess.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

#include "framework/error.h"

namespace cnnmem {
namespace {

// splitmix64: a well-mixed 64-bit value of its input, so neighbouring samples draw unrelated
// crops and flips.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct Draw {
  int64_t dy = 0, dx = 0;  // crop offset in the padded image, each in [0, 2 * padding]
  bool flip = false;
};

Draw draw(const Preprocess& p, int64_t epoch, int64_t index) {
  const uint64_t h =
      mix(mix(mix(p.seed) ^ static_cast<uint64_t>(epoch)) ^ static_cast<uint64_t>(index));
  Draw d;
  if (p.crop_padding > 0) {
    const auto span = static_cast<uint64_t>(2 * p.crop_padding + 1);
    d.dy = static_cast<int64_t>((h & 0xffffffffULL) % span);
    d.dx = static_cast<int64_t>((h >> 32) % span);
  }
  d.flip = p.flip && (mix(h) & 1ULL) != 0;
  return d;
}

float value_at(const SampleSource& src, int64_t i) {
  return src.pixels != nullptr ? static_cast<float>(src.pixels[i]) / 255.0f : src.values[i];
}

}  // namespace

void prepare_sample(const SampleSource& src, int64_t index, const Dims& dims, int64_t epoch,
                    bool augment, const Preprocess& p, float* dst) {
  const int64_t c_n = dims[0], h_n = dims[1], w_n = dims[2];
  const int64_t base = index * c_n * h_n * w_n;
  const Draw d = augment ? draw(p, epoch, index) : Draw{};
  const int64_t pad = augment && p.crop_padding > 0 ? p.crop_padding : 0;
  const bool moved = pad > 0 || d.flip;
  for (int64_t c = 0; c < c_n; ++c) {
    const float mean = p.normalize.empty() ? 0.0f : p.normalize.mean[static_cast<size_t>(c)];
    const float inv_std =
        p.normalize.empty() ? 1.0f : 1.0f / p.normalize.std[static_cast<size_t>(c)];
    if (!moved) {  // the plane as it is: one contiguous pass
      float* plane = dst + c * h_n * w_n;
      const int64_t from = base + c * h_n * w_n;
      for (int64_t j = 0; j < h_n * w_n; ++j) plane[j] = (value_at(src, from + j) - mean) * inv_std;
      continue;
    }
    for (int64_t y = 0; y < h_n; ++y) {
      float* row = dst + (c * h_n + y) * w_n;
      const int64_t sy = y + d.dy - pad;
      for (int64_t x = 0; x < w_n; ++x) {
        const int64_t sx = (d.flip ? w_n - 1 - x : x) + d.dx - pad;
        const bool inside = sy >= 0 && sy < h_n && sx >= 0 && sx < w_n;
        const float v = inside ? value_at(src, base + (c * h_n + sy) * w_n + sx) : 0.0f;
        row[x] = (v - mean) * inv_std;
      }
    }
  }
}

Normalize parse_normalize(const std::string& text, int64_t channels) {
  std::vector<float> v;
  std::stringstream in(text);
  std::string item;
  const std::string fix = "give C means then C standard deviations in the value/255 scale, e.g. " +
                          setting("normalize", "0.2860,0.3530", "0.2860,0.3530") +
                          " for one channel";
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    const float x = std::strtof(item.c_str(), &end);
    if (item.empty() || end != item.c_str() + item.size() || !std::isfinite(x)) {
      throw Error(setting("normalize") + " " + text + ": \"" + item + "\" is not a number; " + fix);
    }
    v.push_back(x);
  }
  const auto c = static_cast<size_t>(channels);
  if (v.size() == 2 && c > 1) {  // one mean and one std for every channel
    const float m = v[0], s = v[1];
    v.assign(c, m);
    v.resize(2 * c, s);
  }
  if (v.size() != 2 * c) {
    throw Error(setting("normalize") + " " + text + ": " + std::to_string(v.size()) +
                " numbers for " + std::to_string(channels) + "-channel images; " + fix);
  }
  Normalize n;
  n.mean.assign(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(c));
  n.std.assign(v.begin() + static_cast<std::ptrdiff_t>(c), v.end());
  for (float s : n.std) {
    if (s <= 0) {
      throw Error(setting("normalize") + " " + text + ": a standard deviation must be > 0");
    }
  }
  return n;
}

Normalize normalize_from_data(const SampleSource& src, int64_t count, const Dims& dims) {
  const int64_t c_n = dims[0], plane = dims[1] * dims[2];
  Normalize n;
  const double m = static_cast<double>(count * plane);
  for (int64_t c = 0; c < c_n; ++c) {
    // Two passes, so that a constant channel has a variance of exactly 0.
    double sum = 0, sum_sq = 0;
    const auto each = [&](const auto& f) {
      for (int64_t i = 0; i < count; ++i) {
        const int64_t base = (i * c_n + c) * plane;
        for (int64_t j = 0; j < plane; ++j) f(static_cast<double>(value_at(src, base + j)));
      }
    };
    each([&](double x) { sum += x; });
    const double mean = m > 0 ? sum / m : 0;
    each([&](double x) { sum_sq += (x - mean) * (x - mean); });
    const double var = m > 0 ? sum_sq / m : 0;
    n.mean.push_back(static_cast<float>(mean));
    // A constant channel would divide by zero: it is left unscaled.
    n.std.push_back(var > 0 ? static_cast<float>(std::sqrt(var)) : 1.0f);
  }
  return n;
}

std::string normalize_text(const Normalize& n) {
  std::ostringstream out;
  out.precision(9);
  for (size_t i = 0; i < n.mean.size(); ++i) out << (i ? "," : "") << n.mean[i];
  for (float s : n.std) out << "," << s;
  return out.str();
}

}  // namespace cnnmem
