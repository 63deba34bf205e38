// Planners: turn buffer lifetimes into offsets inside one block of memory.
//
// Input: one Interval per buffer (aligned size and inclusive [first, last] op indices).
// Output: an offset per buffer and the block size (`arena_bytes`). Two buffers whose lifetimes
// overlap never overlap in memory. No planner can use fewer bytes than `lower_bound_bytes`: the
// largest sum of sizes of buffers live at one op.
//
// Strategies:
//   none            every buffer gets its own bytes, in input order (what a naive framework does)
//   greedy-by-size  1. sort buffers by size, largest first (ties: earlier first use, then index);
//                   2. for each, look at the already placed buffers whose lifetimes overlap it;
//                   3. place it in the smallest gap between them that fits (best fit), or after
//                      the highest of them when no gap fits.
//
// Usage:
//   std::vector<Interval> iv = {{1024, 0, 2}, {512, 1, 3}, {1024, 3, 4}};
//   Plan p = plan_buffers(iv, Strategy::kGreedyBySize);   // p.offsets = {0, 1024, 0}
//
// Not here: lifetimes (framework/schedule.h), the memory itself (framework/arena.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cnnmem {

struct Interval {
  int64_t size = 0;  // bytes
  int first = 0;     // inclusive op indices
  int last = 0;
};

enum class Strategy { kNone, kGreedyBySize };

// "none" | "greedy-by-size"; throws Error naming the valid choices otherwise.
Strategy parse_strategy(const std::string& name);
const char* strategy_name(Strategy s);

struct Plan {
  std::vector<int64_t> offsets;  // one per interval, in input order
  int64_t arena_bytes = 0;       // end of the highest buffer
};

Plan plan_buffers(const std::vector<Interval>& intervals, Strategy strategy);

// max over ops of the bytes of intervals live at that op.
int64_t lower_bound_bytes(const std::vector<Interval>& intervals);

// True when two intervals live at the same op share a byte; names the first such pair in `why`.
bool plan_has_overlap(const std::vector<Interval>& intervals, const Plan& plan, std::string* why);

}  // namespace cnnmem
