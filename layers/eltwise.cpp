#include "layers/eltwise.h"

#include <string>

#include "framework/error.h"

namespace cnnmem {

using dnnl::algorithm;

namespace {
bool uses_dst_for_bwd(algorithm a) {
  switch (a) {
    case algorithm::eltwise_relu_use_dst_for_bwd:
    case algorithm::eltwise_tanh_use_dst_for_bwd:
    case algorithm::eltwise_elu_use_dst_for_bwd:
    case algorithm::eltwise_sqrt_use_dst_for_bwd:
    case algorithm::eltwise_logistic_use_dst_for_bwd:
    case algorithm::eltwise_exp_use_dst_for_bwd:
    case algorithm::eltwise_clip_v2_use_dst_for_bwd:
      return true;
    default:
      return false;
  }
}

// y = scale * x + shift over `md`, a forward primitive (also used on gradients).
dnnl::eltwise_forward::primitive_desc linear_pd(const StepBuilder& b, const dnnl::memory::desc& md,
                                                float scale, float shift) {
  return {dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, algorithm::eltwise_linear,
                                      md, scale, shift),
          b.attr(), b.engine()};
}
}  // namespace

Eltwise::Eltwise(std::string name, dnnl::algorithm alg, float alpha, float beta,
                 std::optional<EltwiseAffine> affine)
    : Layer(std::move(name)),
      algorithm_(alg),
      alpha_(alpha),
      beta_(beta),
      affine_(affine),
      from_dst_(uses_dst_for_bwd(alg)) {
  CNNMEM_CHECK_MSG(!affine_ || from_dst_, "an affine step needs a use_dst_for_bwd algorithm");
}

Dims Eltwise::infer(const std::vector<Dims>& in) const {
  if (in.size() != 1) throw Error(error_prefix() + "expects exactly one input");
  return in[0];
}

bool Eltwise::has_ref_kernel(const StepBuilder& b, const dnnl::memory::desc& md) const {
  const auto is_ref = [](const char* impl) {
    return std::string(impl).find("ref") != std::string::npos;
  };
  if (is_ref(fwd_pd_->impl_info_str())) return true;
  if (affine_ && is_ref(linear_pd(b, md, affine_->scale, affine_->shift).impl_info_str())) {
    return true;
  }
  if (!b.training()) return false;
  const dnnl::eltwise_backward::primitive_desc bwd(
      dnnl::eltwise_backward::desc(algorithm_, md, md, alpha_, beta_), b.attr(), b.engine(),
      *fwd_pd_);
  return is_ref(bwd.impl_info_str());
}

TensorRef Eltwise::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  TensorRef src = in[0];
  const auto prop =
      b.training() ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  fwd_pd_.emplace(dnnl::eltwise_forward::desc(prop, algorithm_, src.md, alpha_, beta_), b.attr(),
                  b.engine());
  if (!fused_ && src.md.dims().size() == 4 && has_ref_kernel(b, src.md)) {
    // oneDNN 2.6 has only reference kernels for some padded blocked tensors (nChw16c with 120
    // channels at 1x1, hard-swish's backward at 184): work on a dense channels-last copy.
    src = b.reorder_to(in[0],
                       dnnl::memory::desc(src.md.dims(), dnnl::memory::data_type::f32,
                                          dnnl::memory::format_tag::acdb),
                       name() + ".src", b.training() ? Tag::kActivation : Tag::kWorkspace,
                       Phase::kForward);
    fwd_pd_.emplace(dnnl::eltwise_forward::desc(prop, algorithm_, src.md, alpha_, beta_), b.attr(),
                    b.engine());
  }
  if (fused_) {
    CNNMEM_CHECK(from_dst_ && !affine_);
    in_place_ = true;
    dst_ = TensorRef{src.buffer, fwd_pd_->dst_desc()};
    if (b.training()) b.mark_saved(dst_.buffer);
    return dst_;
  }
  // Backward from src: src must survive the forward, so no writing over it in training.
  const bool keep_src = b.training() && !from_dst_;
  in_place_ = !keep_src && b.can_overwrite(src.buffer) && fwd_pd_->dst_desc() == src.md;
  dst_ = in_place_ ? TensorRef{src.buffer, fwd_pd_->dst_desc()}
                   : b.book(name() + ".dst", Tag::kActivation, fwd_pd_->dst_desc());
  std::vector<DnnlCall> calls;
  if (affine_) {
    // dst = scale * src + shift, then the algorithm over dst in place.
    calls.push_back(
        b.call<dnnl::eltwise_forward>(linear_pd(b, src.md, affine_->scale, affine_->shift),
                                      {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst_}}));
    calls.push_back(
        b.call<dnnl::eltwise_forward>(*fwd_pd_, {{DNNL_ARG_SRC, dst_}, {DNNL_ARG_DST, dst_}}));
  } else {
    calls.push_back(
        b.call<dnnl::eltwise_forward>(*fwd_pd_, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst_}}));
  }
  const double elements = static_cast<double>(src.md.get_size()) / sizeof(float);
  b.add_op(name() + ".forward", Phase::kForward, std::move(calls), {}, {},
           elements * (affine_ ? 2 : 1));
  if (b.training()) {
    src_ = src;
    b.mark_saved(from_dst_ ? dst_.buffer : src.buffer);
  }
  return dst_;
}

std::vector<TensorRef> Eltwise::plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                              const std::vector<bool>& need) {
  CNNMEM_CHECK(fwd_pd_.has_value());
  if (!need[0]) return {TensorRef{}};
  // What backward reads: dst or the saved src. Gradients arrive in whatever layout the next
  // layer produced; work in that tensor's layout.
  const TensorRef& data = from_dst_ ? dst_ : src_;
  const TensorRef dd =
      b.reorder_to(diff_dst, data.md, name() + ".diff_dst", Tag::kActivationGrad, Phase::kBackward);
  const dnnl::eltwise_backward::primitive_desc pd(
      dnnl::eltwise_backward::desc(algorithm_, data.md, data.md, alpha_, beta_), b.attr(),
      b.engine(), *fwd_pd_);
  const TensorRef diff_src =
      pd.diff_src_desc() == dd.md && b.can_overwrite(dd.buffer)
          ? TensorRef{dd.buffer, pd.diff_src_desc()}
          : b.book(name() + ".diff_src", Tag::kActivationGrad, pd.diff_src_desc());
  std::vector<DnnlCall> calls = {
      b.call<dnnl::eltwise_backward>(pd, {{from_dst_ ? DNNL_ARG_DST : DNNL_ARG_SRC, data},
                                          {DNNL_ARG_DIFF_DST, dd},
                                          {DNNL_ARG_DIFF_SRC, diff_src}})};
  if (affine_) {
    // d(f(scale * x + shift))/dx = f'(.) * scale.
    calls.push_back(
        b.call<dnnl::eltwise_forward>(linear_pd(b, diff_src.md, affine_->scale, 0.f),
                                      {{DNNL_ARG_SRC, diff_src}, {DNNL_ARG_DST, diff_src}}));
  }
  const double elements = static_cast<double>(data.md.get_size()) / sizeof(float);
  b.add_op(name() + ".backward", Phase::kBackward, std::move(calls), {}, {},
           elements * (affine_ ? 2 : 1));
  return {diff_src};
}

}  // namespace cnnmem
