// Optimizers: PyTorch's formulas, defaults and option names. Each optimizer books its state as
// persistent optimizer_state buffers when the step is planned (PyTorch creates it lazily at the
// first step; cnnmem creates it up front so the prediction includes it) and adds one fused,
// in-place update op per parameter: no temporaries.
//
// Usage:
//   OptimizerConfig cfg; cfg.name = "adam"; cfg.lr = 1e-3;
//   auto opt = make_optimizer(cfg);        // validates hyper-parameters
//   opt->plan(builder);                    // after backward is planned
//   opt->begin_step();                     // before each step runs (bias correction, etc.)
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "framework/step_builder.h"

namespace cnnmem {

struct OptimizerConfig {
  std::string name = "sgd";  // sgd | adam
  double lr = -1;            // < 0: the optimizer's default (sgd 0.01, adam 0.001)
  double momentum = 0;
  double dampening = 0;
  bool nesterov = false;
  double weight_decay = 0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual const char* name() const = 0;
  // Bytes of state per parameter element (before alignment): SGD 0, momentum 4, Adam 8.
  virtual int64_t state_bytes_per_element() const = 0;
  // Books state for every parameter registered in `b` and adds the update ops.
  virtual void plan(StepBuilder& b) = 0;
  // A one-line description with the hyper-parameters, for reports.
  virtual std::string describe() const = 0;

  void begin_step() { ++step_; }
  int64_t step() const { return step_; }

 protected:
  int64_t step_ = 0;
};

// Throws Error naming the bad hyper-parameter or unknown optimizer.
std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config);

}  // namespace cnnmem
