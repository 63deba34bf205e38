#include "framework/planner.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <iterator>
#include <map>
#include <numeric>
#include <set>
#include <utility>

#include "framework/error.h"

namespace cnnmem {
namespace {

bool is_live(const Interval& iv) { return iv.size > 0 && iv.first <= iv.last; }

// The sum of all sizes, which bounds every strategy's arena and the lower bound: checking it once
// keeps every later sum of sizes or offsets free of overflow.
int64_t total_bytes(const std::vector<Interval>& intervals) {
  int64_t total = 0;
  for (const Interval& iv : intervals) {
    CNNMEM_CHECK(iv.size >= 0);
    if (iv.size > INT64_MAX - total) {
      throw Error("buffer sizes add up to more than " + std::to_string(INT64_MAX) +
                  " bytes: use smaller sizes");
    }
    total += iv.size;
  }
  return total;
}

// Finds the live intervals whose lifetimes overlap a query lifetime in O(log n + answer) instead
// of scanning them all. Those are (a) the intervals that contain the query's first op, found in
// a segment tree over the distinct first uses (each interval is stored in the O(log n) nodes
// that cover the first uses inside it), and (b) the intervals that start after the query's first
// op and no later than its last op, a range of the intervals sorted by first use.
class LifetimeIndex {
 public:
  explicit LifetimeIndex(const std::vector<Interval>& intervals) : intervals_(intervals) {
    for (size_t i = 0; i < intervals.size(); ++i) {
      if (is_live(intervals[i])) by_first_.push_back(static_cast<int>(i));
    }
    std::stable_sort(by_first_.begin(), by_first_.end(),
                     [&](int a, int b) { return intervals[a].first < intervals[b].first; });
    for (int i : by_first_) {
      firsts_.push_back(intervals[i].first);
      lasts_.push_back(intervals[i].last);
      if (starts_.empty() || starts_.back() != intervals[i].first) {
        starts_.push_back(intervals[i].first);
      }
    }
    std::sort(lasts_.begin(), lasts_.end());
    while (leaves_ < starts_.size()) leaves_ *= 2;
    // Two passes over the canonical nodes: count, then fill (compressed rows).
    node_begin_.assign(2 * leaves_ + 1, 0);
    for_each_node_of_all([&](size_t node, int) { ++node_begin_[node + 1]; });
    std::partial_sum(node_begin_.begin(), node_begin_.end(), node_begin_.begin());
    node_items_.resize(node_begin_.back());
    std::vector<size_t> fill(node_begin_.begin(), node_begin_.end() - 1);
    for_each_node_of_all([&](size_t node, int i) { node_items_[fill[node]++] = i; });
  }

  // The number of live intervals whose lifetimes overlap [q.first, q.last], in O(log n): all but
  // those that end before q.first and those that start after q.last.
  size_t count_overlapping(const Interval& q) const {
    const auto ended = std::lower_bound(lasts_.begin(), lasts_.end(), q.first) - lasts_.begin();
    const auto not_started =
        firsts_.end() - std::upper_bound(firsts_.begin(), firsts_.end(), q.last);
    return firsts_.size() - static_cast<size_t>(ended) - static_cast<size_t>(not_started);
  }

  // Calls fn(j) once for every live interval j whose lifetime overlaps [q.first, q.last].
  template <typename Fn>
  void for_each_overlapping(const Interval& q, Fn&& fn) const {
    const auto after_first = std::upper_bound(starts_.begin(), starts_.end(), q.first);
    if (after_first != starts_.begin()) {
      // (a) Intervals covering the largest first use <= q.first start at or before q.first; the
      // ones that also reach q.first contain it.
      const size_t leaf = static_cast<size_t>(after_first - starts_.begin()) - 1;
      for (size_t node = leaf + leaves_; node >= 1; node /= 2) {
        for (size_t k = node_begin_[node]; k < node_begin_[node + 1]; ++k) {
          if (intervals_[node_items_[k]].last >= q.first) fn(node_items_[k]);
        }
      }
    }
    // (b) Intervals that start in (q.first, q.last].
    const auto by_first = [&](int op, int i) { return op < intervals_[i].first; };
    auto it = std::upper_bound(by_first_.begin(), by_first_.end(), q.first, by_first);
    for (; it != by_first_.end() && intervals_[*it].first <= q.last; ++it) fn(*it);
  }

