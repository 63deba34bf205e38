#include "layers/relu6.h"

#include "framework/error.h"

namespace cnnmem {

namespace {
constexpr auto kAlg = dnnl::algorithm::eltwise_clip_v2_use_dst_for_bwd;
constexpr float kLow = 0.f, kHigh = 6.f;
}  // namespace

Dims Relu6::infer(const std::vector<Dims>& in) const {
  if (in.size() != 1) throw Error(error_prefix() + "expects exactly one input");
  return in[0];
}

TensorRef Relu6::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  const TensorRef& src = in[0];
  const auto prop =
      b.training() ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  fwd_pd_.emplace(dnnl::eltwise_forward::desc(prop, kAlg, src.md, kLow, kHigh), b.attr(),
                  b.engine());
  in_place_ = b.can_overwrite(src.buffer) && fwd_pd_->dst_desc() == src.md;
  dst_ = in_place_ ? TensorRef{src.buffer, fwd_pd_->dst_desc()}
                   : b.book(name() + ".dst", Tag::kActivation, fwd_pd_->dst_desc());
  b.add_op(name() + ".forward", Phase::kForward,
           {b.call<dnnl::eltwise_forward>(*fwd_pd_, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst_}})},
           {}, {}, static_cast<double>(src.md.get_size()) / sizeof(float));
  if (b.training()) b.mark_saved(dst_.buffer);
  return dst_;
}

std::vector<TensorRef> Relu6::plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                            const std::vector<bool>& need) {
  CNNMEM_CHECK(fwd_pd_.has_value());
  if (!need[0]) return {TensorRef{}};
  const dnnl::memory::desc diff_any(dst_.md.dims(), dnnl::memory::data_type::f32,
                                    dnnl::memory::format_tag::any);
  const dnnl::eltwise_backward::primitive_desc pd(
      dnnl::eltwise_backward::desc(kAlg, diff_any, dst_.md, kLow, kHigh), b.attr(), b.engine(),
      *fwd_pd_);
  // Gradients arrive in whatever layout the next layer produced.
  const TensorRef dd = b.reorder_to(diff_dst, pd.diff_dst_desc(), name() + ".diff_dst",
                                    Tag::kActivationGrad, Phase::kBackward);
  // diff_src overwrites diff_dst unless another branch still reads it (a residual add).
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
