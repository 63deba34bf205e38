// sigmoid: 1 / (1 + exp(-x)) (PyTorch's Sigmoid), an eltwise layer (layers/eltwise.h) on
// oneDNN's logistic with use_dst_for_bwd: backward is dst * (1 - dst), so the input is not kept
// and forward runs in place when nothing else needs the input.
// Not here: hard-sigmoid (layers/hardsigmoid.h), log-sigmoid.
#pragma once

#include "layers/eltwise.h"

namespace cnnmem {

class Sigmoid : public Eltwise {
 public:
  explicit Sigmoid(std::string name)
      : Eltwise(std::move(name), dnnl::algorithm::eltwise_logistic_use_dst_for_bwd, 0.f, 0.f) {}
  const char* kind() const override { return "sigmoid"; }
};

}  // namespace cnnmem
