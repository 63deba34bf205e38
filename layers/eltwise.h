// eltwise: the base of the elementwise activations (relu, relu6) on oneDNN's eltwise primitive
// with a use_dst_for_bwd algorithm. In place (dst is src's buffer) when nothing else needs src
// afterwards; backward reads dst, so no copy of the input is kept, and diff_src overwrites
// diff_dst unless another branch still reads it.
// Not here: activations whose backward needs src (e.g. GELU).
#pragma once

#include <optional>

#include "framework/layer.h"

namespace cnnmem {

class Eltwise : public Layer {
 public:
  // alpha, beta: the algorithm's parameters (clip_v2: the lower and upper bound).
  Eltwise(std::string name, dnnl::algorithm algorithm, float alpha, float beta)
      : Layer(std::move(name)), algorithm_(algorithm), alpha_(alpha), beta_(beta) {}

  Dims infer(const std::vector<Dims>& in) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;
  bool in_place() const { return in_place_; }
  bool writes_over_input() const override { return in_place_; }

 protected:
  // The producer already applied this activation as a post-op: no forward op of its own, its
  // input is its output; backward is unchanged. Set before planning.
  bool fused_ = false;

 private:
  dnnl::algorithm algorithm_;
  float alpha_, beta_;
  std::optional<dnnl::eltwise_forward::primitive_desc> fwd_pd_;
  TensorRef dst_;
  bool in_place_ = false;
};

}  // namespace cnnmem
