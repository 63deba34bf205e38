// elu: x for x > 0, alpha * (exp(x) - 1) otherwise (PyTorch's ELU, default alpha 1), an eltwise
// layer (layers/eltwise.h) on oneDNN's elu. With alpha >= 0 backward reads dst
// (use_dst_for_bwd: dst + alpha where dst <= 0) and forward runs in place; a negative alpha needs
// src, which training keeps.
// Not here: SELU, CELU.
#pragma once

#include <cmath>
#include <string>

#include "framework/error.h"
#include "layers/eltwise.h"

namespace cnnmem {

class Elu : public Eltwise {
 public:
  explicit Elu(std::string name, float alpha = 1.f)
      : Eltwise(std::move(name),
                alpha >= 0 ? dnnl::algorithm::eltwise_elu_use_dst_for_bwd
                           : dnnl::algorithm::eltwise_elu,
                alpha, 0.f),
        alpha_(alpha) {
    if (!std::isfinite(alpha)) {
      throw Error(error_prefix() + "alpha must be a finite number (PyTorch's default is 1), got " +
                  std::to_string(alpha));
    }
  }
  const char* kind() const override { return "elu"; }
  float alpha() const { return alpha_; }

 private:
  float alpha_;
};

}  // namespace cnnmem
