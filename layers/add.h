// add: the residual connection y = a + b of two same-shaped inputs, on oneDNN's binary add.
// Forward writes over `a` when nothing else needs it (the main branch of a residual block);
// `b` is reordered to `a`'s layout first if the producers chose different ones.
// Backward passes diff_dst to both inputs unchanged and without a copy, as PyTorch's autograd
// does: both inputs receive the SAME buffer, so no layer may write over its diff_dst in place
// while the other branch still has to read it (the executor decides the order of branches).
// Legend: N batch, C channels, H/W size.
// Not here: broadcasting, scaling of either input, a fused ReLU.
#pragma once

#include <optional>

#include "framework/layer.h"

namespace cnnmem {

class Add : public Layer {
 public:
  explicit Add(std::string name) : Layer(std::move(name)) {}
  const char* kind() const override { return "add"; }

  Dims infer(const std::vector<Dims>& in) const override;
  double flops(const std::vector<Dims>& in, const Dims& out) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;
  bool in_place() const { return in_place_; }

 private:
  bool in_place_ = false;
};

}  // namespace cnnmem
