#include "layers/conv2d.h"

#include "framework/error.h"
#include "layers/weighted_backward.h"

namespace cnnmem {

using dnnl::memory;

Conv2d::Conv2d(std::string name, Conv2dOptions options)
    : Layer(std::move(name)), opt_(options), win_(opt_.window()) {
  const std::string p = error_prefix();
  if (opt_.in_channels <= 0 || opt_.out_channels <= 0) {
    throw Error(p + "channels must be positive, got " + std::to_string(opt_.in_channels) + "->" +
                std::to_string(opt_.out_channels));
  }
  win_.check(p);
  if (opt_.groups <= 0) {
    throw Error(p + "groups must be positive, got " + std::to_string(opt_.groups));
  }
  if (opt_.in_channels % opt_.groups != 0 || opt_.out_channels % opt_.groups != 0) {
    throw Error(p + "groups " + std::to_string(opt_.groups) + " must divide both channel counts " +
                std::to_string(opt_.in_channels) + "->" + std::to_string(opt_.out_channels));
  }
}

memory::dims Conv2d::weights_dims() const {
  const int64_t g = opt_.groups;
  const int64_t kh = win_.kernel_h, kw = win_.kernel_w;
  if (g == 1) return {opt_.out_channels, opt_.in_channels, kh, kw};
  return {g, opt_.out_channels / g, opt_.in_channels / g, kh, kw};
}

Dims Conv2d::infer(const std::vector<Dims>& in) const {
  const std::string p = error_prefix();
  if (in.size() != 1 || in[0].size() != 3) {
    throw Error(p + "expects one CxHxW input, got " + (in.empty() ? "none" : dims_str(in[0])));
  }
  const Dims& x = in[0];
  if (x[0] != opt_.in_channels) {
    throw Error(p + "input has " + std::to_string(x[0]) + " channels, weights expect " +
                std::to_string(opt_.in_channels));
  }
  if (!win_.fits(x[1], x[2])) {
    const Pads2d& q = win_.pads;
    const bool same = q.left == q.top && q.bottom == q.top && q.right == q.top;
    const std::string pads = same ? std::to_string(q.top)
                                  : std::to_string(q.top) + "," + std::to_string(q.left) + "," +
                                        std::to_string(q.bottom) + "," + std::to_string(q.right);
    throw Error(p + "input " + dims_str(x) + " is smaller than the kernel " +
                std::to_string(win_.span_h()) + "x" + std::to_string(win_.span_w()) +
                " with padding " + pads);
  }
  return {opt_.out_channels, win_.out_h(x[1]), win_.out_w(x[2])};
}

std::vector<ParamDecl> Conv2d::params(const std::vector<Dims>& /*in*/) const {
  const int64_t in_per_group = opt_.in_channels / opt_.groups;
  const int64_t fan_in = in_per_group * win_.kernel_h * win_.kernel_w;
  std::vector<ParamDecl> p = {{name() + ".weight",
                               {opt_.out_channels, in_per_group, win_.kernel_h, win_.kernel_w},
                               fan_in}};
  if (opt_.bias) p.push_back({name() + ".bias", {opt_.out_channels}, fan_in});
  return p;
}

double Conv2d::flops(const std::vector<Dims>& /*in*/, const Dims& out) const {
  const int64_t in_per_group = opt_.in_channels / opt_.groups;  // exact: groups divides it
  return 2.0 * static_cast<double>(dims_product(out)) *
         static_cast<double>(in_per_group * win_.kernel_h * win_.kernel_w);
}

TensorRef Conv2d::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  const memory::dims src_dims = in[0].md.dims();
  CNNMEM_CHECK(src_dims.size() == 4);
  const Dims out = infer({{src_dims[1], src_dims[2], src_dims[3]}});
  const int64_t n = src_dims[0];
  const auto any = memory::format_tag::any;
  const auto f32 = memory::data_type::f32;
  src_any_ = memory::desc(src_dims, f32, any);
  weights_any_ = memory::desc(weights_dims(), f32, any);
  bias_any_ = memory::desc({opt_.out_channels}, f32, any);
  dst_any_ = memory::desc({n, out[0], out[1], out[2]}, f32, any);
  // In-place concatenation: write into the view when a jit kernel takes its layout.
  const std::optional<TensorRef> view = b.take_output_view();
  bool into_view = false;
  try {
    into_view = view && make_forward_pd(b, view->md);
  } catch (const dnnl::error&) {  // no kernel at all for that layout: write a buffer of its own
  }
  if (!into_view) make_forward_pd(b, dst_any_);
  const Phase phase = Phase::kForward;
  src_ = b.reorder_to(in[0], fwd_pd_->src_desc(), name() + ".src",
                      b.training() ? Tag::kActivation : Tag::kWorkspace, phase);
  const std::vector<ParamDecl> decls = params({});
  weight_ = b.param(decls[0], fwd_pd_->weights_desc());
  bias_.reset();
  if (opt_.bias) bias_ = b.param(decls[1], fwd_pd_->bias_desc());
  const TensorRef dst =
      into_view ? *view : b.book(name() + ".dst", Tag::kActivation, fwd_pd_->dst_desc());
  std::vector<std::pair<int, TensorRef>> args = {
      {DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, {weight_.weight, weight_.md}}, {DNNL_ARG_DST, dst}};
  if (bias_) args.push_back({DNNL_ARG_BIAS, {bias_->weight, bias_->md}});
  flops_ = static_cast<double>(n) * flops({}, out);
  b.add_op(name() + ".forward", phase, {b.call<dnnl::convolution_forward>(*fwd_pd_, args)}, {}, {},
           flops_);
  if (b.training()) b.mark_saved(src_.buffer);
  return dst;
}

