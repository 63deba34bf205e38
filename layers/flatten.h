// flatten: (N, C, H, W) -> (N, C*H*W) in C, H, W order, as PyTorch's flatten(1). A free view
// when the input is already in plain NCHW; otherwise one reorder to NCHW first (blocked layouts
// interleave channels). Backward is the same view in reverse.
// Not here: flattening of other dimensions.
#pragma once

#include "framework/layer.h"

namespace cnnmem {

class Flatten : public Layer {
 public:
  explicit Flatten(std::string name) : Layer(std::move(name)) {}
  const char* kind() const override { return "flatten"; }

  Dims infer(const std::vector<Dims>& in) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;

 private:
  dnnl::memory::dims src_dims_;
};

}  // namespace cnnmem
