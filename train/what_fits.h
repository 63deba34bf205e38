// What fits a memory limit: when a step's plan reserves more than the limit, the checkpoint
// budget (training) and the largest batch whose plans fit, found by re-planning, shapes only
// (nothing is allocated).
//
// Usage:
//   const WhatFits w = what_fits(limit, options, [&](const ExecutorOptions& o) { ... plan ... });
// Not here: the wording for the command line (apps/memory_limit.h).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "framework/checkpoint_units.h"
#include "framework/step_compiler.h"

namespace cnnmem {

// A plan's arena and what checkpointing did; nullopt when the options cannot be planned.
struct PlannedBytes {
  int64_t arena_bytes = 0;
  CheckpointInfo checkpoint;
};
using PlanFn = std::function<std::optional<PlannedBytes>(const ExecutorOptions&)>;

struct WhatFits {
  // Training: the budget:BYTES policy whose plan fits, with that plan (absent when none does).
  std::optional<int64_t> budget;
  PlannedBytes with_budget;
  int64_t largest_batch = 0;  // the largest batch below options.batch that fits; 0: none
};

WhatFits what_fits(int64_t limit_bytes, const ExecutorOptions& options, const PlanFn& plan);

}  // namespace cnnmem
