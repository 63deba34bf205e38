// Planners: turn buffer lifetimes into offsets inside one block of memory.
//
// Input: one Interval per buffer (size and inclusive [first, last] op indices). Sizes are used as
// given: aligning them is the caller's job (the executor passes aligned sizes). A buffer of size 0,
// or with last < first, is never live: it gets offset 0 and takes no bytes.
// Output: an offset per buffer and the block size (`arena_bytes`). Two buffers whose lifetimes
// overlap never overlap in memory. No planner can use fewer bytes than `lower_bound_bytes`: the
// largest sum of sizes of buffers live at one op. The sizes of all buffers must add up to at most
// INT64_MAX (Error otherwise), so that no strategy's arithmetic can overflow.
//
// Strategies:
//   none            every buffer gets its own bytes, in input order (what a naive framework does).
//   free-after-use  a dynamic best-fit allocator run in op order (what a framework's caching
//                   allocator does; arena_bytes - lower bound is its fragmentation):
//                   1. walk the ops from the smallest first use to the largest;
//                   2. at op k, free every buffer whose last use was before k, merging the freed
//                      range with free neighbours into one hole;
//                   3. then allocate the buffers whose first use is k, in input order (the order
//                      an op requests its outputs; not largest first), each into the smallest free
//                      hole that fits (ties: lowest offset);
//                   4. when no hole fits, put it at the top of the block, extending it; when the
//                      highest hole reaches the top, start the buffer at that hole instead;
//                   5. arena_bytes is the high-water mark of the block.
//   pingpong        two slots, for chains (at most two buffers live at any op):
//                   1. if three or more buffers are live at some op, throw Error naming the op;
//                   2. take buffers in order of first use (ties: input order); each takes the slot
//                      that the other buffer live at its first op does not hold, or, when none is
//                      live, the slot the previous buffer did not take (so a chain alternates);
//                   3. a slot is as large as its largest buffer; slot 0 is at offset 0, slot 1
//                      right after it.
//   greedy-by-size  static offsets, for any DAG (tflite-micro's greedy planner):
//                   1. sort buffers by size, largest first (ties: earlier first use, then index);
//                   2. for each, look at the already placed buffers whose lifetimes overlap it,
//                      in offset order: when few buffers overlap it, find them with an index of
//                      lifetimes and sort them; when many do, walk all placed buffers, kept in
//                      offset order (so sparse lifetimes cost about n log n, not n^2);
//                   3. place it in the smallest gap between them that fits (best fit; ties: the
//                      lowest), or after the highest of them when no gap fits.
//
// Usage:
//   std::vector<Interval> iv = {{1024, 0, 2}, {512, 1, 3}, {1024, 3, 4}};
//   Plan p = plan_buffers(iv, Strategy::kGreedyBySize);   // p.offsets = {0, 1024, 0}
//   std::string why;
//   CNNMEM_CHECK_MSG(!plan_has_overlap(iv, p, &why), why);
//   std::printf("%s", plan_picture(iv, p).c_str());      // one row per op, like PrintMemoryPlan
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

enum class Strategy { kNone, kFreeAfterUse, kPingPong, kGreedyBySize };

// "none" | "free-after-use" | "pingpong" | "greedy-by-size"; throws Error naming them otherwise.
Strategy parse_strategy(const std::string& name);
const char* strategy_name(Strategy s);
// The valid names, as "none, free-after-use, pingpong or greedy-by-size" (for messages and help).
std::string strategy_names();

struct Plan {
  std::vector<int64_t> offsets;  // one per interval, in input order
  int64_t arena_bytes = 0;       // end of the highest buffer
};

// Throws Error for pingpong on a non-chain, and when the sizes add up to more than INT64_MAX.
Plan plan_buffers(const std::vector<Interval>& intervals, Strategy strategy);

// max over ops of the bytes of intervals live at that op.
int64_t lower_bound_bytes(const std::vector<Interval>& intervals);

// True when two intervals live at the same op share a byte; names the pair in `why` (the smallest
// first index, then the smallest second index).
bool plan_has_overlap(const std::vector<Interval>& intervals, const Plan& plan, std::string* why);

// An ASCII picture of the plan: one row per op from the smallest first use to the largest last
// use, memory from 0 to arena_bytes scaled to `width` columns, each buffer drawn with its label
// (0-9, a-z, A-Z by input index, then '*'), followed by the live bytes at that op.
std::string plan_picture(const std::vector<Interval>& intervals, const Plan& plan, int width = 60);

}  // namespace cnnmem
