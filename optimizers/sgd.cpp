#include "optimizers/sgd.h"

#include <sstream>

#include "framework/error.h"

namespace cnnmem {

Sgd::Sgd(const OptimizerConfig& config) : cfg_(config) {
  if (cfg_.lr < 0) cfg_.lr = 0.01;
  if (cfg_.momentum < 0) {
    throw Error("sgd: --momentum must be >= 0, got " + std::to_string(cfg_.momentum));
  }
  if (cfg_.dampening < 0 || cfg_.dampening > 1) {
    throw Error("sgd: --dampening must be in [0, 1], got " + std::to_string(cfg_.dampening));
  }
  if (cfg_.nesterov && (cfg_.momentum <= 0 || cfg_.dampening != 0)) {
    throw Error("sgd: --nesterov needs --momentum > 0 and dampening 0");
  }
  if (cfg_.weight_decay < 0) {
    throw Error("sgd: --weight-decay must be >= 0, got " + std::to_string(cfg_.weight_decay));
  }
}

std::string Sgd::describe() const {
  std::ostringstream s;
  s << "sgd lr=" << cfg_.lr << " momentum=" << cfg_.momentum << " dampening=" << cfg_.dampening
    << " nesterov=" << (cfg_.nesterov ? "true" : "false") << " weight_decay=" << cfg_.weight_decay;
  return s.str();
}

void Sgd::plan_update(StepBuilder& b, const ParamBinding& p) {
  const int64_t n = static_cast<int64_t>(p.md.get_size() / sizeof(float));
  const BufferId w = p.weight, g = p.grad;
  const BufferId m = cfg_.momentum != 0
                         ? b.book("sgd.momentum." + p.name, Tag::kOptimizerState, p.md, true).buffer
                         : kNoBuffer;
  std::vector<BufferId> uses = {w, g};
  if (m != kNoBuffer) uses.push_back(m);
  b.add_op(
      "update(" + p.name + ")", Phase::kUpdate, {},
      [this, n, w, g, m](const BufferTable& t) {
        float* wp = t.f32(w);
        const float* gp = t.f32(g);
        float* mp = m != kNoBuffer ? t.f32(m) : nullptr;
        const auto lr = static_cast<float>(cfg_.lr);
        const auto wd = static_cast<float>(cfg_.weight_decay);
        const auto mom = static_cast<float>(cfg_.momentum);
        const auto damp = 1.0f - static_cast<float>(cfg_.dampening);
        const bool first = step_ <= 1;
        const bool nesterov = cfg_.nesterov;
        const float scale = grad_scale(t);
#pragma omp parallel for schedule(static) if (n > 16384)
        for (int64_t i = 0; i < n; ++i) {
          float d = scale == 1.0f ? gp[i] : gp[i] * scale;
          if (wd != 0) d += wd * wp[i];
          if (mp != nullptr) {
            mp[i] = first ? d : mom * mp[i] + damp * d;
            d = nesterov ? d + mom * mp[i] : mp[i];
          }
          wp[i] -= lr * d;
        }
      },
      update_uses(uses), 2.0 * static_cast<double>(n));
}

}  // namespace cnnmem
