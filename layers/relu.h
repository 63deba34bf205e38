// relu: max(x, 0) on oneDNN's eltwise. In place (dst is src's buffer) when nothing else needs
// src afterwards; backward reads dst (oneDNN's relu_use_dst_for_bwd), so no extra copy of the
// input is kept, and diff_src overwrites diff_dst.
// Not here: other activations.
#pragma once

#include <optional>

#include "framework/layer.h"

namespace cnnmem {

class Relu : public Layer {
 public:
  explicit Relu(std::string name) : Layer(std::move(name)) {}
  const char* kind() const override { return "relu"; }

  Dims infer(const std::vector<Dims>& in) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;
  bool in_place() const { return in_place_; }
  bool writes_over_input() const override { return in_place_; }
  bool is_relu() const override { return true; }
  // The producer (a convolution) already applied ReLU as a post-op: no forward op of its own,
  // its input is its output; backward is unchanged. Call before planning.
  void set_relu_fused(bool on) override { fused_ = on; }

 private:
  std::optional<dnnl::eltwise_forward::primitive_desc> fwd_pd_;
  TensorRef dst_;
  bool in_place_ = false;
  bool fused_ = false;
};

}  // namespace cnnmem
