// hardswish: x * relu6(x + 3) / 6 (PyTorch's Hardswish, MobileNetV3's activation), an eltwise
// layer (layers/eltwise.h) on oneDNN's hardswish. Its backward reads src, which training keeps
// (so forward writes a new buffer); inference runs in place.
// Not here: a parameterised hard-swish (oneDNN 2.6's has no alpha/beta).
#pragma once

#include "layers/eltwise.h"

namespace cnnmem {

class HardSwish : public Eltwise {
 public:
  explicit HardSwish(std::string name)
      : Eltwise(std::move(name), dnnl::algorithm::eltwise_hardswish, 0.f, 0.f) {}
  const char* kind() const override { return "hardswish"; }
};

}  // namespace cnnmem
