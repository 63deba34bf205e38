// eltwise: the base of the elementwise activations on oneDNN's eltwise primitive.
// Two kinds of algorithm:
//  - use_dst_for_bwd (relu, relu6, sigmoid, tanh, leaky ReLU and ELU with a slope/alpha >= 0,
//    hard-sigmoid): backward reads dst, so the input is not kept and forward runs in place (dst
//    is src's buffer) when nothing else needs src afterwards;
//  - the others (hard-swish, SiLU, GELU, leaky ReLU/ELU with a negative slope/alpha): backward
//    reads src, which training saves (mark_saved), so forward writes a new buffer; inference has
//    no backward and runs in place like the first kind.
// diff_src overwrites diff_dst unless another branch still reads it.
// An optional affine step before the algorithm, y = f(scale * x + shift) (hard-sigmoid's
// clip(alpha * x + beta, 0, 1)), is one more eltwise_linear call in the same op (oneDNN 2.6's
// eltwise has no jit kernel with an eltwise post-op); its backward multiplies the algorithm's
// gradient by `scale` in place. Only with a use_dst_for_bwd algorithm.
// Not here: the activations themselves (relu.h, relu6.h, sigmoid.h, ...), softmax.
#pragma once

#include <optional>

#include "framework/layer.h"

namespace cnnmem {

// The activation before the algorithm: y = f(scale * x + shift).
struct EltwiseAffine {
  float scale = 1.f;
  float shift = 0.f;
};

class Eltwise : public Layer {
 public:
  // alpha, beta: the algorithm's parameters (clip_v2: the lower and upper bound; relu: the
  // negative slope; elu: alpha; swish: the sigmoid's scale).
  Eltwise(std::string name, dnnl::algorithm algorithm, float alpha, float beta,
          std::optional<EltwiseAffine> affine = std::nullopt);

  Dims infer(const std::vector<Dims>& in) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;
  bool in_place() const { return in_place_; }
  bool writes_over_input() const override { return in_place_; }
  // Backward reads dst (true) or the saved src (false).
  bool backward_from_dst() const { return from_dst_; }
  dnnl::algorithm algorithm() const { return algorithm_; }

 protected:
  // The producer already applied this activation as a post-op: no forward op of its own, its
  // input is its output; backward is unchanged. Set before planning.
  bool fused_ = false;

 private:
  dnnl::algorithm algorithm_;
  float alpha_, beta_;
  std::optional<EltwiseAffine> affine_;
  // Forward (as planned in fwd_pd_), the affine or, in training, backward on `md` would run
  // oneDNN's reference kernel.
  bool has_ref_kernel(const StepBuilder& b, const dnnl::memory::desc& md) const;
  bool from_dst_;
  std::optional<dnnl::eltwise_forward::primitive_desc> fwd_pd_;
  TensorRef src_;  // saved for backward when !from_dst_
  TensorRef dst_;
  bool in_place_ = false;
};

}  // namespace cnnmem
