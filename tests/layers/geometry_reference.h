// Naive double-precision references of the spatial-geometry layers, PyTorch's semantics, plain
// loops over NCHW arrays: pooling with per-axis windows, ceil mode and count_include_pad;
// transposed convolution; resize (nearest, bilinear); pad (constant, reflect, edge).
// Not here: the square layers' references (tests/layers/layer_reference.h).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "layers/conv_transpose2d.h"
#include "layers/pad.h"
#include "layers/pool2d.h"
#include "layers/resize.h"
#include "tests/layers/layer_reference.h"

namespace cnnmem::layer_test {

inline size_t at4(const Dims& d, int64_t n, int64_t c, int64_t h, int64_t w) {
  return static_cast<size_t>(((n * d[0] + c) * d[1] + h) * d[2] + w);
}

// PyTorch's pooling output size (ceil mode: the last window starts inside input or top pad).
inline int64_t ref_pool_out(int64_t in, int64_t begin, int64_t end, int64_t k, int64_t s,
                            bool ceil_mode) {
  const double exact = static_cast<double>(in + begin + end - k) / static_cast<double>(s);
  int64_t out = static_cast<int64_t>(ceil_mode ? std::ceil(exact) : std::floor(exact)) + 1;
  if (ceil_mode && (out - 1) * s >= in + begin) --out;
  return out;
}

// As PyTorch's avg_pool2d: a window is clipped to [-begin, in + end) for count_include_pad, to
// the input otherwise; max ignores the padding and takes the dilated taps.
inline RefTensor ref_pool2d(const RefTensor& x, PoolKind kind, const Pool2dOptions& o) {
  const Window2d& g = o.window;
  const int64_t c = x.dims[0], h = x.dims[1], w = x.dims[2];
  const int64_t oh =
      ref_pool_out(h, g.pads.top, g.pads.bottom, g.span_h(), g.stride_h, o.ceil_mode);
  const int64_t ow =
      ref_pool_out(w, g.pads.left, g.pads.right, g.span_w(), g.stride_w, o.ceil_mode);
  RefTensor y{x.n, {c, oh, ow}, std::vector<double>(static_cast<size_t>(x.n * c * oh * ow))};
  for (int64_t n = 0; n < x.n; ++n)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          int64_t h0 = i * g.stride_h - g.pads.top, w0 = j * g.stride_w - g.pads.left;
          int64_t h1 = std::min(h0 + g.kernel_h, h + g.pads.bottom);
          int64_t w1 = std::min(w0 + g.kernel_w, w + g.pads.right);
          const int64_t padded = (h1 - h0) * (w1 - w0);
          h0 = std::max<int64_t>(h0, 0), w0 = std::max<int64_t>(w0, 0);
          h1 = std::min(h1, h), w1 = std::min(w1, w);
          double max = -std::numeric_limits<double>::infinity(), sum = 0;
          for (int64_t a = h0; a < h1; ++a)
            for (int64_t b = w0; b < w1; ++b) sum += x.v[at4(x.dims, n, ch, a, b)];
          // Max over the dilated taps inside the input.
          const int64_t t0 = i * g.stride_h - g.pads.top, u0 = j * g.stride_w - g.pads.left;
          for (int64_t ti = 0; ti < g.kernel_h; ++ti)
            for (int64_t tj = 0; tj < g.kernel_w; ++tj) {
              const int64_t a = t0 + ti * g.dilation_h, b = u0 + tj * g.dilation_w;
              if (a >= 0 && a < h && b >= 0 && b < w) {
                max = std::max(max, x.v[at4(x.dims, n, ch, a, b)]);
              }
            }
          const int64_t count = o.count_include_pad ? padded : (h1 - h0) * (w1 - w0);
          y.v[at4(y.dims, n, ch, i, j)] =
              kind == PoolKind::kMax ? max : sum / static_cast<double>(count);
        }
  return y;
}

// PyTorch's ConvTranspose2d: every input value scatters weight[ic, oc % (OC/G)] into the
// output at (ih * SH - top + ki * DH, iw * SW - left + kj * DW).
inline RefTensor ref_conv_transpose2d(const RefTensor& x, const ConvTranspose2dOptions& o,
                                      const std::vector<double>& weight,
                                      const std::vector<double>* bias) {
  const Window2d& g = o.window;
  const int64_t c = x.dims[0], h = x.dims[1], w = x.dims[2], kh = g.kernel_h, kw = g.kernel_w;
  const int64_t oh =
      (h - 1) * g.stride_h - g.pads.top - g.pads.bottom + g.span_h() + o.output_padding_h;
  const int64_t ow =
      (w - 1) * g.stride_w - g.pads.left - g.pads.right + g.span_w() + o.output_padding_w;
  const int64_t oc = o.out_channels, icg = c / o.groups, ocg = oc / o.groups;
  RefTensor y{x.n, {oc, oh, ow}, std::vector<double>(static_cast<size_t>(x.n * oc * oh * ow))};
  for (int64_t n = 0; n < x.n; ++n)
    for (int64_t f = 0; f < oc; ++f)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j)
          y.v[at4(y.dims, n, f, i, j)] = bias != nullptr ? (*bias)[static_cast<size_t>(f)] : 0.0;
  for (int64_t n = 0; n < x.n; ++n)
    for (int64_t ic = 0; ic < c; ++ic)
      for (int64_t a = 0; a < h; ++a)
        for (int64_t b = 0; b < w; ++b)
          for (int64_t fo = 0; fo < ocg; ++fo)
            for (int64_t ki = 0; ki < kh; ++ki)
              for (int64_t kj = 0; kj < kw; ++kj) {
                const int64_t i = a * g.stride_h - g.pads.top + ki * g.dilation_h;
                const int64_t j = b * g.stride_w - g.pads.left + kj * g.dilation_w;
                if (i < 0 || i >= oh || j < 0 || j >= ow) continue;
                const int64_t f = ic / icg * ocg + fo;  // weight [IC, OC/G, KH, KW]
                y.v[at4(y.dims, n, f, i, j)] +=
                    x.v[at4(x.dims, n, ic, a, b)] *
                    weight[static_cast<size_t>(((ic * ocg + fo) * kh + ki) * kw + kj)];
              }
  return y;
}

