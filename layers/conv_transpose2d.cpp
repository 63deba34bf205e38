#include "layers/conv_transpose2d.h"

#include "framework/error.h"
#include "layers/weighted_backward.h"

namespace cnnmem {

using dnnl::memory;

ConvTranspose2d::ConvTranspose2d(std::string name, ConvTranspose2dOptions options)
    : Layer(std::move(name)), opt_(options) {
  const std::string p = error_prefix();
  if (opt_.in_channels <= 0 || opt_.out_channels <= 0) {
    throw Error(p + "channels must be positive, got " + std::to_string(opt_.in_channels) + "->" +
                std::to_string(opt_.out_channels));
  }
  const Window2d& w = opt_.window;
  w.check(p);
  const auto check_output_padding = [&](const char* axis, int64_t op, int64_t s, int64_t d) {
    if (op < 0 || (op >= s && op >= d)) {
      throw Error(p + "output_padding " + std::to_string(op) + " along " + axis +
                  " must be >= 0 and smaller than the stride " + std::to_string(s) +
                  " or the dilation " + std::to_string(d));
    }
  };
  check_output_padding("H", opt_.output_padding_h, w.stride_h, w.dilation_h);
  check_output_padding("W", opt_.output_padding_w, w.stride_w, w.dilation_w);
  if (opt_.groups <= 0) {
    throw Error(p + "groups must be positive, got " + std::to_string(opt_.groups));
  }
  if (opt_.in_channels % opt_.groups != 0 || opt_.out_channels % opt_.groups != 0) {
    throw Error(p + "groups " + std::to_string(opt_.groups) + " must divide both channel counts " +
                std::to_string(opt_.in_channels) + "->" + std::to_string(opt_.out_channels));
  }
}

memory::dims ConvTranspose2d::weights_dims() const {
  const int64_t g = opt_.groups, kh = opt_.window.kernel_h, kw = opt_.window.kernel_w;
  if (g == 1) return {opt_.out_channels, opt_.in_channels, kh, kw};
  return {g, opt_.out_channels / g, opt_.in_channels / g, kh, kw};
}

memory::dims ConvTranspose2d::padding_r() const {
  return {opt_.window.pads.bottom - opt_.output_padding_h,
          opt_.window.pads.right - opt_.output_padding_w};
}

Dims ConvTranspose2d::infer(const std::vector<Dims>& in) const {
  const std::string p = error_prefix();
  if (in.size() != 1 || in[0].size() != 3) {
    throw Error(p + "expects one CxHxW input, got " + (in.empty() ? "none" : dims_str(in[0])));
  }
  const Dims& x = in[0];
  if (x[0] != opt_.in_channels) {
    throw Error(p + "input has " + std::to_string(x[0]) + " channels, weights expect " +
                std::to_string(opt_.in_channels));
  }
  const Window2d& w = opt_.window;
  const int64_t oh =
      (x[1] - 1) * w.stride_h - w.pads.top - w.pads.bottom + w.span_h() + opt_.output_padding_h;
  const int64_t ow =
      (x[2] - 1) * w.stride_w - w.pads.left - w.pads.right + w.span_w() + opt_.output_padding_w;
  if (oh <= 0 || ow <= 0) {
    throw Error(p + "input " + dims_str(x) + " gives an empty output " + std::to_string(oh) + "x" +
                std::to_string(ow) + " with " + w.str() + ": reduce the padding");
  }
  return {opt_.out_channels, oh, ow};
}

std::vector<ParamDecl> ConvTranspose2d::params(const std::vector<Dims>& /*in*/) const {
  const int64_t out_per_group = opt_.out_channels / opt_.groups;
  const int64_t kh = opt_.window.kernel_h, kw = opt_.window.kernel_w;
  // PyTorch's fan-in of a (IC, OC/G, KH, KW) tensor is its size(1) * KH * KW.
  const int64_t fan_in = out_per_group * kh * kw;
  std::vector<ParamDecl> p = {
      {name() + ".weight", {opt_.in_channels, out_per_group, kh, kw}, fan_in}};
  if (opt_.bias) p.push_back({name() + ".bias", {opt_.out_channels}, fan_in});
  return p;
}

double ConvTranspose2d::flops(const std::vector<Dims>& in, const Dims& /*out*/) const {
  const int64_t out_per_group = opt_.out_channels / opt_.groups;
  return 2.0 * static_cast<double>(dims_product(in[0])) *
         static_cast<double>(out_per_group * opt_.window.kernel_h * opt_.window.kernel_w);
}

TensorRef ConvTranspose2d::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  const memory::dims src_dims = in[0].md.dims();
  CNNMEM_CHECK(src_dims.size() == 4);
  const Dims x = {src_dims[1], src_dims[2], src_dims[3]};
  const Dims out = infer({x});
  const int64_t n = src_dims[0];
  const Window2d& w = opt_.window;
  const auto any = memory::format_tag::any;
  const auto f32 = memory::data_type::f32;
  src_any_ = memory::desc(src_dims, f32, any);
  weights_any_ = memory::desc(weights_dims(), f32, any);
  bias_any_ = memory::desc({opt_.out_channels}, f32, any);
  dst_any_ = memory::desc({n, out[0], out[1], out[2]}, f32, any);
  const auto prop =
      b.training() ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  const auto alg = dnnl::algorithm::deconvolution_direct;
  const auto desc =
      opt_.bias
          ? dnnl::deconvolution_forward::desc(prop, alg, src_any_, weights_any_, bias_any_,
                                              dst_any_, w.strides(), w.dilates(), w.padding_l(),
                                              padding_r())
          : dnnl::deconvolution_forward::desc(prop, alg, src_any_, weights_any_, dst_any_,
                                              w.strides(), w.dilates(), w.padding_l(), padding_r());
  fwd_pd_.emplace(desc, b.attr(), b.engine());
  const Phase phase = Phase::kForward;
  src_ = b.reorder_to(in[0], fwd_pd_->src_desc(), name() + ".src",
                      b.training() ? Tag::kActivation : Tag::kWorkspace, phase);
  const std::vector<ParamDecl> decls = params({});
  // PyTorch's axes: (IC, OC, KH, KW) from oneDNN's (OC, IC, KH, KW); per group alike.
  const memory::desc onednn_md = fwd_pd_->weights_desc();
  const std::vector<int> swap =
      opt_.groups == 1 ? std::vector<int>{1, 0, 2, 3} : std::vector<int>{0, 2, 1, 3, 4};
  weight_ = b.param(decls[0], onednn_md.permute_axes(swap));
  weight_.md = onednn_md;
  bias_.reset();
  if (opt_.bias) bias_ = b.param(decls[1], fwd_pd_->bias_desc());
  const TensorRef dst = b.book(name() + ".dst", Tag::kActivation, fwd_pd_->dst_desc());
  std::vector<std::pair<int, TensorRef>> args = {
      {DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, {weight_.weight, weight_.md}}, {DNNL_ARG_DST, dst}};
  if (bias_) args.push_back({DNNL_ARG_BIAS, {bias_->weight, bias_->md}});
  flops_ = static_cast<double>(n) * flops({x}, out);
  b.add_op(name() + ".forward", phase, {b.call<dnnl::deconvolution_forward>(*fwd_pd_, args)}, {},
           {}, flops_);
  if (b.training()) b.mark_saved(src_.buffer);
  return dst;
}

