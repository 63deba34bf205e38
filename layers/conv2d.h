// conv2d: 2-D convolution on oneDNN (direct algorithm), with stride, padding, dilation and an
// optional bias; kernel, stride and dilation may differ per axis and padding per side
// (Conv2dOptions::geometry, layers/window2d.h). Weights are OIHW in PyTorch's terms; in memory they
// take the layout the forward primitive picks (format `any`), and safetensors I/O reorders them.
// Grouped convolution (`groups` > 1; depthwise when groups == IC) splits the channels into G
// independent convolutions: PyTorch's weights are [OC, IC/G, KH, KW], oneDNN's are the 5-D
// (G, OC/G, IC/G, KH, KW) view of the same values (`goihw`, or a blocked form of it).
// A ReLU that follows can be fused as a post-op (set_relu_fused).
// Legend: N batch, C/IC input channels, OC output channels, G groups, H/W input size, KH/KW
// kernel, OH/OW output size.
// Not here: other fused post-ops, transposed convolution.
#pragma once

#include <optional>

#include "framework/layer.h"
#include "layers/window2d.h"

namespace cnnmem {

struct Conv2dOptions {
  Conv2dOptions() = default;
  Conv2dOptions(int64_t in, int64_t out, int64_t kernel_size, int64_t stride_ = 1,
                int64_t padding_ = 0, int64_t dilation_ = 1, bool bias_ = true, int64_t groups_ = 1)
      : in_channels(in),
        out_channels(out),
        kernel(kernel_size),
        stride(stride_),
        padding(padding_),
        dilation(dilation_),
        bias(bias_),
        groups(groups_) {}

  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t kernel = 1;
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t dilation = 1;
  bool bias = true;
  int64_t groups = 1;  // IC and OC must be multiples; IC for depthwise
  // Non-square kernel, stride or dilation, or per-side padding (ONNX's kernel_shape, strides,
  // dilations, pads): when set, it replaces kernel, stride, padding and dilation above.
  //   Conv2dOptions o(3, 8, 1);  o.geometry = Window2d::square(3);  o.geometry->kernel_w = 5;
  std::optional<Window2d> geometry;

  // The geometry in effect.
  Window2d window() const {
    return geometry ? *geometry : Window2d::square(kernel, stride, padding, dilation);
  }
};

class Conv2d : public Layer {
 public:
  Conv2d(std::string name, Conv2dOptions options);
  const char* kind() const override { return "conv2d"; }
  const Conv2dOptions& options() const { return opt_; }
  // Apply ReLU to dst inside the forward primitive (a oneDNN post-op); the Relu layer that
  // follows is then planned with its own set_relu_fused(true). Call before planning.
  bool absorbs_relu() const override { return true; }
  // Writes its output into a slice of a concatenation's buffer (framework/concat_views.h).
  bool writes_into_view() const override { return true; }
  void set_relu_fused(bool on) override { fused_relu_ = on; }

  Dims infer(const std::vector<Dims>& in) const override;
  std::vector<ParamDecl> params(const std::vector<Dims>& in) const override;
  double flops(const std::vector<Dims>& in, const Dims& out) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;

 private:
  dnnl::memory::dims strides() const { return win_.strides(); }
  dnnl::memory::dims dilates() const { return win_.dilates(); }
  dnnl::memory::dims padding_l() const { return win_.padding_l(); }
  dnnl::memory::dims padding_r() const { return win_.padding_r(); }
  // oneDNN's weights dims: OIHW, or GOIHW when grouped.
  dnnl::memory::dims weights_dims() const;
  // Creates fwd_pd_ with this dst desc; false when oneDNN has only a reference kernel for it.
  bool make_forward_pd(const StepBuilder& b, const dnnl::memory::desc& dst);

  Conv2dOptions opt_;
  Window2d win_;
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
