// conv2d: 2-D convolution on oneDNN (direct algorithm), with stride, padding, dilation and an
// optional bias. Weights are OIHW in PyTorch's terms; in memory they take the layout the forward
// primitive picks (format `any`), and safetensors I/O reorders them.
// Legend: N batch, C/IC input channels, OC output channels, H/W input size, KH/KW kernel,
// OH/OW output size.
// Not here: grouped or depthwise convolution, fused post-ops.
#pragma once

#include <optional>

#include "layers/layer.h"

namespace cnnmem {

struct Conv2dOptions {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t kernel = 1;
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t dilation = 1;
  bool bias = true;
};

class Conv2d : public Layer {
 public:
  Conv2d(std::string name, Conv2dOptions options);
  const char* kind() const override { return "conv2d"; }
  const Conv2dOptions& options() const { return opt_; }
  // Apply ReLU to dst inside the forward primitive (a oneDNN post-op); the Relu layer that
  // follows is then planned with Relu::set_fused(true). Call before planning.
  void set_fused_relu(bool on) { fused_relu_ = on; }

  Dims infer(const std::vector<Dims>& in) const override;
  std::vector<ParamDecl> params(const std::vector<Dims>& in) const override;
  double flops(const std::vector<Dims>& in, const Dims& out) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;

 private:
  dnnl::memory::dims strides() const { return {opt_.stride, opt_.stride}; }
  dnnl::memory::dims dilates() const { return {opt_.dilation - 1, opt_.dilation - 1}; }
  dnnl::memory::dims padding() const { return {opt_.padding, opt_.padding}; }

  Conv2dOptions opt_;
  bool fused_relu_ = false;
  // Planned state, valid between plan_forward and plan_backward.
  dnnl::memory::desc src_any_, weights_any_, bias_any_, dst_any_;
  std::optional<dnnl::convolution_forward::primitive_desc> fwd_pd_;
  TensorRef src_;
  ParamBinding weight_;
  std::optional<ParamBinding> bias_;
  double flops_ = 0;
};

}  // namespace cnnmem