 private:
  // Calls fn(node, interval) for each canonical segment-tree node of each live interval: the
  // nodes covering the first uses from the interval's own to the largest one <= its last use.
  template <typename Fn>
  void for_each_node_of_all(Fn&& fn) const {
    for (int i : by_first_) {
      const Interval& iv = intervals_[i];
      const auto lo = std::lower_bound(starts_.begin(), starts_.end(), iv.first);
      const auto hi = std::upper_bound(lo, starts_.end(), iv.last);
      size_t l = static_cast<size_t>(lo - starts_.begin()) + leaves_;
      size_t r = static_cast<size_t>(hi - starts_.begin()) + leaves_;
      for (; l < r; l /= 2, r /= 2) {
        if (l & 1) fn(l++, i);
        if (r & 1) fn(--r, i);
      }
    }
  }

  const std::vector<Interval>& intervals_;
  std::vector<int> by_first_;       // live intervals sorted by first use (ties: input order)
  std::vector<int> firsts_;         // their first uses, in that order
  std::vector<int> lasts_;          // their last uses, ascending
  std::vector<int> starts_;         // distinct first uses, ascending
  size_t leaves_ = 1;               // a power of two >= starts_.size()
  std::vector<size_t> node_begin_;  // node p holds node_items_[node_begin_[p], node_begin_[p+1])
  std::vector<int> node_items_;
};

Plan plan_none(const std::vector<Interval>& intervals) {
  Plan plan;
  plan.offsets.reserve(intervals.size());
  for (const Interval& iv : intervals) {
    plan.offsets.push_back(plan.arena_bytes);
    plan.arena_bytes += iv.size;
  }
  return plan;
}

// Live intervals sorted by a key (stable, so ties keep input order).
template <typename Key>
std::vector<size_t> live_sorted_by(const std::vector<Interval>& intervals, Key key) {
  std::vector<size_t> order;
  for (size_t i = 0; i < intervals.size(); ++i) {
    if (is_live(intervals[i])) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return key(intervals[a]) < key(intervals[b]); });
  return order;
}

// The free holes of the block, by offset (to merge neighbours) and by size (for best fit).
class Holes {
 public:
  void release(int64_t offset, int64_t size) {
    auto next = by_offset_.lower_bound(offset);
    if (next != by_offset_.end() && next->first == offset + size) {
      size += next->second;
      next = erase(next);
    }
    if (next != by_offset_.begin()) {
      const auto prev = std::prev(next);
      if (prev->first + prev->second == offset) {
        offset = prev->first;
        size += prev->second;
        erase(prev);
      }
    }
    by_offset_.emplace(offset, size);
    by_size_.emplace(size, offset);
  }

  // Best fit: the smallest hole that holds `size` (ties: lowest offset), cut from its start.
  bool take_best_fit(int64_t size, int64_t* offset) {
    const auto it = by_size_.lower_bound({size, INT64_MIN});
    if (it == by_size_.end()) return false;
    const auto [hole_size, hole_offset] = *it;
    erase(by_offset_.find(hole_offset));
    if (hole_size > size) release(hole_offset + size, hole_size - size);
    *offset = hole_offset;
    return true;
  }

  // Removes the highest hole if it ends at `top` and returns its start; else returns `top`.
  int64_t take_top(int64_t top) {
    if (by_offset_.empty()) return top;
    const auto last = std::prev(by_offset_.end());
    if (last->first + last->second != top) return top;
    const int64_t start = last->first;
    erase(last);
    return start;
  }

