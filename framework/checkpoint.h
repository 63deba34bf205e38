// Activation checkpointing: a rewrite of the training schedule that keeps only some layers'
// inputs through the forward pass and recomputes the rest just before backward needs it.
//
// The model is cut into units: a unit is one layer, or a layer with the layers that write over
// its output (a fused or in-place ReLU), so that a unit's input is never overwritten. Keeping the
// input of unit a_1 < a_2 < ... < a_k (the images, unit 0's input, are always kept) splits the
// chain into segments [0, a_1), [a_1, a_2), ..., [a_k, n). Before the backward ops of every
// segment but the last, that segment's forward ops run again (phase `recompute`) into copies of
// the buffers they produce, and the segment's backward ops read the copies. The forward pass
// then frees each produced buffer as soon as the next layer has read it; only the kept inputs
// and the last segment's saved tensors live until backward.
//
// The rewrite is a plain schedule: lifetimes, the predictor, the planner and the arena handle it
// with no special case. Recomputing runs the same primitives on the same inputs, so losses and
// gradients are bitwise those of the step without checkpointing.
//
// Policies (`--checkpoint`): none, every:K (keep the input of units K, 2K, ...), sqrt (segments
// of K = round(sqrt(n)) units counted from the end, so that the segment backward reaches first
// is not recomputed; Chen et al. 2016, "Training Deep Nets with Sublinear Memory Cost"),
// layers:NAME[,NAME] (the units that start at these layers), budget:BYTES (the least recompute
// whose peak fits; see CheckpointSearch).
//
// Not here: running the schedule (framework/executor.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "framework/schedule.h"

namespace cnnmem {

// A run of graph nodes whose ops form one recomputable piece of the step.
struct CheckpointUnit {
  std::string name;                   // first layer's name, e.g. "features.0"
  int first_node = 0, last_node = 0;  // graph node ids, inclusive
  size_t fwd_begin = 0, fwd_end = 0;  // forward ops [begin, end) in the original schedule
  size_t bwd_begin = 0, bwd_end = 0;  // backward (and fused update) ops [begin, end)
  BufferId input = kNoBuffer;         // the tensor entering the unit
  double flops = 0;                   // forward FLOPs of one step (what recomputing costs)
};

struct CheckpointPolicy {
  enum class Kind { kNone, kEvery, kSqrt, kBudget, kLayers };
  Kind kind = Kind::kNone;
  int64_t every = 0;                // kEvery
  int64_t budget_bytes = 0;         // kBudget
  std::vector<std::string> layers;  // kLayers
  std::string text = "none";        // as given, for reports
};

// Parses none | every:K | sqrt | budget:BYTES (K/M/G/KiB/MiB/GiB suffixes) | layers:A[,B...].
// Throws Error with the accepted forms.
CheckpointPolicy parse_checkpoint_policy(const std::string& text);
// "4.0 GiB" -> bytes; accepts plain bytes and K, M, G (powers of 1000), KiB, MiB, GiB.
int64_t parse_byte_size(const std::string& text, const std::string& what);

// The rewritten step: for every op of the new schedule, the original op it copies and the
// recomputed segment whose copies it reads (its recompute ops and its backward ops).
struct CheckpointRewrite {
  struct Step {
    size_t op = 0;
    bool recompute = false;  // a recompute copy of a forward op
    int segment = -1;        // reads the copies made for this segment (-1: none)
  };
  std::vector<int> kept;  // unit indices whose input is kept (ascending, >= 1)
  std::vector<Step> steps;
  std::vector<BufferId> clone_of;  // per original buffer: its recompute copy or kNoBuffer
  std::vector<int> clone_segment;  // per original buffer: the segment that copies it
  std::vector<BufferId> clones;    // original buffer of each copy, in copy-id order
  double recompute_flops = 0;

  // The buffer step `s` uses for original buffer `id`.
  BufferId map(const Step& s, BufferId id) const {
    const auto i = static_cast<size_t>(id);
    return s.segment >= 0 && clone_segment[i] == s.segment ? clone_of[i] : id;
  }
};

// `kept` are unit indices in [1, units.size()); `shared` are buffers never copied (the shared
// scratchpad). Empty `kept` gives the identity rewrite.
CheckpointRewrite plan_rewrite(const Schedule& schedule, const std::vector<Lifetime>& lifetimes,
                               const std::vector<CheckpointUnit>& units, std::vector<int> kept,
                               const std::vector<BufferId>& shared);
// The new schedule: copies of buffers and ops per the rewrite.
Schedule apply_rewrite(const Schedule& schedule, const CheckpointRewrite& rewrite);

// Finds checkpoint sets for one training schedule (planned without checkpointing), by the exact
// peak of the rewritten schedule (the same numbers the predictor gives).
//
// Recomputing segment [a, b) costs the forward FLOPs of its units, so a set whose last kept
// input is unit L costs the forward FLOPs of units [0, L) whatever the kept inputs before L. For
// every L, a dynamic program over the kept inputs before it finds the least peak: the live bytes
// of a segment's ops are the bytes of the kept inputs before it plus what the segment itself
// holds, which depends on its two ends only. The answer to a budget is the cheapest L whose
// least peak fits (ties: the lower peak).
class CheckpointSearch {
 public:
  CheckpointSearch(const Schedule& schedule, const std::vector<CheckpointUnit>& units,
                   std::vector<BufferId> shared);

  // Peak bytes (aligned, all tags) of the step with these kept inputs.
  int64_t peak(const std::vector<int>& kept) const;

  struct Choice {
    std::vector<int> kept;
    int64_t peak_bytes = 0;
    double recompute_flops = 0;
  };
  // For each possible last kept input (and none), the set with the least peak; sorted by
  // recompute FLOPs. The frontier of memory against compute.
  const std::vector<Choice>& curve() const { return curve_; }
  // The cheapest choice whose peak is at most `budget_bytes`; throws Error naming the smallest
  // achievable peak when none fits.
  Choice fit(int64_t budget_bytes) const;

 private:
  int64_t evaluate(const CheckpointRewrite& r, std::vector<int64_t>* per_step) const;

  const Schedule& schedule_;
  std::vector<Lifetime> lifetimes_;
  const std::vector<CheckpointUnit>& units_;
  std::vector<BufferId> shared_;
  std::vector<Choice> curve_;
};

}  // namespace cnnmem
