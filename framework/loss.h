// The loss interface: what a training step computes from the model's output and its targets.
// The step compiler books the targets the loss asks for (next to the images), plans the loss
// after the forward pass and starts backward from the gradient it returns; which loss a model
// trains with is its caller's choice (layers/ has them, layers/losses.h makes one by name).
//
// Life cycle: target (checks the output, sizes the targets) -> plan_forward -> plan_backward ->
// runs inside the step.
#pragma once

#include <cstdint>

#include "framework/graph.h"
#include "framework/step_builder.h"

namespace cnnmem {

// What one sample's target is; every element is 4 bytes.
enum class TargetKind {
  kClass,       // one int32 class index; the output is K logits
  kPixelClass,  // one int32 class index per pixel; the output is K x H x W logits
  kDense,       // one float per output element, the output's shape
};

struct TargetShape {
  TargetKind kind = TargetKind::kClass;
  int64_t elements = 1;  // per sample
  int64_t classes = 0;   // kClass, kPixelClass: K (targets are in [0, K))
  int64_t bytes() const { return elements * 4; }
};

class Loss {
 public:
  virtual ~Loss() = default;
  // "cross-entropy", "mse", ...
  virtual const char* name() const = 0;
  // The targets for a model whose output (one sample) is `output`; throws Error naming the
  // loss and the shape when the loss does not apply to such an output.
  virtual TargetShape target(const Dims& output) const = 0;
  // `output`: the model's output; `targets`: the batch's targets (target() per sample, loaded
  // with the images); `result`: 2 floats the forward op writes, {mean loss, number of correct
  // samples} (a sample counts by its fraction of correct pixels for kPixelClass; always 0 where
  // correctness has no meaning, as for mse).
  virtual void plan_forward(StepBuilder& b, const TensorRef& output, BufferId targets,
                            BufferId result) = 0;
  // The gradient of the loss with respect to the output, where backward starts.
  virtual TensorRef plan_backward(StepBuilder& b) = 0;
  // Only the first `rows` samples count (a last, partial evaluation batch). Default: all.
  virtual void set_valid_rows(int64_t rows) = 0;
};

}  // namespace cnnmem
