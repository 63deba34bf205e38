// Naive double-precision references of the normalisation layers (layers/layer_norm.h,
// layers/group_norm.h) with PyTorch's semantics, and the CustomLayer entries that put them in a
// test Net (tests/layers/layer_net.h). Every norm here is "normalise a set of values with its
// own mean and biased variance, then a per-index affine": only the sets differ.
//
// Usage:
//   Net net({3, 4, 4});
//   net.conv("conv", conv_options(3, 5, 3)).custom("ln", {}, layer_norm2d_case("ln", 5, 1e-6));
// Not here: the checks (tests/layers/layer_harness.h).
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "layers/group_norm.h"
#include "layers/layer_norm.h"
#include "tests/layers/layer_net.h"

namespace cnnmem::layer_test {

// Normalises x.v at the flat indices `at(set, i)` (i < size) for each of `sets` sets; the affine
// of index i of a set is weight[channel(set, i)] (none when weight is null).
template <typename At, typename Channel>
RefTensor ref_normalize(RefTensor x, int64_t sets, int64_t size, double eps, const At& at,
                        const Channel& channel, const std::vector<double>* weight,
                        const std::vector<double>* bias) {
  for (int64_t s = 0; s < sets; ++s) {
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < size; ++i) sum += x.v[static_cast<size_t>(at(s, i))];
    const double mean = sum / static_cast<double>(size);
    for (int64_t i = 0; i < size; ++i) {
      const double d = x.v[static_cast<size_t>(at(s, i))] - mean;
      sq += d * d;
    }
    const double inv = 1.0 / std::sqrt(sq / static_cast<double>(size) + eps);
    for (int64_t i = 0; i < size; ++i) {
      double& v = x.v[static_cast<size_t>(at(s, i))];
      v = (v - mean) * inv;
      if (weight != nullptr) {
        const auto c = static_cast<size_t>(channel(s, i));
        v = v * (*weight)[c] + (*bias)[c];
      }
    }
  }
  return x;
}

// nn.LayerNorm(K) over the last dimension.
inline RefTensor ref_layer_norm(const RefTensor& x, double eps, const std::vector<double>* weight,
                                const std::vector<double>* bias) {
  const int64_t k = x.dims.back();
  const auto rows = static_cast<int64_t>(x.v.size()) / k;
  return ref_normalize(
      x, rows, k, eps, [&](int64_t s, int64_t i) { return s * k + i; },
      [](int64_t, int64_t i) { return i; }, weight, bias);
}

// torchvision's LayerNorm2d: over C at every (n, h, w).
inline RefTensor ref_layer_norm2d(const RefTensor& x, double eps, const std::vector<double>* weight,
                                  const std::vector<double>* bias) {
  const int64_t c = x.dims[0], hw = x.dims[1] * x.dims[2];
  return ref_normalize(
      x, x.n * hw, c, eps, [&](int64_t s, int64_t i) { return (s / hw * c + i) * hw + s % hw; },
      [](int64_t, int64_t i) { return i; }, weight, bias);
}

// nn.GroupNorm(G, C): over the C / G * H * W values of each (n, g).
inline RefTensor ref_group_norm(const RefTensor& x, int64_t groups, double eps,
                                const std::vector<double>* weight,
                                const std::vector<double>* bias) {
  const int64_t c = x.dims[0], spatial = dims_product(x.dims) / c;
  const int64_t size = c / groups * spatial;
  return ref_normalize(
      x, x.n * groups, size, eps, [&](int64_t s, int64_t i) { return s * size + i; },
      [&](int64_t s, int64_t i) { return s % groups * (c / groups) + i / spatial; }, weight, bias);
}

// ---- CustomLayer entries (parameters around 1 so that both weight and bias matter) -----------

inline std::vector<ParamDecl> norm_params(const std::string& name, int64_t size, bool affine) {
  if (!affine) return {};
  return {{name + ".weight", {size}, size}, {name + ".bias", {size}, size}};
}

inline const std::vector<double>* param_or_null(const RefParams& p, const std::string& name) {
  const auto it = p.find(name);
  return it == p.end() ? nullptr : &it->second;
}

inline CustomLayer layer_norm_case(const std::string& name, int64_t size, double eps = 1e-5,
                                   bool affine = true) {
  return {[=] { return std::make_unique<LayerNorm>(name, size, eps, affine); },
          [=](const std::vector<const RefTensor*>& in, const RefParams& p, bool) {
            return ref_layer_norm(*in[0], eps, param_or_null(p, name + ".weight"),
                                  param_or_null(p, name + ".bias"));
          },
          norm_params(name, size, affine), 1.0};
}

inline CustomLayer layer_norm2d_case(const std::string& name, int64_t channels, double eps = 1e-6,
                                     bool affine = true) {
  return {[=] { return std::make_unique<LayerNorm2d>(name, channels, eps, affine); },
          [=](const std::vector<const RefTensor*>& in, const RefParams& p, bool) {
            return ref_layer_norm2d(*in[0], eps, param_or_null(p, name + ".weight"),
                                    param_or_null(p, name + ".bias"));
          },
          norm_params(name, channels, affine), 1.0};
}

inline CustomLayer group_norm_case(const std::string& name, int64_t groups, int64_t channels,
                                   double eps = 1e-5, bool affine = true) {
  return {[=] { return std::make_unique<GroupNorm>(name, groups, channels, eps, affine); },
          [=](const std::vector<const RefTensor*>& in, const RefParams& p, bool) {
            return ref_group_norm(*in[0], groups, eps, param_or_null(p, name + ".weight"),
                                  param_or_null(p, name + ".bias"));
          },
          norm_params(name, channels, affine), 1.0};
}

inline CustomLayer instance_norm_case(const std::string& name, int64_t channels, double eps = 1e-5,
                                      bool affine = false) {
  return {[=] { return std::make_unique<InstanceNorm2d>(name, channels, eps, affine); },
          [=](const std::vector<const RefTensor*>& in, const RefParams& p, bool) {
            return ref_group_norm(*in[0], channels, eps, param_or_null(p, name + ".weight"),
                                  param_or_null(p, name + ".bias"));
          },
          norm_params(name, channels, affine), 1.0};
}

// ---- Golden cases (tests/layers/norm_golden.py computes the same in PyTorch) ----------------

// x[i] = 2 sin(0.7 i + 0.3) + 0.1 i over the flat NCHW batch; labels 0.
inline Batch golden_batch(const Dims& dims, int64_t n) {
  Batch b{n, std::vector<float>(static_cast<size_t>(n * dims_product(dims))),
          std::vector<int32_t>(static_cast<size_t>(n), 0)};
  for (size_t i = 0; i < b.images.size(); ++i) {
    const double x = static_cast<double>(i);
    b.images[i] = static_cast<float>(2 * std::sin(0.7 * x + 0.3) + 0.1 * x);
  }
  return b;
}

// weight[c] = 1 + 0.1 c, bias[c] = 0.05 c - 0.1.
inline std::vector<NamedTensor> golden_params(const std::string& name, int64_t c) {
  NamedTensor w{name + ".weight", {c}, {}}, b{name + ".bias", {c}, {}};
  for (int64_t k = 0; k < c; ++k) {
    w.data.push_back(static_cast<float>(1 + 0.1 * static_cast<double>(k)));
    b.data.push_back(static_cast<float>(0.05 * static_cast<double>(k) - 0.1));
  }
  return {w, b};
}

}  // namespace cnnmem::layer_test
