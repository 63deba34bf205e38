#include "layers/elementwise_loss.h"

#include <omp.h>

#include <cstddef>
#include <vector>

#include "framework/error.h"

namespace cnnmem {
namespace {

using dnnl::memory;

memory::format_tag plain_tag(size_t rank) {
  switch (rank) {
    case 2:
      return memory::format_tag::ab;
    case 3:
      return memory::format_tag::abc;
    case 4:
      return memory::format_tag::abcd;
    default:
      throw InternalError("a loss output of rank " + std::to_string(rank));
  }
}

}  // namespace

void ElementwiseLoss::plan_forward(StepBuilder& b, const TensorRef& output, BufferId targets,
                                   BufferId result) {
  const memory::dims d = output.md.dims();
  n_ = d[0];
  sample_.assign(d.begin() + 1, d.end());
  target_bytes_ = target(sample_).bytes();
  const memory::desc plain(d, memory::data_type::f32, plain_tag(d.size()));
  plain_ = b.reorder_to(output, plain, "loss.output", Tag::kActivation, Phase::kLoss);
  if (b.training()) b.mark_saved(plain_.buffer);
  targets_ = targets;
  const TensorRef x = plain_;
  const int64_t n = n_, e = dims_product(sample_), tb = target_bytes_;
  b.add_op(
      "loss.forward", Phase::kLoss, {},
      [this, x, targets, result, n, e, tb](const BufferTable& t) {
        const float* out = t.f32(x.buffer);
        const std::byte* tg = t.bytes(targets);
        const int64_t rows = valid_ < 0 ? n : valid_;
        // Per-sample sums added in sample order: the same bits whatever the thread count.
        std::vector<Sums> per(static_cast<size_t>(rows));
#pragma omp parallel for schedule(static) if (rows > 1 && e > 4096)
        for (int64_t i = 0; i < rows; ++i) {
          per[static_cast<size_t>(i)] = forward_sample(out + i * e, tg + i * tb);
        }
        double loss = 0, correct = 0;
        for (const Sums& s : per) loss += s.loss, correct += s.correct;
        float* r = t.f32(result);
        r[0] = static_cast<float>(loss / static_cast<double>(rows * mean_count()));
        r[1] = static_cast<float>(correct);
      },
      {x.buffer, targets, result}, static_cast<double>(4 * n * e));
}

TensorRef ElementwiseLoss::plan_backward(StepBuilder& b) {
  const TensorRef diff = b.book("loss.diff_output", Tag::kActivationGrad, plain_.md);
  const TensorRef x = plain_;
  const BufferId targets = targets_;
  const int64_t n = n_, e = dims_product(sample_), tb = target_bytes_;
  b.add_op(
      "loss.backward", Phase::kLoss, {},
      [this, x, diff, targets, n, e, tb](const BufferTable& t) {
        const float* out = t.f32(x.buffer);
        float* g = t.f32(diff.buffer);
        const std::byte* tg = t.bytes(targets);
        const int64_t rows = valid_ < 0 ? n : valid_;
        const auto scale = static_cast<float>(1.0 / static_cast<double>(rows * mean_count()));
#pragma omp parallel for schedule(static) if (n > 1 && e > 4096)
        for (int64_t i = 0; i < n; ++i) {
          float* gi = g + i * e;
          if (i >= rows) {
            for (int64_t j = 0; j < e; ++j) gi[j] = 0.0f;
            continue;
          }
          backward_sample(out + i * e, tg + i * tb, gi);
          for (int64_t j = 0; j < e; ++j) gi[j] *= scale;
        }
      },
      {x.buffer, diff.buffer, targets}, static_cast<double>(4 * n * e));
  return diff;
}

}  // namespace cnnmem