 private:
  std::map<int64_t, int64_t>::iterator erase(std::map<int64_t, int64_t>::iterator it) {
    by_size_.erase({it->second, it->first});
    return by_offset_.erase(it);
  }

  std::map<int64_t, int64_t> by_offset_;           // offset -> size
  std::set<std::pair<int64_t, int64_t>> by_size_;  // (size, offset)
};

Plan plan_free_after_use(const std::vector<Interval>& intervals) {
  const std::vector<size_t> allocs =
      live_sorted_by(intervals, [](const Interval& iv) { return iv.first; });
  const std::vector<size_t> frees =
      live_sorted_by(intervals, [](const Interval& iv) { return iv.last; });
  Plan plan;
  plan.offsets.assign(intervals.size(), 0);
  Holes holes;
  size_t next_free = 0;
  for (size_t idx : allocs) {
    const Interval& iv = intervals[idx];
    for (; next_free < frees.size() && intervals[frees[next_free]].last < iv.first; ++next_free) {
      holes.release(plan.offsets[frees[next_free]], intervals[frees[next_free]].size);
    }
    int64_t offset = 0;
    if (!holes.take_best_fit(iv.size, &offset)) {
      offset = holes.take_top(plan.arena_bytes);
      plan.arena_bytes = offset + iv.size;
    }
    plan.offsets[idx] = offset;
  }
  return plan;
}

void check_chain(const std::vector<Interval>& intervals) {
  std::map<int64_t, int> delta;  // int64: last + 1 must not overflow
  for (const Interval& iv : intervals) {
    if (!is_live(iv)) continue;
    ++delta[iv.first];
    --delta[int64_t{iv.last} + 1];
  }
  int live = 0;
  for (const auto& [op, d] : delta) {
    live += d;
    if (live > 2) {
      throw Error("pingpong needs a chain: " + std::to_string(live) + " buffers are live at op " +
                  std::to_string(op) + "; use greedy-by-size");
    }
  }
}

Plan plan_pingpong(const std::vector<Interval>& intervals) {
  check_chain(intervals);
  const std::vector<size_t> order =
      live_sorted_by(intervals, [](const Interval& iv) { return iv.first; });
  std::vector<int> slot_of(intervals.size(), 0);
  int64_t slot_bytes[2] = {0, 0};
  const Interval* holder[2] = {nullptr, nullptr};  // the latest buffer in each slot
  int previous = 1;                                // so that the first buffer takes slot 0
  for (size_t idx : order) {
    const Interval& iv = intervals[idx];
    const auto held = [&](int s) { return holder[s] != nullptr && holder[s]->last >= iv.first; };
    const int slot = held(0) ? 1 : held(1) ? 0 : 1 - previous;
    CNNMEM_CHECK(!held(slot));
    holder[slot] = &iv;
    slot_of[idx] = slot;
    slot_bytes[slot] = std::max(slot_bytes[slot], iv.size);
    previous = slot;
  }
  Plan plan;
  plan.offsets.assign(intervals.size(), 0);
  for (size_t idx : order) plan.offsets[idx] = slot_of[idx] == 0 ? 0 : slot_bytes[0];
  plan.arena_bytes = slot_bytes[0] + slot_bytes[1];
  return plan;
}

// Best fit among buffers visited in offset order: the start of the smallest gap between them
// that holds `size`, or the end of the highest of them when none does.
class GapFinder {
 public:
  explicit GapFinder(int64_t size) : size_(size) {}
  void visit(int64_t begin, int64_t end) {
    const int64_t gap = begin - cursor_;
    if (gap >= size_ && (best_ < 0 || gap < best_gap_)) {
      best_ = cursor_;
      best_gap_ = gap;
    }
    cursor_ = std::max(cursor_, end);
  }
  int64_t offset() const { return best_ >= 0 ? best_ : cursor_; }

