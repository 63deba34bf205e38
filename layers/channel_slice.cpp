#include "layers/channel_slice.h"

#include <cstring>

#include "framework/error.h"

namespace cnnmem {

using dnnl::memory;

namespace {

// `md`'s channels [start, start + channels) as a submemory desc, or nullopt when the slice
// does not start on one of md's channel blocks.
std::optional<memory::desc> channel_sub(const memory::desc& md, int64_t start, int64_t channels) {
  memory::dims d = md.dims();
  d[1] = channels;
  try {
    return md.submemory_desc(d, {0, start, 0, 0});
  } catch (const dnnl::error&) {
    return std::nullopt;
  }
}

// A dense desc of `dims` in md's layout: its own blocked one when md is blocked by 8 or 16
// channels, nchw otherwise.
memory::desc dense_like(const memory::desc& md, const memory::dims& dims) {
  const auto& blk = md.data.format_desc.blocking;
  auto tag = memory::format_tag::nchw;
  if (blk.inner_nblks == 1 && blk.inner_idxs[0] == 1 && blk.inner_blks[0] == 16) {
    tag = memory::format_tag::nChw16c;
  } else if (blk.inner_nblks == 1 && blk.inner_idxs[0] == 1 && blk.inner_blks[0] == 8) {
    tag = memory::format_tag::nChw8c;
  }
  return memory::desc(dims, md.data_type(), tag);
}

}  // namespace

ChannelSlice::ChannelSlice(std::string name, int64_t start, int64_t end)
    : Layer(std::move(name)), start_(start), end_(end) {
  if (start_ < 0 || end_ <= start_) {
    throw Error(error_prefix() + "needs 0 <= start < end, got start " + std::to_string(start) +
                " and end " + std::to_string(end));
  }
}

Dims ChannelSlice::infer(const std::vector<Dims>& in) const {
  if (in.size() != 1 || in[0].size() != 3) {
    throw Error(error_prefix() + "expects one CxHxW input, got " +
                (in.empty() ? "none" : dims_str(in[0])));
  }
  if (end_ > in[0][0]) {
    throw Error(error_prefix() + "channels [" + std::to_string(start_) + ", " +
                std::to_string(end_) + ") run past the input's " + std::to_string(in[0][0]) +
                "; end must be at most the channel count");
  }
  return {end_ - start_, in[0][1], in[0][2]};
}

TensorRef ChannelSlice::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  const memory::dims d = in[0].md.dims();
  CNNMEM_CHECK(d.size() == 4);
  infer({{d[1], d[2], d[3]}});
  src_md_ = in[0].md;
  TensorRef src = in[0];
  std::optional<memory::desc> sub = channel_sub(src.md, start_, end_ - start_);
  if (!sub) {  // a slice inside a channel block: read it from nchw
    src = b.reorder_to(in[0], memory::desc(d, memory::data_type::f32, memory::format_tag::nchw),
                       name() + ".src_plain", Tag::kWorkspace, Phase::kForward);
    sub = channel_sub(src.md, start_, end_ - start_);
  }
  const TensorRef dst = b.book(name() + ".dst", Tag::kActivation, dense_like(src.md, sub->dims()));
  b.add_reorder(name() + ".forward", TensorRef{src.buffer, *sub, src.offset}, dst, Phase::kForward);
  return dst;
}

std::vector<TensorRef> ChannelSlice::plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                                   const std::vector<bool>& need) {
  if (!need[0]) return {TensorRef{}};
  memory::desc md = dense_like(src_md_, src_md_.dims());
  std::optional<memory::desc> sub = channel_sub(md, start_, end_ - start_);
  if (!sub) {
    md = memory::desc(src_md_.dims(), memory::data_type::f32, memory::format_tag::nchw);
    sub = channel_sub(md, start_, end_ - start_);
  }
  const TensorRef diff_src = b.book(name() + ".diff_src", Tag::kActivationGrad, md);
  const BufferId id = diff_src.buffer;
  const size_t bytes = md.get_size();
  b.add_op(name() + ".backward.zero", Phase::kBackward, {},
           [id, bytes](const BufferTable& t) { std::memset(t.bytes(id), 0, bytes); }, {id});
  b.add_reorder(name() + ".backward", diff_dst, TensorRef{id, *sub}, Phase::kBackward);
  return {diff_src};
}

}  // namespace cnnmem
