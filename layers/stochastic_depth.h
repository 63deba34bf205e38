// stochastic_depth: torchvision's StochasticDepth in "row" mode (EfficientNet's and ConvNeXt's
// residual branches): training drops each sample's whole branch with probability p and scales
// the kept ones by 1 / (1 - p); inference, and p = 0, are the identity: no op, no buffer.
//
// The per-sample scale (N floats, 0 or 1 / (1 - p), tagged activation) is what forward saves
// for backward; forward and backward multiply each sample's values by it (own loops over the
// physical layout: every layout the layers produce keeps a sample's values contiguous, batch
// outermost; others are reordered to NCHW first), over the input / diff_dst when nothing else
// reads it. The keep decision of sample n is layers/dropout.h's counter-based draw
// Dropout::keeps(step_key(seed, step, layer_key(name)), n, p): a pure function of the step, so
// a recomputed forward (checkpointing) draws the same samples. The step and seed are the
// executor's (bind_step_counter), else an internal counter advanced once per forward run.
// torchvision draws with torch.bernoulli instead: the same distribution, not the same samples.
// Legend: N batch.
// Usage: g.add(std::make_unique<StochasticDepth>("features.1.1.stochastic_depth", 0.1));
// Not here: "batch" mode (one draw for the whole batch).
#pragma once

#include <cstdint>
#include <memory>

#include "framework/layer.h"

namespace cnnmem {

class StochasticDepth : public Layer {
 public:
  StochasticDepth(std::string name, double p, uint64_t seed = 0);
  const char* kind() const override { return "stochastic_depth"; }
  double p() const { return p_; }
  bool forward_differs_in_training() const override { return p_ > 0; }
  // The step number that selects the draw, read at every forward run (it must outlive them);
  // the executor's binding then leaves it alone (a test fixes the draw this way).
  void set_step_counter(const int64_t* step) {
    counter_->external = step;
    counter_->user = true;
  }
  void bind_step_counter(const int64_t* step, const uint64_t* seed) override {
    if (counter_->user) return;
    auto c = std::make_shared<Counter>(*counter_);
    c->external = step;
    c->seed_source = seed;
    counter_ = std::move(c);
  }
  bool in_place() const { return in_place_; }
  bool writes_over_input() const override { return in_place_; }

  Dims infer(const std::vector<Dims>& in) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;

 private:
  struct Counter {
    const int64_t* external = nullptr;
    int64_t internal = 0;
    uint64_t seed = 0;
    const uint64_t* seed_source = nullptr;
    bool user = false;  // `external` was set by set_step_counter
  };
  double p_;
  bool in_place_ = false;
  std::shared_ptr<Counter> counter_ = std::make_shared<Counter>();
  dnnl::memory::desc md_;
  BufferId scale_ = kNoBuffer;
};

}  // namespace cnnmem
