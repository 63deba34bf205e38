// SGD with momentum, dampening, Nesterov and weight decay, as torch.optim.SGD:
//   g = grad + wd * w
//   buf = g at the first step, else momentum * buf + (1 - dampening) * g
//   g = nesterov ? g + momentum * buf : buf        (when momentum != 0)
//   w -= lr * g
// State: the momentum buffer (4 bytes per parameter) when momentum != 0, else none.
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
