#include "layers/channel_shuffle.h"

#include "framework/error.h"

namespace cnnmem {

using dnnl::memory;

ChannelShuffle::ChannelShuffle(std::string name, int64_t groups)
    : Layer(std::move(name)), groups_(groups) {
  if (groups_ <= 0) {
    throw Error(error_prefix() + "groups must be positive, got " + std::to_string(groups));
  }
}

Dims ChannelShuffle::infer(const std::vector<Dims>& in) const {
  if (in.size() != 1 || in[0].size() != 3) {
    throw Error(error_prefix() + "expects one CxHxW input, got " +
                (in.empty() ? "none" : dims_str(in[0])));
  }
  if (in[0][0] % groups_ != 0) {
    throw Error(error_prefix() + "groups " + std::to_string(groups_) + " must divide the input's " +
                std::to_string(in[0][0]) + " channels");
  }
  return in[0];
}

memory::desc ChannelShuffle::grouped(bool shuffled) const {
  const int64_t n = dims_[0], c = dims_[1], hw = dims_[2] * dims_[3], g = groups_;
  const memory::dims d = {n, g, c / g, dims_[2], dims_[3]};
  if (!shuffled) return memory::desc(d, memory::data_type::f32, memory::format_tag::abcde);
  // Element (n, j, i, h, w) sits at channel i*G + j.
  return memory::desc(d, memory::data_type::f32, memory::dims{c * hw, hw, g * hw, dims_[3], 1});
}

TensorRef ChannelShuffle::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  dims_ = in[0].md.dims();
  CNNMEM_CHECK(dims_.size() == 4);
  infer({{dims_[1], dims_[2], dims_[3]}});
  const memory::desc plain(dims_, memory::data_type::f32, memory::format_tag::nchw);
  // Backward needs nothing of the forward: the plain copy of the input is a temporary.
  const TensorRef src =
      b.reorder_to(in[0], plain, name() + ".src_plain", Tag::kWorkspace, Phase::kForward);
  const TensorRef dst = b.book(name() + ".dst", Tag::kActivation, plain);
  b.add_reorder(name() + ".forward", TensorRef{src.buffer, grouped(false), src.offset},
                TensorRef{dst.buffer, grouped(true)}, Phase::kForward);
  return dst;
}

std::vector<TensorRef> ChannelShuffle::plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                                     const std::vector<bool>& need) {
  if (!need[0]) return {TensorRef{}};
  const memory::desc plain(dims_, memory::data_type::f32, memory::format_tag::nchw);
  const TensorRef dd =
      b.reorder_to(diff_dst, plain, name() + ".diff_dst", Tag::kActivationGrad, Phase::kBackward);
  const TensorRef diff_src = b.book(name() + ".diff_src", Tag::kActivationGrad, plain);
  b.add_reorder(name() + ".backward", TensorRef{dd.buffer, grouped(true)},
                TensorRef{diff_src.buffer, grouped(false)}, Phase::kBackward);
  return {diff_src};
}

}  // namespace cnnmem
