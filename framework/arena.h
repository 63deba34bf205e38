// The arena: the one owner of tensor bytes.
//
// It reserves one 64-byte-aligned block (the planner's arena_bytes) and hands out the planned
// offsets as buffers are acquired; it counts live bytes per tag, the high-water mark and the op
// where it happens. Every acquire checks that the new buffer overlaps no live one (a planner bug
// would otherwise corrupt tensors silently); with poisoning on, released buffers are filled with
// NaN so a read after release shows up in the output.
//
// Guard mode (debug builds, and --arena-guard) catches the other kind of bug, a write past a
// buffer's end: the arena moves buffers apart so that at least kGuardBytes follow each one, fills
// those bytes and the buffer's alignment padding with a canary when it is acquired, and
// check_guards() after every op names the op that broke one. The plan's offsets, the accounting
// and the reported arena size stay those of the plan; only the reservation grows (kGuardBytes per
// distinct buffer end).
//
// Usage:
//   Arena arena(plan_bytes);
//   std::byte* p = arena.acquire(id, offset, buf);   // when the buffer's first op runs
//   arena.observe(op_index, op);                      // after the op's buffers are acquired
//   arena.check_guards(op);                           // after the op ran (guard mode)
//   arena.release(id, buf);                           // after the buffer's last op
//
// Not here: where buffers go (framework/planner.h), when they live (framework/schedule.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "framework/memory_stats.h"
#include "framework/schedule.h"

namespace cnnmem {

class Arena {
 public:
  Arena() = default;
  explicit Arena(int64_t bytes, size_t max_buffers);
  // Guard mode; `ends` are the planned end offsets (offset + bytes_aligned) of the buffers.
  Arena(int64_t bytes, size_t max_buffers, std::span<const int64_t> ends);
  ~Arena();
  static constexpr int64_t kGuardBytes = 64;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  std::byte* acquire(BufferId id, int64_t offset, const Buffer& buf);
  // `poison` = false keeps the bytes (outputs the caller reads after the step ends).
  void release(BufferId id, const Buffer& buf, bool poison = true);
  // Guard mode: throws Error naming `op` and the buffer if a live buffer's canary changed.
  void check_guards(const Op& op) const;
  bool guarded() const { return guarded_; }
  bool observe(int op_index, const Op& op) { return tracker_.observe(op_index, op); }
  // Starts a new step: the high-water mark restarts from the live (persistent) bytes.
  void begin_step() { tracker_.reset(); }

  // The address a buffer at `offset` will have (for binding; accounting happens at acquire).
  std::byte* address(int64_t offset) const { return base_ + placed(offset); }
  void set_poison(bool on) { poison_ = on; }
  int64_t reserved_bytes() const { return bytes_; }  // the plan's; guard mode reserves more
  int64_t live_bytes() const { return tracker_.live_bytes(); }
  const TagBytes& live_by_tag() const { return tracker_.live_by_tag(); }
  int64_t peak_bytes() const { return tracker_.stats().peak_bytes; }
  bool is_live(BufferId id) const { return live_[static_cast<size_t>(id)] != 0; }
  // The step's numbers so far; arena_bytes is what this arena reserved.
  MemoryStats stats() const;

 private:
  void reserve(int64_t bytes);
  // Where a planned offset lies in the reservation: itself, or in guard mode shifted by
  // kGuardBytes for every buffer end at or before it.
  int64_t placed(int64_t offset) const;

  std::byte* base_ = nullptr;
  int64_t bytes_ = 0;
  bool poison_ = false;
  bool guarded_ = false;
  std::vector<int64_t> ends_;  // guard mode: distinct planned buffer ends, ascending
  std::vector<uint8_t> live_;
  std::vector<int64_t> begin_;  // planned offsets of the live buffers
  std::vector<int64_t> end_;
  std::vector<int64_t> canary_begin_;  // guard mode: placed offsets of each buffer's canary
  std::vector<int64_t> canary_end_;
  std::vector<const Buffer*> buffers_;  // guard mode: for the message
  PeakTracker tracker_;
};

}  // namespace cnnmem