// ONNX's Resize nearest source index (coordinate mode, then rounding, then clamping), in double.
inline double ref_nearest(const ResizeOptions& o, double d, int64_t in, int64_t out, double scale) {
  const double last = static_cast<double>(in - 1);
  double x = d / scale;
  if (o.nearest_coords == NearestCoords::kHalfPixel ||
      (o.nearest_coords == NearestCoords::kPyTorchHalfPixel && out > 1)) {
    x = (d + 0.5) / scale - 0.5;
  } else if (o.nearest_coords == NearestCoords::kPyTorchHalfPixel) {
    x = 0;
  } else if (o.nearest_coords == NearestCoords::kTfHalfPixel) {
    x = (d + 0.5) / scale;
  } else if (o.nearest_coords == NearestCoords::kAlignCorners) {
    x = out > 1 ? d * last / static_cast<double>(out - 1) : 0;
  }
  const double frac = x - std::floor(x);
  switch (o.nearest_round) {
    case NearestRound::kFloor:
      x = std::floor(x);
      break;
    case NearestRound::kCeil:
      x = std::ceil(x);
      break;
    default:
      x = frac == 0.5
              ? (o.nearest_round == NearestRound::kRoundPreferCeil ? std::ceil(x) : std::floor(x))
              : std::round(x);
  }
  return std::clamp(x, 0.0, last);
}

// PyTorch's F.interpolate (nearest; bilinear with or without align_corners), in double; nearest
// also with ONNX's coordinate modes and roundings.
inline RefTensor ref_resize(const RefTensor& x, const ResizeOptions& o) {
  const int64_t c = x.dims[0], h = x.dims[1], w = x.dims[2];
  const auto size = [&](int64_t in, int64_t out, double scale) {
    return out > 0 ? out : static_cast<int64_t>(std::floor(static_cast<double>(in) * scale));
  };
  const int64_t oh = size(h, o.out_h, o.scale_h), ow = size(w, o.out_w, o.scale_w);
  // Source coordinate of output index d along an axis.
  const auto src = [&](int64_t d, int64_t in, int64_t out, double scale) {
    const double r = scale > 0 ? 1 / scale : static_cast<double>(in) / static_cast<double>(out);
    if (o.mode == ResizeMode::kNearest) {
      return ref_nearest(o, static_cast<double>(d), in, out, 1 / r);
    }
    if (o.align_corners) {
      return out > 1 ? static_cast<double>(d) * static_cast<double>(in - 1) /
                           static_cast<double>(out - 1)
                     : 0.0;
    }
    return std::max(r * (static_cast<double>(d) + 0.5) - 0.5, 0.0);
  };
  RefTensor y{x.n, {c, oh, ow}, std::vector<double>(static_cast<size_t>(x.n * c * oh * ow))};
  for (int64_t n = 0; n < x.n; ++n)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          const double sh = src(i, h, oh, o.scale_h), sw = src(j, w, ow, o.scale_w);
          const auto h0 = std::min(static_cast<int64_t>(sh), h - 1);
          const auto w0 = std::min(static_cast<int64_t>(sw), w - 1);
          const int64_t h1 = std::min(h0 + 1, h - 1), w1 = std::min(w0 + 1, w - 1);
          const double lh = sh - static_cast<double>(h0), lw = sw - static_cast<double>(w0);
          const auto v = [&](int64_t a, int64_t b) { return x.v[at4(x.dims, n, ch, a, b)]; };
          y.v[at4(y.dims, n, ch, i, j)] = (1 - lh) * ((1 - lw) * v(h0, w0) + lw * v(h0, w1)) +
                                          lh * ((1 - lw) * v(h1, w0) + lw * v(h1, w1));
        }
  return y;
}

// F.pad over H and W: constant, reflect, replicate (ONNX: edge).
inline RefTensor ref_pad(const RefTensor& x, const PadOptions& o) {
  const int64_t c = x.dims[0], h = x.dims[1], w = x.dims[2];
  const int64_t oh = h + o.pads.top + o.pads.bottom, ow = w + o.pads.left + o.pads.right;
  const auto map = [&](int64_t i, int64_t in) -> int64_t {
    if (i >= 0 && i < in) return i;
    if (o.mode == PadMode::kConstant) return -1;
    if (o.mode == PadMode::kEdge) return std::clamp<int64_t>(i, 0, in - 1);
    return i < 0 ? -i : 2 * in - 2 - i;  // reflect: the edge is not repeated
  };
  RefTensor y{x.n, {c, oh, ow}, std::vector<double>(static_cast<size_t>(x.n * c * oh * ow))};
  for (int64_t n = 0; n < x.n; ++n)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          const int64_t a = map(i - o.pads.top, h), b = map(j - o.pads.left, w);
          y.v[at4(y.dims, n, ch, i, j)] = a < 0 || b < 0 ? o.value : x.v[at4(x.dims, n, ch, a, b)];
        }
  return y;
}

// Deterministic test values: ((i * 37) % 17 - 8) / 4 (the PyTorch goldens use the same).
inline std::vector<float> golden_input(int64_t count) {
  std::vector<float> v(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) v[static_cast<size_t>(i)] = ((i * 37) % 17 - 8) / 4.0f;
  return v;
}

}  // namespace cnnmem::layer_test