 private:
  int64_t size_;
  int64_t best_ = -1;
  int64_t best_gap_ = 0;
  int64_t cursor_ = 0;
};

// The placed buffers in offset order, for walking them all. New ones wait in `pending_` and are
// merged in when a walk needs them, so sparse lifetimes (which rarely walk) pay little for it.
class OffsetOrder {
 public:
  struct Entry {
    int64_t begin, end;
    int first, last;
  };
  void add(const Entry& e) { pending_.push_back(e); }
  size_t size() const { return sorted_.size() + pending_.size(); }
  const std::vector<Entry>& sorted() {
    if (!pending_.empty()) {
      const auto by_begin = [](const Entry& a, const Entry& b) { return a.begin < b.begin; };
      std::sort(pending_.begin(), pending_.end(), by_begin);
      const auto mid = sorted_.insert(sorted_.end(), pending_.begin(), pending_.end());
      std::inplace_merge(sorted_.begin(), mid, sorted_.end(), by_begin);
      pending_.clear();
    }
    return sorted_;
  }

 private:
  std::vector<Entry> sorted_;
  std::vector<Entry> pending_;
};

Plan plan_greedy_by_size(const std::vector<Interval>& intervals) {
  const size_t n = intervals.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (intervals[a].size != intervals[b].size) return intervals[a].size > intervals[b].size;
    return intervals[a].first < intervals[b].first;
  });

  const LifetimeIndex index(intervals);
  Plan plan;
  plan.offsets.assign(n, 0);
  std::vector<char> placed(n, 0);
  OffsetOrder by_offset;
  std::vector<std::pair<int64_t, int64_t>> busy;  // [begin, end) of overlapping placed buffers
  for (size_t idx : order) {
    const Interval& iv = intervals[idx];
    if (!is_live(iv)) continue;
    GapFinder gaps(iv.size);
    // Finding and sorting the overlapping placed buffers costs about the number of overlapping
    // buffers (placed or not); walking every placed buffer in offset order costs their number,
    // at a smaller constant. Dense lifetimes walk; sparse ones look up. Equal offsets may come
    // in another order on a walk, which cannot change the result: the second of them never
    // starts a gap.
    if (index.count_overlapping(iv) * 4 > by_offset.size()) {
      for (const OffsetOrder::Entry& e : by_offset.sorted()) {
        if (e.first <= iv.last && iv.first <= e.last) gaps.visit(e.begin, e.end);
      }
    } else {
      busy.clear();
      index.for_each_overlapping(iv, [&](int p) {
        if (placed[p]) busy.emplace_back(plan.offsets[p], plan.offsets[p] + intervals[p].size);
      });
      std::sort(busy.begin(), busy.end());
      for (const auto& [begin, end] : busy) gaps.visit(begin, end);
    }
    const int64_t offset = gaps.offset();
    plan.offsets[idx] = offset;
    plan.arena_bytes = std::max(plan.arena_bytes, offset + iv.size);
    placed[idx] = 1;
    by_offset.add({offset, offset + iv.size, iv.first, iv.last});
  }
  return plan;
}

char label(size_t i) {
  if (i < 10) return static_cast<char>('0' + i);
  if (i < 36) return static_cast<char>('a' + (i - 10));
  if (i < 62) return static_cast<char>('A' + (i - 36));
  return '*';
}

}  // namespace

Strategy parse_strategy(const std::string& name) {
  for (Strategy s :
       {Strategy::kNone, Strategy::kFreeAfterUse, Strategy::kPingPong, Strategy::kGreedyBySize}) {
    if (name == strategy_name(s)) return s;
  }
  throw Error("unknown planner strategy \"" + name + "\": use " + strategy_names());
}

const char* strategy_name(Strategy s) {
  switch (s) {
    case Strategy::kNone:
      return "none";
    case Strategy::kFreeAfterUse:
      return "free-after-use";
    case Strategy::kPingPong:
      return "pingpong";
    case Strategy::kGreedyBySize:
      return "greedy-by-size";
  }
  return "?";
}

