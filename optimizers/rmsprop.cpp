#include "optimizers/rmsprop.h"

#include <cmath>

#include "framework/error.h"

namespace cnnmem {

using optimizer_detail::number;
using optimizer_detail::or_default;
using optimizer_detail::require_non_negative;

RmsProp::RmsProp(const OptimizerConfig& config) : cfg_(config) {
  optimizer_detail::require_own_options(cfg_, "rmsprop",
                                        {"--alpha", "--eps", "--momentum", "--centered"});
  cfg_.lr = or_default(cfg_.lr, 1e-2);
  cfg_.eps = or_default(cfg_.eps, 1e-8);
  cfg_.weight_decay = or_default(cfg_.weight_decay, 0);
  // PyTorch's checks and their order; it accepts alpha > 1, so does cnnmem.
  require_non_negative("rmsprop", "--lr", cfg_.lr);
  require_non_negative("rmsprop", "--eps", cfg_.eps);
  require_non_negative("rmsprop", "--momentum", cfg_.momentum);
  require_non_negative("rmsprop", "--weight-decay", cfg_.weight_decay);
  require_non_negative("rmsprop", "--alpha", cfg_.alpha);
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
        const auto neg_lr = static_cast<float>(-cfg_.lr);
        const auto alpha = static_cast<float>(cfg_.alpha);
        const auto one_minus_alpha = static_cast<float>(1.0 - cfg_.alpha);
        const auto eps = static_cast<float>(cfg_.eps);
        const auto wd = static_cast<float>(cfg_.weight_decay);
        const auto mom = static_cast<float>(cfg_.momentum);
        const float scale = grad_scale(t);
#pragma omp parallel for schedule(static) if (n > 16384)
        for (int64_t i = 0; i < n; ++i) {
          float d = gp[i] * scale;
          if (wd != 0) d += wd * wp[i];
          sqp[i] = sqp[i] * alpha + one_minus_alpha * d * d;
          float avg = sqp[i];
          if (gap != nullptr) {
            gap[i] = gap[i] * alpha + one_minus_alpha * d;
            avg -= gap[i] * gap[i];
          }
          avg = std::sqrt(avg) + eps;
          if (bufp != nullptr) {
            bufp[i] = bufp[i] * mom + d / avg;
            wp[i] += neg_lr * bufp[i];
          } else {
            wp[i] += neg_lr * d / avg;
          }
        }
      },
      update_uses(uses), 10.0 * static_cast<double>(n));
}

}  // namespace cnnmem
