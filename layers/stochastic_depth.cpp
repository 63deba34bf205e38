#include "layers/stochastic_depth.h"

#include "framework/error.h"
#include "layers/dropout.h"

namespace cnnmem {

using dnnl::memory;

namespace {

// Whether sample n's values are contiguous, samples one after the other (batch outermost).
bool batch_outermost(const memory::desc& md) {
  const memory::dims& d = md.dims();
  if (md.data.format_kind != dnnl_blocked || d.empty()) return false;
  const int64_t per_sample = static_cast<int64_t>(md.get_size() / sizeof(float)) / d[0];
  const dnnl_blocking_desc_t& blk = md.data.format_desc.blocking;
  for (int i = 0; i < blk.inner_nblks; ++i) {
    if (blk.inner_idxs[i] == 0) return false;
  }
  return d[0] == 1 || blk.strides[0] == per_sample;
}

// Multiplies each of the n samples (`per` values each) of x by s[sample] into y.
void scale_samples(const float* x, const float* s, float* y, int64_t n, int64_t per) {
  const int64_t count = n * per;
#pragma omp parallel for schedule(static) if (count > 16384)
  for (int64_t i = 0; i < count; ++i) y[i] = x[i] * s[i / per];
}

}  // namespace

StochasticDepth::StochasticDepth(std::string name, double p, uint64_t seed)
    : Layer(std::move(name)), p_(p) {
  if (!(p >= 0 && p < 1)) {
    throw Error(error_prefix() + "probability must be in [0, 1), got " + std::to_string(p));
  }
  counter_->seed = seed;
}

Dims StochasticDepth::infer(const std::vector<Dims>& in) const {
  if (in.size() != 1 || in[0].empty()) throw Error(error_prefix() + "expects exactly one input");
  return in[0];
}

TensorRef StochasticDepth::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  scale_ = kNoBuffer;
  in_place_ = false;
  if (!b.training() || p_ == 0) return in[0];
  const Phase phase = Phase::kForward;
  const memory::dims& d = in[0].md.dims();
  md_ = in[0].md;
  if (!batch_outermost(md_)) {
    md_ = memory::desc(d, memory::data_type::f32,
                       d.size() == 2 ? memory::format_tag::ab : memory::format_tag::abcd);
  }
  const TensorRef src = b.reorder_to(in[0], md_, name() + ".src", Tag::kActivation, phase);
  in_place_ = b.can_overwrite(src.buffer);
  const TensorRef dst = in_place_ ? src : b.book(name() + ".dst", Tag::kActivation, md_);
  const int64_t n = d[0];
  scale_ = b.book_bytes(name() + ".scale", Tag::kActivation, n * int64_t{sizeof(float)});
  b.mark_saved(scale_);
  const int64_t per = static_cast<int64_t>(md_.get_size() / sizeof(float)) / n;
  const BufferId s = src.buffer, o = dst.buffer, m = scale_;
  const double p = p_;
  const auto keep_scale = static_cast<float>(1.0 / (1.0 - p_));
  const uint64_t layer = Dropout::layer_key(name());
  const std::shared_ptr<Counter> counter = counter_;
  b.add_op(
      name() + ".forward", phase, {},
      [=](const BufferTable& t) {
        const int64_t step =
            counter->external != nullptr ? *counter->external : counter->internal++;
        const uint64_t seed =
            counter->seed_source != nullptr ? *counter->seed_source : counter->seed;
        const uint64_t key = Dropout::step_key(seed, step, layer);
        float* scale = t.f32(m);
        for (int64_t k = 0; k < n; ++k) scale[k] = Dropout::keeps(key, k, p) ? keep_scale : 0.f;
        scale_samples(t.f32(s), scale, t.f32(o), n, per);
      },
      {s, o, m}, static_cast<double>(n * per));
  return dst;
}

std::vector<TensorRef> StochasticDepth::plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                                      const std::vector<bool>& need) {
  if (!need[0]) return {TensorRef{}};
  if (scale_ == kNoBuffer) return {diff_dst};  // p = 0: the identity
  const Phase phase = Phase::kBackward;
  const TensorRef dd =
      b.reorder_to(diff_dst, md_, name() + ".diff_dst", Tag::kActivationGrad, phase);
  const TensorRef diff_src =
      b.can_overwrite(dd.buffer) ? dd : b.book(name() + ".diff_src", Tag::kActivationGrad, md_);
  const int64_t n = md_.dims()[0];
  const int64_t per = static_cast<int64_t>(md_.get_size() / sizeof(float)) / n;
  const BufferId g = dd.buffer, o = diff_src.buffer, m = scale_;
  b.add_op(
      name() + ".backward", phase, {},
      [=](const BufferTable& t) { scale_samples(t.f32(g), t.f32(m), t.f32(o), n, per); }, {g, o, m},
      static_cast<double>(n * per));
  return {diff_src};
}

}  // namespace cnnmem
