#include "layers/pool2d.h"

#include <algorithm>

#include "framework/error.h"

namespace cnnmem {

using dnnl::memory;

namespace {

// dst = src * fh[h] * fw[w] over a 4-D f32 tensor in `md`, a plain layout or one blocked on
// channels only (nChw16c, nhwc, ...): each (n, channel block, h, w) is a contiguous run.
void scale_hw(const memory::desc& md, const float* src, float* dst, const std::vector<float>& fh,
              const std::vector<float>& fw) {
  const dnnl_memory_desc_t& d = md.data;
  CNNMEM_CHECK(d.format_kind == dnnl_blocked && d.ndims == 4);
  const dnnl_blocking_desc_t& bd = d.format_desc.blocking;
  int64_t inner = 1;
  for (int i = 0; i < bd.inner_nblks; ++i) {
    CNNMEM_CHECK(bd.inner_idxs[i] == 1);
    inner *= bd.inner_blks[i];
  }
  const int64_t n = d.padded_dims[0], cb = d.padded_dims[1] / inner;
  const auto h = static_cast<int64_t>(fh.size()), w = static_cast<int64_t>(fw.size());
  const dnnl_dims_t& st = bd.strides;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t in = 0; in < n; ++in) {
    for (int64_t c = 0; c < cb; ++c) {
      for (int64_t i = 0; i < h; ++i) {
        for (int64_t j = 0; j < w; ++j) {
          const int64_t base = d.offset0 + in * st[0] + c * st[1] + i * st[2] + j * st[3];
          const float f = fh[static_cast<size_t>(i)] * fw[static_cast<size_t>(j)];
          for (int64_t k = 0; k < inner; ++k) dst[base + k] = src[base + k] * f;
        }
      }
    }
  }
}

// kernel / (the part of each window inside [-begin, in + end)), or empty when all are whole.
std::vector<float> clip_factors(int64_t in, int64_t begin, int64_t end, int64_t k, int64_t s,
                                int64_t out) {
  std::vector<float> f(static_cast<size_t>(out), 1.f);
  bool any = false;
  for (int64_t i = 0; i < out; ++i) {
    const int64_t start = i * s - begin;
    const int64_t size = std::min(start + k, in + end) - start;
    if (size < k) {
      f[static_cast<size_t>(i)] = static_cast<float>(k) / static_cast<float>(size);
      any = true;
    }
  }
  if (!any) f.clear();
  return f;
}

}  // namespace

Pool2d::Pool2d(std::string name, PoolKind kind, int64_t kernel, int64_t stride, int64_t padding)
    : Pool2d(std::move(name), kind, Pool2dOptions::square(kernel, stride, padding)) {}

Pool2d::Pool2d(std::string name, PoolKind kind, Pool2dOptions options)
    : Layer(std::move(name)), kind_(kind), opt_(options), win_(options.window) {
  const std::string p = error_prefix();
  const Window2d& w = opt_.window;
  w.check(p);
  if (kind_ == PoolKind::kAvg && (w.dilation_h != 1 || w.dilation_w != 1)) {
    throw Error(p + "dilation must be 1 for average pooling, got " + w.str() +
                " (dilated average pooling is not supported)");
  }
  // Every window must touch the input (oneDNN's kernels, and ONNX's pads, allow more than
  // PyTorch's half the kernel).
  if (std::max(w.pads.top, w.pads.bottom) >= w.span_h() ||
      std::max(w.pads.left, w.pads.right) >= w.span_w()) {
    throw Error(p + "padding must be smaller than the kernel, got " + w.str());
  }
}

dnnl::algorithm Pool2d::alg() const {
  if (kind_ == PoolKind::kMax) return dnnl::algorithm::pooling_max;
  return opt_.count_include_pad ? dnnl::algorithm::pooling_avg_include_padding
                                : dnnl::algorithm::pooling_avg_exclude_padding;
}

int64_t Pool2d::out_size(int64_t in, int64_t begin, int64_t end, int64_t k, int64_t s) const {
  const int64_t room = in + begin + end - k;
  if (!opt_.ceil_mode) return room / s + 1;
  int64_t out = (room + s - 1) / s + 1;
  if ((out - 1) * s >= in + begin) --out;  // the last window must start inside input or top pad
  return out;
}

Dims Pool2d::infer(const std::vector<Dims>& in) const {
  if (in.size() != 1 || in[0].size() != 3) {
    throw Error(error_prefix() + "expects one CxHxW input, got " +
                (in.empty() ? "none" : dims_str(in[0])));
  }
  const Dims& x = in[0];
  const Window2d& w = opt_.window;
  if (!w.fits(x[1], x[2])) {
    throw Error(error_prefix() + "input " + dims_str(x) + " is smaller than the kernel " + w.str());
  }
  return {x[0], out_size(x[1], w.pads.top, w.pads.bottom, w.span_h(), w.stride_h),
          out_size(x[2], w.pads.left, w.pads.right, w.span_w(), w.stride_w)};
}

