#include "layers/adaptive_avg_pool2d.h"

#include "framework/error.h"

namespace cnnmem {

using dnnl::memory;

namespace {
// No window touches padding, so include/exclude padding agree; exclude is PyTorch's meaning.
constexpr auto kAlg = dnnl::algorithm::pooling_avg_exclude_padding;
}  // namespace

AdaptiveAvgPool2d::AdaptiveAvgPool2d(std::string name, int64_t out_h, int64_t out_w)
    : Layer(std::move(name)), out_h_(out_h), out_w_(out_w) {
  if (out_h_ <= 0 || out_w_ <= 0) {
    throw Error(error_prefix() + "output size must be positive, got " + std::to_string(out_h) +
                "x" + std::to_string(out_w));
  }
}

Dims AdaptiveAvgPool2d::infer(const std::vector<Dims>& in) const {
  if (in.size() != 1 || in[0].size() != 3) {
    throw Error(error_prefix() + "expects one CxHxW input, got " +
                (in.empty() ? "none" : dims_str(in[0])));
  }
  const Dims& x = in[0];
  if (x[1] % out_h_ != 0 || x[2] % out_w_ != 0) {
    throw Error(error_prefix() + "input " + std::to_string(x[1]) + "x" + std::to_string(x[2]) +
                " is not a multiple of the output " + std::to_string(out_h_) + "x" +
                std::to_string(out_w_) +
                "; only even windows are supported, use an input size whose feature map divides "
                "evenly");
  }
  return {x[0], out_h_, out_w_};
}

double AdaptiveAvgPool2d::flops(const std::vector<Dims>& in, const Dims& /*out*/) const {
  return static_cast<double>(dims_product(in[0]));  // one add per input value
}

TensorRef AdaptiveAvgPool2d::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  const TensorRef& src = in[0];
  const memory::dims d = src.md.dims();
  CNNMEM_CHECK(d.size() == 4);
  const Dims out = infer({{d[1], d[2], d[3]}});
  src_md_ = src.md;
  identity_ = d[2] == out_h_ && d[3] == out_w_;
  if (identity_) return src;
  kernel_ = {d[2] / out_h_, d[3] / out_w_};
  const memory::desc dst_any({d[0], out[0], out[1], out[2]}, memory::data_type::f32,
                             memory::format_tag::any);
  const auto prop =
      b.training() ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  fwd_pd_.emplace(
      dnnl::pooling_forward::desc(prop, kAlg, src.md, dst_any, kernel_, kernel_, {0, 0}, {0, 0}),
      b.attr(), b.engine());
  dst_md_ = fwd_pd_->dst_desc();
  const TensorRef dst = b.book(name() + ".dst", Tag::kActivation, dst_md_);
  b.add_op(name() + ".forward", Phase::kForward,
           {b.call<dnnl::pooling_forward>(*fwd_pd_, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}})},
           {}, {}, static_cast<double>(d[0]) * flops({{d[1], d[2], d[3]}}, out));
  return dst;
}

std::vector<TensorRef> AdaptiveAvgPool2d::plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                                        const std::vector<bool>& need) {
  if (!need[0]) return {TensorRef{}};
  if (identity_) return {diff_dst};
  CNNMEM_CHECK(fwd_pd_.has_value());
  // Layouts `any`, with the forward as hint. For a 1x1 output oneDNN 2.6 may resolve them to a
  // layout only its reference kernel takes (diff_src cdaB16b); then ask for the forward's own.
  const auto make_pd = [&](const memory::desc& src_md, const memory::desc& dst_md) {
    return dnnl::pooling_backward::primitive_desc(
        dnnl::pooling_backward::desc(kAlg, src_md, dst_md, kernel_, kernel_, {0, 0}, {0, 0}),
        b.attr(), b.engine(), *fwd_pd_);
  };
  dnnl::pooling_backward::primitive_desc pd =
      make_pd(memory::desc(src_md_.dims(), memory::data_type::f32, memory::format_tag::any),
              memory::desc(dst_md_.dims(), memory::data_type::f32, memory::format_tag::any));
  if (std::string(pd.impl_info_str()).rfind("ref", 0) == 0) pd = make_pd(src_md_, dst_md_);
  const TensorRef dd = b.reorder_to(diff_dst, pd.diff_dst_desc(), name() + ".diff_dst",
                                    Tag::kActivationGrad, Phase::kBackward);
  const TensorRef diff_src = b.book(name() + ".diff_src", Tag::kActivationGrad, pd.diff_src_desc());
  b.add_op(name() + ".backward", Phase::kBackward,
           {b.call<dnnl::pooling_backward>(
               pd, {{DNNL_ARG_DIFF_DST, dd}, {DNNL_ARG_DIFF_SRC, diff_src}})});
  return {diff_src};
}

}  // namespace cnnmem
