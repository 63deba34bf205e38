#include "layers/reduce_spatial.h"

#include "framework/error.h"

namespace cnnmem {

using dnnl::memory;

namespace {
// No window touches padding: include and exclude agree.
constexpr auto kAlg = dnnl::algorithm::pooling_avg_exclude_padding;

dnnl::primitive_attr with_scale(const StepBuilder& b, float scale) {
  // A new attribute: copying b.attr() would share (and change) the builder's own.
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(b.attr().get_scratchpad_mode());
  if (scale != 1.f) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, scale, 0.f);
    attr.set_post_ops(ops);
  }
  return attr;
}
}  // namespace

ReduceSpatial::ReduceSpatial(std::string name, ReduceKind reduce, bool keepdims)
    : Layer(std::move(name)), reduce_(reduce), keepdims_(keepdims) {}

Dims ReduceSpatial::infer(const std::vector<Dims>& in) const {
  if (in.size() != 1 || in[0].size() != 3) {
    throw Error(error_prefix() + "expects one CxHxW input, got " +
                (in.empty() ? "none" : dims_str(in[0])) +
                "; it reduces over the spatial axes H and W");
  }
  return keepdims_ ? Dims{in[0][0], 1, 1} : Dims{in[0][0]};
}

double ReduceSpatial::flops(const std::vector<Dims>& in, const Dims& /*out*/) const {
  return static_cast<double>(dims_product(in[0]));  // one add per input value
}

TensorRef ReduceSpatial::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  const TensorRef& src = in[0];
  const memory::dims d = src.md.dims();
  CNNMEM_CHECK(d.size() == 4);
  const Dims sample = {d[1], d[2], d[3]};
  infer({sample});
  src_md_ = src.md;
  kernel_ = {d[2], d[3]};
  const float area = static_cast<float>(d[2] * d[3]);
  const memory::desc dst_any({d[0], d[1], 1, 1}, memory::data_type::f32, memory::format_tag::any);
  const auto prop =
      b.training() ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  fwd_pd_.emplace(
      dnnl::pooling_forward::desc(prop, kAlg, src.md, dst_any, {1, 1}, kernel_, {0, 0}, {0, 0}),
      with_scale(b, reduce_ == ReduceKind::kSum ? area : 1.f), b.engine());
  pool_dst_md_ = fwd_pd_->dst_desc();
  const TensorRef dst = b.book(name() + ".dst", Tag::kActivation, pool_dst_md_);
  b.add_op(name() + ".forward", Phase::kForward,
           {b.call<dnnl::pooling_forward>(*fwd_pd_, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}})},
           {}, {}, static_cast<double>(d[0]) * flops({sample}, {}));
  if (keepdims_) return dst;
  const memory::desc plain({d[0], d[1], 1, 1}, memory::data_type::f32, memory::format_tag::nchw);
  const TensorRef flat =
      b.reorder_to(dst, plain, name() + ".dst_plain", Tag::kActivation, Phase::kForward);
  return TensorRef{flat.buffer, plain.reshape({d[0], d[1]})};
}

std::vector<TensorRef> ReduceSpatial::plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                                    const std::vector<bool>& need) {
  CNNMEM_CHECK(fwd_pd_.has_value());
  if (!need[0]) return {TensorRef{}};
  // Layouts `any` with the forward as hint; oneDNN 2.6 may resolve a 1x1 output to a layout
  // only its reference kernel takes, then ask for the forward's own.
  const auto make_pd = [&](const memory::desc& src_md, const memory::desc& dst_md) {
    return dnnl::pooling_backward::primitive_desc(
        dnnl::pooling_backward::desc(kAlg, src_md, dst_md, {1, 1}, kernel_, {0, 0}, {0, 0}),
        b.attr(), b.engine(), *fwd_pd_);
  };
  dnnl::pooling_backward::primitive_desc pd =
      make_pd(memory::desc(src_md_.dims(), memory::data_type::f32, memory::format_tag::any),
              memory::desc(pool_dst_md_.dims(), memory::data_type::f32, memory::format_tag::any));
  if (std::string(pd.impl_info_str()).rfind("ref", 0) == 0) pd = make_pd(src_md_, pool_dst_md_);
  TensorRef dd = diff_dst;
  if (!keepdims_) {
    const memory::dims nc = diff_dst.md.dims();
    const memory::desc flat(nc, memory::data_type::f32, memory::format_tag::nc);
    const TensorRef plain = b.reorder_to(diff_dst, flat, name() + ".diff_dst_plain",
                                         Tag::kActivationGrad, Phase::kBackward);
    dd = TensorRef{plain.buffer, flat.reshape(pool_dst_md_.dims())};
  }
  dd = b.reorder_to(dd, pd.diff_dst_desc(), name() + ".diff_dst", Tag::kActivationGrad,
                    Phase::kBackward);
  std::vector<DnnlCall> calls;
  if (reduce_ == ReduceKind::kSum) {
    // d(sum)/dx = 1 = (H*W) * d(mean)/dx: scale the small diff_dst, in place when it is ours.
    const float area = static_cast<float>(kernel_[0] * kernel_[1]);
    const dnnl::eltwise_forward::primitive_desc scale_pd(
        dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference,
                                    dnnl::algorithm::eltwise_linear, dd.md, area, 0.f),
        b.attr(), b.engine());
    const TensorRef scaled = b.can_overwrite(dd.buffer)
                                 ? dd
                                 : b.book(name() + ".diff_dst_scaled", Tag::kActivationGrad, dd.md);
    calls.push_back(
        b.call<dnnl::eltwise_forward>(scale_pd, {{DNNL_ARG_SRC, dd}, {DNNL_ARG_DST, scaled}}));
    dd = scaled;
  }
  const TensorRef diff_src = b.book(name() + ".diff_src", Tag::kActivationGrad, pd.diff_src_desc());
  calls.push_back(
      b.call<dnnl::pooling_backward>(pd, {{DNNL_ARG_DIFF_DST, dd}, {DNNL_ARG_DIFF_SRC, diff_src}}));
  b.add_op(name() + ".backward", Phase::kBackward, std::move(calls), {}, {},
           static_cast<double>(src_md_.get_size()) / sizeof(float));
  return {diff_src};
}

}  // namespace cnnmem
