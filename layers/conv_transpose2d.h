// conv_transpose2d: PyTorch's ConvTranspose2d (the gradient of a convolution with respect to its
// input, used as a learned upsampling in U-Net decoders and FCN heads) on oneDNN's
// deconvolution, forward, backward data and backward weights. Kernel, stride and dilation per
// axis, padding per side (ONNX's pads: what is cut from the output's borders), output_padding
// (extra rows and columns at the bottom and right), groups and an optional bias.
//   OH = (H - 1) * SH - top - bottom + DH * (KH - 1) + output_padding_h + 1
// Weights have PyTorch's shape (IC, OC/G, KH, KW) and names; in memory they take the layout the
// forward primitive picks, and the parameter's descriptor is that layout with its first two
// axes (the last two of the group's, when grouped) swapped into PyTorch's order, so that
// safetensors I/O and optimizers see PyTorch's tensor.
// Legend: N batch, IC/OC channels, G groups, H/W input size, KH/KW kernel, SH/SW stride, DH/DW
// dilation, OH/OW output size.
// Not here: ONNX's output_shape attribute (the importer turns it into pads and output_padding).
#pragma once

#include <optional>

#include "framework/layer.h"
#include "layers/window2d.h"

namespace cnnmem {

struct ConvTranspose2dOptions {
  ConvTranspose2dOptions() = default;
  // nn.ConvTranspose2d's arguments, in its order.
  ConvTranspose2dOptions(int64_t in, int64_t out, int64_t kernel_size, int64_t stride = 1,
                         int64_t padding = 0, int64_t output_padding = 0, int64_t groups_ = 1,
                         bool bias_ = true, int64_t dilation = 1)
      : in_channels(in),
        out_channels(out),
        window(Window2d::square(kernel_size, stride, padding, dilation)),
        output_padding_h(output_padding),
        output_padding_w(output_padding),
        groups(groups_),
        bias(bias_) {}

  int64_t in_channels = 0;
  int64_t out_channels = 0;
  Window2d window;  // kernel, stride, dilation per axis; pads (top, left, bottom, right)
  int64_t output_padding_h = 0, output_padding_w = 0;  // each below the stride or the dilation
  int64_t groups = 1;                                  // IC and OC must be multiples
  bool bias = true;
};

class ConvTranspose2d : public Layer {
 public:
  ConvTranspose2d(std::string name, ConvTranspose2dOptions options);
  const char* kind() const override { return "conv_transpose2d"; }
  const ConvTranspose2dOptions& options() const { return opt_; }

  Dims infer(const std::vector<Dims>& in) const override;
  std::vector<ParamDecl> params(const std::vector<Dims>& in) const override;
  double flops(const std::vector<Dims>& in, const Dims& out) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;

 private:
  // oneDNN's weights dims: (OC, IC, KH, KW), or (G, OC/G, IC/G, KH, KW) when grouped.
  dnnl::memory::dims weights_dims() const;
  // oneDNN's bottom/right padding: the pads less output_padding (may be negative).
  dnnl::memory::dims padding_r() const;

  ConvTranspose2dOptions opt_;
  // Planned state, valid between plan_forward and plan_backward.
  dnnl::memory::desc src_any_, weights_any_, bias_any_, dst_any_;
  std::optional<dnnl::deconvolution_forward::primitive_desc> fwd_pd_;
  TensorRef src_;
  ParamBinding weight_;  // md: oneDNN's view (the registered parameter has PyTorch's axes)
  std::optional<ParamBinding> bias_;
  double flops_ = 0;
};

}  // namespace cnnmem
