// reduce_spatial: the mean or the sum over the spatial axes H and W of a CxHxW input
// (PyTorch's x.mean([2, 3]) / x.sum([2, 3]), ONNX's ReduceMean / ReduceSum over axes 2 and 3),
// keeping the reduced axes as 1x1 (keepdims, output Cx1x1) or not (output C).
// Forward is oneDNN's average pooling with one HxW window (jit in plain and blocked layouts);
// the sum multiplies by H*W in the same primitive (an eltwise linear post-op). Backward is the
// pooling's backward (diff_src = diff_dst / (H*W) everywhere), on diff_dst first multiplied by
// H*W for the sum. Nothing is saved for backward. Without keepdims the Nx(C)x1x1 result is
// reordered to plain NxC, as a flatten would.
// Legend: N batch, C channels, H/W size.
// Usage: ReduceSpatial("head.mean", ReduceKind::kMean, /*keepdims=*/false)
// Not here: reductions over other axes, max/min/product, broadcasting ops (layers/binary.h).
#pragma once

#include <optional>

#include "framework/layer.h"

namespace cnnmem {

enum class ReduceKind { kMean, kSum };

class ReduceSpatial : public Layer {
 public:
  ReduceSpatial(std::string name, ReduceKind reduce, bool keepdims);
  const char* kind() const override {
    return reduce_ == ReduceKind::kMean ? "reduce_mean" : "reduce_sum";
  }
  ReduceKind reduce() const { return reduce_; }
  bool keepdims() const { return keepdims_; }

  Dims infer(const std::vector<Dims>& in) const override;
  double flops(const std::vector<Dims>& in, const Dims& out) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;

 private:
  ReduceKind reduce_;
  bool keepdims_;
  std::optional<dnnl::pooling_forward::primitive_desc> fwd_pd_;
  dnnl::memory::desc src_md_, pool_dst_md_;
  dnnl::memory::dims kernel_;
};

}  // namespace cnnmem
