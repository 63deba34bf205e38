#include "optimizers/adagrad.h"

#include <cmath>

#include "framework/error.h"

namespace cnnmem {

using optimizer_detail::number;
using optimizer_detail::or_default;
using optimizer_detail::require_non_negative;

namespace {

struct AdagradScalars {
  float neg_clr, eps, wd, initial, scale;
};

// One tensor's update, PyTorch's single-tensor formula, compiled per (L2 term, first step): no
// branch in the loop, and every operand a local of the parallel region (firstprivate), so that
// GCC vectorizes it; elementwise, so bitwise the same at any width.
template <bool kL2, bool kFirst>
void adagrad_update(int64_t n, float* w, const float* g, float* sum, AdagradScalars k) {
#pragma omp parallel for simd schedule(static) if (n > 16384) firstprivate(k)
  for (int64_t i = 0; i < n; ++i) {
    float d = g[i] * k.scale;
    if constexpr (kL2) d += k.wd * w[i];
    sum[i] = (kFirst ? k.initial : sum[i]) + d * d;
    w[i] += k.neg_clr * d / (std::sqrt(sum[i]) + k.eps);
  }
}

}  // namespace

Adagrad::Adagrad(const OptimizerConfig& config) : cfg_(config) {
  optimizer_detail::require_own_options(cfg_, "adagrad",
                                        {"lr_decay", "initial_accumulator_value", "eps"});
  cfg_.lr = or_default(cfg_.lr, 1e-2);
  cfg_.eps = or_default(cfg_.eps, 1e-10);
  cfg_.weight_decay = or_default(cfg_.weight_decay, 0);
  // PyTorch's checks and their order.
  require_non_negative("adagrad", "lr", cfg_.lr);
  require_non_negative("adagrad", "lr_decay", cfg_.lr_decay);
  require_non_negative("adagrad", "weight_decay", cfg_.weight_decay);
  require_non_negative("adagrad", "initial_accumulator_value", cfg_.initial_accumulator_value);
  require_non_negative("adagrad", "eps", cfg_.eps);
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
        AdagradScalars k;
        k.neg_clr = static_cast<float>(-(cfg_.lr / (1.0 + (t_step - 1.0) * cfg_.lr_decay)));
        k.eps = static_cast<float>(cfg_.eps);
        k.wd = static_cast<float>(cfg_.weight_decay);
        k.initial = static_cast<float>(cfg_.initial_accumulator_value);
        k.scale = grad_scale(t);
        // On the first step the sum starts at `initial`, whatever the buffer holds.
        optimizer_detail::with_flags(
            [&](auto l2, auto first) {
              adagrad_update<decltype(l2)::value, decltype(first)::value>(n, wp, gp, sp, k);
            },
            k.wd != 0, step_ <= 1);
      },
      update_uses({w, g, sum}), 7.0 * static_cast<double>(n));
}

}  // namespace cnnmem
