// cnnmem plan: run one planner on bare buffer lifetimes read from a CSV file, and print the
// offsets, the arena size and how far it is from the lower bound (with --json, one JSON object).
//
// The file holds one buffer a line, `size,first,last` (format and checks: io/planner_csv.h).
// Sizes are used as given: no alignment is added. A bad line is a one-line Error naming the file
// and the line.
// Not here: the planners themselves (framework/planner.h), parsing the CSV (io/planner_csv.h).
#include <algorithm>
#include <climits>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "apps/cli_common.h"
#include "framework/error.h"
#include "framework/planner.h"
#include "io/planner_csv.h"

namespace cnnmem {
namespace {

constexpr size_t kMaxTableRows = 50;
constexpr size_t kMaxPictureBuffers = 62;  // one label character each
constexpr int64_t kMaxPictureOps = 64;

struct PlanFlags {
  std::string intervals;
  std::string strategy;
  bool json = false;
};

std::string plan_text(const std::vector<Interval>& iv, const Plan& plan, Strategy strategy,
                      int64_t bound) {
  std::string out;
  char buf[160];
  const auto line = [&](const char* key, const std::string& value) {
    std::snprintf(buf, sizeof buf, "%-19s%s\n", key, value.c_str());
    out += buf;
  };
  const int64_t above = plan.arena_bytes - bound;
  char distance[96];
  std::snprintf(distance, sizeof distance, "%lld bytes (%.2f%% of the lower bound)",
                static_cast<long long>(above),
                bound > 0 ? 100.0 * static_cast<double>(above) / static_cast<double>(bound) : 0.0);
  line("strategy", strategy_name(strategy));
  line("buffers", std::to_string(iv.size()));
  line("arena_bytes", std::to_string(plan.arena_bytes));
  line("lower_bound_bytes", std::to_string(bound));
  line("above the bound", distance + std::string(strategy == Strategy::kFreeAfterUse
                                                     ? ": the allocator's fragmentation"
                                                     : ""));
  if (iv.empty()) return out;

  out += "\n";
  std::snprintf(buf, sizeof buf, "%8s %20s %11s %11s %20s %20s\n", "buffer", "size", "first",
                "last", "offset", "end");
  out += buf;
  for (size_t i = 0; i < iv.size() && i < kMaxTableRows; ++i) {
    const int64_t end = plan.offsets[i] + iv[i].size;
    std::snprintf(buf, sizeof buf, "%8zu %20lld %11d %11d %20lld %20lld\n", i,
                  static_cast<long long>(iv[i].size), iv[i].first, iv[i].last,
                  static_cast<long long>(plan.offsets[i]), static_cast<long long>(end));
    out += buf;
  }
  if (iv.size() > kMaxTableRows) {
    out += "... " + std::to_string(iv.size() - kMaxTableRows) +
           " more buffers not shown (--json prints every offset)\n";
  }

  int first = INT_MAX;
  int last = 0;
  for (const Interval& v : iv) {
    first = std::min(first, v.first);
    last = std::max(last, v.last);
  }
  out += "\n";
  if (iv.size() <= kMaxPictureBuffers && int64_t{last} - first < kMaxPictureOps) {
    out += "plan (rows: ops; columns: memory; buffer i drawn as its label 0-9, a-z, A-Z)\n";
    out += plan_picture(iv, plan);
  } else {
    out += "(the picture of the plan is drawn for up to " + std::to_string(kMaxPictureBuffers) +
           " buffers over up to " + std::to_string(kMaxPictureOps) + " ops)\n";
  }
  return out;
}

int run_plan(const PlanFlags& flags) {
  const Strategy strategy = parse_strategy(flags.strategy);
  const std::vector<Interval> intervals = read_planner_csv(flags.intervals);
  if (intervals.empty()) {
    throw Error("--intervals " + flags.intervals +
                " has no intervals (only blank lines, comments or a header): add lines of "
                "size,first,last");
  }
  const Plan plan = plan_buffers(intervals, strategy);
  const int64_t bound = lower_bound_bytes(intervals);
  std::string why;
  CNNMEM_CHECK_MSG(!plan_has_overlap(intervals, plan, &why), why);
  CNNMEM_CHECK(plan.arena_bytes >= bound);
  if (flags.json) {
    print_json({{"strategy", strategy_name(strategy)},
                {"buffers", intervals.size()},
                {"arena_bytes", plan.arena_bytes},
                {"lower_bound_bytes", bound},
                {"offsets", plan.offsets}});
  } else {
    std::printf("%s", plan_text(intervals, plan, strategy, bound).c_str());
  }
  return 0;
}

}  // namespace

Command add_plan_command(CLI::App& app) {
  auto flags = std::make_shared<PlanFlags>();
  CLI::App* plan = app.add_subcommand(
      "plan",
      "run a memory planner on buffer lifetimes from a CSV file (one buffer a line: "
      "size,first,last; bytes and inclusive op indices; an optional header line; # comments). "
      "Sizes are used as given: no alignment is added");
  plan->add_option("--intervals", flags->intervals, "CSV file of size,first,last lines")
      ->required();
  plan->add_option("--strategy", flags->strategy, "planner: " + strategy_names())->required();
  plan->add_flag("--json", flags->json, "print one JSON object on stdout");
  return {plan, [flags] { return run_plan(*flags); }};
}

}  // namespace cnnmem
