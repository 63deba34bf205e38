// The optimizer interface the executor plans a training step with: each optimizer books its
// state (persistent optimizer_state buffers) and adds one update op per parameter. The five
// optimizers, their configuration and make_optimizer are in optimizers/optimizer.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "framework/step_builder.h"

namespace cnnmem {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual const char* name() const = 0;
  // Bytes of state per parameter element (before alignment): SGD 0, momentum 4, Adam 8 (amsgrad
  // 12), RMSprop 4 (+4 centered, +4 momentum), Adagrad 4.
  virtual int64_t state_bytes_per_element() const = 0;
  // Books the state of parameter `p` (persistent, optimizer_state) and adds its update op
  // "update(<name>)". The executor decides where in the step that op goes: after the whole
  // backward pass, or right after the parameter's gradient is complete (fused updates).
  virtual void plan_update(StepBuilder& b, const ParamBinding& p) = 0;
  // plan_update for every parameter registered in `b`, in order.
  void plan(StepBuilder& b);
  // Multiply every gradient by the float in `buffer` before using it (gradient clipping);
  // kNoBuffer (the default) means no scaling. Call before planning.
  void set_grad_scale(BufferId buffer) { grad_scale_ = buffer; }
  // A one-line description with the hyper-parameters, for reports.
  virtual std::string describe() const = 0;

  void begin_step() { ++step_; }
  int64_t step() const { return step_; }
  // Restores the step counter of a saved training state (bias correction, first-step rules).
  void set_step(int64_t step) { step_ = step; }

 protected:
  // The buffers an update op uses: `buffers` and the gradient scale, when there is one.
  std::vector<BufferId> update_uses(std::vector<BufferId> buffers) const {
    if (grad_scale_ != kNoBuffer) buffers.push_back(grad_scale_);
    return buffers;
  }
  // The gradient scale of this step, 1 when there is none. Read by update ops at run time.
  float grad_scale(const BufferTable& t) const {
    return grad_scale_ == kNoBuffer ? 1.0f : t.f32(grad_scale_)[0];
  }
  // Books "<name()>.<state>.<p.name>": persistent optimizer_state in p's layout.
  BufferId book_state(StepBuilder& b, const ParamBinding& p, const char* state) const;
  int64_t step_ = 0;
  BufferId grad_scale_ = kNoBuffer;
};

}  // namespace cnnmem
