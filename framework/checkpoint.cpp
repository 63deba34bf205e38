#include "framework/checkpoint.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "framework/error.h"

namespace cnnmem {
namespace {

constexpr const char* kPolicyForms =
    "use none, every:K, sqrt, budget:BYTES (e.g. budget:2G) or layers:NAME[,NAME...]";

int64_t parse_positive(const std::string& digits, const std::string& what) {
  if (digits.empty() || digits.size() > 18 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    throw Error(what + ": \"" + digits + "\" is not a positive whole number");
  }
  const int64_t v = std::stoll(digits);
  if (v <= 0) throw Error(what + ": must be positive, got " + digits);
  return v;
}

}  // namespace

int64_t parse_byte_size(const std::string& text, const std::string& what) {
  size_t end = 0;
  while (end < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[end])) != 0 || text[end] == '.')) {
    ++end;
  }
  const std::string number = text.substr(0, end);
  const std::string suffix = text.substr(end);
  static constexpr std::pair<const char*, double> kSuffixes[] = {
      {"", 1},    {"B", 1},    {"K", 1e3},    {"KB", 1e3},      {"M", 1e6},      {"MB", 1e6},
      {"G", 1e9}, {"GB", 1e9}, {"KiB", 1024}, {"MiB", 1 << 20}, {"GiB", 1 << 30}};
  double scale = 0;
  for (const auto& [s, f] : kSuffixes) {
    if (suffix == s) scale = f;
  }
  if (number.empty() || std::count(number.begin(), number.end(), '.') > 1 || scale == 0) {
    throw Error(what + ": \"" + text +
                "\" is not a size; write bytes with an optional K, M, G, KiB, MiB or GiB "
                "suffix, e.g. 512M");
  }
  const double bytes = std::stod(number) * scale;
  if (!(bytes >= 1) || bytes > 9e18) {
    throw Error(what + ": \"" + text + "\" must be between 1 byte and 9 EB");
  }
  return static_cast<int64_t>(bytes);
}

CheckpointPolicy parse_checkpoint_policy(const std::string& text) {
  CheckpointPolicy p;
  p.text = text;
  const std::string what = setting("checkpoint", "checkpoint policy") + " " + text;
  const size_t colon = text.find(':');
  const std::string head = text.substr(0, colon);
  const std::string arg = colon == std::string::npos ? "" : text.substr(colon + 1);
  const bool has_arg = colon != std::string::npos;
  if (head == "none" && !has_arg) {
    p.kind = CheckpointPolicy::Kind::kNone;
  } else if (head == "sqrt" && !has_arg) {
    p.kind = CheckpointPolicy::Kind::kSqrt;
  } else if (head == "every" && has_arg) {
    p.kind = CheckpointPolicy::Kind::kEvery;
    p.every = parse_positive(arg, what);
  } else if (head == "budget" && has_arg) {
    p.kind = CheckpointPolicy::Kind::kBudget;
    p.budget_bytes = parse_byte_size(arg, what);
  } else if (head == "layers" && has_arg) {
    p.kind = CheckpointPolicy::Kind::kLayers;
    size_t start = 0;
    while (start <= arg.size()) {
      const size_t comma = std::min(arg.find(',', start), arg.size());
      const std::string name = arg.substr(start, comma - start);
      if (name.empty()) throw Error(what + ": empty layer name; " + kPolicyForms);
      p.layers.push_back(name);
      start = comma + 1;
    }
  } else {
    throw Error(what + ": unknown policy; " + kPolicyForms);
  }
  return p;
}

