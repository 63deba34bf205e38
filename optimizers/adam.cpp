#include "optimizers/adam.h"

#include <cmath>
#include <sstream>

#include "framework/error.h"

namespace cnnmem {

Adam::Adam(const OptimizerConfig& config) : cfg_(config) {
  if (cfg_.lr < 0) cfg_.lr = 0.001;
  if (!(cfg_.beta1 >= 0 && cfg_.beta1 < 1) || !(cfg_.beta2 >= 0 && cfg_.beta2 < 1)) {
    throw Error("adam: --betas must each be in [0, 1), got " + std::to_string(cfg_.beta1) + "," +
                std::to_string(cfg_.beta2));
  }
  if (!(cfg_.eps >= 0)) throw Error("adam: --eps must be >= 0, got " + std::to_string(cfg_.eps));
  if (!(cfg_.weight_decay >= 0)) {
    throw Error("adam: --weight-decay must be >= 0, got " + std::to_string(cfg_.weight_decay));
  }
}

std::string Adam::describe() const {
  std::ostringstream s;
  s << "adam lr=" << cfg_.lr << " betas=" << cfg_.beta1 << "," << cfg_.beta2 << " eps=" << cfg_.eps
    << " weight_decay=" << cfg_.weight_decay;
  return s.str();
}

void Adam::plan_update(StepBuilder& b, const ParamBinding& p) {
  const int64_t n = static_cast<int64_t>(p.md.get_size() / sizeof(float));
  const BufferId w = p.weight, g = p.grad;
  const BufferId m = b.book("adam.m." + p.name, Tag::kOptimizerState, p.md, true).buffer;
  const BufferId v = b.book("adam.v." + p.name, Tag::kOptimizerState, p.md, true).buffer;
  b.add_op(
      "update(" + p.name + ")", Phase::kUpdate, {},
      [this, n, w, g, m, v](const BufferTable& t) {
        float* wp = t.f32(w);
        const float* gp = t.f32(g);
        float* mp = t.f32(m);
        float* vp = t.f32(v);
        const double t_step = static_cast<double>(step_);
        const auto b1 = static_cast<float>(cfg_.beta1);
        const auto b2 = static_cast<float>(cfg_.beta2);
        const auto wd = static_cast<float>(cfg_.weight_decay);
        const auto eps = static_cast<float>(cfg_.eps);
        const auto step_size = static_cast<float>(cfg_.lr / (1.0 - std::pow(cfg_.beta1, t_step)));
        const float scale = grad_scale(t);
        const auto bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(cfg_.beta2, t_step)));
#pragma omp parallel for schedule(static) if (n > 16384)
        for (int64_t i = 0; i < n; ++i) {
          float d = scale == 1.0f ? gp[i] : gp[i] * scale;
          if (wd != 0) d += wd * wp[i];
          mp[i] = mp[i] * b1 + d * (1.0f - b1);
          vp[i] = vp[i] * b2 + d * d * (1.0f - b2);
          const float denom = std::sqrt(vp[i]) / bc2_sqrt + eps;
          wp[i] -= step_size * (mp[i] / denom);
        }
      },
      update_uses({w, g, m, v}), 10.0 * static_cast<double>(n));
}

}  // namespace cnnmem