std::vector<TensorRef> ConvTranspose2d::plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                                      const std::vector<bool>& need) {
  CNNMEM_CHECK(fwd_pd_.has_value());
  const Window2d& w = opt_.window;
  const auto alg = dnnl::algorithm::deconvolution_direct;
  std::optional<dnnl::deconvolution_backward_data::primitive_desc> data_pd;
  if (need[0]) {
    const dnnl::deconvolution_backward_data::desc d(alg, src_any_, weights_any_, dst_any_,
                                                    w.strides(), w.dilates(), w.padding_l(),
                                                    padding_r());
    data_pd.emplace(d, b.attr(), b.engine(), *fwd_pd_);
  }
  const auto wd = opt_.bias ? dnnl::deconvolution_backward_weights::desc(
                                  alg, src_any_, weights_any_, bias_any_, dst_any_, w.strides(),
                                  w.dilates(), w.padding_l(), padding_r())
                            : dnnl::deconvolution_backward_weights::desc(
                                  alg, src_any_, weights_any_, dst_any_, w.strides(), w.dilates(),
                                  w.padding_l(), padding_r());
  const dnnl::deconvolution_backward_weights::primitive_desc weights_pd(wd, b.attr(), b.engine(),
                                                                        *fwd_pd_);
  const TensorRef diff_src = plan_weighted_backward<dnnl::deconvolution_backward_data,
                                                    dnnl::deconvolution_backward_weights>(
      b, name(), data_pd ? &*data_pd : nullptr, weights_pd, src_, diff_dst, weight_,
      bias_ ? &*bias_ : nullptr, flops_);
  return {diff_src};
}

}  // namespace cnnmem
