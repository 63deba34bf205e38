#include "optimizers/optimizer.h"

#include "framework/error.h"
#include "optimizers/adam.h"
#include "optimizers/sgd.h"

namespace cnnmem {

void Optimizer::plan(StepBuilder& b) {
  // Copy: plan_update books buffers, which may grow the builder's tables.
  const std::vector<ParamBinding> params = b.params();
  for (const ParamBinding& p : params) plan_update(b, p);
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config) {
  if (config.name == "sgd") return std::make_unique<Sgd>(config);
  if (config.name == "adam") return std::make_unique<Adam>(config);
  throw Error("unknown optimizer \"" + config.name + "\": use sgd or adam");
}

}  // namespace cnnmem
