#include "layers/losses.h"

#include <cmath>

#include "framework/error.h"
#include "layers/softmax_cross_entropy.h"

namespace cnnmem {

const std::vector<std::string>& loss_names() {
  static const std::vector<std::string> names = {"cross-entropy", "mse", "bce-with-logits",
                                                 "pixel-cross-entropy"};
  return names;
}

std::unique_ptr<Loss> make_loss(const std::string& name) {
  if (name == "cross-entropy") return std::make_unique<SoftmaxCrossEntropy>();
  if (name == "mse") return std::make_unique<MseLoss>();
  if (name == "bce-with-logits") return std::make_unique<BceWithLogitsLoss>();
  if (name == "pixel-cross-entropy") return std::make_unique<PixelCrossEntropyLoss>();
  std::string known;
  for (const std::string& n : loss_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown loss \"" + name + "\": use one of " + known);
}

std::string default_loss_name(const Dims& output) {
  return output.size() == 3 ? "pixel-cross-entropy" : "cross-entropy";
}

// ---- mse -------------------------------------------------------------------------------------

TargetShape MseLoss::target(const Dims& output) const {
  return TargetShape{TargetKind::kDense, dims_product(output), 0};
}

ElementwiseLoss::Sums MseLoss::forward_sample(const float* x, const void* t) const {
  const auto* y = static_cast<const float*>(t);
  double sum = 0;
  for (int64_t j = 0, e = dims_product(sample_); j < e; ++j) {
    const double d = static_cast<double>(x[j]) - y[j];
    sum += d * d;
  }
  return Sums{sum, 0};
}

void MseLoss::backward_sample(const float* x, const void* t, float* g) const {
  const auto* y = static_cast<const float*>(t);
  for (int64_t j = 0, e = dims_product(sample_); j < e; ++j) g[j] = 2.0f * (x[j] - y[j]);
}

// ---- bce-with-logits -------------------------------------------------------------------------

TargetShape BceWithLogitsLoss::target(const Dims& output) const {
  return TargetShape{TargetKind::kDense, dims_product(output), 0};
}

ElementwiseLoss::Sums BceWithLogitsLoss::forward_sample(const float* x, const void* t) const {
  const auto* y = static_cast<const float*>(t);
  const int64_t e = dims_product(sample_);
  double sum = 0;
  int64_t right = 0;
  for (int64_t j = 0; j < e; ++j) {
    const double v = x[j];
    // max(x, 0) - x t + log(1 + exp(-|x|)): no overflow for large |x|.
    sum += std::max(v, 0.0) - v * y[j] + std::log1p(std::exp(-std::abs(v)));
    right += (x[j] > 0) == (y[j] >= 0.5f) ? 1 : 0;
  }
  return Sums{sum, static_cast<double>(right) / static_cast<double>(e)};
}

void BceWithLogitsLoss::backward_sample(const float* x, const void* t, float* g) const {
  const auto* y = static_cast<const float*>(t);
  for (int64_t j = 0, e = dims_product(sample_); j < e; ++j) {
    g[j] = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(x[j])))) - y[j];
  }
}

// ---- pixel-cross-entropy ---------------------------------------------------------------------

TargetShape PixelCrossEntropyLoss::target(const Dims& output) const {
  if (output.size() != 3 || output[0] < 2) {
    throw Error(
        "loss pixel-cross-entropy needs a K x H x W output per image (K >= 2 classes), "
        "the model's is " +
        dims_str(output) +
        ": use cross-entropy for (N, K) logits or mse / bce-with-logits for other outputs");
  }
  return TargetShape{TargetKind::kPixelClass, output[1] * output[2], output[0]};
}

ElementwiseLoss::Sums PixelCrossEntropyLoss::forward_sample(const float* x, const void* t) const {
  const auto* y = static_cast<const int32_t*>(t);
  const int64_t k = sample_[0], hw = sample_[1] * sample_[2];
  double sum = 0;
  int64_t right = 0;
  for (int64_t p = 0; p < hw; ++p) {
    int64_t best = 0;
    for (int64_t c = 1; c < k; ++c) best = x[c * hw + p] > x[best * hw + p] ? c : best;
    const double m = x[best * hw + p];
    double z = 0;
    for (int64_t c = 0; c < k; ++c) z += std::exp(static_cast<double>(x[c * hw + p]) - m);
    sum += -(static_cast<double>(x[y[p] * hw + p]) - m - std::log(z));
    right += best == y[p] ? 1 : 0;
  }
  return Sums{sum, static_cast<double>(right) / static_cast<double>(hw)};
}

void PixelCrossEntropyLoss::backward_sample(const float* x, const void* t, float* g) const {
  const auto* y = static_cast<const int32_t*>(t);
  const int64_t k = sample_[0], hw = sample_[1] * sample_[2];
  for (int64_t p = 0; p < hw; ++p) {
    double m = x[p];
    for (int64_t c = 1; c < k; ++c) m = std::max(m, static_cast<double>(x[c * hw + p]));
    double z = 0;
    for (int64_t c = 0; c < k; ++c) z += std::exp(static_cast<double>(x[c * hw + p]) - m);
    for (int64_t c = 0; c < k; ++c) {
      const double prob = std::exp(static_cast<double>(x[c * hw + p]) - m) / z;
      g[c * hw + p] = static_cast<float>(prob - (c == y[p] ? 1.0 : 0.0));
    }
  }
}

}  // namespace cnnmem
