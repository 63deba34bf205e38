// max_pool2d and avg_pool2d on oneDNN's pooling. Max pooling in training keeps oneDNN's
// workspace (the argmax indices) as an activation for backward; average pooling counts padding
// in the divisor, as PyTorch's AvgPool2d does by default.
// Legend: N batch, C channels, H/W input size, K kernel, OH/OW output size.
// Not here: ceil mode, adaptive or global pooling.
#pragma once

#include <optional>

#include "framework/layer.h"

namespace cnnmem {

enum class PoolKind { kMax, kAvg };

class Pool2d : public Layer {
 public:
  // stride 0 means "same as kernel", as in PyTorch.
  Pool2d(std::string name, PoolKind kind, int64_t kernel, int64_t stride = 0, int64_t padding = 0);
  const char* kind() const override {
    return kind_ == PoolKind::kMax ? "max_pool2d" : "avg_pool2d";
  }

  // Writes its output into a slice of a concatenation's buffer (framework/concat_views.h).
  bool writes_into_view() const override { return true; }

  Dims infer(const std::vector<Dims>& in) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;

 private:
  dnnl::algorithm alg() const;
  PoolKind kind_;
  int64_t kernel_, stride_, padding_;
  std::optional<dnnl::pooling_forward::primitive_desc> fwd_pd_;
  dnnl::memory::desc src_md_, dst_md_;
  TensorRef workspace_;
};

}  // namespace cnnmem
