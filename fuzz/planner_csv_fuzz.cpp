// libFuzzer target for the planner CSV reader (io/planner_csv.h), followed by what
// `cnnmem plan` does with its result: every planner strategy, the lower bound and the overlap
// check.
//
// A malformed input must end in cnnmem::Error; anything else (a crash, a sanitizer report, another
// exception, a plan with overlapping live buffers or below the lower bound) is a finding.
// Not here: printing plans (apps/plan_command.cpp).
#include <climits>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "framework/error.h"
#include "framework/planner.h"
#include "io/planner_csv.h"

namespace {

// Stops the run with a report when a promise of the reader or a planner is broken.
void require(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  std::vector<cnnmem::Interval> intervals;
  try {
    intervals = cnnmem::parse_planner_csv(in, "fuzz.csv");
  } catch (const cnnmem::Error&) {
    return 0;
  }
  int64_t total = 0;
  for (const cnnmem::Interval& iv : intervals) {
    require(iv.size >= 1 && iv.first >= 0 && iv.first <= iv.last);
    require(iv.size <= INT64_MAX - total);
    total += iv.size;
  }
  const int64_t bound = cnnmem::lower_bound_bytes(intervals);
  for (const cnnmem::Strategy s : {cnnmem::Strategy::kNone, cnnmem::Strategy::kFreeAfterUse,
                                   cnnmem::Strategy::kPingPong, cnnmem::Strategy::kGreedyBySize}) {
    cnnmem::Plan plan;
    try {
      plan = cnnmem::plan_buffers(intervals, s);
    } catch (const cnnmem::Error&) {
      require(s == cnnmem::Strategy::kPingPong);  // only pingpong refuses (a non-chain)
      continue;
    }
    std::string why;
    require(!cnnmem::plan_has_overlap(intervals, plan, &why));
    require(plan.arena_bytes >= bound && plan.arena_bytes <= total);
    require(plan.offsets.size() == intervals.size());
  }
  return 0;
}
