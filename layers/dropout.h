// dropout: PyTorch's Dropout. Training zeroes each value with probability p and scales the
// others by 1 / (1 - p); the keep mask (one byte per value, tagged activation) is what forward
// saves for backward. Inference, and p = 0, are the identity: no op, no buffer.
//
// The mask is a pure function of (seed, step, layer, element index): a counter-based hash
// (splitmix64 rounds), with the element index counted in PyTorch's contiguous N,C,H,W order.
// Recomputing a forward pass (activation checkpointing) therefore reproduces the same mask, and
// a test can rebuild it with Dropout::keeps(). The step comes from set_step_counter()'s pointer
// (the executor's step number) when set, else from an internal counter that advances once per
// forward run; a recomputation planned with set_recompute(true) reuses the step of the last
// forward run instead of advancing it.
// The layer works in plain layout: a blocked input is reordered to NCHW first.
// Legend: N batch, E values per sample.
// Not here: Dropout2d (whole channels), alpha dropout.
#pragma once

#include <cstdint>
#include <memory>

#include "framework/layer.h"

namespace cnnmem {

class Dropout : public Layer {
 public:
  Dropout(std::string name, double p = 0.5, uint64_t seed = 0);
  const char* kind() const override { return "dropout"; }
  double p() const { return p_; }
  bool forward_differs_in_training() const override { return p_ > 0; }

  Dims infer(const std::vector<Dims>& in) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;

  // The step number that selects the mask; null: the internal counter. The pointer is read at
  // every forward run and must outlive them.
  void set_step_counter(const int64_t* step) { counter_->external = step; }
  void set_seed(uint64_t seed) { counter_->seed = seed; }
  // Binds the ops planned from now on to an executor's step number and seed, both read at every
  // run (ops planned before keep their binding). Not done when the user set a step counter.
  void bind_step_counter(const int64_t* step, const uint64_t* seed) override {
    if (has_user_step_counter()) return;
    auto c = std::make_shared<Counter>(*counter_);
    c->external = step;
    c->seed_source = seed;
    c->executor = true;
    counter_ = std::move(c);
  }
  bool has_user_step_counter() const {
    return counter_->external != nullptr && !counter_->executor;
  }
  void set_recompute(bool on) { recompute_ = on; }

  // The mask's definition: whether value `index` of the batch is kept at `step`.
  static uint64_t layer_key(const std::string& name);  // FNV-1a of the layer name
  static uint64_t step_key(uint64_t seed, int64_t step, uint64_t layer);
  static bool keeps(uint64_t step_key, int64_t index, double p);

 private:
  struct Counter {
    const int64_t* external = nullptr;
    int64_t internal = 0;
    int64_t last = 0;
    uint64_t seed = 0;
    const uint64_t* seed_source = nullptr;  // overrides `seed` when set
    bool executor = false;                  // external and seed_source are an executor's
  };
  double p_;
  bool recompute_ = false;
  std::shared_ptr<Counter> counter_ = std::make_shared<Counter>();
  dnnl::memory::desc plain_;
  BufferId mask_ = kNoBuffer;
};

}  // namespace cnnmem
