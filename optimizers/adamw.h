// AdamW: Adam with decoupled weight decay, as torch.optim.AdamW (1.13). Each step first shrinks
// the weights, w *= 1 - lr * wd, then takes Adam's step with the raw gradient (no L2 term), so
// the decay is not rescaled by the adaptive denominator. The kernel is Adam's (optimizers/adam.h).
// Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 1e-2, amsgrad off.
// State: m and v, 8 bytes per parameter; with amsgrad also v_max, 12 bytes.
#pragma once

#include "optimizers/adam.h"

namespace cnnmem {

class AdamW final : public Adam {
 public:
  explicit AdamW(const OptimizerConfig& config);
  const char* name() const override { return "adamw"; }
};

}  // namespace cnnmem
