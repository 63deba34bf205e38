// The losses that read the model's output sample by sample in plain layout (mse,
// bce-with-logits, pixel-cross-entropy): the output is reordered to plain NCHW / NC (kept for
// backward: an activation in training), the forward op writes {mean loss, correct samples},
// the backward op writes the gradient in plain layout. Each loss supplies its per-sample math.
// Means run over every valid sample; the rows after set_valid_rows' count contribute nothing.
// Legend: N batch, E output elements of one sample.
//
// Usage (a loss):
//   class Mse : public ElementwiseLoss { ... forward_sample / backward_sample / mean_count };
// Not here: softmax cross-entropy over (N, K) logits (layers/softmax_cross_entropy.h).
#pragma once

#include <cstdint>

#include "framework/loss.h"

namespace cnnmem {

class ElementwiseLoss : public Loss {
 public:
  void plan_forward(StepBuilder& b, const TensorRef& output, BufferId targets,
                    BufferId result) override;
  TensorRef plan_backward(StepBuilder& b) override;
  void set_valid_rows(int64_t rows) override { valid_ = rows; }

 protected:
  struct Sums {
    double loss = 0;     // summed over what the mean runs over
    double correct = 0;  // 0 or 1 for the sample, or its fraction of correct pixels
  };
  // One sample: its output `x` (E floats, plain) and its target `t` (target(): E floats, or
  // int32 class indices).
  virtual Sums forward_sample(const float* x, const void* t) const = 0;
  // d(sum of the sample's terms)/dx into `g` (E floats); the base divides by the mean's count.
  virtual void backward_sample(const float* x, const void* t, float* g) const = 0;
  // Terms the mean runs over in one sample (E, or H x W for a per-pixel loss).
  virtual int64_t mean_count() const = 0;

  Dims sample_;  // the output dims of one sample, set by plan_forward

 private:
  TensorRef plain_;
  BufferId targets_ = kNoBuffer;
  int64_t n_ = 0, valid_ = -1, target_bytes_ = 0;
};

}  // namespace cnnmem
