#include "layers/dropout.h"

#include "framework/error.h"

namespace cnnmem {

using dnnl::memory;

namespace {

constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

uint64_t mix(uint64_t x) {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

memory::desc plain_desc(const memory::dims& dims) {
  const auto tag = dims.size() == 2   ? memory::format_tag::ab
                   : dims.size() == 3 ? memory::format_tag::abc
                                      : memory::format_tag::abcd;
  return memory::desc(dims, memory::data_type::f32, tag);
}

}  // namespace

Dropout::Dropout(std::string name, double p, uint64_t seed) : Layer(std::move(name)), p_(p) {
  if (!(p >= 0 && p <= 1)) {
    throw Error(error_prefix() + "probability must be between 0 and 1, got " + std::to_string(p));
  }
  counter_->seed = seed;
}

uint64_t Dropout::layer_key(const std::string& name) {
  uint64_t h = 0xCBF29CE484222325ULL;
  for (const char c : name) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001B3ULL;
  }
  return h;
}

uint64_t Dropout::step_key(uint64_t seed, int64_t step, uint64_t layer) {
  return mix(seed ^ mix(layer + static_cast<uint64_t>(step) * kGolden));
}

bool Dropout::keeps(uint64_t step_key, int64_t index, double p) {
  const uint64_t h = mix(step_key + static_cast<uint64_t>(index) * kGolden);
  return static_cast<double>(h >> 11) * 0x1.0p-53 >= p;  // uniform in [0, 1)
}

Dims Dropout::infer(const std::vector<Dims>& in) const {
  if (in.size() != 1 || in[0].empty()) throw Error(error_prefix() + "expects exactly one input");
  return in[0];
}

TensorRef Dropout::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  mask_ = kNoBuffer;
  if (!b.training() || p_ == 0) return in[0];
  const Phase phase = recompute_ ? Phase::kRecompute : Phase::kForward;
  plain_ = plain_desc(in[0].md.dims());
  const TensorRef src = b.reorder_to(in[0], plain_, name() + ".src", Tag::kActivation, phase);
  const int64_t count = static_cast<int64_t>(plain_.get_size() / sizeof(float));
  const TensorRef dst =
      b.can_overwrite(src.buffer) ? src : b.book(name() + ".dst", Tag::kActivation, plain_);
  mask_ = b.book_bytes(name() + ".mask", Tag::kActivation, count);
  b.mark_saved(mask_);
  const BufferId s = src.buffer, d = dst.buffer, m = mask_;
  const double p = p_;
  const float scale = p_ < 1 ? static_cast<float>(1.0 / (1.0 - p_)) : 0.f;
  const uint64_t layer = layer_key(name());
  const std::shared_ptr<Counter> counter = counter_;
  const bool recompute = recompute_;
  b.add_op(
      name() + ".forward", phase, {},
      [=](const BufferTable& t) {
        if (!recompute) {
          counter->last = counter->external != nullptr ? *counter->external : counter->internal++;
        }
        const uint64_t seed =
            counter->seed_source != nullptr ? *counter->seed_source : counter->seed;
        const uint64_t key = step_key(seed, counter->last, layer);
        const float* x = t.f32(s);
        float* y = t.f32(d);
        auto* keep = reinterpret_cast<uint8_t*>(t.bytes(m));
#pragma omp parallel for schedule(static) if (count > 16384)
        for (int64_t i = 0; i < count; ++i) {
          keep[i] = keeps(key, i, p) ? 1 : 0;
          y[i] = keep[i] != 0 ? x[i] * scale : 0.f;
        }
      },
      {s, d, m}, static_cast<double>(count));
  return dst;
}

std::vector<TensorRef> Dropout::plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                              const std::vector<bool>& need) {
  if (!need[0]) return {TensorRef{}};
  if (mask_ == kNoBuffer) return {diff_dst};  // p = 0: the identity
  const TensorRef dd =
      b.reorder_to(diff_dst, plain_, name() + ".diff_dst", Tag::kActivationGrad, Phase::kBackward);
  const int64_t count = static_cast<int64_t>(plain_.get_size() / sizeof(float));
  // diff_src overwrites diff_dst unless another branch still reads it (a residual add).
  const TensorRef diff_src =
      b.can_overwrite(dd.buffer) ? dd : b.book(name() + ".diff_src", Tag::kActivationGrad, plain_);
  const BufferId g = dd.buffer, o = diff_src.buffer, m = mask_;
  const float scale = p_ < 1 ? static_cast<float>(1.0 / (1.0 - p_)) : 0.f;
  b.add_op(
      name() + ".backward", Phase::kBackward, {},
      [=](const BufferTable& t) {
        const float* grad = t.f32(g);
        float* out = t.f32(o);
        const auto* keep = reinterpret_cast<const uint8_t*>(t.bytes(m));
#pragma omp parallel for schedule(static) if (count > 16384)
        for (int64_t i = 0; i < count; ++i) out[i] = keep[i] != 0 ? grad[i] * scale : 0.f;
      },
      {g, o, m}, static_cast<double>(count));
  return {diff_src};
}

}  // namespace cnnmem
