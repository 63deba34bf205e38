#include "layers/binary.h"

#include "framework/error.h"

namespace cnnmem {

using dnnl::algorithm;
using dnnl::memory;

namespace {

bool is_jit(const char* impl) { return std::string(impl).rfind("ref", 0) != 0; }

memory::desc plain(const memory::dims& d) {
  static const memory::format_tag tags[] = {memory::format_tag::a, memory::format_tag::ab,
                                            memory::format_tag::abc, memory::format_tag::abcd};
  return memory::desc(d, memory::data_type::f32, tags[d.size() - 1]);
}

// `md`'s format tag applied to `dims`, when it is one of the layouts the layers produce.
std::optional<memory::desc> same_layout(const memory::desc& md, const memory::dims& dims) {
  for (const auto tag : {memory::format_tag::abcd, memory::format_tag::acdb,
                         memory::format_tag::aBcd16b, memory::format_tag::aBcd8b}) {
    if (md.dims().size() == 4 && md == memory::desc(md.dims(), memory::data_type::f32, tag)) {
      return memory::desc(dims, memory::data_type::f32, tag);
    }
  }
  return std::nullopt;
}

// Right-aligned: {C} against (C, H, W) is (1, 1, C).
memory::dims aligned(const memory::dims& d, size_t rank) {
  memory::dims out = {d[0]};
  out.insert(out.end(), rank - d.size(), 1);
  out.insert(out.end(), d.begin() + 1, d.end());
  return out;
}

algorithm binary_algorithm(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return algorithm::binary_add;
    case BinaryOp::kSub:
      return algorithm::binary_sub;
    case BinaryOp::kMul:
      return algorithm::binary_mul;
    case BinaryOp::kDiv:
      break;
  }
  return algorithm::binary_div;
}

dnnl::primitive_attr with_eltwise(const StepBuilder& b, algorithm alg, float alpha, float beta) {
  // A new attribute: copying b.attr() would share (and change) the builder's own.
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(b.attr().get_scratchpad_mode());
  dnnl::post_ops ops;
  ops.append_eltwise(1.f, alg, alpha, beta);
  attr.set_post_ops(ops);
  return attr;
}

}  // namespace

const char* Binary::kind() const {
  switch (op_) {
    case BinaryOp::kAdd:
      return "binary_add";
    case BinaryOp::kSub:
      return "binary_sub";
    case BinaryOp::kMul:
      return "binary_mul";
    case BinaryOp::kDiv:
      break;
  }
  return "binary_div";
}

Dims Binary::infer(const std::vector<Dims>& in) const {
  if (in.size() != 2) {
    throw Error(error_prefix() + "expects two inputs, got " + std::to_string(in.size()));
  }
  const Dims& a = in[0];
  const Dims& b = in[1];
  const size_t rank = std::max(a.size(), b.size());
  Dims out(rank);
  bool a_full = true, b_full = true;
  for (size_t i = 0; i < rank; ++i) {
    // Right-aligned, missing axes are 1.
    const int64_t x = i + a.size() >= rank ? a[i + a.size() - rank] : 1;
    const int64_t y = i + b.size() >= rank ? b[i + b.size() - rank] : 1;
    if (x != y && x != 1 && y != 1) {
      throw Error(error_prefix() + "shapes " + dims_str(a) + " and " + dims_str(b) +
                  " do not broadcast (axis " + std::to_string(i) + ": " + std::to_string(x) +
                  " against " + std::to_string(y) + "); each axis must match or be 1");
    }
    out[i] = std::max(x, y);
    a_full = a_full && x == out[i];
    b_full = b_full && y == out[i];
  }
  if (rank != 1 && rank != 3) {
    throw Error(error_prefix() + "inputs " + dims_str(a) + " and " + dims_str(b) + " give a rank-" +
                std::to_string(rank) + " sample; layers take CxHxW or F");
  }
  if (!a_full && !b_full) {
    throw Error(error_prefix() + "both inputs " + dims_str(a) + " and " + dims_str(b) +
                " are broadcast to " + dims_str(out) +
                "; one input must have the output's shape (expand one of them first)");
  }
  return out;
}

