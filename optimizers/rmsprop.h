// RMSprop, as torch.optim.RMSprop (1.13):
//   g = grad + wd * w
//   sq = alpha * sq + (1 - alpha) * g^2
//   centered:  ga = alpha * ga + (1 - alpha) * g;   avg = sqrt(sq - ga^2) + eps
//   otherwise: avg = sqrt(sq) + eps
//   momentum > 0: buf = momentum * buf + g / avg;  w -= lr * buf
//   otherwise:    w -= lr * g / avg
// Defaults: lr 1e-2, alpha 0.99, eps 1e-8, weight_decay 0, momentum 0, centered off.
// State: the square average (4 bytes per parameter), + the gradient average when centered (4),
// + the momentum buffer when momentum > 0 (4).
#pragma once

#include "optimizers/optimizer.h"

namespace cnnmem {

class RmsProp : public Optimizer {
 public:
  explicit RmsProp(const OptimizerConfig& config);
  const char* name() const override { return "rmsprop"; }
  int64_t state_bytes_per_element() const override {
    return 4 + (cfg_.centered ? 4 : 0) + (cfg_.momentum > 0 ? 4 : 0);
  }
  void plan_update(StepBuilder& b, const ParamBinding& p) override;
  std::string describe() const override;

 private:
  OptimizerConfig cfg_;
};

}  // namespace cnnmem
