#include "layers/pool2d.h"

#include "framework/error.h"

namespace cnnmem {

using dnnl::memory;

Pool2d::Pool2d(std::string name, PoolKind kind, int64_t kernel, int64_t stride, int64_t padding)
    : Layer(std::move(name)),
      kind_(kind),
      kernel_(kernel),
      stride_(stride == 0 ? kernel : stride),
      padding_(padding) {
  if (kernel_ <= 0) {
    throw Error(error_prefix() + "kernel must be positive, got " + std::to_string(kernel));
  }
  if (stride_ <= 0) {
    throw Error(error_prefix() + "stride must be positive, got " + std::to_string(stride));
  }
  if (padding_ < 0 || 2 * padding_ > kernel_) {
    throw Error(error_prefix() + "padding must be between 0 and half the kernel, got " +
                std::to_string(padding));
  }
}

dnnl::algorithm Pool2d::alg() const {
  return kind_ == PoolKind::kMax ? dnnl::algorithm::pooling_max
                                 : dnnl::algorithm::pooling_avg_include_padding;
}

Dims Pool2d::infer(const std::vector<Dims>& in) const {
  if (in.size() != 1 || in[0].size() != 3) {
    throw Error(error_prefix() + "expects one CxHxW input, got " +
                (in.empty() ? "none" : dims_str(in[0])));
  }
  const Dims& x = in[0];
  if (x[1] + 2 * padding_ < kernel_ || x[2] + 2 * padding_ < kernel_) {
    throw Error(error_prefix() + "input " + dims_str(x) + " is smaller than the kernel " +
                std::to_string(kernel_));
  }
  return {x[0], (x[1] + 2 * padding_ - kernel_) / stride_ + 1,
          (x[2] + 2 * padding_ - kernel_) / stride_ + 1};
}

TensorRef Pool2d::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  const TensorRef& src = in[0];
  const memory::dims d = src.md.dims();
  const Dims out = infer({{d[1], d[2], d[3]}});
  src_md_ = src.md;
  const memory::desc dst_any({d[0], out[0], out[1], out[2]}, memory::data_type::f32,
                             memory::format_tag::any);
  const auto prop =
      b.training() ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  const auto make_pd = [&](const memory::desc& dst) {
    fwd_pd_.emplace(
        dnnl::pooling_forward::desc(prop, alg(), src.md, dst, {stride_, stride_},
                                    {kernel_, kernel_}, {padding_, padding_}, {padding_, padding_}),
        b.attr(), b.engine());
    return std::string(fwd_pd_->impl_info_str()).find("ref") == std::string::npos;
  };
  // In-place concatenation: write into the view when a jit kernel takes its layout.
  const std::optional<TensorRef> view = b.take_output_view();
  bool into_view = false;
  try {
    into_view = view && make_pd(view->md);
  } catch (const dnnl::error&) {  // no kernel at all for that layout: write a buffer of its own
  }
  if (!into_view) make_pd(dst_any);
  dst_md_ = fwd_pd_->dst_desc();
  const TensorRef dst = into_view ? *view : b.book(name() + ".dst", Tag::kActivation, dst_md_);
  std::vector<std::pair<int, TensorRef>> args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
  workspace_ = TensorRef{};
  if (b.training() && kind_ == PoolKind::kMax) {
    // The argmax indices are what max pooling saves for backward: an activation.
    workspace_ = b.book(name() + ".indices", Tag::kActivation, fwd_pd_->workspace_desc());
    args.push_back({DNNL_ARG_WORKSPACE, workspace_});
    b.mark_saved(workspace_.buffer);
  }
  b.add_op(name() + ".forward", Phase::kForward, {b.call<dnnl::pooling_forward>(*fwd_pd_, args)},
           {}, {}, static_cast<double>(dims_product(out) * d[0] * kernel_ * kernel_));
  return dst;
}

std::vector<TensorRef> Pool2d::plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                             const std::vector<bool>& need) {
  CNNMEM_CHECK(fwd_pd_.has_value());
  if (!need[0]) return {TensorRef{}};
  const memory::desc diff_src_any(src_md_.dims(), memory::data_type::f32, memory::format_tag::any);
  const memory::desc diff_dst_any(dst_md_.dims(), memory::data_type::f32, memory::format_tag::any);
  const dnnl::pooling_backward::primitive_desc pd(
      dnnl::pooling_backward::desc(alg(), diff_src_any, diff_dst_any, {stride_, stride_},
                                   {kernel_, kernel_}, {padding_, padding_}, {padding_, padding_}),
      b.attr(), b.engine(), *fwd_pd_);
  const TensorRef dd = b.reorder_to(diff_dst, pd.diff_dst_desc(), name() + ".diff_dst",
                                    Tag::kActivationGrad, Phase::kBackward);
  const TensorRef diff_src = b.book(name() + ".diff_src", Tag::kActivationGrad, pd.diff_src_desc());
  std::vector<std::pair<int, TensorRef>> args = {{DNNL_ARG_DIFF_DST, dd},
                                                 {DNNL_ARG_DIFF_SRC, diff_src}};
  if (workspace_.buffer != kNoBuffer) args.push_back({DNNL_ARG_WORKSPACE, workspace_});
  b.add_op(name() + ".backward", Phase::kBackward, {b.call<dnnl::pooling_backward>(pd, args)});
  return {diff_src};
}

}  // namespace cnnmem
