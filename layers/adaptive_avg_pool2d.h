// adaptive_avg_pool2d: PyTorch's AdaptiveAvgPool2d for output sizes that divide the input
// evenly, where it is an average pooling with kernel = stride = input / output, on oneDNN's
// pooling. Output 1x1 is the global average pool (torchvision's resnet and mobilenet `avgpool`);
// 7x7 (vgg) and 6x6 (alexnet) are the identity at 224x224 input, and then cost nothing: no op,
// the input passes through, as does its gradient.
// Legend: N batch, C channels, H/W input size, OH/OW output size, K kernel.
// Not here: output sizes that do not divide the input (PyTorch's uneven windows): rejected.
#pragma once

#include <optional>

#include "framework/layer.h"

namespace cnnmem {

class AdaptiveAvgPool2d : public Layer {
 public:
  AdaptiveAvgPool2d(std::string name, int64_t out_h, int64_t out_w);
  const char* kind() const override { return "adaptive_avg_pool2d"; }

  Dims infer(const std::vector<Dims>& in) const override;
  double flops(const std::vector<Dims>& in, const Dims& out) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;

 private:
  int64_t out_h_, out_w_;
  bool identity_ = false;
  dnnl::memory::dims kernel_;
  std::optional<dnnl::pooling_forward::primitive_desc> fwd_pd_;
  dnnl::memory::desc src_md_, dst_md_;
};

}  // namespace cnnmem
