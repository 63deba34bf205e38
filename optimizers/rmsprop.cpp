#include "optimizers/rmsprop.h"

#include <cmath>

#include "framework/error.h"

namespace cnnmem {

using optimizer_detail::number;
using optimizer_detail::or_default;
using optimizer_detail::require_non_negative;

namespace {

struct RmspropScalars {
  float neg_lr, alpha, one_minus_alpha, eps, wd, mom, scale;
};

// One tensor's update, PyTorch's single-tensor formula, compiled per (L2 term, centered,
// momentum): no branch in the loop, and every operand a local of the parallel region
// (firstprivate), so that GCC vectorizes it; elementwise, so bitwise the same at any width.
template <bool kL2, bool kCentered, bool kMomentum>
void rmsprop_update(int64_t n, float* w, const float* g, float* sq, float* grad_avg, float* buf,
                    RmspropScalars k) {
#pragma omp parallel for simd schedule(static) if (n > 16384) firstprivate(k)
  for (int64_t i = 0; i < n; ++i) {
    float d = g[i] * k.scale;
    if constexpr (kL2) d += k.wd * w[i];
    sq[i] = sq[i] * k.alpha + k.one_minus_alpha * d * d;
    float avg = sq[i];
    if constexpr (kCentered) {
      grad_avg[i] = grad_avg[i] * k.alpha + k.one_minus_alpha * d;
      avg -= grad_avg[i] * grad_avg[i];
    }
    avg = std::sqrt(avg) + k.eps;
    if constexpr (kMomentum) {
      buf[i] = buf[i] * k.mom + d / avg;
      w[i] += k.neg_lr * buf[i];
    } else {
      w[i] += k.neg_lr * d / avg;
    }
  }
}

}  // namespace

RmsProp::RmsProp(const OptimizerConfig& config) : cfg_(config) {
  optimizer_detail::require_own_options(cfg_, "rmsprop", {"alpha", "eps", "momentum", "centered"});
  cfg_.lr = or_default(cfg_.lr, 1e-2);
  cfg_.eps = or_default(cfg_.eps, 1e-8);
  cfg_.weight_decay = or_default(cfg_.weight_decay, 0);
  // PyTorch's checks and their order; it accepts alpha > 1, so does cnnmem.
  require_non_negative("rmsprop", "lr", cfg_.lr);
  require_non_negative("rmsprop", "eps", cfg_.eps);
  require_non_negative("rmsprop", "momentum", cfg_.momentum);
  require_non_negative("rmsprop", "weight_decay", cfg_.weight_decay);
  require_non_negative("rmsprop", "alpha", cfg_.alpha);
}

std::string RmsProp::describe() const {
  return "rmsprop lr=" + number(cfg_.lr) + " alpha=" + number(cfg_.alpha) +
         " eps=" + number(cfg_.eps) + " weight_decay=" + number(cfg_.weight_decay) +
         " momentum=" + number(cfg_.momentum) + " centered=" + (cfg_.centered ? "true" : "false");
}

void RmsProp::plan_update(StepBuilder& b, const ParamBinding& p) {
  const int64_t n = static_cast<int64_t>(p.md.get_size() / sizeof(float));
  const BufferId w = p.weight, g = p.grad;
  const BufferId sq = book_state(b, p, "square_avg");
  const BufferId ga = cfg_.centered ? book_state(b, p, "grad_avg") : kNoBuffer;
  const BufferId buf = cfg_.momentum > 0 ? book_state(b, p, "momentum") : kNoBuffer;
  std::vector<BufferId> uses = {w, g, sq};
  if (ga != kNoBuffer) uses.push_back(ga);
  if (buf != kNoBuffer) uses.push_back(buf);
  b.add_op(
      "update(" + p.name + ")", Phase::kUpdate, {},
      [this, n, w, g, sq, ga, buf](const BufferTable& t) {
        float* wp = t.f32(w);
        const float* gp = t.f32(g);
        float* sqp = t.f32(sq);
        float* gap = ga != kNoBuffer ? t.f32(ga) : nullptr;
        float* bufp = buf != kNoBuffer ? t.f32(buf) : nullptr;
        // Scalars as PyTorch computes them: in double, then rounded to float once.
        RmspropScalars k;
        k.neg_lr = static_cast<float>(-cfg_.lr);
        k.alpha = static_cast<float>(cfg_.alpha);
        k.one_minus_alpha = static_cast<float>(1.0 - cfg_.alpha);
        k.eps = static_cast<float>(cfg_.eps);
        k.wd = static_cast<float>(cfg_.weight_decay);
        k.mom = static_cast<float>(cfg_.momentum);
        k.scale = grad_scale(t);
        optimizer_detail::with_flags(
            [&](auto l2, auto centered, auto momentum) {
              rmsprop_update<decltype(l2)::value, decltype(centered)::value,
                             decltype(momentum)::value>(n, wp, gp, sqp, gap, bufp, k);
            },
            k.wd != 0, gap != nullptr, bufp != nullptr);
      },
      update_uses(uses), 10.0 * static_cast<double>(n));
}

}  // namespace cnnmem
