// The arena: the one owner of tensor bytes.
//
// It reserves one 64-byte-aligned block (the planner's arena_bytes) and hands out the planned
// offsets as buffers are acquired; it counts live bytes per tag, the high-water mark and the op
// where it happens. Every acquire checks that the new buffer overlaps no live one (a planner bug
// would otherwise corrupt tensors silently); with poisoning on, released buffers are filled with
// NaN so a read after release shows up in the output.
//
// Usage:
//   Arena arena(plan_bytes);
//   std::byte* p = arena.acquire(id, offset, buf);   // when the buffer's first op runs
//   arena.observe(op_index, op);                      // after the op's buffers are acquired
//   arena.release(id, buf);                           // after the buffer's last op
//
// Not here: where buffers go (framework/planner.h), when they live (framework/schedule.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "framework/memory_stats.h"
#include "framework/schedule.h"

namespace cnnmem {

class Arena {
 public:
  Arena() = default;
  explicit Arena(int64_t bytes, size_t max_buffers);
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  std::byte* acquire(BufferId id, int64_t offset, const Buffer& buf);
  // `poison` = false keeps the bytes (outputs the caller reads after the step ends).
  void release(BufferId id, const Buffer& buf, bool poison = true);
  bool observe(int op_index, const Op& op) { return tracker_.observe(op_index, op); }
  // Starts a new step: the high-water mark restarts from the live (persistent) bytes.
  void begin_step() { tracker_.reset(); }

  // The address a buffer at `offset` will have (for binding; accounting happens at acquire).
  std::byte* address(int64_t offset) const { return base_ + offset; }
  void set_poison(bool on) { poison_ = on; }
  int64_t reserved_bytes() const { return bytes_; }
  int64_t live_bytes() const { return tracker_.live_bytes(); }
  const TagBytes& live_by_tag() const { return tracker_.live_by_tag(); }
  int64_t peak_bytes() const { return tracker_.stats().peak_bytes; }
  bool is_live(BufferId id) const { return live_[static_cast<size_t>(id)] != 0; }
  // The step's numbers so far; arena_bytes is what this arena reserved.
  MemoryStats stats() const;

 private:
  std::byte* base_ = nullptr;
  int64_t bytes_ = 0;
  bool poison_ = false;
  std::vector<uint8_t> live_;
  std::vector<int64_t> begin_;
  std::vector<int64_t> end_;
  PeakTracker tracker_;
};

}  // namespace cnnmem
