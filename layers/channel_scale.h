// channel_scale: y = x * gamma with a learnable per-channel scale gamma of shape [C, 1, 1]
// (ConvNeXt's `layer_scale`, a bare nn.Parameter of the block, initialised to 1e-6 there).
// The layer's own name is its parameter's name ("features.1.0.layer_scale"), as in
// torchvision's state_dict.
//
// Forward: one oneDNN binary mul (jit) with gamma as a 1 x C x 1 x 1 src1 in the input's layout
// (plain NCHW, NHWC or channel-blocked by 8/16; any other input is reordered to NCHW first).
// Training saves the input (for gamma's gradient) and writes a new buffer; inference writes over
// the input when nothing else reads it.
// Backward: diff_src = diff_dst * gamma, the same binary mul (over diff_dst when nothing else
// reads it); diff_gamma[c] = sum over N, H, W of diff_dst * x, own loops (OpenMP, one
// accumulator per thread in double) over the physical layout.
// Frozen (trainable = false): gamma is a state tensor (tag weight, no gradient, not a parameter;
// the ONNX importer's multiplication by a constant); backward is diff_src alone, so nothing is
// saved and training writes over the input like inference.
// Legend: N batch, C channels, H/W size.
// Usage: g.add(std::make_unique<ChannelScale>("features.1.0.layer_scale", 96, 1e-6f));
// Not here: a scale with other broadcast shapes (layers/binary.h multiplies two layers).
#pragma once

#include "framework/layer.h"

namespace cnnmem {

class ChannelScale : public Layer {
 public:
  ChannelScale(std::string name, int64_t channels, float init = 1.f, bool trainable = true);
  const char* kind() const override { return "channel_scale"; }
  int64_t channels() const { return channels_; }
  bool trainable() const { return trainable_; }

  Dims infer(const std::vector<Dims>& in) const override;
  std::vector<ParamDecl> params(const std::vector<Dims>& in) const override;
  double flops(const std::vector<Dims>& in, const Dims& out) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;
  bool in_place() const { return in_place_; }
  bool writes_over_input() const override { return in_place_; }

 private:
  // diff_gamma[c] = sum over N, H, W of diff_dst * x.
  void plan_backward_weights(StepBuilder& b, const TensorRef& dd);

  int64_t channels_;
  float init_;
  bool trainable_;
  bool in_place_ = false;
  TensorRef src_;  // the input as the primitive read it (saved in training when trainable)
  TensorRef gamma_;
  BufferId dgamma_ = kNoBuffer;
};

}  // namespace cnnmem
