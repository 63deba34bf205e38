#include "layers/flatten.h"

#include "framework/error.h"

namespace cnnmem {

using dnnl::memory;

Dims Flatten::infer(const std::vector<Dims>& in) const {
  if (in.size() != 1 || in[0].empty()) throw Error(error_prefix() + "expects exactly one input");
  return {dims_product(in[0])};
}

TensorRef Flatten::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  src_dims_ = in[0].md.dims();
  if (src_dims_.size() == 2) return in[0];
  CNNMEM_CHECK(src_dims_.size() == 4);
  const memory::desc plain(src_dims_, memory::data_type::f32, memory::format_tag::nchw);
  const TensorRef nchw =
      b.reorder_to(in[0], plain, name() + ".dst", Tag::kActivation, Phase::kForward);
  const int64_t n = src_dims_[0];
  return TensorRef{nchw.buffer, plain.reshape({n, src_dims_[1] * src_dims_[2] * src_dims_[3]})};
}

std::vector<TensorRef> Flatten::plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                              const std::vector<bool>& need) {
  if (!need[0]) return {TensorRef{}};
  if (src_dims_.size() == 2) return {diff_dst};
  const memory::desc flat(diff_dst.md.dims(), memory::data_type::f32, memory::format_tag::nc);
  const TensorRef nc =
      b.reorder_to(diff_dst, flat, name() + ".diff_dst", Tag::kActivationGrad, Phase::kBackward);
  return {TensorRef{nc.buffer, flat.reshape(src_dims_)}};
}

}  // namespace cnnmem
