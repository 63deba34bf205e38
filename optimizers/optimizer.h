// Optimizers: PyTorch 1.13's formulas, defaults and option names (torch.optim.SGD, Adam, AdamW,
// RMSprop, Adagrad; the single-tensor code paths). Each optimizer books its state as persistent
// optimizer_state buffers when the step is planned (PyTorch creates it lazily at the first step;
// cnnmem creates it up front so the prediction includes it) and adds one fused, in-place update
// op per parameter: no temporaries, so nothing of the update is tagged workspace.
//
// State buffers are elementwise, in the parameter's own layout (padded blocked layouts
// included), named "<optimizer>.<state>.<parameter>", e.g. "adam.m.conv1.weight". The arena
// zero-fills them at bind; an optimizer whose state starts at another value (Adagrad's
// initial_accumulator_value) sets it in its first update.
//
// Not here: gradient clipping (it only hands the update a scale, set_grad_scale) or where the
// update ops go in the step (the executor decides: after backward, or fused into it).
//
// The interface the executor plans with is framework/optimizer.h; here: the configuration, the
// factory and the helpers of the five optimizers.
//
// Usage:
//   OptimizerConfig cfg; cfg.name = "adam"; cfg.amsgrad = true;   // lr unset: adam's 1e-3
//   auto opt = make_optimizer(cfg);        // validates hyper-parameters
//   opt->plan(builder);                    // after backward is planned
//   opt->begin_step();                     // before each step runs (bias correction, etc.)
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "framework/optimizer.h"
#include "framework/step_builder.h"

namespace cnnmem {

// Hyper-parameters of every optimizer, with PyTorch's names. An optimizer refuses an option it
// does not have (as torch.optim refuses an unexpected keyword), e.g. --momentum with adam.
struct OptimizerConfig {
  // "Not given": the optimizer's own default, where PyTorch's defaults differ per optimizer.
  static constexpr double kUnset = std::numeric_limits<double>::quiet_NaN();

  std::string name = "sgd";  // sgd | adam | adamw | rmsprop | adagrad
  double lr = kUnset;        // sgd 0.01 (PyTorch has none), adam/adamw 1e-3, rmsprop/adagrad 1e-2
  double weight_decay = kUnset;          // 0; adamw 1e-2 (decoupled)
  double eps = kUnset;                   // adam, adamw, rmsprop 1e-8; adagrad 1e-10
  double momentum = 0;                   // sgd, rmsprop
  double dampening = 0;                  // sgd
  bool nesterov = false;                 // sgd
  double beta1 = 0.9, beta2 = 0.999;     // adam, adamw
  bool amsgrad = false;                  // adam, adamw
  double alpha = 0.99;                   // rmsprop: smoothing constant of the square average
  bool centered = false;                 // rmsprop
  double lr_decay = 0;                   // adagrad
  double initial_accumulator_value = 0;  // adagrad
};

// Throws Error naming the bad hyper-parameter or unknown optimizer.
std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config);

// For the optimizers' constructors and update loops.
namespace optimizer_detail {
// Calls f(std::bool_constant<a>{}, ...) for the runtime flags given, so that an update loop is
// compiled once per combination, without a branch per element, and vectorizes:
//   with_flags([&](auto l2, auto momentum) { ... if constexpr (decltype(l2)::value) ... },
//              wd != 0, m != nullptr);
template <typename F>
void with_flags(F&& f) {
  f();
}
template <typename F, typename... Flags>
void with_flags(F&& f, bool first, Flags... rest) {
  if (first) {
    with_flags([&](auto... more) { f(std::true_type{}, more...); }, rest...);
  } else {
    with_flags([&](auto... more) { f(std::false_type{}, more...); }, rest...);
  }
}

// `value`, or `fallback` when it is OptimizerConfig::kUnset.
inline double or_default(double value, double fallback) {
  return std::isnan(value) ? fallback : value;
}
// Shortest readable form of a hyper-parameter: 0.001, 1e-08, -1.
std::string number(double v);
// Throws Error("<optimizer>: <key> must be >= 0, got <value>") unless value >= 0 (NaN fails);
// `key` names the OptimizerConfig setting ("lr", "weight_decay"), marked with setting().
void require_non_negative(const char* optimizer, const char* key, double value);
// Throws Error("<optimizer>: <key> is not an option of <optimizer> ...") when `config` sets an
// option that is not in `own` (setting keys: "momentum", "betas", "lr_decay", ...).
void require_own_options(const OptimizerConfig& config, const char* optimizer,
                         const std::vector<std::string>& own);
}  // namespace optimizer_detail

}  // namespace cnnmem
