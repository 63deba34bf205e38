// Softmax cross-entropy loss, mean over the batch (PyTorch's nn.CrossEntropyLoss()).
// Forward saves the softmax probabilities (an activation) and writes [mean loss, correct
// predictions] into a small result buffer; backward writes (softmax - onehot(label)) / N.
// Legend: N batch, K classes. Logits arrive as plain (N, K).
// Not here: label smoothing, class weights.
#pragma once

#include <cstdint>

#include "framework/loss.h"
#include "framework/step_builder.h"

namespace cnnmem {

class SoftmaxCrossEntropy : public Loss {
 public:
  const char* name() const override { return "cross-entropy"; }
  // K logits per sample; Error for any other output.
  TargetShape target(const Dims& output) const override;
  // labels: N int32 values; result: 2 floats {mean loss, number of correct argmax predictions}.
  void plan_forward(StepBuilder& b, const TensorRef& logits, BufferId labels,
                    BufferId result) override;
  TensorRef plan_backward(StepBuilder& b) override;
  void set_valid_rows(int64_t rows) override { valid_ = rows; }

 private:
  TensorRef logits_;
  BufferId labels_ = kNoBuffer;
  TensorRef probs_;
  int64_t n_ = 0, k_ = 0, valid_ = -1;
};

}  // namespace cnnmem
