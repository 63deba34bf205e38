// prelu: x for x > 0, slope * x otherwise, with a learnable slope (PyTorch's nn.PReLU): one
// slope shared by every element (num_parameters=1, PyTorch's default) or one per channel (per
// feature of an (N, F) input). The parameter is "<name>.weight" of shape [slopes] as in
// PyTorch's state_dict (or a given name: the ONNX importer keeps the initializer's), initialised
// to 0.25 as PyTorch does.
//
// Forward: oneDNN's prelu primitive (jit). Per channel: the slope is 1 x C x 1 x 1 (1 x F) in
// the layout oneDNN picks for the input's; an input whose layout has only oneDNN's reference
// kernel (channel-blocked by 8) is reordered to channels-last first. One slope: oneDNN 2.6 has
// no jit kernel for a scalar broadcast, so the primitive sees the input's bytes as a
// 1 x 1 x (all elements) tensor with a 1 x 1 x 1 slope (jit; a blocked layout's zero padding
// stays zero). Backward needs src (the sign of dst is not the sign of src for a negative slope,
// and the slope's gradient is sum(diff_dst * min(src, 0))), so training saves the input and
// writes a new buffer; inference writes over the input when nothing else reads it.
// Backward: one prelu_backward (jit) in the forward's layout computes diff_src (over diff_dst
// when nothing else reads it) and the slope's gradient at once (a reduction in oneDNN's
// scratchpad); without a needed diff_src it still writes one, into a workspace buffer.
// Legend: N batch, C channels, H/W size, F features.
// Usage: g.add(std::make_unique<PRelu>("act", 64));   // parameter "act.weight", shape [64]
// Not here: a fixed slope (layers/leaky_relu.h), RReLU.
#pragma once

#include <optional>
#include <string>

#include "framework/layer.h"

namespace cnnmem {

class PRelu : public Layer {
 public:
  // slopes: 1 or the input's channels (features). weight_name: "" for "<name>.weight".
  PRelu(std::string name, int64_t slopes = 1, float init = 0.25f, std::string weight_name = "");
  const char* kind() const override { return "prelu"; }
  int64_t slopes() const { return slopes_; }
  const std::string& weight_name() const { return weight_name_; }

  Dims infer(const std::vector<Dims>& in) const override;
  std::vector<ParamDecl> params(const std::vector<Dims>& in) const override;
  double flops(const std::vector<Dims>& in, const Dims& out) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;
  bool in_place() const { return in_place_; }
  bool writes_over_input() const override { return in_place_; }

 private:
  // The view the primitive works on: `t` itself per channel; its bytes as 1 x 1 x elements for
  // one slope.
  TensorRef data_view(const TensorRef& t) const;

  int64_t slopes_;
  float init_;
  std::string weight_name_;
  bool in_place_ = false;
  TensorRef src_;  // the input as the primitive read it (layer's dims; saved in training)
  ParamBinding slope_;
  std::optional<dnnl::prelu_forward::primitive_desc> fwd_pd_;
};

}  // namespace cnnmem
