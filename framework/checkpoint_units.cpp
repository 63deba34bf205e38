#include "framework/checkpoint_units.h"

#include <algorithm>
#include <cmath>

#include "framework/error.h"
#include "framework/layer.h"

namespace cnnmem {
namespace {

// The unit `name` starts, for --checkpoint layers:NAME; throws Error saying why a name is not one.
int unit_index(const std::vector<CheckpointUnit>& units, const Graph& graph,
               const std::string& name) {
  std::string starts;
  for (size_t u = 1; u < units.size(); ++u) {
    if (units[u].name == name) return static_cast<int>(u);
    if (u <= 4) starts += (starts.empty() ? "" : ", ") + units[u].name;
  }
  const std::string what = setting("checkpoint", "checkpoint policy") + " layers:" + name + ": ";
  if (!units.empty() && units[0].name == name) {
    throw Error(what +
                "the input of the first layer (the images) is always kept; name a later "
                "layer, e.g. " +
                starts);
  }
  for (const Node& node : graph.nodes()) {
    if (node.layer != nullptr && node.layer->name() == name) {
      throw Error(what + "\"" + name +
                  "\" works in place on its input, which is not kept as a "
                  "tensor of its own; name a layer that starts a unit, e.g. " +
                  starts);
    }
  }
  throw Error(what + "model " + graph.name() +
              " has no layer of that name; layers whose input "
              "can be kept are e.g. " +
              starts);
}

}  // namespace

std::vector<CheckpointUnit> find_checkpoint_units(const Graph& graph, const CompiledStep& step,
                                                  double* forward_flops) {
  const std::vector<TensorRef>& values = step.values;
  // A unit starts at node i unless node i wrote over its input (a fused or in-place ReLU, a
  // flatten that needed no reorder) or a tensor from before node i-1 is read after it.
  const auto& nodes = graph.nodes();
  std::vector<CheckpointUnit> units;
  *forward_flops = 0;
  for (size_t i = 1; i < nodes.size(); ++i) {
    bool starts = i == 1 || values[i].buffer != values[i - 1].buffer;
    for (size_t j = i; starts && j < nodes.size(); ++j) {
      for (int in : nodes[j].inputs) starts = starts && in >= static_cast<int>(i) - 1;
    }
    if (starts) {
      CheckpointUnit u;
      u.name = nodes[i].layer->name();
      u.first_node = static_cast<int>(i);
      u.input = values[i - 1].buffer;
      units.push_back(u);
    }
    CheckpointUnit& u = units.back();
    u.last_node = static_cast<int>(i);
  }
  for (CheckpointUnit& u : units) {
    const auto first = static_cast<size_t>(u.first_node), last = static_cast<size_t>(u.last_node);
    u.fwd_begin = step.node_fwd[first].first;
    u.fwd_end = step.node_fwd[last].second;
    u.bwd_begin = step.node_bwd[last].first;
    u.bwd_end = step.node_bwd[first].second;
    for (size_t k = u.fwd_begin; k < u.fwd_end; ++k) u.flops += step.schedule.ops[k].flops;
    *forward_flops += u.flops;
  }
  return units;
}

void apply_checkpoint_policy(const CheckpointPolicy& policy, const Graph& graph,
                             const std::vector<CheckpointUnit>& units,
                             const std::vector<BufferId>& shared, Schedule* schedule,
                             CheckpointInfo* info) {
  info->policy = policy.text;
  const int n = static_cast<int>(units.size());
  std::vector<int> kept;
  switch (policy.kind) {
    case CheckpointPolicy::Kind::kNone:
      return;
    case CheckpointPolicy::Kind::kEvery:
      for (int64_t u = policy.every; u < n; u += policy.every) kept.push_back(static_cast<int>(u));
      break;
    case CheckpointPolicy::Kind::kSqrt: {
      // Segments of k = round(sqrt(n)) units counted from the end, so that the last segment,
      // which backward reaches first and which is never recomputed, is a full one.
      const int k = std::max(1, static_cast<int>(std::lround(std::sqrt(n))));
      for (int u = n - k; u > 0; u -= k) kept.insert(kept.begin(), u);
      break;
    }
    case CheckpointPolicy::Kind::kLayers:
      for (const std::string& name : policy.layers) kept.push_back(unit_index(units, graph, name));
      break;
    case CheckpointPolicy::Kind::kBudget:
      kept = CheckpointSearch(*schedule, units, shared).fit(policy.budget_bytes).kept;
      break;
  }
  if (kept.empty()) return;
  const CheckpointRewrite rewrite =
      plan_rewrite(*schedule, schedule->lifetimes(), units, kept, shared);
  *schedule = apply_rewrite(*schedule, rewrite);
  info->recompute_flops = rewrite.recompute_flops;
  for (int u : rewrite.kept) info->kept.push_back(units[static_cast<size_t>(u)].name);
}

}  // namespace cnnmem
