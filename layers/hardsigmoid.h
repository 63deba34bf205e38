// hardsigmoid: max(0, min(1, alpha * x + beta)) (ONNX's HardSigmoid, default alpha 0.2 and
// beta 0.5; PyTorch's Hardsigmoid is relu6(x + 3) / 6, alpha 1/6 and beta 0.5, the default
// here), an eltwise layer (layers/eltwise.h).
// oneDNN 2.6 has no hard-sigmoid, and its eltwise primitive has only a reference kernel when an
// eltwise post-op is attached, so forward is two jit eltwise calls in one op: linear
// (alpha * x + beta) into dst, then clip_v2 to [0, 1] over dst in place. Backward reads dst only
// (clip_v2 use_dst_for_bwd: the gradient passes where 0 < dst < 1, as PyTorch's), then an
// eltwise linear multiplies it by alpha in place. Forward runs in place when nothing else needs
// the input.
// Usage: HardSigmoid("se.scale_activation") (PyTorch's); HardSigmoid("n", 0.2f, 0.5f) (ONNX's)
// Not here: hard-swish (layers/hardswish.h).
#pragma once

#include <cmath>
#include <string>

#include "framework/error.h"
#include "layers/eltwise.h"

namespace cnnmem {

class HardSigmoid : public Eltwise {
 public:
  explicit HardSigmoid(std::string name, float alpha = 1.f / 6, float beta = 0.5f)
      : Eltwise(std::move(name), dnnl::algorithm::eltwise_clip_v2_use_dst_for_bwd, 0.f, 1.f,
                EltwiseAffine{alpha, beta}),
        alpha_(alpha),
        beta_(beta) {
    if (!std::isfinite(alpha) || !std::isfinite(beta)) {
      throw Error(error_prefix() + "alpha and beta must be finite numbers (PyTorch's are 1/6 " +
                  "and 0.5, ONNX's defaults 0.2 and 0.5), got " + std::to_string(alpha) + " and " +
                  std::to_string(beta));
    }
  }
  const char* kind() const override { return "hardsigmoid"; }
  float alpha() const { return alpha_; }
  float beta() const { return beta_; }

 private:
  float alpha_, beta_;
};

}  // namespace cnnmem
