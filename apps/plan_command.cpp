// cnnmem plan: run one planner on bare buffer lifetimes read from a CSV file, and print the
// offsets, the arena size and how far it is from the lower bound (with --json, one JSON object).
//
// The file holds one buffer a line, `size,first,last`: bytes and inclusive op indices, whole
// numbers, whitespace allowed around fields. Blank lines and `#` comments are skipped; the first
// line may be a header whose fields are not numbers (e.g. `size,first,last`). Sizes are used as
// given: no alignment is added. A bad line is a one-line Error naming the file and the line.
// Not here: the planners themselves (framework/planner.h).
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "apps/cli_common.h"
#include "framework/error.h"
#include "framework/planner.h"

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

std::string_view trim(std::string_view s) {
  const size_t begin = s.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(" \t\r") - begin + 1);
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  for (size_t start = 0;;) {
    const size_t comma = line.find(',', start);
    fields.push_back(trim(line.substr(start, comma - start)));
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

bool looks_numeric(std::string_view field) {
  if (!field.empty() && (field[0] == '-' || field[0] == '+')) field.remove_prefix(1);
  return !field.empty() && field[0] >= '0' && field[0] <= '9';
}

// A field as it may appear in a one-line message: at most 32 characters, control bytes as '?'.
std::string printable(std::string_view field) {
  std::string out(field.substr(0, 32));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return field.size() > 32 ? out + "..." : out;
}

// Reads lines of one file and throws Errors that name it and the current line.
class IntervalsReader {
 public:
  explicit IntervalsReader(std::string path) : path_(std::move(path)) {}

  std::vector<Interval> read() {
    std::error_code ec;
    if (std::filesystem::is_directory(path_, ec)) fail_file("is a directory, not a CSV file");
    std::ifstream in(path_);
    if (!in) fail_file(std::string("cannot be opened: ") + std::strerror(errno));
    std::vector<Interval> intervals;
    int64_t total = 0;
    bool seen_content = false;
    std::string text;
    while (std::getline(in, text)) {
      ++line_;
      std::string_view line = text;
      line = trim(line.substr(0, line.find('#')));
      if (line.empty()) continue;
      const std::vector<std::string_view> fields = split_fields(line);
      if (fields.size() != 3) {
        fail("expected 3 fields, got " + std::to_string(fields.size()));
      }
      const bool header =
          !looks_numeric(fields[0]) && !looks_numeric(fields[1]) && !looks_numeric(fields[2]);
      const bool first_content = !seen_content;
      seen_content = true;
      if (header && first_content) continue;
      Interval iv;
      iv.size = number(fields[0], "size", INT64_MAX);
      iv.first = static_cast<int>(number(fields[1], "first op", INT_MAX));
      iv.last = static_cast<int>(number(fields[2], "last op", INT_MAX));
      if (iv.first > iv.last) {
        fail("first op " + std::to_string(iv.first) + " is after last op " +
             std::to_string(iv.last));
      }
      if (iv.size > INT64_MAX - total) {
        fail("the sizes add up to more than " + std::to_string(INT64_MAX) + " bytes");
      }
      total += iv.size;
      intervals.push_back(iv);
    }
    if (in.bad()) fail_file("could not be read to the end");
    return intervals;
  }

 private:
  // A whole number in [0, max]; `what` names the field in messages.
  int64_t number(std::string_view field, const std::string& what, int64_t max) const {
    const std::string quoted = "\"" + printable(field) + "\"";
    if (field.empty()) fail(what + " is empty");
    if (field.size() > 1 && field[0] == '+' && field[1] != '-') field.remove_prefix(1);
    int64_t v = 0;
    const char* end = field.data() + field.size();
    const auto [ptr, ec] = std::from_chars(field.data(), end, v);
    const std::string at_most = " (at most " + std::to_string(max) + ")";
    if (ec == std::errc::result_out_of_range) {
      fail(what + " " + quoted + (field[0] == '-' ? " is negative" : " is too large" + at_most));
    }
    if (ec != std::errc() || ptr != end) fail(what + " " + quoted + " is not a whole number");
    if (v < 0) fail(what + " " + std::to_string(v) + " is negative");
    if (v > max) fail(what + " " + std::to_string(v) + " is too large" + at_most);
    return v;
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw Error("intervals file \"" + path_ + "\" line " + std::to_string(line_) + ": " + what +
                "; each line is size,first,last (bytes, inclusive op indices)");
  }
  [[noreturn]] void fail_file(const std::string& what) const {
    throw Error("intervals file \"" + path_ + "\" " + what + " (check --intervals)");
  }

  std::string path_;
  int64_t line_ = 0;
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
  const std::vector<Interval> intervals = IntervalsReader(flags.intervals).read();
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
