#include "layers/linear.h"

#include "framework/error.h"
#include "layers/weighted_backward.h"

namespace cnnmem {

using dnnl::memory;

Linear::Linear(std::string name, int64_t in_features, int64_t out_features, bool bias)
    : Layer(std::move(name)),
      in_features_(in_features),
      out_features_(out_features),
      bias_on_(bias) {
  if (in_features_ <= 0 || out_features_ <= 0) {
    throw Error(error_prefix() + "features must be positive, got " + std::to_string(in_features_) +
                "->" + std::to_string(out_features_));
  }
}

Dims Linear::infer(const std::vector<Dims>& in) const {
  if (in.size() != 1 || in[0].size() != 1) {
    throw Error(error_prefix() + "expects a flat input of " + std::to_string(in_features_) +
                " features, got " + (in.empty() ? "none" : dims_str(in[0])) +
                " (add a flatten layer before it)");
  }
  if (in[0][0] != in_features_) {
    throw Error(error_prefix() + "input has " + std::to_string(in[0][0]) +
                " features, weights expect " + std::to_string(in_features_));
  }
  return {out_features_};
}

std::vector<ParamDecl> Linear::params(const std::vector<Dims>& /*in*/) const {
  std::vector<ParamDecl> p = {{name() + ".weight", {out_features_, in_features_}, in_features_}};
  if (bias_on_) p.push_back({name() + ".bias", {out_features_}, in_features_});
  return p;
}

double Linear::flops(const std::vector<Dims>& /*in*/, const Dims& /*out*/) const {
  return 2.0 * static_cast<double>(in_features_ * out_features_);
}

TensorRef Linear::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  const memory::dims src_dims = in[0].md.dims();
  CNNMEM_CHECK(src_dims.size() == 2 && src_dims[1] == in_features_);
  const int64_t n = src_dims[0];
  const auto any = memory::format_tag::any;
  const auto f32 = memory::data_type::f32;
  src_any_ = memory::desc({n, in_features_}, f32, any);
  weights_any_ = memory::desc({out_features_, in_features_}, f32, any);
  bias_any_ = memory::desc({out_features_}, f32, any);
  dst_any_ = memory::desc({n, out_features_}, f32, any);
  const auto prop =
      b.training() ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  const auto desc =
      bias_on_
          ? dnnl::inner_product_forward::desc(prop, src_any_, weights_any_, bias_any_, dst_any_)
          : dnnl::inner_product_forward::desc(prop, src_any_, weights_any_, dst_any_);
  fwd_pd_.emplace(desc, b.attr(), b.engine());
  src_ = b.reorder_to(in[0], fwd_pd_->src_desc(), name() + ".src",
                      b.training() ? Tag::kActivation : Tag::kWorkspace, Phase::kForward);
  const std::vector<ParamDecl> decls = params({});
  weight_ = b.param(decls[0], fwd_pd_->weights_desc());
  bias_.reset();
  if (bias_on_) bias_ = b.param(decls[1], fwd_pd_->bias_desc());
  const TensorRef dst = b.book(name() + ".dst", Tag::kActivation, fwd_pd_->dst_desc());
  std::vector<std::pair<int, TensorRef>> args = {
      {DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, {weight_.weight, weight_.md}}, {DNNL_ARG_DST, dst}};
  if (bias_) args.push_back({DNNL_ARG_BIAS, {bias_->weight, bias_->md}});
  flops_ = static_cast<double>(n) * flops({}, {});
  b.add_op(name() + ".forward", Phase::kForward,
           {b.call<dnnl::inner_product_forward>(*fwd_pd_, args)}, {}, {}, flops_);
  if (b.training()) b.mark_saved(src_.buffer);
  return dst;
}

std::vector<TensorRef> Linear::plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                             const std::vector<bool>& need) {
  CNNMEM_CHECK(fwd_pd_.has_value());
  std::optional<dnnl::inner_product_backward_data::primitive_desc> data_pd;
  if (need[0]) {
    const dnnl::inner_product_backward_data::desc d(src_any_, weights_any_, dst_any_);
    data_pd.emplace(d, b.attr(), b.engine(), *fwd_pd_);
  }
  const auto wd =
      bias_on_
          ? dnnl::inner_product_backward_weights::desc(src_any_, weights_any_, bias_any_, dst_any_)
          : dnnl::inner_product_backward_weights::desc(src_any_, weights_any_, dst_any_);
  const dnnl::inner_product_backward_weights::primitive_desc weights_pd(wd, b.attr(), b.engine(),
                                                                        *fwd_pd_);
  return {plan_weighted_backward<dnnl::inner_product_backward_data,
                                 dnnl::inner_product_backward_weights>(
      b, name(), data_pd ? &*data_pd : nullptr, weights_pd, src_, diff_dst, weight_,
      bias_ ? &*bias_ : nullptr, flops_)};
}

}  // namespace cnnmem
