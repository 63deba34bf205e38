#include "framework/planner.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "framework/error.h"

namespace cnnmem {
namespace {

bool live_together(const Interval& a, const Interval& b) {
  return a.first <= b.last && b.first <= a.last;
}

Plan plan_none(const std::vector<Interval>& intervals) {
  Plan plan;
  plan.offsets.reserve(intervals.size());
  for (const Interval& iv : intervals) {
    plan.offsets.push_back(plan.arena_bytes);
    plan.arena_bytes += iv.size;
  }
  return plan;
}

Plan plan_greedy_by_size(const std::vector<Interval>& intervals) {
  const size_t n = intervals.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (intervals[a].size != intervals[b].size) return intervals[a].size > intervals[b].size;
    return intervals[a].first < intervals[b].first;
  });

  Plan plan;
  plan.offsets.assign(n, -1);
  std::vector<size_t> placed;
  placed.reserve(n);
  std::vector<std::pair<int64_t, int64_t>> busy;  // [begin, end) of overlapping placed buffers
  for (size_t idx : order) {
    const Interval& iv = intervals[idx];
    if (iv.size == 0 || iv.last < iv.first) {
      plan.offsets[idx] = 0;
      continue;
    }
    busy.clear();
    for (size_t p : placed) {
      if (live_together(iv, intervals[p])) {
        busy.emplace_back(plan.offsets[p], plan.offsets[p] + intervals[p].size);
      }
    }
    std::sort(busy.begin(), busy.end());
    int64_t best = -1;
    int64_t best_gap = 0;
    int64_t cursor = 0;
    for (const auto& [begin, end] : busy) {
      const int64_t gap = begin - cursor;
      if (gap >= iv.size && (best < 0 || gap < best_gap)) {
        best = cursor;
        best_gap = gap;
      }
      cursor = std::max(cursor, end);
    }
    plan.offsets[idx] = best >= 0 ? best : cursor;
    plan.arena_bytes = std::max(plan.arena_bytes, plan.offsets[idx] + iv.size);
    placed.push_back(idx);
  }
  return plan;
}

}  // namespace

Strategy parse_strategy(const std::string& name) {
  if (name == "none") return Strategy::kNone;
  if (name == "greedy-by-size") return Strategy::kGreedyBySize;
  throw Error("unknown planner strategy \"" + name + "\": use none or greedy-by-size");
}

const char* strategy_name(Strategy s) { return s == Strategy::kNone ? "none" : "greedy-by-size"; }

Plan plan_buffers(const std::vector<Interval>& intervals, Strategy strategy) {
  for (const Interval& iv : intervals) CNNMEM_CHECK(iv.size >= 0);
  return strategy == Strategy::kNone ? plan_none(intervals) : plan_greedy_by_size(intervals);
}

int64_t lower_bound_bytes(const std::vector<Interval>& intervals) {
  // Sweep: +size at first, -size after last.
  std::map<int, int64_t> delta;
  for (const Interval& iv : intervals) {
    if (iv.last < iv.first || iv.size == 0) continue;
    delta[iv.first] += iv.size;
    delta[iv.last + 1] -= iv.size;
  }
  int64_t live = 0;
  int64_t best = 0;
  for (const auto& [op, d] : delta) {
    live += d;
    best = std::max(best, live);
  }
  return best;
}

bool plan_has_overlap(const std::vector<Interval>& intervals, const Plan& plan, std::string* why) {
  for (size_t a = 0; a < intervals.size(); ++a) {
    for (size_t b = a + 1; b < intervals.size(); ++b) {
      const Interval& x = intervals[a];
      const Interval& y = intervals[b];
      if (x.size == 0 || y.size == 0 || x.last < x.first || y.last < y.first) continue;
      if (!live_together(x, y)) continue;
      const int64_t xa = plan.offsets[a], ya = plan.offsets[b];
      if (xa < ya + y.size && ya < xa + x.size) {
        if (why) *why = "buffers " + std::to_string(a) + " and " + std::to_string(b) + " overlap";
        return true;
      }
    }
  }
  return false;
}

}  // namespace cnnmem
