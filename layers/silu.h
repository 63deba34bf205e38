// silu: x * sigmoid(x) (PyTorch's SiLU, EfficientNet's activation; swish with beta 1), an
// eltwise layer (layers/eltwise.h) on oneDNN's swish with alpha 1. Its backward reads src, which
// training keeps (so forward writes a new buffer); inference runs in place.
// Not here: swish with a learnable beta.
#pragma once

#include "layers/eltwise.h"

namespace cnnmem {

class Silu : public Eltwise {
 public:
  explicit Silu(std::string name)
      : Eltwise(std::move(name), dnnl::algorithm::eltwise_swish, 1.f, 0.f) {}
  const char* kind() const override { return "silu"; }
};

}  // namespace cnnmem
