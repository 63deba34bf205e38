#include "optimizers/adam.h"

#include <algorithm>
#include <cmath>

#include "framework/error.h"

namespace cnnmem {

using optimizer_detail::number;
using optimizer_detail::or_default;
using optimizer_detail::require_non_negative;

namespace {

struct AdamScalars {
  float b1, b2, one_minus_b1, one_minus_b2, eps, neg_step_size, bc2_sqrt, wd, decay, scale;
};

// One tensor's update, PyTorch's single-tensor formula, compiled per (L2 term, AMSGrad): no
// branch in the loop, and every operand a local of the parallel region (firstprivate), so that
// GCC vectorizes it. Elementwise, in PyTorch's order: bitwise the same whatever the width.
template <bool kL2, bool kAmsgrad>
void adam_update(int64_t n, float* w, const float* g, float* m, float* v, float* v_max,
                 AdamScalars k) {
#pragma omp parallel for simd schedule(static) if (n > 16384) firstprivate(k)
  for (int64_t i = 0; i < n; ++i) {
    const float wi = w[i] * k.decay;
    float d = g[i] * k.scale;
    if constexpr (kL2) d += k.wd * wi;
    m[i] = m[i] * k.b1 + k.one_minus_b1 * d;
    v[i] = v[i] * k.b2 + k.one_minus_b2 * d * d;
    float second = v[i];
    if constexpr (kAmsgrad) {
      const float seen = v_max[i];
      second = seen < second ? second : seen;  // std::max, as a select
      v_max[i] = second;
    }
    const float denom = std::sqrt(second) / k.bc2_sqrt + k.eps;
    w[i] = wi + k.neg_step_size * m[i] / denom;
  }
}

}  // namespace

Adam::Adam(const OptimizerConfig& config, const char* optimizer, double default_weight_decay,
           bool decoupled)
    : cfg_(config), decoupled_(decoupled) {
  optimizer_detail::require_own_options(cfg_, optimizer, {"betas", "eps", "amsgrad"});
  cfg_.lr = or_default(cfg_.lr, 1e-3);
  cfg_.eps = or_default(cfg_.eps, 1e-8);
  cfg_.weight_decay = or_default(cfg_.weight_decay, default_weight_decay);
  require_non_negative(optimizer, "lr", cfg_.lr);
  require_non_negative(optimizer, "eps", cfg_.eps);
  if (!(cfg_.beta1 >= 0 && cfg_.beta1 < 1) || !(cfg_.beta2 >= 0 && cfg_.beta2 < 1)) {
    throw Error(std::string(optimizer) + ": " + setting("betas") + " must each be in [0, 1), got " +
                number(cfg_.beta1) + "," + number(cfg_.beta2));
  }
  require_non_negative(optimizer, "weight_decay", cfg_.weight_decay);
}

std::string Adam::describe() const {
  return std::string(name()) + " lr=" + number(cfg_.lr) + " betas=" + number(cfg_.beta1) + "," +
         number(cfg_.beta2) + " eps=" + number(cfg_.eps) +
         " weight_decay=" + number(cfg_.weight_decay) + (decoupled_ ? " (decoupled)" : "") +
         " amsgrad=" + (cfg_.amsgrad ? "true" : "false");
}

void Adam::plan_update(StepBuilder& b, const ParamBinding& p) {
  const int64_t n = static_cast<int64_t>(p.md.get_size() / sizeof(float));
  const BufferId w = p.weight, g = p.grad;
  const BufferId m = book_state(b, p, "m");
  const BufferId v = book_state(b, p, "v");
  const BufferId v_max = cfg_.amsgrad ? book_state(b, p, "v_max") : kNoBuffer;
  std::vector<BufferId> uses = {w, g, m, v};
  if (v_max != kNoBuffer) uses.push_back(v_max);
  b.add_op(
      "update(" + p.name + ")", Phase::kUpdate, {},
      [this, n, w, g, m, v, v_max](const BufferTable& t) {
        float* wp = t.f32(w);
        const float* gp = t.f32(g);
        float* mp = t.f32(m);
        float* vp = t.f32(v);
        float* vmaxp = v_max != kNoBuffer ? t.f32(v_max) : nullptr;
        // Scalars as PyTorch computes them: in double, then rounded to float once.
        const auto t_step = static_cast<double>(step_);
        AdamScalars k;
        k.b1 = static_cast<float>(cfg_.beta1);
        k.b2 = static_cast<float>(cfg_.beta2);
        k.one_minus_b1 = static_cast<float>(1.0 - cfg_.beta1);
        k.one_minus_b2 = static_cast<float>(1.0 - cfg_.beta2);
        k.eps = static_cast<float>(cfg_.eps);
        k.neg_step_size = static_cast<float>(-(cfg_.lr / (1.0 - std::pow(cfg_.beta1, t_step))));
        k.bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(cfg_.beta2, t_step)));
        // Adam: L2 term in the gradient. AdamW: w *= 1 - lr * wd (exactly w when the factor is 1).
        k.wd = static_cast<float>(decoupled_ ? 0.0 : cfg_.weight_decay);
        k.decay = static_cast<float>(decoupled_ ? 1.0 - cfg_.lr * cfg_.weight_decay : 1.0);
        k.scale = grad_scale(t);
        optimizer_detail::with_flags(
            [&](auto l2, auto ams) {
              adam_update<decltype(l2)::value, decltype(ams)::value>(n, wp, gp, mp, vp, vmaxp, k);
            },
            k.wd != 0, vmaxp != nullptr);
      },
      update_uses(uses), 12.0 * static_cast<double>(n));
}

}  // namespace cnnmem
