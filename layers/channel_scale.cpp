#include "layers/channel_scale.h"

#include <cmath>
#include <optional>

#include "framework/error.h"

namespace cnnmem {

using dnnl::memory;

namespace {

constexpr memory::format_tag kTags[] = {memory::format_tag::abcd, memory::format_tag::acdb,
                                        memory::format_tag::aBcd16b, memory::format_tag::aBcd8b};

// The index into kTags of `md`'s layout, or nullopt.
std::optional<size_t> layout_of(const memory::desc& md) {
  for (size_t i = 0; i < 4; ++i) {
    if (md.dims().size() == 4 && md == memory::desc(md.dims(), memory::data_type::f32, kTags[i])) {
      return i;
    }
  }
  return std::nullopt;
}

// The channel of physical element `i` in layout kTags[layout] (-1: a blocked layout's padding).
struct ChannelOf {
  size_t layout;
  int64_t c, hw, block;
  int64_t operator()(int64_t i) const {
    switch (layout) {
      case 0:
        return (i / hw) % c;
      case 1:
        return i % c;
      default: {
        const int64_t blocks = (c + block - 1) / block;
        const int64_t ch = (i / (hw * block)) % blocks * block + i % block;
        return ch < c ? ch : -1;
      }
    }
  }
};

}  // namespace

ChannelScale::ChannelScale(std::string name, int64_t channels, float init, bool trainable)
    : Layer(std::move(name)), channels_(channels), init_(init), trainable_(trainable) {
  if (channels <= 0) {
    throw Error(error_prefix() + "channels must be positive, got " + std::to_string(channels));
  }
  if (!std::isfinite(init)) {
    throw Error(error_prefix() + "the initial scale must be a finite number");
  }
}

Dims ChannelScale::infer(const std::vector<Dims>& in) const {
  if (in.size() != 1 || in[0].size() != 3 || in[0][0] != channels_) {
    throw Error(error_prefix() + "expects one input of " + std::to_string(channels_) +
                " channels (CxHxW), got " + (in.size() == 1 ? dims_str(in[0]) : "none"));
  }
  return in[0];
}

std::vector<ParamDecl> ChannelScale::params(const std::vector<Dims>& /*in*/) const {
  if (!trainable_) return {};
  return {{name(), {channels_, 1, 1}, 1}};
}

double ChannelScale::flops(const std::vector<Dims>& /*in*/, const Dims& out) const {
  return static_cast<double>(dims_product(out));
}

TensorRef ChannelScale::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  const Phase phase = Phase::kForward;
  const Tag copy_tag = b.training() ? Tag::kActivation : Tag::kWorkspace;
  const memory::dims& d = in[0].md.dims();
  CNNMEM_CHECK(d.size() == 4);
  const std::optional<size_t> layout = layout_of(in[0].md);
  const memory::format_tag tag = layout ? kTags[*layout] : memory::format_tag::abcd;
  src_ = b.reorder_to(in[0], memory::desc(d, memory::data_type::f32, tag), name() + ".src",
                      copy_tag, phase);
  const memory::desc gamma_md({1, channels_, 1, 1}, memory::data_type::f32, tag);
  if (trainable_) {
    const ParamBinding& p = b.param(params({})[0], gamma_md, init_);
    gamma_ = {p.weight, p.md};
    dgamma_ = p.grad;
  } else {
    gamma_ = {b.state(name(), {channels_, 1, 1}, gamma_md, init_).buffer, gamma_md};
  }
  const dnnl::binary::primitive_desc pd(
      dnnl::binary::desc(dnnl::algorithm::binary_mul, src_.md, gamma_.md, src_.md), b.attr(),
      b.engine());
  // Only gamma's gradient reads the input.
  const bool keep_src = b.training() && trainable_;
  in_place_ = !keep_src && b.can_overwrite(src_.buffer);
  const TensorRef dst = in_place_ ? src_ : b.book(name() + ".dst", Tag::kActivation, src_.md);
  b.add_op(name() + ".forward", phase,
           {b.call<dnnl::binary>(
               pd, {{DNNL_ARG_SRC_0, src_}, {DNNL_ARG_SRC_1, gamma_}, {DNNL_ARG_DST, dst}})},
           {}, {}, static_cast<double>(dims_product({d[0], d[1], d[2], d[3]})));
  if (keep_src) b.mark_saved(src_.buffer);
  return dst;
}

void ChannelScale::plan_backward_weights(StepBuilder& b, const TensorRef& dd) {
  const Phase phase = Phase::kBackward;
  const memory::dims& d = src_.md.dims();
  const int64_t count = static_cast<int64_t>(src_.md.get_size() / sizeof(float));
  const ChannelOf channel_of{*layout_of(src_.md), d[1], d[2] * d[3],
                             src_.md == memory::desc(d, memory::data_type::f32, kTags[2]) ? 16 : 8};
  const BufferId x = src_.buffer, g = dd.buffer, dgamma = dgamma_;
  const int64_t c = channels_;
  const int64_t padded = static_cast<int64_t>(gamma_.md.get_size() / sizeof(float));
  b.add_op(
      name() + ".backward_weights", phase, {},
      [=](const BufferTable& t) {
        const float* xs = t.f32(x);
        const float* gs = t.f32(g);
        std::vector<double> total(static_cast<size_t>(c), 0.0);
#pragma omp parallel
        {
          std::vector<double> mine(static_cast<size_t>(c), 0.0);
#pragma omp for schedule(static) nowait
          for (int64_t i = 0; i < count; ++i) {
            const int64_t ch = channel_of(i);
            if (ch >= 0) mine[static_cast<size_t>(ch)] += static_cast<double>(xs[i]) * gs[i];
          }
#pragma omp critical
          {
            for (int64_t k = 0; k < c; ++k) {
              total[static_cast<size_t>(k)] += mine[static_cast<size_t>(k)];
            }
          }
        }
        // gamma's gradient is 1 x C x 1 x 1 in every layout kept here (blocked: padded to the
        // block, padding zero).
        float* out = t.f32(dgamma);
        for (int64_t k = 0; k < padded; ++k) {
          out[k] = k < c ? static_cast<float>(total[static_cast<size_t>(k)]) : 0.f;
        }
      },
      {x, g, dgamma}, 2.0 * static_cast<double>(count));
}

std::vector<TensorRef> ChannelScale::plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                                   const std::vector<bool>& need) {
  const Phase phase = Phase::kBackward;
  const TensorRef dd =
      b.reorder_to(diff_dst, src_.md, name() + ".diff_dst", Tag::kActivationGrad, phase);
  // diff_gamma first: diff_src may write over diff_dst.
  if (trainable_) plan_backward_weights(b, dd);
  if (!need[0]) return {TensorRef{}};
  const int64_t count = static_cast<int64_t>(src_.md.get_size() / sizeof(float));
  const TensorRef diff_src =
      b.can_overwrite(dd.buffer) ? dd : b.book(name() + ".diff_src", Tag::kActivationGrad, src_.md);
  const dnnl::binary::primitive_desc pd(
      dnnl::binary::desc(dnnl::algorithm::binary_mul, dd.md, gamma_.md, dd.md), b.attr(),
      b.engine());
  b.add_op(name() + ".backward_data", phase,
           {b.call<dnnl::binary>(
               pd, {{DNNL_ARG_SRC_0, dd}, {DNNL_ARG_SRC_1, gamma_}, {DNNL_ARG_DST, diff_src}})},
           {}, {}, static_cast<double>(count));
  return {diff_src};
}

}  // namespace cnnmem
