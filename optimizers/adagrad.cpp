#include "optimizers/adagrad.h"

#include <cmath>

#include "framework/error.h"

namespace cnnmem {

using optimizer_detail::number;
using optimizer_detail::or_default;
using optimizer_detail::require_non_negative;

Adagrad::Adagrad(const OptimizerConfig& config) : cfg_(config) {
  optimizer_detail::require_own_options(cfg_, "adagrad",
                                        {"--lr-decay", "--initial-accumulator-value", "--eps"});
  cfg_.lr = or_default(cfg_.lr, 1e-2);
  cfg_.eps = or_default(cfg_.eps, 1e-10);
  cfg_.weight_decay = or_default(cfg_.weight_decay, 0);
  // PyTorch's checks and their order.
  require_non_negative("adagrad", "--lr", cfg_.lr);
  require_non_negative("adagrad", "--lr-decay", cfg_.lr_decay);
  require_non_negative("adagrad", "--weight-decay", cfg_.weight_decay);
  require_non_negative("adagrad", "--initial-accumulator-value", cfg_.initial_accumulator_value);
  require_non_negative("adagrad", "--eps", cfg_.eps);
}

std::string Adagrad::describe() const {
  return "adagrad lr=" + number(cfg_.lr) + " lr_decay=" + number(cfg_.lr_decay) +
         " weight_decay=" + number(cfg_.weight_decay) +
         " initial_accumulator_value=" + number(cfg_.initial_accumulator_value) +
         " eps=" + number(cfg_.eps);
}

void Adagrad::plan_update(StepBuilder& b, const ParamBinding& p) {
  const int64_t n = static_cast<int64_t>(p.md.get_size() / sizeof(float));
  const BufferId w = p.weight, g = p.grad;
  const BufferId sum = book_state(b, p, "sum");
  b.add_op(
      "update(" + p.name + ")", Phase::kUpdate, {},
      [this, n, w, g, sum](const BufferTable& t) {
        float* wp = t.f32(w);
        const float* gp = t.f32(g);
        float* sp = t.f32(sum);
        // Scalars as PyTorch computes them: in double, then rounded to float once.
        const auto t_step = static_cast<double>(step_);
        const auto neg_clr =
            static_cast<float>(-(cfg_.lr / (1.0 + (t_step - 1.0) * cfg_.lr_decay)));
        const auto eps = static_cast<float>(cfg_.eps);
        const auto wd = static_cast<float>(cfg_.weight_decay);
        const auto initial = static_cast<float>(cfg_.initial_accumulator_value);
        const bool first = step_ <= 1;  // the sum starts at `initial`, whatever the buffer holds
        const float scale = grad_scale(t);
#pragma omp parallel for schedule(static) if (n > 16384)
        for (int64_t i = 0; i < n; ++i) {
          float d = gp[i] * scale;
          if (wd != 0) d += wd * wp[i];
          sp[i] = (first ? initial : sp[i]) + d * d;
          wp[i] += neg_clr * d / (std::sqrt(sp[i]) + eps);
        }
      },
      update_uses({w, g, sum}), 7.0 * static_cast<double>(n));
}

}  // namespace cnnmem
