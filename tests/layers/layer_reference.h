// Naive double-precision references of the layers and of the loss, written for clarity over
// speed: plain loops over NCHW (or NF) arrays, PyTorch's semantics. The layer tests compare
// cnnmem's oneDNN results against these, and take finite differences of them.
// Not here: running cnnmem (tests/layers/layer_harness.h).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "framework/graph.h"
#include "layers/conv2d.h"
#include "layers/dropout.h"
#include "layers/pool2d.h"

namespace cnnmem::layer_test {

// A batch of values in double: n samples of `dims` each, NCHW (or NF) order.
struct RefTensor {
  int64_t n = 0;
  Dims dims;
  std::vector<double> v;
};

// Parameters in double, by PyTorch name, in PyTorch layout (OIHW, [out, in]).
using RefParams = std::map<std::string, std::vector<double>>;

inline RefTensor ref_conv2d(const RefTensor& x, const Conv2dOptions& o,
                            const std::vector<double>& weight, const std::vector<double>* bias) {
  const int64_t c = x.dims[0], h = x.dims[1], w = x.dims[2];
  const Window2d g = o.window();
  const int64_t kh = g.kernel_h, kw = g.kernel_w;
  const int64_t oh = (h + g.pads.top + g.pads.bottom - g.span_h()) / g.stride_h + 1;
  const int64_t ow = (w + g.pads.left + g.pads.right - g.span_w()) / g.stride_w + 1;
  const int64_t oc = o.out_channels;
  const int64_t icg = c / o.groups, ocg = oc / o.groups;  // channels per group
  RefTensor y{x.n, {oc, oh, ow}, std::vector<double>(static_cast<size_t>(x.n * oc * oh * ow))};
  for (int64_t n = 0; n < x.n; ++n)
    for (int64_t f = 0; f < oc; ++f)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double acc = bias != nullptr ? (*bias)[static_cast<size_t>(f)] : 0.0;
          for (int64_t gi = 0; gi < icg; ++gi)
            for (int64_t ki = 0; ki < kh; ++ki)
              for (int64_t kj = 0; kj < kw; ++kj) {
                const int64_t ih = i * g.stride_h - g.pads.top + ki * g.dilation_h;
                const int64_t iw = j * g.stride_w - g.pads.left + kj * g.dilation_w;
                if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                const int64_t ic = f / ocg * icg + gi;  // weight [OC, IC/G, KH, KW]
                acc += x.v[static_cast<size_t>(((n * c + ic) * h + ih) * w + iw)] *
                       weight[static_cast<size_t>(((f * icg + gi) * kh + ki) * kw + kj)];
              }
          y.v[static_cast<size_t>(((n * oc + f) * oh + i) * ow + j)] = acc;
        }
  return y;
}

inline RefTensor ref_linear(const RefTensor& x, int64_t out, const std::vector<double>& weight,
                            const std::vector<double>* bias) {
  const int64_t in = x.dims[0];
  RefTensor y{x.n, {out}, std::vector<double>(static_cast<size_t>(x.n * out))};
  for (int64_t n = 0; n < x.n; ++n)
    for (int64_t o = 0; o < out; ++o) {
      double acc = bias != nullptr ? (*bias)[static_cast<size_t>(o)] : 0.0;
      for (int64_t i = 0; i < in; ++i)
        acc += weight[static_cast<size_t>(o * in + i)] * x.v[static_cast<size_t>(n * in + i)];
      y.v[static_cast<size_t>(n * out + o)] = acc;
    }
  return y;
}

inline RefTensor ref_relu(RefTensor x) {
  for (double& v : x.v) v = std::max(v, 0.0);
  return x;
}

// PyTorch semantics: max pooling ignores the padding; average pooling counts it
// (count_include_pad=True), so the divisor is always kernel * kernel.
inline RefTensor ref_pool2d(const RefTensor& x, PoolKind kind, int64_t k, int64_t stride,
                            int64_t pad) {
  const int64_t c = x.dims[0], h = x.dims[1], w = x.dims[2];
  const int64_t oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
  RefTensor y{x.n, {c, oh, ow}, std::vector<double>(static_cast<size_t>(x.n * c * oh * ow))};
  for (int64_t n = 0; n < x.n; ++n)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double max = -std::numeric_limits<double>::infinity(), sum = 0;
          for (int64_t ki = 0; ki < k; ++ki)
            for (int64_t kj = 0; kj < k; ++kj) {
              const int64_t ih = i * stride - pad + ki, iw = j * stride - pad + kj;
              if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
              const double v = x.v[static_cast<size_t>(((n * c + ch) * h + ih) * w + iw)];
              max = std::max(max, v);
              sum += v;
            }
          y.v[static_cast<size_t>(((n * c + ch) * oh + i) * ow + j)] =
              kind == PoolKind::kMax ? max : sum / static_cast<double>(k * k);
        }
  return y;
}

