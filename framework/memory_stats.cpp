#include "framework/memory_stats.h"

#include <algorithm>

#include "framework/error.h"

namespace cnnmem {

void PeakTracker::reset() {
  // Field by field, so that the op name keeps its capacity: a step allocates nothing.
  stats_.peak_bytes = stats_.peak_bytes_requested = stats_.lower_bound_bytes = 0;
  stats_.by_tag = TagBytes{};
  stats_.tag_peaks = live_by_tag_;
  stats_.peak_at.op_index = -1;
  stats_.peak_at.op.clear();
  stats_.peak_at.phase.clear();
  seen_ = false;
}

void PeakTracker::add(Tag tag, int64_t bytes_aligned, int64_t bytes_requested) {
  const size_t t = tag_index(tag);
  live_by_tag_[t] += bytes_aligned;
  live_ += bytes_aligned;
  live_requested_ += bytes_requested;
  stats_.tag_peaks[t] = std::max(stats_.tag_peaks[t], live_by_tag_[t]);
}

void PeakTracker::remove(Tag tag, int64_t bytes_aligned, int64_t bytes_requested) {
  const size_t t = tag_index(tag);
  live_by_tag_[t] -= bytes_aligned;
  live_ -= bytes_aligned;
  live_requested_ -= bytes_requested;
  CNNMEM_CHECK(live_by_tag_[t] >= 0 && live_ >= 0);
}

bool PeakTracker::observe(int op_index, const Op& op) {
  if (seen_ && live_ <= stats_.peak_bytes) return false;
  seen_ = true;
  stats_.peak_bytes = live_;
  stats_.lower_bound_bytes = live_;
  stats_.peak_bytes_requested = live_requested_;
  stats_.by_tag = live_by_tag_;
  stats_.peak_at.op_index = op_index;
  stats_.peak_at.op = op.name;
  stats_.peak_at.phase = phase_name(op.phase);
  return true;
}

MemoryStats predict_memory(const Schedule& schedule, const std::vector<Lifetime>& lifetimes,
                           int64_t arena_bytes) {
  const int n_ops = static_cast<int>(schedule.ops.size());
  std::vector<std::vector<BufferId>> starts(static_cast<size_t>(n_ops));
  std::vector<std::vector<BufferId>> ends(static_cast<size_t>(n_ops));
  PeakTracker tracker;
  for (size_t b = 0; b < schedule.buffers.size(); ++b) {
    const Buffer& buf = schedule.buffers[b];
    const Lifetime& l = lifetimes[b];
    if (buf.persistent) {
      tracker.add(buf.tag, buf.bytes_aligned, buf.bytes_requested);  // bound before the step
      continue;
    }
    if (l.last < l.first) continue;
    starts[static_cast<size_t>(l.first)].push_back(static_cast<BufferId>(b));
    ends[static_cast<size_t>(l.last)].push_back(static_cast<BufferId>(b));
  }
  tracker.reset();
  int peak_op = -1;
  for (int i = 0; i < n_ops; ++i) {
    for (BufferId id : starts[static_cast<size_t>(i)]) {
      const Buffer& buf = schedule.buffers[static_cast<size_t>(id)];
      tracker.add(buf.tag, buf.bytes_aligned, buf.bytes_requested);
    }
    if (tracker.observe(i, schedule.ops[static_cast<size_t>(i)])) peak_op = i;
    for (BufferId id : ends[static_cast<size_t>(i)]) {
      const Buffer& buf = schedule.buffers[static_cast<size_t>(id)];
      tracker.remove(buf.tag, buf.bytes_aligned, buf.bytes_requested);
    }
  }
  MemoryStats stats = tracker.stats();
  stats.arena_bytes = arena_bytes;
  for (size_t b = 0; b < schedule.buffers.size(); ++b) {
    const Lifetime& l = lifetimes[b];
    if (peak_op >= 0 && l.first <= peak_op && peak_op <= l.last) {
      stats.live_at_peak.push_back(static_cast<BufferId>(b));
    }
  }
  std::stable_sort(stats.live_at_peak.begin(), stats.live_at_peak.end(),
                   [&](BufferId a, BufferId b) {
                     return schedule.buffers[static_cast<size_t>(a)].bytes_aligned >
                            schedule.buffers[static_cast<size_t>(b)].bytes_aligned;
                   });
  return stats;
}

bool agrees(const MemoryStats& predicted, const MemoryStats& measured) {
  const MemoryStats& p = predicted;
  const MemoryStats& m = measured;
  return p.peak_bytes == m.peak_bytes && p.peak_bytes_requested == m.peak_bytes_requested &&
         p.arena_bytes == m.arena_bytes && p.by_tag == m.by_tag && p.tag_peaks == m.tag_peaks &&
         p.peak_at.op_index == m.peak_at.op_index && p.peak_at.op == m.peak_at.op;
}

}  // namespace cnnmem
