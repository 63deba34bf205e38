// Memory statistics of one step, and the shapes-only predictor that computes them.
//
// The same struct holds the prediction (from the schedule's lifetimes, no data touched) and the
// measurement (counted by the arena while the step runs). The two must agree to the byte.
//   peak_bytes        max over ops of the aligned bytes of live buffers, all tags
//   arena_bytes       bytes the arena reserves (>= peak_bytes)
//   lower_bound_bytes the least any planner could reserve (= max live bytes)
//   by_tag            live bytes per tag at the peak (they sum to peak_bytes)
//   tag_peaks         each tag's own maximum over the step
//   peak_at           the first op where the peak is reached
// Not here: the report's wording (report/report.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "framework/schedule.h"
#include "framework/tag.h"

namespace cnnmem {

struct PeakLocation {
  int op_index = -1;
  std::string op;
  std::string phase;
};

struct MemoryStats {
  int64_t peak_bytes = 0;
  int64_t peak_bytes_requested = 0;  // same buffers, sizes before alignment
  int64_t arena_bytes = 0;
  int64_t lower_bound_bytes = 0;
  TagBytes by_tag{};
  TagBytes tag_peaks{};
  PeakLocation peak_at;
  std::vector<BufferId> live_at_peak;  // buffers live at the peak, largest first
};

// Predicted == measured, to the byte: the peak (aligned and as requested), the arena, each tag's
// bytes at the peak and its own peak, and the op where the peak happens. What every report
// states and every test requires.
bool agrees(const MemoryStats& predicted, const MemoryStats& measured);

// Walks the schedule's ops in order with the lifetimes of its buffers; persistent buffers count
// at every op.
MemoryStats predict_memory(const Schedule& schedule, const std::vector<Lifetime>& lifetimes,
                           int64_t arena_bytes);

// Accumulates a running step op by op; the predictor and the arena both use it, so "live at op i"
// means the same thing on both sides: buffers acquired up to op i and not released before it.
class PeakTracker {
 public:
  void reset();
  void add(Tag tag, int64_t bytes_aligned, int64_t bytes_requested);
  void remove(Tag tag, int64_t bytes_aligned, int64_t bytes_requested);
  // Called once per op after its buffers are acquired. Returns true if this op set a new peak.
  bool observe(int op_index, const Op& op);
  const MemoryStats& stats() const { return stats_; }
  int64_t live_bytes() const { return live_; }
  const TagBytes& live_by_tag() const { return live_by_tag_; }

 private:
  MemoryStats stats_;
  TagBytes live_by_tag_{};
  int64_t live_ = 0;
  int64_t live_requested_ = 0;
  bool seen_ = false;
};

}  // namespace cnnmem