std::string strategy_names() { return "none, free-after-use, pingpong or greedy-by-size"; }

Plan plan_buffers(const std::vector<Interval>& intervals, Strategy strategy) {
  total_bytes(intervals);
  switch (strategy) {
    case Strategy::kNone:
      return plan_none(intervals);
    case Strategy::kFreeAfterUse:
      return plan_free_after_use(intervals);
    case Strategy::kPingPong:
      return plan_pingpong(intervals);
    case Strategy::kGreedyBySize:
      return plan_greedy_by_size(intervals);
  }
  fail_check("strategy", __FILE__, __LINE__, "unknown planner strategy");
}

int64_t lower_bound_bytes(const std::vector<Interval>& intervals) {
  total_bytes(intervals);
  // Sweep: +size at first, -size after last.
  std::map<int64_t, int64_t> delta;  // int64: last + 1 must not overflow
  for (const Interval& iv : intervals) {
    if (!is_live(iv)) continue;
    delta[iv.first] += iv.size;
    delta[int64_t{iv.last} + 1] -= iv.size;
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
  CNNMEM_CHECK(plan.offsets.size() == intervals.size());
  const LifetimeIndex index(intervals);
  for (size_t a = 0; a < intervals.size(); ++a) {
    const Interval& x = intervals[a];
    if (!is_live(x)) continue;
    const int64_t xa = plan.offsets[a];
    size_t first_b = SIZE_MAX;
    index.for_each_overlapping(x, [&](int j) {
      const auto b = static_cast<size_t>(j);
      const int64_t yb = plan.offsets[b];
      if (b > a && b < first_b && xa < yb + intervals[b].size && yb < xa + x.size) first_b = b;
    });
    if (first_b != SIZE_MAX) {
      if (why) {
        *why = "buffers " + std::to_string(a) + " and " + std::to_string(first_b) + " overlap";
      }
      return true;
    }
  }
  return false;
}

std::string plan_picture(const std::vector<Interval>& intervals, const Plan& plan, int width) {
  CNNMEM_CHECK(plan.offsets.size() == intervals.size() && width > 0);
  int first = INT_MAX;
  int last = INT_MIN;
  for (const Interval& iv : intervals) {
    if (!is_live(iv)) continue;
    first = std::min(first, iv.first);
    last = std::max(last, iv.last);
  }
  if (first > last || plan.arena_bytes <= 0) return "(no live buffers)\n";
  const auto column = [&](int64_t byte) {
    const long double c = static_cast<long double>(byte) * width / plan.arena_bytes;
    return std::clamp(static_cast<int>(c), 0, width);
  };
  std::string out = "    op |" + std::string(static_cast<size_t>(width), '-') + "| live bytes\n";
  for (int64_t op = first; op <= last; ++op) {
    std::string row(static_cast<size_t>(width), '.');
    int64_t live = 0;
    for (size_t i = 0; i < intervals.size(); ++i) {
      const Interval& iv = intervals[i];
      if (!is_live(iv) || op < iv.first || op > iv.last) continue;
      live += iv.size;
      const int begin = std::min(column(plan.offsets[i]), width - 1);
      const int end = std::max(column(plan.offsets[i] + iv.size), begin + 1);
      std::fill(row.begin() + begin, row.begin() + end, label(i));
    }
    char head[32];
    std::snprintf(head, sizeof head, "%6lld |", static_cast<long long>(op));
    out += head + row + "| " + std::to_string(live) + "\n";
  }
  char scale[96];
  std::snprintf(scale, sizeof scale, "       one column = %.6g bytes; arena_bytes = %lld\n",
                static_cast<double>(plan.arena_bytes) / width,
                static_cast<long long>(plan.arena_bytes));
  return out + scale;
}

}  // namespace cnnmem
