#include "layers/softmax_cross_entropy.h"

#include <cmath>

#include "framework/error.h"

namespace cnnmem {

using dnnl::memory;

TargetShape SoftmaxCrossEntropy::target(const Dims& output) const {
  if (output.size() != 1) {
    throw Error("loss cross-entropy needs (N, classes) logits, the model's output is " +
                dims_str(output) +
                " per image: end the model with a layer of that width, or use "
                "pixel-cross-entropy for a K x H x W segmentation output or mse / "
                "bce-with-logits for other outputs");
  }
  return TargetShape{TargetKind::kClass, 1, output[0]};
}

void SoftmaxCrossEntropy::plan_forward(StepBuilder& b, const TensorRef& logits, BufferId labels,
                                       BufferId result) {
  const memory::dims d = logits.md.dims();
  CNNMEM_CHECK(d.size() == 2);
  n_ = d[0];
  k_ = d[1];
  const memory::desc plain({n_, k_}, memory::data_type::f32, memory::format_tag::nc);
  logits_ = b.reorder_to(logits, plain, "loss.logits", Tag::kActivation, Phase::kLoss);
  labels_ = labels;
  probs_ = b.book("loss.probs", b.training() ? Tag::kActivation : Tag::kWorkspace, plain);
  const TensorRef lg = logits_, pr = probs_;
  const int64_t n = n_, k = k_;
  b.add_op(
      "loss.forward", Phase::kLoss, {},
      [this, lg, pr, labels, result, n, k](const BufferTable& t) {
        const float* x = t.f32(lg.buffer);
        float* p = t.f32(pr.buffer);
        const auto* y = reinterpret_cast<const int32_t*>(t.bytes(labels));
        const int64_t rows = valid_ < 0 ? n : valid_;
        double total = 0;
        int64_t correct = 0;
        for (int64_t i = 0; i < n; ++i) {
          const float* xi = x + i * k;
          float* pi = p + i * k;
          int64_t argmax = 0;
          for (int64_t j = 1; j < k; ++j) argmax = xi[j] > xi[argmax] ? j : argmax;
          const float m = xi[argmax];
          double sum = 0;
          for (int64_t j = 0; j < k; ++j) sum += std::exp(static_cast<double>(xi[j] - m));
          for (int64_t j = 0; j < k; ++j) {
            pi[j] = static_cast<float>(std::exp(static_cast<double>(xi[j] - m)) / sum);
          }
          if (i < rows) {
            total += -(static_cast<double>(xi[y[i]] - m) - std::log(sum));
            correct += (argmax == y[i]);
          }
        }
        float* r = t.f32(result);
        r[0] = static_cast<float>(total / static_cast<double>(rows));
        r[1] = static_cast<float>(correct);
      },
      {lg.buffer, pr.buffer, labels, result}, static_cast<double>(3 * n * k));
}

TensorRef SoftmaxCrossEntropy::plan_backward(StepBuilder& b) {
  const TensorRef diff = b.book("loss.diff_logits", Tag::kActivationGrad, probs_.md);
  const TensorRef pr = probs_;
  const BufferId labels = labels_;
  const int64_t n = n_, k = k_;
  b.add_op(
      "loss.backward", Phase::kLoss, {},
      [this, pr, diff, labels, n, k](const BufferTable& t) {
        const float* p = t.f32(pr.buffer);
        float* g = t.f32(diff.buffer);
        const auto* y = reinterpret_cast<const int32_t*>(t.bytes(labels));
        const int64_t rows = valid_ < 0 ? n : valid_;
        const float scale = 1.0f / static_cast<float>(rows);
        for (int64_t i = 0; i < n; ++i) {
          for (int64_t j = 0; j < k; ++j) {
            g[i * k + j] = i < rows ? (p[i * k + j] - (j == y[i] ? 1.0f : 0.0f)) * scale : 0.0f;
          }
        }
      },
      {pr.buffer, diff.buffer, labels}, static_cast<double>(2 * n * k));
  return diff;
}

}  // namespace cnnmem
