// Adam with bias correction and L2 weight decay, as torch.optim.Adam (amsgrad off):
//   g = grad + wd * w
//   m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g^2
//   w -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// State: m and v, 8 bytes per parameter.
#pragma once

#include "optimizers/optimizer.h"

namespace cnnmem {

class Adam : public Optimizer {
 public:
  explicit Adam(const OptimizerConfig& config);
  const char* name() const override { return "adam"; }
  int64_t state_bytes_per_element() const override { return 8; }
  void plan_update(StepBuilder& b, const ParamBinding& p) override;
  std::string describe() const override;

 private:
  OptimizerConfig cfg_;
};

}  // namespace cnnmem
