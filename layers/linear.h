// linear: fully connected layer y = x W^T + b on oneDNN's inner product. Weights are [out, in]
// in PyTorch's terms, kept in the layout the forward primitive picks.
// Legend: N batch, IF input features, OF output features.
// Not here: flattening (layers/flatten.h gives linear a 2-D input).
#pragma once

#include <optional>

#include "framework/layer.h"

namespace cnnmem {

class Linear : public Layer {
 public:
  Linear(std::string name, int64_t in_features, int64_t out_features, bool bias = true);
  const char* kind() const override { return "linear"; }

  Dims infer(const std::vector<Dims>& in) const override;
  std::vector<ParamDecl> params(const std::vector<Dims>& in) const override;
  double flops(const std::vector<Dims>& in, const Dims& out) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;

 private:
  int64_t in_features_;
  int64_t out_features_;
  bool bias_on_;
  dnnl::memory::desc src_any_, weights_any_, bias_any_, dst_any_;
  std::optional<dnnl::inner_product_forward::primitive_desc> fwd_pd_;
  TensorRef src_;
  ParamBinding weight_;
  std::optional<ParamBinding> bias_;
  double flops_ = 0;
};

}  // namespace cnnmem
