// relu6: min(max(x, 0), 6) (PyTorch's ReLU6, mobilenet_v2's activation) on oneDNN's eltwise
// clip_v2 with use_dst_for_bwd. Like relu: in place when nothing else needs src, backward reads
// dst (the gradient passes where 0 < dst < 6) and diff_src overwrites diff_dst.
// Not here: other bounds (hardtanh), a fusion into the convolution before it.
#pragma once

#include <optional>

#include "framework/layer.h"

namespace cnnmem {

class Relu6 : public Layer {
 public:
  explicit Relu6(std::string name) : Layer(std::move(name)) {}
  const char* kind() const override { return "relu6"; }

  Dims infer(const std::vector<Dims>& in) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;
  bool in_place() const { return in_place_; }

 private:
  std::optional<dnnl::eltwise_forward::primitive_desc> fwd_pd_;
  TensorRef dst_;
  bool in_place_ = false;
};

}  // namespace cnnmem