double Binary::flops(const std::vector<Dims>& /*in*/, const Dims& out) const {
  return static_cast<double>(dims_product(out));
}

TensorRef Binary::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  in_dims_[0] = in[0].md.dims();
  in_dims_[1] = in[1].md.dims();
  const Dims out = infer({Dims(in_dims_[0].begin() + 1, in_dims_[0].end()),
                          Dims(in_dims_[1].begin() + 1, in_dims_[1].end())});
  const size_t rank = out.size() + 1;
  // Inputs of a lower rank are viewed, in plain layout, with 1s inserted after the batch.
  TensorRef x[2];
  for (int k = 0; k < 2; ++k) {
    x[k] = in[k];
    if (in_dims_[k].size() == rank) continue;
    const TensorRef p = b.reorder_to(in[k], plain(in_dims_[k]), name() + ".src" + std::to_string(k),
                                     Tag::kActivation, Phase::kForward);
    x[k] = TensorRef{p.buffer, plain(in_dims_[k]).reshape(aligned(in_dims_[k], rank))};
  }
  memory::dims out_n = {in_dims_[0][0]};
  out_n.insert(out_n.end(), out.begin(), out.end());
  swapped_ = x[0].md.dims() != out_n;
  TensorRef full = x[swapped_ ? 1 : 0];
  const TensorRef& other = x[swapped_ ? 0 : 1];
  const dnnl::primitive_attr& attr = b.attr();
  // Broadcasting: oneDNN 2.6's jit binary gives wrong values for some spatial patterns with a
  // channels-last src0 (seen: 1xHxW onto NHWC) and has only its reference kernel for others, so
  // only the per-channel pattern is taken, in the full input's layout (jit for plain, NHWC and
  // blocked).
  const memory::dims od = other.md.dims();
  const bool same = od == full.md.dims();
  const bool per_channel = od.size() == 4 && od[1] == out_n[1] && od[2] == 1 && od[3] == 1;
  if (!same && !per_channel) {
    throw Error(error_prefix() + "broadcasting " + dims_str(Dims(od.begin() + 1, od.end())) +
                " onto " + dims_str(out) +
                " is not supported; only Cx1x1 onto CxHxW (or equal shapes) is");
  }
  std::optional<memory::desc> src1_md = same ? full.md : same_layout(full.md, od);
  if (!src1_md) src1_md = plain(od);
  const dnnl::binary::primitive_desc pd_made(
      dnnl::binary::desc(binary_algorithm(op_), full.md, *src1_md, full.md), attr, b.engine());
  std::optional<dnnl::binary::primitive_desc> pd = pd_made;
  if (!is_jit(pd->impl_info_str()) && !same && full.md != plain(out_n)) {
    // A layout without a jit per-channel kernel (aBcd8b after regnet's 8-channel groups):
    // the full input is reordered to plain NCHW, where the kernel is jit.
    full = b.reorder_to(full, plain(out_n), name() + ".src" + (swapped_ ? "1" : "0"),
                        b.training() ? Tag::kActivation : Tag::kWorkspace, Phase::kForward);
    src1_md = plain(od);
    pd.emplace(dnnl::binary::desc(binary_algorithm(op_), full.md, *src1_md, full.md), attr,
               b.engine());
  }
  if (!is_jit(pd->impl_info_str())) {
    throw Error(error_prefix() + "oneDNN 2.6 has no fast kernel broadcasting " +
                dims_str(Dims(od.begin() + 1, od.end())) + " onto " + dims_str(out) +
                " in this layout; reorder the inputs to plain NCHW first");
  }
  const Tag copy_tag = b.training() ? Tag::kActivation : Tag::kWorkspace;
  const TensorRef src1 =
      b.reorder_to(other, pd->src1_desc(), name() + ".src1", copy_tag, Phase::kForward);
  const bool keeps_inputs = op_ == BinaryOp::kMul || op_ == BinaryOp::kDiv;
  in_place_ = !(b.training() && keeps_inputs) && b.can_overwrite(full.buffer) &&
              full.buffer != src1.buffer && pd->dst_desc() == full.md;
  dst_md_ = pd->dst_desc();
  const TensorRef dst = in_place_ ? TensorRef{full.buffer, dst_md_}
                                  : b.book(name() + ".dst", Tag::kActivation, dst_md_);
  std::vector<DnnlCall> calls = {b.call<dnnl::binary>(
      *pd, {{DNNL_ARG_SRC_0, full}, {DNNL_ARG_SRC_1, src1}, {DNNL_ARG_DST, dst}})};
  if (swapped_ && (op_ == BinaryOp::kSub || op_ == BinaryOp::kDiv)) {
    // b - a = -(a - b), b / a = 1 / (a / b): a second eltwise call over dst in place (as a
    // post-op of the binary, oneDNN 2.6's jit kernel gave wrong values on NHWC with 4 channels).
    const bool sub = op_ == BinaryOp::kSub;
    const dnnl::eltwise_forward::primitive_desc fix(
        dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference,
                                    sub ? algorithm::eltwise_linear : algorithm::eltwise_pow,
                                    dst_md_, sub ? -1.f : 1.f, sub ? 0.f : -1.f),
        b.attr(), b.engine());
    calls.push_back(b.call<dnnl::eltwise_forward>(fix, {{DNNL_ARG_SRC, dst}, {DNNL_ARG_DST, dst}}));
  }
  b.add_op(name() + ".forward", Phase::kForward, std::move(calls), {}, {},
           static_cast<double>(in_dims_[0][0]) * flops({}, out));
  saved_[swapped_ ? 1 : 0] = full;
  saved_[swapped_ ? 0 : 1] = src1;
  if (b.training() && keeps_inputs) {
    b.mark_saved(full.buffer);
    b.mark_saved(src1.buffer);
  }
  return dst;
}

