#include "layers/eltwise.h"

#include "framework/error.h"

namespace cnnmem {

Dims Eltwise::infer(const std::vector<Dims>& in) const {
  if (in.size() != 1) throw Error(error_prefix() + "expects exactly one input");
  return in[0];
}

TensorRef Eltwise::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  const TensorRef& src = in[0];
  const auto prop =
      b.training() ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  fwd_pd_.emplace(dnnl::eltwise_forward::desc(prop, algorithm_, src.md, alpha_, beta_), b.attr(),
                  b.engine());
  if (fused_) {
    in_place_ = true;
    dst_ = TensorRef{src.buffer, fwd_pd_->dst_desc()};
    if (b.training()) b.mark_saved(dst_.buffer);
    return dst_;
  }
  in_place_ = b.can_overwrite(src.buffer) && fwd_pd_->dst_desc() == src.md;
  dst_ = in_place_ ? TensorRef{src.buffer, fwd_pd_->dst_desc()}
                   : b.book(name() + ".dst", Tag::kActivation, fwd_pd_->dst_desc());
  b.add_op(name() + ".forward", Phase::kForward,
           {b.call<dnnl::eltwise_forward>(*fwd_pd_, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst_}})},
           {}, {}, static_cast<double>(src.md.get_size()) / sizeof(float));
  if (b.training()) b.mark_saved(dst_.buffer);
  return dst_;
}

std::vector<TensorRef> Eltwise::plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                              const std::vector<bool>& need) {
  CNNMEM_CHECK(fwd_pd_.has_value());
  if (!need[0]) return {TensorRef{}};
  // Gradients arrive in whatever layout the next layer produced; work in dst's layout.
  const TensorRef dd =
      b.reorder_to(diff_dst, dst_.md, name() + ".diff_dst", Tag::kActivationGrad, Phase::kBackward);
  const dnnl::eltwise_backward::primitive_desc pd(
      dnnl::eltwise_backward::desc(algorithm_, dst_.md, dst_.md, alpha_, beta_), b.attr(),
      b.engine(), *fwd_pd_);
  const TensorRef diff_src =
      pd.diff_src_desc() == dd.md && b.can_overwrite(dd.buffer)
          ? TensorRef{dd.buffer, pd.diff_src_desc()}
          : b.book(name() + ".diff_src", Tag::kActivationGrad, pd.diff_src_desc());
  b.add_op(name() + ".backward", Phase::kBackward,
           {b.call<dnnl::eltwise_backward>(
               pd, {{DNNL_ARG_DST, dst_}, {DNNL_ARG_DIFF_DST, dd}, {DNNL_ARG_DIFF_SRC, diff_src}})},
           {}, {}, static_cast<double>(dst_.md.get_size()) / sizeof(float));
  return {diff_src};
}

}  // namespace cnnmem
