// relu: max(x, 0) (PyTorch's ReLU), an eltwise layer (layers/eltwise.h): in place when nothing
// else needs its input, backward from dst. A convolution before it can apply it as a post-op
// (Layer::absorbs_relu); the ReLU then plans no forward op of its own.
#pragma once

#include "layers/eltwise.h"

namespace cnnmem {

class Relu : public Eltwise {
 public:
  explicit Relu(std::string name)
      : Eltwise(std::move(name), dnnl::algorithm::eltwise_relu_use_dst_for_bwd, 0.f, 0.f) {}
  const char* kind() const override { return "relu"; }
  bool is_relu() const override { return true; }
  void set_relu_fused(bool on) override { fused_ = on; }
};

}  // namespace cnnmem