std::vector<TensorRef> Binary::plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                             const std::vector<bool>& need) {
  std::vector<TensorRef> out(2);
  if (!need[0] && !need[1]) return out;
  const TensorRef dd =
      b.reorder_to(diff_dst, dst_md_, name() + ".diff_dst", Tag::kActivationGrad, Phase::kBackward);
  // The second input first: the first one's term may then overwrite dd.
  for (int k : {1, 0}) {
    if (!need[static_cast<size_t>(k)]) continue;
    const bool full = saved_[k].md.dims() == dst_md_.dims();  // no axis was broadcast
    bool negate = false;
    TensorRef g = plan_term(b, dd, k, !full, &negate);
    if (!full) {
      g = plan_reduce(b, g, k, negate);
    } else if (negate) {
      const dnnl::eltwise_forward::primitive_desc pd(
          dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, algorithm::eltwise_linear,
                                      g.md, -1.f, 0.f),
          b.attr(), b.engine());
      const TensorRef neg = b.book(name() + ".diff_src1", Tag::kActivationGrad, g.md);
      b.add_op(name() + ".backward.src1", Phase::kBackward,
               {b.call<dnnl::eltwise_forward>(pd, {{DNNL_ARG_SRC, g}, {DNNL_ARG_DST, neg}})});
      g = neg;
    }
    const memory::dims& want = in_dims_[static_cast<size_t>(k)];
    if (g.md.dims() != want) {
      // A lower-rank input: back to its own dims through the plain layout.
      const TensorRef p =
          b.reorder_to(g, plain(g.md.dims()), name() + ".diff_src" + std::to_string(k) + "_plain",
                       Tag::kActivationGrad, Phase::kBackward);
      g = TensorRef{p.buffer, plain(g.md.dims()).reshape(want)};
    }
    out[static_cast<size_t>(k)] = g;
  }
  return out;
}