CheckpointRewrite plan_rewrite(const Schedule& schedule, const std::vector<Lifetime>& lifetimes,
                               const std::vector<CheckpointUnit>& units, std::vector<int> kept,
                               const std::vector<BufferId>& shared) {
  CheckpointRewrite r;
  std::sort(kept.begin(), kept.end());
  kept.erase(std::unique(kept.begin(), kept.end()), kept.end());
  const int n_units = static_cast<int>(units.size());
  for (int u : kept) CNNMEM_CHECK(u >= 1 && u < n_units);
  r.kept = kept;
  const size_t n_buffers = schedule.buffers.size();
  r.clone_of.assign(n_buffers, kNoBuffer);
  r.clone_segment.assign(n_buffers, -1);

  // Recomputed segments [a, b): every segment but the last.
  struct Segment {
    size_t fwd_begin, fwd_end, bwd_begin, bwd_end;
  };
  std::vector<Segment> segments;
  int a = 0;
  for (int b : kept) {
    const auto ua = static_cast<size_t>(a), ub = static_cast<size_t>(b - 1);
    // A segment with no backward ops (a flatten that needs no reorder back) needs nothing
    // recomputed; its forward ops have no FLOPs.
    if (units[ub].bwd_begin < units[ua].bwd_end) {
      segments.push_back(
          {units[ua].fwd_begin, units[ub].fwd_end, units[ub].bwd_begin, units[ua].bwd_end});
    }
    a = b;
  }
  // Copy what each recomputed segment's forward ops produce (its first use is there).
  for (size_t i = 0; i < n_buffers; ++i) {
    const Buffer& buf = schedule.buffers[i];
    const Lifetime& l = lifetimes[i];
    if (buf.persistent || l.last < l.first) continue;
    if (std::find(shared.begin(), shared.end(), static_cast<BufferId>(i)) != shared.end()) {
      continue;
    }
    const auto first = static_cast<size_t>(l.first);
    for (size_t s = 0; s < segments.size(); ++s) {
      if (first >= segments[s].fwd_begin && first < segments[s].fwd_end) {
        r.clone_of[i] = static_cast<BufferId>(n_buffers + r.clones.size());
        r.clone_segment[i] = static_cast<int>(s);
        r.clones.push_back(static_cast<BufferId>(i));
        break;
      }
    }
  }
  // The new order: each segment's recompute ops just before its first backward op.
  const size_t n_ops = schedule.ops.size();
  std::vector<int> recompute_before(n_ops, -1), backward_of(n_ops, -1);
  for (size_t s = 0; s < segments.size(); ++s) {
    CNNMEM_CHECK(segments[s].bwd_begin < segments[s].bwd_end && segments[s].bwd_end <= n_ops);
    recompute_before[segments[s].bwd_begin] = static_cast<int>(s);
    for (size_t i = segments[s].bwd_begin; i < segments[s].bwd_end; ++i) {
      backward_of[i] = static_cast<int>(s);
    }
  }
  r.steps.reserve(n_ops * 2);
  for (size_t i = 0; i < n_ops; ++i) {
    if (recompute_before[i] >= 0) {
      const Segment& s = segments[static_cast<size_t>(recompute_before[i])];
      for (size_t f = s.fwd_begin; f < s.fwd_end; ++f) {
        if (schedule.ops[f].stateful) continue;  // running statistics: once per step
        r.steps.push_back({f, true, recompute_before[i]});
        r.recompute_flops += schedule.ops[f].flops;
      }
    }
    r.steps.push_back({i, false, backward_of[i]});
  }
  return r;
}

Schedule apply_rewrite(const Schedule& schedule, const CheckpointRewrite& rewrite) {
  Schedule out;
  out.buffers = schedule.buffers;
  for (BufferId orig : rewrite.clones) {
    Buffer copy = schedule.buffers[static_cast<size_t>(orig)];
    copy.name = "recompute." + copy.name;
    out.buffers.push_back(std::move(copy));
  }
  out.ops.reserve(rewrite.steps.size());
  for (const CheckpointRewrite::Step& step : rewrite.steps) {
    Op op = schedule.ops[step.op];
    if (step.recompute) {
      const std::string suffix = ".forward";
      const bool forward_name =
          op.name.size() > suffix.size() &&
          op.name.compare(op.name.size() - suffix.size(), suffix.size(), suffix) == 0;
      op.name = forward_name ? op.name.substr(0, op.name.size() - suffix.size()) + ".recompute"
                             : "recompute." + op.name;
      op.phase = Phase::kRecompute;
    }
    if (step.segment >= 0) {
      const auto map = [&](BufferId id) { return rewrite.map(step, id); };
      for (BufferId& id : op.uses) {
        const BufferId c = map(id);
        if (c != id && op.custom) op.aliases.emplace_back(id, c);
        id = c;
      }
      std::sort(op.uses.begin(), op.uses.end());
      for (DnnlCall& call : op.calls) {
        for (auto& arg : call.args) arg.second.buffer = map(arg.second.buffer);
      }
    }
    out.ops.push_back(std::move(op));
  }
  return out;
}

