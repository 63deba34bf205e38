// relu6: min(max(x, 0), 6) (PyTorch's ReLU6, mobilenet_v2's activation), an eltwise layer
// (layers/eltwise.h) on clip_v2 with use_dst_for_bwd: the gradient passes where 0 < dst < 6.
// Not here: other bounds (hardtanh), a fusion into the convolution before it.
#pragma once

#include "layers/eltwise.h"

namespace cnnmem {

class Relu6 : public Eltwise {
 public:
  explicit Relu6(std::string name)
      : Eltwise(std::move(name), dnnl::algorithm::eltwise_clip_v2_use_dst_for_bwd, 0.f, 6.f) {}
  const char* kind() const override { return "relu6"; }
};

}  // namespace cnnmem
