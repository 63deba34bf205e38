// cnnmem compare-reuse: every buffer-reuse strategy for one model's inference pass, side by side:
// arena bytes, peak live bytes, the distance to the lower bound no planner can beat, and the
// time per image (each pass executed and measured; measured == predicted is checked).
#include <chrono>
#include <cstdio>
#include <memory>

#include "apps/cli_common.h"
#include "apps/cli_errors.h"
#include "apps/output_flags.h"
#include "framework/error.h"
#include "models/zoo.h"
#include "train/measure.h"

namespace cnnmem {
namespace {

struct Flags {
  std::string model;
  int64_t batch = 1;
  int threads = 0;
  int repeat = 5;
  bool json = false;
  OutputFlags out;
};

int run_compare(const Flags& f) {
  set_threads(f.threads);
  check_output_flags(f.out, /*measured=*/true);
  const Graph graph = make_model(f.model);
  Executor::check_batch(graph, f.batch);  // before the table's first line is printed
  struct Case {
    Strategy strategy;
    bool in_place;
  };
  const Case cases[] = {{Strategy::kNone, true},
                        {Strategy::kFreeAfterUse, true},
                        {Strategy::kPingPong, true},
                        {Strategy::kGreedyBySize, true},
                        {Strategy::kGreedyBySize, false}};
  nlohmann::json table = nlohmann::json::array();
  if (!f.json) {
    std::printf("%s inference, batch %lld\n\n", f.model.c_str(), static_cast<long long>(f.batch));
    std::printf("%-28s %14s %14s %14s %9s %11s\n", "strategy", "arena", "peak live", "lower bound",
                "over", "ms/image");
  }
  for (const Case& c : cases) {
    const std::string name =
        std::string(strategy_name(c.strategy)) + (c.in_place ? "" : " --no-inplace");
    ExecutorOptions eo;
    eo.training = false;
    eo.batch = f.batch;
    eo.strategy = c.strategy;
    eo.in_place = c.in_place;
    std::unique_ptr<Executor> ex;
    try {
      ex = std::make_unique<Executor>(graph, eo, nullptr);
    } catch (const Error& e) {
      const std::string what = flag_text(e);
      table.push_back({{"strategy", name}, {"error", what}});
      if (!f.json) std::printf("%-28s %s\n", name.c_str(), what.c_str());
      continue;
    }
    const double ms = 1e3 *
                      measure_synthetic_steps(*ex, graph, f.batch, f.repeat).seconds_per_step /
                      static_cast<double>(f.batch);
    const MemoryStats& p = ex->predicted();
    const MemoryStats m = ex->measured();
    if (m.peak_bytes != p.peak_bytes || m.arena_bytes != p.arena_bytes || m.by_tag != p.by_tag) {
      throw InternalError(name + ": measured memory differs from the prediction");
    }
    const int64_t over = p.arena_bytes - p.lower_bound_bytes;
    const double pct = 100.0 * static_cast<double>(over) / static_cast<double>(p.lower_bound_bytes);
    nlohmann::json j = stats_json(m);
    j["strategy"] = name;
    j["in_place"] = c.in_place;
    j["over_lower_bound_bytes"] = over;
    j["ms_per_image"] = ms;
    table.push_back(j);
    if (!f.json) {
      std::printf("%-28s %14lld %14lld %14lld %8.2f%% %11.3f\n", name.c_str(),
                  static_cast<long long>(p.arena_bytes), static_cast<long long>(p.peak_bytes),
                  static_cast<long long>(p.lower_bound_bytes), pct, ms);
    }
  }
  const nlohmann::json out = {{"model", f.model}, {"batch", f.batch}, {"rows", table}};
  write_comparison_html(
      f.out.html, "compare-reuse",
      f.model + " inference, batch " + std::to_string(f.batch) + ": buffer reuse strategies",
      "every pass executed and measured; measured == predicted in every row", true, out, f.json);
  if (f.json) {
    print_json(out);
  } else {
    std::printf(
        "\narena: bytes reserved (weights included); peak live: the most bytes live at one op;"
        "\nlower bound: what no planner can beat for this schedule (equal to peak live);"
        "\nover: arena above the lower bound. Measured == predicted in every row.\n");
  }
  return 0;
}

}  // namespace

Command add_compare_reuse_command(CLI::App& app) {
  auto f = std::make_shared<Flags>();
  CLI::App* c =
      app.add_subcommand("compare-reuse", "every buffer-reuse strategy for an inference pass");
  c->add_option("--model", f->model, model_help())->required();
  c->add_option("--batch", f->batch, "images per pass")->check(whole_number(1));
  c->add_option("--repeat", f->repeat, "timed passes per strategy")->check(whole_number(1, 1000));
  c->add_option("--threads", f->threads, "compute threads (default: all cores)")
      ->check(whole_number(1, kMaxThreads));
  c->add_flag("--json", f->json, "print one JSON object on stdout");
  add_output_flags(c, f->out, /*html_only=*/true);
  return {c, [f] { return run_compare(*f); }};
}

}  // namespace cnnmem