CheckpointSearch::CheckpointSearch(const Schedule& schedule,
                                   const std::vector<CheckpointUnit>& units,
                                   std::vector<BufferId> shared)
    : schedule_(schedule),
      lifetimes_(schedule.lifetimes()),
      units_(units),
      shared_(std::move(shared)) {
  const int n = static_cast<int>(units_.size());
  if (n == 0) return;
  // Which part of the step each original op belongs to: its unit, or -1 (load, update). The
  // loss sits between the last unit's forward and backward and belongs to it.
  std::vector<int> unit_of(schedule_.ops.size(), -1);
  for (int u = 0; u < n; ++u) {
    const CheckpointUnit& unit = units_[static_cast<size_t>(u)];
    for (size_t i = unit.fwd_begin; i < unit.fwd_end; ++i) unit_of[i] = u;
    for (size_t i = unit.bwd_begin; i < unit.bwd_end; ++i) unit_of[i] = u;
  }
  for (size_t i = units_.back().fwd_end; i < units_.back().bwd_begin; ++i) unit_of[i] = n - 1;

  // The most a part [lo, hi) of the step holds, from one rewrite that has it as a segment.
  std::vector<int64_t> live;
  const auto part_max = [&](const std::vector<int>& kept, int lo, int hi) {
    const CheckpointRewrite r = plan_rewrite(schedule_, lifetimes_, units_, kept, shared_);
    evaluate(r, &live);
    int64_t m = 0;
    for (size_t j = 0; j < r.steps.size(); ++j) {
      const int u = unit_of[r.steps[j].op];
      if (u >= lo && u < hi) m = std::max(m, live[j]);
    }
    return m;
  };
  std::vector<int64_t> kept_bytes(static_cast<size_t>(n), 0);
  for (int u = 1; u < n; ++u) {
    kept_bytes[static_cast<size_t>(u)] =
        schedule_.buffers[static_cast<size_t>(units_[static_cast<size_t>(u)].input)].bytes_aligned;
  }
  // local[a][b]: segment [a, b) recomputed; last[L]: the kept tail [L, n).
  std::vector<std::vector<int64_t>> local(static_cast<size_t>(n),
                                          std::vector<int64_t>(static_cast<size_t>(n), 0));
  std::vector<int64_t> last(static_cast<size_t>(n), 0);
  for (int b = 1; b < n; ++b) {
    last[static_cast<size_t>(b)] = part_max({b}, b, n);
    for (int a = 0; a < b; ++a) {
      local[static_cast<size_t>(a)][static_cast<size_t>(b)] =
          a == 0 ? part_max({b}, 0, b) : part_max({a, b}, a, b);
    }
  }
  curve_.push_back({{}, peak({}), 0});

  double flops_before = 0;
  for (int tail = 1; tail < n; ++tail) {  // tail: the last kept input, tail in the comments
    flops_before += units_[static_cast<size_t>(tail - 1)].flops;
    // best[a]: least peak of the parts from segment a on, given a is kept; next[a]: the next kept.
    std::vector<int64_t> best(static_cast<size_t>(tail + 1), 0);
    std::vector<int> next(static_cast<size_t>(tail + 1), tail);
    best[static_cast<size_t>(tail)] = last[static_cast<size_t>(tail)];
    for (int x = tail - 1; x >= 0; --x) {
      int64_t m = std::numeric_limits<int64_t>::max();
      for (int y = x + 1; y <= tail; ++y) {
        const int64_t v =
            std::max(local[static_cast<size_t>(x)][static_cast<size_t>(y)],
                     kept_bytes[static_cast<size_t>(x)] + best[static_cast<size_t>(y)]);
        if (v < m) {
          m = v;
          next[static_cast<size_t>(x)] = y;
        }
      }
      best[static_cast<size_t>(x)] = m;
    }
    Choice c;
    for (int x = next[0]; x <= tail; x = x == tail ? tail + 1 : next[static_cast<size_t>(x)]) {
      c.kept.push_back(x);
    }
    // The decomposition is exact for chains; the true peak of the set is what is reported.
    c.peak_bytes = peak(c.kept);
    c.recompute_flops = flops_before;
    curve_.push_back(std::move(c));
  }
  std::stable_sort(curve_.begin(), curve_.end(), [](const Choice& x, const Choice& y) {
    return x.recompute_flops != y.recompute_flops ? x.recompute_flops < y.recompute_flops
                                                  : x.peak_bytes < y.peak_bytes;
  });
}

