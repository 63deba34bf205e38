// batch_norm2d: PyTorch's BatchNorm2d on oneDNN's batch_normalization (scale and shift).
//
// Training normalises with the batch statistics (biased variance), saves src, the batch mean and
// variance for backward, and then updates the running statistics as PyTorch does:
//   running_mean = (1 - momentum) * running_mean + momentum * mean
//   running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)   (unbiased)
//   num_batches_tracked += 1                                           (M = N * H * W)
// Inference normalises with the running statistics (oneDNN's use_global_stats), in place when
// nothing else needs the input.
// Parameters: weight (gamma, init 1) and bias (beta, init 0), each [C]. State tensors (persistent,
// tagged weight, not trained, not counted as parameters): running_mean [C] (init 0), running_var
// [C] (init 1), num_batches_tracked [] (init 0; stored as f32, exact up to 2^24 steps).
//
// Recompute (activation checkpointing): the forward op is deterministic for a given input, so a
// recomputation reproduces dst, mean and variance bit for bit. It must not update the running
// statistics a second time: plan the recomputation with set_recompute(true), which reuses the
// parameters and state tensors registered by the first plan_forward and adds no running-statistics
// op (the one op that updates them is "<name>.running_stats", in the forward phase).
// Legend: N batch, C channels, H/W size.
// Not here: affine=False, track_running_stats=False, a fused ReLU.
#pragma once

#include <optional>

#include "framework/layer.h"

namespace cnnmem {

class BatchNorm2d : public Layer {
 public:
  BatchNorm2d(std::string name, int64_t channels, double eps = 1e-5, double momentum = 0.1);
  const char* kind() const override { return "batch_norm2d"; }
  bool forward_differs_in_training() const override { return true; }  // batch statistics
  int64_t channels() const { return channels_; }

  Dims infer(const std::vector<Dims>& in) const override;
  std::vector<ParamDecl> params(const std::vector<Dims>& in) const override;
  double flops(const std::vector<Dims>& in, const Dims& out) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;

  // On: the next plan_forward plans a recomputation of the forward pass (phase kRecompute),
  // without registering anything again and without updating the running statistics.
  void set_recompute(bool on) { recompute_ = on; }
  bool in_place() const { return in_place_; }

 private:
  int64_t channels_;
  float eps_;
  float momentum_;
  bool recompute_ = false;
  bool in_place_ = false;
  std::optional<dnnl::batch_normalization_forward::primitive_desc> fwd_pd_;
  TensorRef src_, mean_, var_;
  ParamBinding weight_, bias_;
  StateBinding running_mean_, running_var_, num_batches_tracked_;
};

}  // namespace cnnmem
