#include "optimizers/optimizer.h"

#include "framework/error.h"
#include "optimizers/adam.h"
#include "optimizers/sgd.h"

namespace cnnmem {

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config) {
  if (config.name == "sgd") return std::make_unique<Sgd>(config);
  if (config.name == "adam") return std::make_unique<Adam>(config);
  throw Error("unknown optimizer \"" + config.name + "\": use sgd or adam");
}

}  // namespace cnnmem