TensorRef Binary::plan_term(StepBuilder& b, const TensorRef& dd, int k, bool reduce_after,
                            bool* negate) {
  if (op_ == BinaryOp::kAdd || op_ == BinaryOp::kSub) {
    *negate = op_ == BinaryOp::kSub && k == 1;
    return dd;  // d(a +- b) = dy, +-dy: no op
  }
  const std::string what = name() + ".diff_term" + std::to_string(k);
  const TensorRef t =
      k == 0 && b.can_overwrite(dd.buffer)
          ? dd
          : b.book(what, reduce_after ? Tag::kWorkspace : Tag::kActivationGrad, dd.md);
  const auto call = [&](algorithm alg, const TensorRef& src0, const TensorRef& src1,
                        const dnnl::primitive_attr& attr) {
    const dnnl::binary::primitive_desc pd(dnnl::binary::desc(alg, src0.md, src1.md, t.md), attr,
                                          b.engine());
    return b.call<dnnl::binary>(
        pd, {{DNNL_ARG_SRC_0, src0}, {DNNL_ARG_SRC_1, src1}, {DNNL_ARG_DST, t}});
  };
  std::vector<DnnlCall> calls;
  if (op_ == BinaryOp::kMul) {
    // d(a * b) = dy * b, dy * a.
    calls.push_back(call(algorithm::binary_mul, dd, saved_[1 - k], b.attr()));
  } else if (k == 0) {
    // d(a / b)/da = dy / b.
    calls.push_back(call(algorithm::binary_div, dd, saved_[1], b.attr()));
  } else {
    // d(a / b)/db = -dy * a / b / b.
    calls.push_back(call(algorithm::binary_mul, dd, saved_[0], b.attr()));
    calls.push_back(call(algorithm::binary_div, t, saved_[1], b.attr()));
    calls.push_back(call(algorithm::binary_div, t, saved_[1],
                         with_eltwise(b, algorithm::eltwise_linear, -1, 0)));
  }
  const double elements = static_cast<double>(dd.md.get_size()) / sizeof(float);
  const double n_calls = static_cast<double>(calls.size());
  b.add_op(what, Phase::kBackward, std::move(calls), {}, {}, elements * n_calls);
  return t;
}

TensorRef Binary::plan_reduce(StepBuilder& b, const TensorRef& term, int k, bool negate) {
  const memory::dims td = term.md.dims();
  const memory::dims kd = saved_[k].md.dims();
  const float sign = negate ? -1.f : 1.f;
  const std::string what = name() + ".diff_src" + std::to_string(k);
  // Broadcast along H and W only (plan_forward takes no other pattern): a sum over each HxW
  // map, average pooling times H*W.
  CNNMEM_CHECK(td.size() == 4 && kd[1] == td[1] && kd[2] == 1 && kd[3] == 1);
  const memory::dims kernel = {td[2], td[3]};
  const dnnl::pooling_forward::primitive_desc pd(
      dnnl::pooling_forward::desc(dnnl::prop_kind::forward_inference,
                                  algorithm::pooling_avg_exclude_padding, term.md,
                                  memory::desc(kd, memory::data_type::f32, memory::format_tag::any),
                                  {1, 1}, kernel, {0, 0}, {0, 0}),
      with_eltwise(b, algorithm::eltwise_linear, sign * static_cast<float>(td[2] * td[3]), 0),
      b.engine());
  const TensorRef dst = b.book(what, Tag::kActivationGrad, pd.dst_desc());
  b.add_op(what, Phase::kBackward,
           {b.call<dnnl::pooling_forward>(pd, {{DNNL_ARG_SRC, term}, {DNNL_ARG_DST, dst}})}, {}, {},
           static_cast<double>(term.md.get_size()) / sizeof(float));
  return dst;
}

}  // namespace cnnmem