int64_t CheckpointSearch::peak(const std::vector<int>& kept) const {
  return evaluate(plan_rewrite(schedule_, lifetimes_, units_, kept, shared_), nullptr);
}

CheckpointSearch::Choice CheckpointSearch::fit(int64_t budget_bytes) const {
  int64_t smallest = std::numeric_limits<int64_t>::max();
  for (const Choice& c : curve_) {
    if (c.peak_bytes <= budget_bytes) return c;
    smallest = std::min(smallest, c.peak_bytes);
  }
  throw Error(
      setting("checkpoint", "checkpoint policy") + " budget:" + std::to_string(budget_bytes) +
      ": no checkpoint set fits; the smallest achievable peak is " + std::to_string(smallest) +
      " bytes: raise the budget or lower " + setting("batch", "the batch"));
}

int64_t CheckpointSearch::evaluate(const CheckpointRewrite& r,
                                   std::vector<int64_t>* per_step) const {
  const size_t n_orig = schedule_.buffers.size();
  const size_t n_all = n_orig + r.clones.size();
  const auto bytes_of = [&](size_t id) {
    const size_t orig = id < n_orig ? id : static_cast<size_t>(r.clones[id - n_orig]);
    return schedule_.buffers[orig].bytes_aligned;
  };
  const int n_steps = static_cast<int>(r.steps.size());
  std::vector<Lifetime> life(n_all, Lifetime{n_steps, -1});
  for (int j = 0; j < n_steps; ++j) {
    const CheckpointRewrite::Step& s = r.steps[static_cast<size_t>(j)];
    for (BufferId id : schedule_.ops[s.op].uses) {
      Lifetime& l = life[static_cast<size_t>(r.map(s, id))];
      l.first = std::min(l.first, j);
      l.last = std::max(l.last, j);
    }
  }
  std::vector<int64_t> delta(static_cast<size_t>(n_steps) + 1, 0);
  int64_t base = 0;
  for (size_t b = 0; b < n_all; ++b) {
    if (b < n_orig && schedule_.buffers[b].persistent) {
      base += bytes_of(b);
      continue;
    }
    const Lifetime& l = life[b];
    if (l.last < l.first) continue;
    delta[static_cast<size_t>(l.first)] += bytes_of(b);
    delta[static_cast<size_t>(l.last) + 1] -= bytes_of(b);
  }
  if (per_step != nullptr) per_step->assign(static_cast<size_t>(n_steps), 0);
  int64_t live = base, peak = base;
  for (int j = 0; j < n_steps; ++j) {
    live += delta[static_cast<size_t>(j)];
    peak = std::max(peak, live);
    if (per_step != nullptr) (*per_step)[static_cast<size_t>(j)] = live;
  }
  return peak;
}

}  // namespace cnnmem
