// The loss interface: what a training step computes from the model's output and the labels.
// The executor plans it after the forward pass and starts backward from the gradient it
// returns; which loss a model trains with is its caller's choice (layers/ has them).
//
// Life cycle: plan_forward (after the model's forward) -> plan_backward -> runs inside the step.
#pragma once

#include <cstdint>

#include "framework/step_builder.h"

namespace cnnmem {

class Loss {
 public:
  virtual ~Loss() = default;
  // `output`: the model's output; `labels`: N int32 values (the staging labels, loaded with the
  // images); `result`: 2 floats the forward op writes, {mean loss, number of correct samples}.
  virtual void plan_forward(StepBuilder& b, const TensorRef& output, BufferId labels,
                            BufferId result) = 0;
  // The gradient of the loss with respect to the output, where backward starts.
  virtual TensorRef plan_backward(StepBuilder& b) = 0;
  // Only the first `rows` samples count (a last, partial evaluation batch). Default: all.
  virtual void set_valid_rows(int64_t rows) = 0;
};

}  // namespace cnnmem
