#include "layers/concat.h"

#include "framework/concat_views.h"
#include "framework/error.h"

namespace cnnmem {

using dnnl::memory;

Dims Concat::infer(const std::vector<Dims>& in) const {
  if (in.size() < 2) {
    throw Error(error_prefix() + "expects at least two inputs, got " + std::to_string(in.size()));
  }
  int64_t channels = 0;
  for (const Dims& d : in) {
    if (d.size() != 3) {
      throw Error(error_prefix() + "expects CxHxW inputs, got " + dims_str(d) +
                  "; concatenate feature maps before flattening them");
    }
    if (d[1] != in[0][1] || d[2] != in[0][2]) {
      throw Error(error_prefix() + "inputs " + dims_str(in[0]) + " and " + dims_str(d) +
                  " differ in height or width; concatenated maps must have the same size");
    }
    channels += d[0];
  }
  return {channels, in[0][1], in[0][2]};
}

TensorRef Concat::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  std::vector<Dims> dims;
  for (const TensorRef& t : in) {
    const memory::dims d = t.md.dims();
    CNNMEM_CHECK(d.size() == 4);
    dims.push_back({d[1], d[2], d[3]});
  }
  const Dims out = infer(dims);
  const int64_t n = in[0].md.dims()[0];
  in_md_.clear();
  offsets_.clear();
  int64_t offset = 0;
  for (const TensorRef& t : in) {
    in_md_.push_back(t.md);
    offsets_.push_back(offset);
    offset += t.md.dims()[1];
  }
  const double flops = static_cast<double>(n * dims_product(out));
  const std::optional<TensorRef> view = b.take_output_view();
  in_place_ = view.has_value();
  inputs_in_place_ = 0;
  if (!view) return plan_copy(b, in, flops);
  // In place: skip the inputs already in their slice, reorder the others into theirs.
  std::vector<DnnlCall> copies;
  for (size_t j = 0; j < in.size(); ++j) {
    const TensorRef slice = channel_view(*view, offsets_[j], in[j].md.dims()[1]);
    if (in[j].buffer == slice.buffer && in[j].offset == slice.offset && in[j].md == slice.md) {
      ++inputs_in_place_;
      continue;
    }
    const dnnl::reorder::primitive_desc pd(b.engine(), in[j].md, b.engine(), slice.md, b.attr());
    copies.push_back(b.call<dnnl::reorder>(pd, {{DNNL_ARG_FROM, in[j]}, {DNNL_ARG_TO, slice}}));
  }
  if (!copies.empty()) b.add_op(name() + ".forward", Phase::kForward, std::move(copies));
  return *view;
}

TensorRef Concat::plan_copy(StepBuilder& b, const std::vector<TensorRef>& in, double flops) {
  std::vector<memory::desc> srcs;
  std::vector<std::pair<int, TensorRef>> args;
  for (size_t j = 0; j < in.size(); ++j) {
    srcs.push_back(in[j].md);
    args.emplace_back(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(j), in[j]);
  }
  const dnnl::concat::primitive_desc pd(1, srcs, b.engine(), b.attr());
  if (std::string(pd.impl_info_str()).find("ref") == std::string::npos) {
    const TensorRef dst = b.book(name() + ".dst", Tag::kActivation, pd.dst_desc());
    args.emplace_back(DNNL_ARG_DST, dst);
    b.add_op(name() + ".forward", Phase::kForward, {b.call<dnnl::concat>(pd, std::move(args))}, {},
             {}, flops);
    return dst;
  }
  // Inputs in different layouts get oneDNN's reference concat: reorder each into its slice of
  // nChw16c when every slice but the last fills whole blocks, of nchw otherwise.
  bool blocked = true;
  for (size_t j = 0; j + 1 < in.size(); ++j) blocked = blocked && in[j].md.dims()[1] % 16 == 0;
  memory::dims d = in[0].md.dims();
  d[1] = offsets_.back() + in.back().md.dims()[1];
  const TensorRef dst =
      b.book(name() + ".dst", Tag::kActivation,
             memory::desc(d, memory::data_type::f32,
                          blocked ? memory::format_tag::nChw16c : memory::format_tag::nchw));
  std::vector<DnnlCall> calls;
  for (size_t j = 0; j < in.size(); ++j) {
    const TensorRef slice{dst.buffer,
                          dst.md.submemory_desc(in[j].md.dims(), {0, offsets_[j], 0, 0})};
    const dnnl::reorder::primitive_desc r(b.engine(), in[j].md, b.engine(), slice.md, b.attr());
    calls.push_back(b.call<dnnl::reorder>(r, {{DNNL_ARG_FROM, in[j]}, {DNNL_ARG_TO, slice}}));
  }
  b.add_op(name() + ".forward", Phase::kForward, std::move(calls), {}, {}, flops);
  return dst;
}

std::vector<TensorRef> Concat::plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                             const std::vector<bool>& need) {
  CNNMEM_CHECK(in_md_.size() == need.size());
  // A slice of a blocked layout must start on a block: go through nchw when one does not.
  TensorRef dd = diff_dst;
  try {
    for (size_t j = 0; j < need.size(); ++j) {
      if (need[j]) (void)dd.md.submemory_desc(in_md_[j].dims(), {0, offsets_[j], 0, 0});
    }
  } catch (const dnnl::error&) {
    const memory::desc plain(diff_dst.md.dims(), memory::data_type::f32, memory::format_tag::nchw);
    dd = b.reorder_to(diff_dst, plain, name() + ".diff_dst_plain", Tag::kActivationGrad,
                      Phase::kBackward);
  }
  std::vector<TensorRef> diff_src(need.size());
  std::vector<DnnlCall> calls;
  for (size_t j = 0; j < need.size(); ++j) {
    if (!need[j]) continue;
    const TensorRef from{dd.buffer, dd.md.submemory_desc(in_md_[j].dims(), {0, offsets_[j], 0, 0})};
    diff_src[j] = b.book(name() + ".diff_src" + std::to_string(j), Tag::kActivationGrad, in_md_[j]);
    const dnnl::reorder::primitive_desc pd(b.engine(), from.md, b.engine(), in_md_[j], b.attr());
    calls.push_back(b.call<dnnl::reorder>(pd, {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, diff_src[j]}}));
  }
  if (!calls.empty()) b.add_op(name() + ".backward", Phase::kBackward, std::move(calls));
  return diff_src;
}

}  // namespace cnnmem
