// Adam with bias correction, L2 weight decay and amsgrad, as torch.optim.Adam (1.13); also the
// kernel of AdamW (optimizers/adamw.h), which differs only in where the weight decay goes:
//   w = w * (1 - lr * wd)                              (AdamW: decoupled weight decay)
//   g = grad + wd * w                                  (Adam: L2 penalty in the gradient)
//   m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g^2
//   v_max = max(v_max, v)                              (amsgrad; the denominator uses v_max)
//   w -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0 (AdamW 1e-2), amsgrad off.
// State: m and v, 8 bytes per parameter; with amsgrad also v_max, 12 bytes.
#pragma once

#include "optimizers/optimizer.h"

namespace cnnmem {

class Adam : public Optimizer {
 public:
  explicit Adam(const OptimizerConfig& config) : Adam(config, "adam", 0.0, false) {}
  const char* name() const override { return "adam"; }
  int64_t state_bytes_per_element() const override { return cfg_.amsgrad ? 12 : 8; }
  void plan_update(StepBuilder& b, const ParamBinding& p) override;
  std::string describe() const override;

 protected:
  // For AdamW: `optimizer` names it in messages; `decoupled` applies the weight decay to the
  // weights instead of adding it to the gradient.
  Adam(const OptimizerConfig& config, const char* optimizer, double default_weight_decay,
       bool decoupled);

 private:
  OptimizerConfig cfg_;
  bool decoupled_;
};

}  // namespace cnnmem
