#include "optimizers/sgd.h"

#include "framework/error.h"

namespace cnnmem {

using optimizer_detail::number;
using optimizer_detail::or_default;
using optimizer_detail::require_non_negative;

Sgd::Sgd(const OptimizerConfig& config) : cfg_(config) {
  optimizer_detail::require_own_options(cfg_, "sgd", {"--momentum", "--dampening", "--nesterov"});
  cfg_.lr = or_default(cfg_.lr, 0.01);
  cfg_.weight_decay = or_default(cfg_.weight_decay, 0);
  require_non_negative("sgd", "--lr", cfg_.lr);
  require_non_negative("sgd", "--momentum", cfg_.momentum);
  if (!(cfg_.dampening >= 0 && cfg_.dampening <= 1)) {
    throw Error("sgd: --dampening must be in [0, 1], got " + number(cfg_.dampening));
  }
  require_non_negative("sgd", "--weight-decay", cfg_.weight_decay);
  if (cfg_.nesterov && (cfg_.momentum <= 0 || cfg_.dampening != 0)) {
    throw Error("sgd: --nesterov needs --momentum > 0 and --dampening 0, got momentum " +
                number(cfg_.momentum) + ", dampening " + number(cfg_.dampening));
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
        const auto lr = static_cast<float>(cfg_.lr);
        const auto wd = static_cast<float>(cfg_.weight_decay);
        const auto mom = static_cast<float>(cfg_.momentum);
        const auto damp = static_cast<float>(1.0 - cfg_.dampening);
        const bool first = step_ <= 1;
        const bool nesterov = cfg_.nesterov;
        const float scale = grad_scale(t);
#pragma omp parallel for schedule(static) if (n > 16384)
        for (int64_t i = 0; i < n; ++i) {
          float d = gp[i] * scale;
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
