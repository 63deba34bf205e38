#include "layers/add.h"

#include "framework/error.h"

namespace cnnmem {

using dnnl::memory;

Dims Add::infer(const std::vector<Dims>& in) const {
  if (in.size() != 2) {
    throw Error(error_prefix() + "expects two inputs, got " + std::to_string(in.size()));
  }
  if (in[0] != in[1]) {
    throw Error(error_prefix() + "inputs have different shapes " + dims_str(in[0]) + " and " +
                dims_str(in[1]) + "; both branches must produce the same shape");
  }
  return in[0];
}

double Add::flops(const std::vector<Dims>& /*in*/, const Dims& out) const {
  return static_cast<double>(dims_product(out));
}

TensorRef Add::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  const TensorRef& a = in[0];
  const memory::dims d = a.md.dims(), e = in[1].md.dims();
  const Dims sample(d.begin() + 1, d.end());
  infer({sample, Dims(e.begin() + 1, e.end())});
  const TensorRef other =
      b.reorder_to(in[1], a.md, name() + ".src1", b.training() ? Tag::kActivation : Tag::kWorkspace,
                   Phase::kForward);
  const dnnl::binary::primitive_desc pd(
      dnnl::binary::desc(dnnl::algorithm::binary_add, a.md, a.md, a.md), b.attr(), b.engine());
  // Backward needs neither input, so `a` may be overwritten whenever no other layer reads it.
  in_place_ = b.can_overwrite(a.buffer) && a.buffer != other.buffer;
  const TensorRef dst = in_place_ ? TensorRef{a.buffer, pd.dst_desc()}
                                  : b.book(name() + ".dst", Tag::kActivation, pd.dst_desc());
  b.add_op(name() + ".forward", Phase::kForward,
           {b.call<dnnl::binary>(
               pd, {{DNNL_ARG_SRC_0, a}, {DNNL_ARG_SRC_1, other}, {DNNL_ARG_DST, dst}})},
           {}, {}, static_cast<double>(d[0]) * flops({}, sample));
  return dst;
}

std::vector<TensorRef> Add::plan_backward(StepBuilder& /*b*/, const TensorRef& diff_dst,
                                          const std::vector<bool>& need) {
  // d(a + b)/da = d(a + b)/db = 1: no op, no buffer.
  return {need[0] ? diff_dst : TensorRef{}, need[1] ? diff_dst : TensorRef{}};
}

}  // namespace cnnmem