void Pool2d::plan_rescale(int64_t h, int64_t w, int64_t oh, int64_t ow) {
  const Window2d& g = opt_.window;
  // oneDNN's padding that makes its floor rule give OH x OW (more than declared in ceil mode).
  win_ = g;
  win_.pads.bottom = std::max(g.pads.bottom, (oh - 1) * g.stride_h + g.span_h() - h - g.pads.top);
  win_.pads.right = std::max(g.pads.right, (ow - 1) * g.stride_w + g.span_w() - w - g.pads.left);
  scale_h_.clear();
  scale_w_.clear();
  if (kind_ != PoolKind::kAvg || !opt_.count_include_pad) return;
  std::vector<float> fh = clip_factors(h, g.pads.top, g.pads.bottom, g.kernel_h, g.stride_h, oh);
  std::vector<float> fw = clip_factors(w, g.pads.left, g.pads.right, g.kernel_w, g.stride_w, ow);
  if (fh.empty() && fw.empty()) return;
  if (fh.empty()) fh.assign(static_cast<size_t>(oh), 1.f);
  if (fw.empty()) fw.assign(static_cast<size_t>(ow), 1.f);
  scale_h_ = std::move(fh);
  scale_w_ = std::move(fw);
}

TensorRef Pool2d::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  const TensorRef& src = in[0];
  const memory::dims d = src.md.dims();
  const Dims out = infer({{d[1], d[2], d[3]}});
  plan_rescale(d[2], d[3], out[1], out[2]);
  src_md_ = src.md;
  const memory::desc dst_any({d[0], out[0], out[1], out[2]}, memory::data_type::f32,
                             memory::format_tag::any);
  const auto prop =
      b.training() ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  const auto make_pd = [&](const memory::desc& dst) {
    fwd_pd_.emplace(
        dnnl::pooling_v2_forward::desc(prop, alg(), src.md, dst, win_.strides(), win_.kernel(),
                                       win_.dilates(), win_.padding_l(), win_.padding_r()),
        b.attr(), b.engine());
    return std::string(fwd_pd_->impl_info_str()).find("ref") == std::string::npos;
  };
  // In-place concatenation: write into the view when a jit kernel takes its layout (and no
  // divisor fix-up has to run over dst afterwards).
  const std::optional<TensorRef> view = b.take_output_view();
  bool into_view = false;
  try {
    into_view = view && scale_h_.empty() && make_pd(view->md);
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
  b.add_op(name() + ".forward", Phase::kForward, {b.call<dnnl::pooling_v2_forward>(*fwd_pd_, args)},
           {}, {}, static_cast<double>(dims_product(out) * d[0] * win_.kernel_h * win_.kernel_w));
  if (!scale_h_.empty()) {
    const memory::desc md = dst_md_;
    const BufferId id = dst.buffer;
    b.add_op(name() + ".forward.clip_divisor", Phase::kForward, {},
             [md, id, fh = scale_h_, fw = scale_w_](const BufferTable& t) {
               scale_hw(md, t.f32(id), t.f32(id), fh, fw);
             },
             {id});
  }
  return dst;
}

std::vector<TensorRef> Pool2d::plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                             const std::vector<bool>& need) {
  CNNMEM_CHECK(fwd_pd_.has_value());
  if (!need[0]) return {TensorRef{}};
  const memory::desc diff_src_any(src_md_.dims(), memory::data_type::f32, memory::format_tag::any);
  const memory::desc diff_dst_any(dst_md_.dims(), memory::data_type::f32, memory::format_tag::any);
  const dnnl::pooling_v2_backward::primitive_desc pd(
      dnnl::pooling_v2_backward::desc(alg(), diff_src_any, diff_dst_any, win_.strides(),
                                      win_.kernel(), win_.dilates(), win_.padding_l(),
                                      win_.padding_r()),
      b.attr(), b.engine(), *fwd_pd_);
  TensorRef dd = b.reorder_to(diff_dst, pd.diff_dst_desc(), name() + ".diff_dst",
                              Tag::kActivationGrad, Phase::kBackward);
  if (!scale_h_.empty()) {
    const TensorRef scaled = b.book(name() + ".diff_dst_clip_divisor", Tag::kActivationGrad, dd.md);
    const memory::desc md = dd.md;
    const BufferId from = dd.buffer, to = scaled.buffer;
    b.add_op(name() + ".backward.clip_divisor", Phase::kBackward, {},
             [md, from, to, fh = scale_h_, fw = scale_w_](const BufferTable& t) {
               scale_hw(md, t.f32(from), t.f32(to), fh, fw);
             },
             {from, to});
    dd = scaled;
  }
  const TensorRef diff_src = b.book(name() + ".diff_src", Tag::kActivationGrad, pd.diff_src_desc());
  std::vector<std::pair<int, TensorRef>> args = {{DNNL_ARG_DIFF_DST, dd},
                                                 {DNNL_ARG_DIFF_SRC, diff_src}};
  if (workspace_.buffer != kNoBuffer) args.push_back({DNNL_ARG_WORKSPACE, workspace_});
  b.add_op(name() + ".backward", Phase::kBackward, {b.call<dnnl::pooling_v2_backward>(pd, args)});
  return {diff_src};
}

}  // namespace cnnmem
