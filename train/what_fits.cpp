#include "train/what_fits.h"

#include <string>

namespace cnnmem {

WhatFits what_fits(int64_t limit_bytes, const ExecutorOptions& options, const PlanFn& plan) {
  WhatFits w;
  // A checkpoint budget, in training: the cheapest set whose arena fits. The arena can exceed
  // the live peak by the planner's fragmentation; aim that much lower.
  if (options.training) {
    int64_t budget = limit_bytes;
    for (int attempt = 0; attempt < 4 && budget > 0; ++attempt) {
      ExecutorOptions with = options;
      with.checkpoint = parse_checkpoint_policy("budget:" + std::to_string(budget));
      const std::optional<PlannedBytes> p = plan(with);
      if (!p) break;  // no checkpoint set reaches the budget
      if (p->arena_bytes <= limit_bytes) {
        w.budget = budget;
        w.with_budget = *p;
        break;
      }
      budget -= p->arena_bytes - limit_bytes;
    }
  }
  // The largest batch that fits, with everything else unchanged.
  int64_t lo = 0, hi = options.batch - 1;
  while (lo < hi) {
    const int64_t mid = (lo + hi + 1) / 2;
    ExecutorOptions smaller = options;
    smaller.batch = mid;
    const std::optional<PlannedBytes> p = plan(smaller);
    if (p && p->arena_bytes <= limit_bytes) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  w.largest_batch = lo;
  return w;
}

}  // namespace cnnmem
