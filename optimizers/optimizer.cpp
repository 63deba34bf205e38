#include "optimizers/optimizer.h"

#include <algorithm>
#include <sstream>
#include <utility>

#include "framework/error.h"
#include "optimizers/adagrad.h"
#include "optimizers/adam.h"
#include "optimizers/adamw.h"
#include "optimizers/rmsprop.h"
#include "optimizers/sgd.h"

namespace cnnmem {

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config) {
  if (config.name == "sgd") return std::make_unique<Sgd>(config);
  if (config.name == "adam") return std::make_unique<Adam>(config);
  if (config.name == "adamw") return std::make_unique<AdamW>(config);
  if (config.name == "rmsprop") return std::make_unique<RmsProp>(config);
  if (config.name == "adagrad") return std::make_unique<Adagrad>(config);
  throw Error("unknown optimizer \"" + config.name +
              "\": use sgd, adam, adamw, rmsprop or adagrad");
}

namespace optimizer_detail {

std::string number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

void require_non_negative(const char* optimizer, const char* key, double value) {
  if (!(value >= 0)) {
    throw Error(std::string(optimizer) + ": " + setting(key) + " must be >= 0, got " +
                number(value));
  }
}

void require_own_options(const OptimizerConfig& config, const char* optimizer,
                         const std::vector<std::string>& own) {
  // Every option that not all optimizers have, and whether `config` sets it.
  const std::pair<const char*, bool> options[] = {
      {"eps", !std::isnan(config.eps)},
      {"momentum", config.momentum != 0},
      {"dampening", config.dampening != 0},
      {"nesterov", config.nesterov},
      {"betas", config.beta1 != 0.9 || config.beta2 != 0.999},
      {"amsgrad", config.amsgrad},
      {"alpha", config.alpha != 0.99},
      {"centered", config.centered},
      {"lr_decay", config.lr_decay != 0},
      {"initial_accumulator_value", config.initial_accumulator_value != 0},
  };
  for (const auto& [key, set] : options) {
    if (!set || std::find(own.begin(), own.end(), key) != own.end()) continue;
    std::string list = setting("lr") + " " + setting("weight_decay");
    for (const std::string& o : own) list += " " + setting(o);
    throw Error(std::string(optimizer) + ": " + setting(key) + " is not an option of " + optimizer +
                " (it has " + list + ")");
  }
}

}  // namespace optimizer_detail

}  // namespace cnnmem
