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
  const int64_t c = x.dims[0], h = x.dims[1], w = x.dims[2], k = o.kernel;
  const int64_t span = o.dilation * (k - 1) + 1;
  const int64_t oh = (h + 2 * o.padding - span) / o.stride + 1;
  const int64_t ow = (w + 2 * o.padding - span) / o.stride + 1;
  const int64_t oc = o.out_channels;
  RefTensor y{x.n, {oc, oh, ow}, std::vector<double>(static_cast<size_t>(x.n * oc * oh * ow))};
  for (int64_t n = 0; n < x.n; ++n)
    for (int64_t f = 0; f < oc; ++f)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double acc = bias != nullptr ? (*bias)[static_cast<size_t>(f)] : 0.0;
          for (int64_t ic = 0; ic < c; ++ic)
            for (int64_t ki = 0; ki < k; ++ki)
              for (int64_t kj = 0; kj < k; ++kj) {
                const int64_t ih = i * o.stride - o.padding + ki * o.dilation;
                const int64_t iw = j * o.stride - o.padding + kj * o.dilation;
                if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                acc += x.v[static_cast<size_t>(((n * c + ic) * h + ih) * w + iw)] *
                       weight[static_cast<size_t>(((f * c + ic) * k + ki) * k + kj)];
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