inline RefTensor ref_relu6(RefTensor x) {
  for (double& v : x.v) v = std::min(std::max(v, 0.0), 6.0);
  return x;
}

inline RefTensor ref_add(RefTensor a, const RefTensor& b) {
  for (size_t i = 0; i < a.v.size(); ++i) a.v[i] += b.v[i];
  return a;
}

// PyTorch's AdaptiveAvgPool2d where the output divides the input: mean of each K x K window.
inline RefTensor ref_adaptive_avg_pool2d(const RefTensor& x, int64_t oh, int64_t ow) {
  const int64_t c = x.dims[0], h = x.dims[1], w = x.dims[2], kh = h / oh, kw = w / ow;
  RefTensor y{x.n, {c, oh, ow}, std::vector<double>(static_cast<size_t>(x.n * c * oh * ow))};
  for (int64_t n = 0; n < x.n; ++n)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double sum = 0;
          for (int64_t ki = 0; ki < kh; ++ki)
            for (int64_t kj = 0; kj < kw; ++kj)
              sum += x.v[static_cast<size_t>(((n * c + ch) * h + i * kh + ki) * w + j * kw + kj)];
          y.v[static_cast<size_t>(((n * c + ch) * oh + i) * ow + j)] =
              sum / static_cast<double>(kh * kw);
        }
  return y;
}

// PyTorch's BatchNorm2d: training normalises with the batch mean and biased variance (and
// returns them in `batch_mean` / `batch_var` when given); eval with the running statistics.
inline RefTensor ref_batch_norm2d(const RefTensor& x, const std::vector<double>& weight,
                                  const std::vector<double>& bias,
                                  const std::vector<double>& running_mean,
                                  const std::vector<double>& running_var, double eps, bool training,
                                  std::vector<double>* batch_mean = nullptr,
                                  std::vector<double>* batch_var = nullptr) {
  const int64_t c = x.dims[0], hw = x.dims[1] * x.dims[2];
  std::vector<double> mean = running_mean, var = running_var;
  if (training) {
    const auto m = static_cast<double>(x.n * hw);
    for (int64_t ch = 0; ch < c; ++ch) {
      double sum = 0, sq = 0;
      for (int64_t n = 0; n < x.n; ++n)
        for (int64_t i = 0; i < hw; ++i) sum += x.v[static_cast<size_t>((n * c + ch) * hw + i)];
      const double mu = sum / m;
      for (int64_t n = 0; n < x.n; ++n)
        for (int64_t i = 0; i < hw; ++i) {
          const double d = x.v[static_cast<size_t>((n * c + ch) * hw + i)] - mu;
          sq += d * d;
        }
      mean[static_cast<size_t>(ch)] = mu;
      var[static_cast<size_t>(ch)] = sq / m;
    }
  }
  if (batch_mean != nullptr) *batch_mean = mean;
  if (batch_var != nullptr) *batch_var = var;
  RefTensor y = x;
  for (int64_t n = 0; n < x.n; ++n)
    for (int64_t ch = 0; ch < c; ++ch) {
      const auto k = static_cast<size_t>(ch);
      const double inv = 1.0 / std::sqrt(var[k] + eps);
      for (int64_t i = 0; i < hw; ++i) {
        double& v = y.v[static_cast<size_t>((n * c + ch) * hw + i)];
        v = (v - mean[k]) * inv * weight[k] + bias[k];
      }
    }
  return y;
}

// Training dropout with the mask of layers/dropout.h: Dropout::keeps at `step_key`.
inline RefTensor ref_dropout(RefTensor x, double p, uint64_t step_key) {
  const double scale = p < 1 ? 1.0 / (1.0 - p) : 0.0;
  for (size_t i = 0; i < x.v.size(); ++i) {
    x.v[i] = Dropout::keeps(step_key, static_cast<int64_t>(i), p) ? x.v[i] * scale : 0.0;
  }
  return x;
}

// Mean over the batch of -log softmax(logits)[label], with log-sum-exp.
inline double ref_softmax_cross_entropy(const RefTensor& logits,
                                        const std::vector<int32_t>& labels) {
  const int64_t k = logits.dims[0];
  double total = 0;
  for (int64_t n = 0; n < logits.n; ++n) {
    const double* x = logits.v.data() + n * k;
    const double m = *std::max_element(x, x + k);
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += std::exp(x[j] - m);
    total += m + std::log(sum) - x[labels[static_cast<size_t>(n)]];
  }
  return total / static_cast<double>(logits.n);
}

}  // namespace cnnmem::layer_test
