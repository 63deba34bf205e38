// leaky_relu: x for x > 0, negative_slope * x otherwise (PyTorch's LeakyReLU, default slope
// 0.01), an eltwise layer (layers/eltwise.h) on oneDNN's relu with alpha = slope. With a slope
// >= 0 the sign of dst is the sign of src, so backward reads dst (use_dst_for_bwd) and forward
// runs in place; a negative slope needs src, which training keeps.
// Not here: a learnable slope (layers/prelu.h), randomized leaky ReLU.
#pragma once

#include <cmath>
#include <string>

#include "framework/error.h"
#include "layers/eltwise.h"

namespace cnnmem {

class LeakyRelu : public Eltwise {
 public:
  explicit LeakyRelu(std::string name, float negative_slope = 0.01f)
      : Eltwise(std::move(name),
                negative_slope >= 0 ? dnnl::algorithm::eltwise_relu_use_dst_for_bwd
                                    : dnnl::algorithm::eltwise_relu,
                negative_slope, 0.f),
        negative_slope_(negative_slope) {
    if (!std::isfinite(negative_slope)) {
      throw Error(error_prefix() + "negative_slope must be a finite number (PyTorch's default is " +
                  "0.01), got " + std::to_string(negative_slope));
    }
  }
  const char* kind() const override { return "leaky_relu"; }
  float negative_slope() const { return negative_slope_; }

 private:
  float negative_slope_;
};

}  // namespace cnnmem