bool Conv2d::make_forward_pd(const StepBuilder& b, const memory::desc& dst) {
  const auto prop =
      b.training() ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  const auto desc =
      opt_.bias ? dnnl::convolution_forward::desc(prop, dnnl::algorithm::convolution_direct,
                                                  src_any_, weights_any_, bias_any_, dst, strides(),
                                                  dilates(), padding_l(), padding_r())
                : dnnl::convolution_forward::desc(prop, dnnl::algorithm::convolution_direct,
                                                  src_any_, weights_any_, dst, strides(), dilates(),
                                                  padding_l(), padding_r());
  // A fresh attr: primitive_attr copies share one handle, and the post-op must not leak into
  // the builder's attr that every other primitive uses.
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (fused_relu_) {
    dnnl::post_ops relu;
    relu.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(relu);
  }
  fwd_pd_.emplace(desc, attr, b.engine());
  return std::string(fwd_pd_->impl_info_str()).find("ref") == std::string::npos;
}

std::vector<TensorRef> Conv2d::plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                             const std::vector<bool>& need) {
  CNNMEM_CHECK(fwd_pd_.has_value());
  std::optional<dnnl::convolution_backward_data::primitive_desc> data_pd;
  if (need[0]) {
    const dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, src_any_,
                                                  weights_any_, dst_any_, strides(), dilates(),
                                                  padding_l(), padding_r());
    data_pd.emplace(d, b.attr(), b.engine(), *fwd_pd_);
  }
  const auto wd = opt_.bias
                      ? dnnl::convolution_backward_weights::desc(
                            dnnl::algorithm::convolution_direct, src_any_, weights_any_, bias_any_,
                            dst_any_, strides(), dilates(), padding_l(), padding_r())
                      : dnnl::convolution_backward_weights::desc(
                            dnnl::algorithm::convolution_direct, src_any_, weights_any_, dst_any_,
                            strides(), dilates(), padding_l(), padding_r());
  const dnnl::convolution_backward_weights::primitive_desc weights_pd(wd, b.attr(), b.engine(),
                                                                      *fwd_pd_);
  const TensorRef diff_src =
      plan_weighted_backward<dnnl::convolution_backward_data, dnnl::convolution_backward_weights>(
          b, name(), data_pd ? &*data_pd : nullptr, weights_pd, src_, diff_dst, weight_,
          bias_ ? &*bias_ : nullptr, flops_);
  return {diff_src};
}

}  // namespace cnnmem
