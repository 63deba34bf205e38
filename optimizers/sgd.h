// SGD with momentum, dampening, Nesterov and weight decay, as torch.optim.SGD (1.13):
//   g = grad + wd * w
//   buf = g at the first step, else momentum * buf + (1 - dampening) * g     (momentum != 0)
//   g = nesterov ? g + momentum * buf : buf                                  (momentum != 0)
//   w -= lr * g
// Defaults: lr 0.01 (PyTorch has none), momentum 0, dampening 0, weight_decay 0.
// State: the momentum buffer "sgd.momentum.<param>" (4 bytes per parameter) when momentum != 0.
// Unlike PyTorch, dampening must lie in [0, 1] (outside, it would flip or amplify the gradient).
#pragma once

#include "optimizers/optimizer.h"

namespace cnnmem {

class Sgd : public Optimizer {
 public:
  explicit Sgd(const OptimizerConfig& config);
  const char* name() const override { return "sgd"; }
  int64_t state_bytes_per_element() const override { return cfg_.momentum != 0 ? 4 : 0; }
  void plan_update(StepBuilder& b, const ParamBinding& p) override;
  std::string describe() const override;

 private:
  OptimizerConfig cfg_;
};

}  // namespace cnnmem
