// Optimizers: PyTorch's formulas, defaults and option names. Each optimizer books its state as
// persistent optimizer_state buffers when the step is planned (PyTorch creates it lazily at the
// first step; cnnmem creates it up front so the prediction includes it) and adds one fused,
// in-place update op per parameter: no temporaries.
//
// Usage:
//   OptimizerConfig cfg; cfg.name = "adam"; cfg.lr = 1e-3;
//   auto opt = make_optimizer(cfg);        // validates hyper-parameters
//   opt->plan(builder);                    // after backward is planned
//   opt->begin_step();                     // before each step runs (bias correction, etc.)
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "framework/step_builder.h"

namespace cnnmem {

struct OptimizerConfig {
  std::string name = "sgd";  // sgd | adam
  double lr = -1;            // < 0: the optimizer's default (sgd 0.01, adam 0.001)
  double momentum = 0;
  double dampening = 0;
  bool nesterov = false;
  double weight_decay = 0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual const char* name() const = 0;
  // Bytes of state per parameter element (before alignment): SGD 0, momentum 4, Adam 8.
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
  int64_t step_ = 0;
  BufferId grad_scale_ = kNoBuffer;
};

// Throws Error naming the bad hyper-parameter or unknown optimizer.
std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config);

}  // namespace cnnmem
