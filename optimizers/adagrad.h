// Adagrad, as torch.optim.Adagrad (1.13), dense gradients:
//   g = grad + wd * w
//   clr = lr / (1 + (t - 1) * lr_decay)
//   sum += g^2                      (sum starts at initial_accumulator_value)
//   w -= clr * g / (sqrt(sum) + eps)
// Defaults: lr 1e-2, lr_decay 0, weight_decay 0, initial_accumulator_value 0, eps 1e-10.
// State: the sum of squares, 4 bytes per parameter. The arena zero-fills it at bind, so the
// first step (t = 1) starts from initial_accumulator_value instead of reading the buffer: the
// result does not depend on what the buffer held, and no separate fill op is needed.
#pragma once

#include "optimizers/optimizer.h"

namespace cnnmem {

class Adagrad : public Optimizer {
 public:
  explicit Adagrad(const OptimizerConfig& config);
  const char* name() const override { return "adagrad"; }
  int64_t state_bytes_per_element() const override { return 4; }
  void plan_update(StepBuilder& b, const ParamBinding& p) override;
  std::string describe() const override;

 private:
  OptimizerConfig cfg_;
};

}  // namespace cnnmem
