// cnnmem sweep-checkpoint: the memory/compute trade-off of activation checkpointing for one
// model and batch. Rows: no checkpointing, the fixed policies (every:2, every:4, sqrt) and
// budgets along the frontier of the search (each point: the least recompute for its peak, from
// the first saving down to the least peak any checkpoint set reaches). Every row is planned, run
// and measured: peak bytes by tag (predicted and measured, which must agree), recompute FLOPs, step
// time and its overhead against no checkpointing.
#include <algorithm>
#include <cstdio>
#include <memory>

#include "apps/cli_common.h"
#include "apps/output_flags.h"
#include "framework/error.h"
#include "layers/losses.h"
#include "models/zoo.h"
#include "train/measure.h"

namespace cnnmem {
namespace {

struct SweepFlags {
  CommonFlags common;
  int points = 5;
  int steps = 3;
  bool no_measure = false;
  OutputFlags out;
};

struct Row {
  std::string policy;
  CheckpointInfo checkpoint;
  MemoryStats predicted, measured;
  double seconds = 0;
};

double mib(int64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

// The policies of the sweep: none, every:2, every:4, sqrt, then the budget search's frontier
// (each step more recompute buys a lower peak), at most `points` of it, evenly spread, the least
// peak always included. Sets `units` to the step's checkpoint units.
std::vector<std::string> sweep_policies(const Graph& graph, const ExecutorOptions& eo,
                                        const OptimizerConfig& opt_config, const std::string& loss,
                                        int points, size_t* units) {
  std::vector<std::string> policies = {"none", "every:2", "every:4", "sqrt"};
  auto opt = make_optimizer(opt_config);
  const Executor plain(graph, eo, opt.get(), make_loss(loss));
  *units = plain.checkpoint_units().size();
  const CheckpointSearch search(plain.schedule(), plain.checkpoint_units(),
                                plain.checkpoint_shared());
  std::vector<int64_t> frontier;
  int64_t lowest = plain.predicted().peak_bytes;
  for (const CheckpointSearch::Choice& c : search.curve()) {
    if (c.peak_bytes < lowest) {
      lowest = c.peak_bytes;
      frontier.push_back(c.peak_bytes);
    }
  }
  const size_t n = frontier.size();
  const size_t take = std::min(n, static_cast<size_t>(points));
  for (size_t i = 0; i < take; ++i) {
    const size_t at = take == 1 ? n - 1 : i * (n - 1) / (take - 1);
    policies.push_back("budget:" + std::to_string(frontier[at]));
  }
  return policies;
}

// One row per policy, one at a time: a row's arena is freed before the next one is reserved.
std::vector<Row> sweep_rows(const Graph& graph, ExecutorOptions eo, const CommonFlags& f,
                            const std::vector<std::string>& policies, bool measure, int steps) {
  std::vector<Row> rows;
  for (const std::string& policy : policies) {
    Row row;
    row.policy = policy;
    auto opt = make_optimizer(f.opt);
    eo.checkpoint = parse_checkpoint_policy(policy);
    Executor ex(graph, eo, opt.get(), make_loss(f.loss));
    if (measure) {
      row.seconds = measure_synthetic_steps(ex, graph, f.batch, steps).seconds_per_step;
      row.measured = ex.measured();
    }
    row.checkpoint = ex.checkpoint();
    row.predicted = ex.predicted();
    rows.push_back(std::move(row));
  }
  return rows;
}

// Step time over the first row's (no checkpointing), in percent.
double overhead(const std::vector<Row>& rows, const Row& r) {
  const double base = rows.front().seconds;
  return base > 0 ? 100.0 * (r.seconds / base - 1.0) : 0.0;
}

nlohmann::json sweep_json(const CommonFlags& f, const std::vector<Row>& rows, size_t units,
                          bool measure) {
  nlohmann::json table = nlohmann::json::array();
  for (const Row& r : rows) {
    nlohmann::json j = {{"policy", r.policy},
                        {"kept", r.checkpoint.kept},
                        {"recompute_flops", r.checkpoint.recompute_flops},
                        {"forward_flops", r.checkpoint.forward_flops},
                        {"predicted", stats_json(r.predicted)}};
    if (measure) {
      j["measured"] = stats_json(r.measured);
      j["measured_equals_predicted"] = agrees(r.predicted, r.measured);
      j["step_seconds"] = r.seconds;
      j["overhead_percent"] = overhead(rows, r);
    }
    table.push_back(j);
  }
  return {{"model", f.model}, {"mode", "train"}, {"batch", f.batch}, {"optimizer", f.optimizer},
          {"reuse", f.reuse}, {"units", units},  {"rows", table}};
}

void print_sweep(const CommonFlags& f, const std::vector<Row>& rows, size_t units, bool measure) {
  std::printf("%s training, batch %lld, optimizer %s, planner %s: %zu units%s\n\n", f.model.c_str(),
              static_cast<long long>(f.batch), f.optimizer.c_str(), f.reuse.c_str(), units,
              measure ? "" : " (predicted only)");
  std::printf("%-18s %5s %10s %11s %11s %11s %11s %9s %9s %9s\n", "policy", "kept", "recompute",
              "peak MiB", "activation", "act. grad", "workspace", "measured", "step s", "overhead");
  for (const Row& r : rows) {
    const auto tag = [&](Tag t) { return mib(r.predicted.by_tag[tag_index(t)]); };
    std::printf("%-18s %5zu %9.2fG %11.1f %11.1f %11.1f %11.1f %9s", r.policy.c_str(),
                r.checkpoint.kept.size(), r.checkpoint.recompute_flops * 1e-9,
                mib(r.predicted.peak_bytes), tag(Tag::kActivation), tag(Tag::kActivationGrad),
                tag(Tag::kWorkspace),
                !measure                          ? "-"
                : agrees(r.predicted, r.measured) ? "= pred"
                                                  : "DIFFERS");
    if (measure) {
      std::printf(" %9.4f %+8.1f%%\n", r.seconds, overhead(rows, r));
    } else {
      std::printf(" %9s %9s\n", "-", "-");
    }
  }
  std::printf(
      "\npeak and tag columns: predicted live bytes at the peak; \"= pred\": the arena "
      "measured the same bytes for every tag\n");
}

int run_sweep(SweepFlags& flags) {
  CommonFlags& f = flags.common;
  apply_common(f);
  const Graph graph = model_from(f, true);
  const bool measure = !flags.no_measure;
  check_output_flags(flags.out, measure);

  ExecutorOptions eo;
  eo.training = true;
  eo.batch = f.batch;
  eo.strategy = parse_strategy(f.reuse);
  size_t units = 0;
  const std::vector<std::string> policies =
      sweep_policies(graph, eo, f.opt, f.loss, flags.points, &units);
  const std::vector<Row> rows = sweep_rows(graph, eo, f, policies, measure, flags.steps);
  const nlohmann::json out = sweep_json(f, rows, units, measure);
  write_comparison_html(flags.out.html, "sweep-checkpoint",
                        f.model + " training, batch " + std::to_string(f.batch) +
                            ": checkpointing, memory against recomputation",
                        "optimizer " + f.optimizer + ", planner " + f.reuse + ", " +
                            std::to_string(units) + " units; " +
                            (measure ? "every row run and measured" : "predicted only"),
                        measure, out, f.json);
  if (f.json) {
    print_json(out);
  } else {
    print_sweep(f, rows, units, measure);
  }
  return 0;
}

}  // namespace

Command add_sweep_checkpoint_command(CLI::App& app) {
  auto flags = std::make_shared<SweepFlags>();
  CLI::App* c = app.add_subcommand(
      "sweep-checkpoint", "every checkpointing policy and a budget curve: memory against time");
  add_common(c, flags->common);
  c->add_option("--points", flags->points, "at most this many budgets on the curve (default 5)")
      ->check(whole_number(1, 100));
  c->add_option("--steps", flags->steps, "timed steps per row (default 3)")
      ->check(whole_number(1, 1000));
  c->add_flag("--no-measure", flags->no_measure, "predict only: no step is run");
  add_output_flags(c, flags->out, /*html_only=*/true);
  return {c, [flags] { return run_sweep(*flags); }};
}

}  // namespace cnnmem
