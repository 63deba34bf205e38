// tanh: the hyperbolic tangent (PyTorch's Tanh), an eltwise layer (layers/eltwise.h) on oneDNN's
// tanh with use_dst_for_bwd: backward is 1 - dst^2, so the input is not kept and forward runs in
// place when nothing else needs the input.
// Not here: hardtanh, the tanh approximation of GELU (layers/gelu.h).
#pragma once

#include "layers/eltwise.h"

namespace cnnmem {

class Tanh : public Eltwise {
 public:
  explicit Tanh(std::string name)
      : Eltwise(std::move(name), dnnl::algorithm::eltwise_tanh_use_dst_for_bwd, 0.f, 0.f) {}
  const char* kind() const override { return "tanh"; }
};

}  // namespace cnnmem
