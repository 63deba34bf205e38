// group_norm: PyTorch's GroupNorm(num_groups, num_channels, eps, affine) and InstanceNorm2d
// (group norm with one channel a group; PyTorch's defaults affine=False, track_running_stats=False:
// the statistics of each sample, in training and inference alike).
//
//   y = (x - mean[n, g]) * rstd[n, g] * weight[c] + bias[c],   rstd = 1 / sqrt(var + eps)
//   (biased variance over the M = C / G * H * W values of group g of sample n)
//
// oneDNN 2.6 has no group norm, so forward and backward are the framework's own OpenMP loops
// over (n, g) on a plain (N, C, *) row-major tensor, where each group is one contiguous run of
// M values. (A layer norm over an (N * G, M) view and then a per-channel binary mul and add would
// keep the normalised tensor as well for the weight's gradient, one more tensor the size of the
// input, and make three passes where this makes one.)
//   forward:  per (n, g): mean and variance in double (two passes), then y in one pass;
//   backward: per (n, g): sums of dy and dy * x per channel (double, into a workspace of N x C
//             pairs), then dx = rstd * weight[c] * dy + c2 * x + c3 in one pass; then per channel
//             the weight and bias gradients from the (n, c) sums, in a fixed order
//             (deterministic for any thread count).
//
// Buffers. Training: the input in plain layout ("<name>.src": the input itself when it is plain,
// else a reorder copy tagged activation), dst, "<name>.mean" and "<name>.rstd" (N * G floats
// each, tagged activation); all but dst saved for backward. Inference: no statistics are kept;
// dst is the input's own buffer when it is plain and nothing else reads it, else the input is
// reordered straight into dst and normalised there in place.
// Backward: diff_dst in plain layout (a reorder copy when needed, activation_grad), diff_src over
// it when nothing else reads it, "<name>.sums" (N x C x 2 doubles, workspace), and the parameter
// gradients written in place.
// Parameters (affine): weight [C] (init 1), bias [C] (init 0).
// Legend: N batch, C channels, G groups, H/W size, M values in a group.
// Not here: InstanceNorm2d's running statistics (track_running_stats=True), blocked layouts in the
// loops (a blocked input is reordered to plain).
#pragma once

#include "framework/layer.h"

namespace cnnmem {

class GroupNorm : public Layer {
 public:
  GroupNorm(std::string name, int64_t num_groups, int64_t num_channels, double eps = 1e-5,
            bool affine = true);
  const char* kind() const override { return "group_norm"; }
  int64_t num_groups() const { return groups_; }
  int64_t num_channels() const { return channels_; }
  bool affine() const { return affine_; }
  // Inference: dst is the input's own buffer.
  bool in_place() const { return in_place_; }
  bool writes_over_input() const override { return in_place_; }

  Dims infer(const std::vector<Dims>& in) const override;
  std::vector<ParamDecl> params(const std::vector<Dims>& in) const override;
  double flops(const std::vector<Dims>& in, const Dims& out) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;

 protected:
  // InstanceNorm2d: one group a channel, its own words in messages.
  struct Instance {};
  GroupNorm(Instance, std::string name, int64_t num_features, double eps, bool affine);

 private:
  void validate(double eps) const;

  int64_t groups_;
  int64_t channels_;
  double eps_;
  bool affine_;
  bool instance_ = false;
  bool in_place_ = false;
  dnnl::memory::desc plain_;
  int64_t n_ = 0, spatial_ = 0;  // batch, values per channel
  TensorRef src_;
  BufferId mean_ = kNoBuffer, rstd_ = kNoBuffer;
  ParamBinding weight_, bias_;
};

// nn.InstanceNorm2d(num_features, eps=1e-5, affine=False) with track_running_stats=False.
class InstanceNorm2d : public GroupNorm {
 public:
  InstanceNorm2d(std::string name, int64_t num_features, double eps = 1e-5, bool affine = false)
      : GroupNorm(Instance{}, std::move(name), num_features, eps, affine) {}
  const char* kind() const override { return "instance_norm2d"; }
};

}  // namespace cnnmem
