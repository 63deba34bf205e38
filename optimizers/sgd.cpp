#include "optimizers/sgd.h"

#include "framework/error.h"

namespace cnnmem {

using optimizer_detail::number;
using optimizer_detail::or_default;
using optimizer_detail::require_non_negative;

namespace {

struct SgdScalars {
  float lr, wd, mom, damp, scale;
};

// One tensor's update, PyTorch's single-tensor formula, compiled per (L2 term, momentum, first
// step, Nesterov): no branch in the loop, and every operand a local of the parallel region
// (firstprivate), so that GCC vectorizes it; elementwise, so bitwise the same at any width.
template <bool kL2, bool kMomentum, bool kFirst, bool kNesterov>
void sgd_update(int64_t n, float* w, const float* g, float* m, SgdScalars k) {
#pragma omp parallel for simd schedule(static) if (n > 16384) firstprivate(k)
  for (int64_t i = 0; i < n; ++i) {
    float d = g[i] * k.scale;
    if constexpr (kL2) d += k.wd * w[i];
    if constexpr (kMomentum) {
      m[i] = kFirst ? d : k.mom * m[i] + k.damp * d;
      d = kNesterov ? d + k.mom * m[i] : m[i];
    }
    w[i] -= k.lr * d;
  }
}

}  // namespace

Sgd::Sgd(const OptimizerConfig& config) : cfg_(config) {
  optimizer_detail::require_own_options(cfg_, "sgd", {"momentum", "dampening", "nesterov"});
  cfg_.lr = or_default(cfg_.lr, 0.01);
  cfg_.weight_decay = or_default(cfg_.weight_decay, 0);
  require_non_negative("sgd", "lr", cfg_.lr);
  require_non_negative("sgd", "momentum", cfg_.momentum);
  if (!(cfg_.dampening >= 0 && cfg_.dampening <= 1)) {
    throw Error("sgd: " + setting("dampening") + " must be in [0, 1], got " +
                number(cfg_.dampening));
  }
  require_non_negative("sgd", "weight_decay", cfg_.weight_decay);
  if (cfg_.nesterov && (cfg_.momentum <= 0 || cfg_.dampening != 0)) {
    throw Error("sgd: " + setting("nesterov") + " needs " + setting("momentum") + " > 0 and " +
                setting("dampening") + " 0, got momentum " + number(cfg_.momentum) +
                ", dampening " + number(cfg_.dampening));
  }
}

std::string Sgd::describe() const {
  return "sgd lr=" + number(cfg_.lr) + " momentum=" + number(cfg_.momentum) +
         " dampening=" + number(cfg_.dampening) +
         " nesterov=" + (cfg_.nesterov ? "true" : "false") +
         " weight_decay=" + number(cfg_.weight_decay);
}

void Sgd::plan_update(StepBuilder& b, const ParamBinding& p) {
  const int64_t n = static_cast<int64_t>(p.md.get_size() / sizeof(float));
  const BufferId w = p.weight, g = p.grad;
  const BufferId m = cfg_.momentum != 0 ? book_state(b, p, "momentum") : kNoBuffer;
  std::vector<BufferId> uses = {w, g};
  if (m != kNoBuffer) uses.push_back(m);
  b.add_op(
      "update(" + p.name + ")", Phase::kUpdate, {},
      [this, n, w, g, m](const BufferTable& t) {
        float* wp = t.f32(w);
        const float* gp = t.f32(g);
        float* mp = m != kNoBuffer ? t.f32(m) : nullptr;
        // PyTorch turns each Python scalar into a float once; so do we, outside the loop.
        SgdScalars k;
        k.lr = static_cast<float>(cfg_.lr);
        k.wd = static_cast<float>(cfg_.weight_decay);
        k.mom = static_cast<float>(cfg_.momentum);
        k.damp = static_cast<float>(1.0 - cfg_.dampening);
        k.scale = grad_scale(t);
        optimizer_detail::with_flags(
            [&](auto l2, auto momentum, auto first, auto nesterov) {
              sgd_update<decltype(l2)::value, decltype(momentum)::value, decltype(first)::value,
                         decltype(nesterov)::value>(n, wp, gp, mp, k);
            },
            k.wd != 0, mp != nullptr, step_ <= 1, cfg_.nesterov);
      },
      update_uses(uses), 2.0 * static_cast<double>(n));
}

}  // namespace cnnmem
