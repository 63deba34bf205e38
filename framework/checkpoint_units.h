// Checkpointing a compiled training step: the units it works with (runs of layers whose input is
// one tensor: a residual block is one unit, a fused or in-place ReLU belongs to the layer it
// overwrites) and the policies that choose which units' inputs to keep (every:K, sqrt,
// layers:NAME, budget:BYTES); the schedule is rewritten to recompute the rest in backward.
// Not here: the rewrite and the budget search themselves (framework/checkpoint.h).
#pragma once

#include <string>
#include <vector>

#include "framework/checkpoint.h"
#include "framework/graph.h"
#include "framework/step_compiler.h"

namespace cnnmem {

// What checkpointing did to a training step.
struct CheckpointInfo {
  std::string policy = "none";
  std::vector<std::string> kept;  // layers whose input is kept (besides the images)
  double recompute_flops = 0;     // per step
  double forward_flops = 0;       // of the whole forward pass, per step
};

// The units of a training step, in forward order (of the schedule before any rewrite); sets
// `forward_flops` to the FLOPs of the whole forward pass.
std::vector<CheckpointUnit> find_checkpoint_units(const Graph& graph, const CompiledStep& step,
                                                  double* forward_flops);
// Rewrites `schedule` to keep the inputs `policy` chooses and recompute the rest; records the
// choice in `info`. Throws Error for a layer name that does not start a unit, or a budget no
// choice fits.
void apply_checkpoint_policy(const CheckpointPolicy& policy, const Graph& graph,
                             const std::vector<CheckpointUnit>& units,
                             const std::vector<BufferId>& shared, Schedule* schedule,
                             CheckpointInfo* info);

}  // namespace cnnmem
