// gelu: x * Phi(x) (PyTorch's GELU, ConvNeXt's activation), exact (erf) or with PyTorch's tanh
// approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), an eltwise layer
// (layers/eltwise.h) on oneDNN's gelu_erf / gelu_tanh. Its backward reads src, which training
// keeps (so forward writes a new buffer); inference runs in place.
// Usage: Gelu("features.1.0.block.4", GeluApproximation::kTanh)
// Not here: other approximations (x * sigmoid(1.702 x)).
#pragma once

#include "layers/eltwise.h"

namespace cnnmem {

// PyTorch's approximate="none" (erf) or "tanh".
enum class GeluApproximation { kNone, kTanh };

class Gelu : public Eltwise {
 public:
  explicit Gelu(std::string name, GeluApproximation approximate = GeluApproximation::kNone)
      : Eltwise(std::move(name),
                approximate == GeluApproximation::kTanh ? dnnl::algorithm::eltwise_gelu_tanh
                                                        : dnnl::algorithm::eltwise_gelu_erf,
                0.f, 0.f),
        approximate_(approximate) {}
  const char* kind() const override { return "gelu"; }
  GeluApproximation approximate() const { return approximate_; }

 private:
  GeluApproximation approximate_;
};

}  // namespace cnnmem
