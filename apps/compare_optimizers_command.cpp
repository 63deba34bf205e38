// cnnmem compare-optimizers: the memory bill of one model under every optimizer configuration,
// side by side: state bytes per parameter, peak bytes by tag, where the peak is (and whether it
// moved from plain SGD's), and, with --measure, the step time. Two extra rows show what fused
// updates save and what gradient clipping costs.
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

struct Row {
  std::string name;
  OptimizerConfig cfg;
  bool fuse = false;
  double clip = 0;
};

std::vector<Row> rows() {
  auto cfg = [](const char* name) {
    OptimizerConfig c;
    c.name = name;
    return c;
  };
  std::vector<Row> r;
  r.push_back({"sgd", cfg("sgd")});
  r.push_back({"sgd momentum=0.9", cfg("sgd")});
  r.back().cfg.momentum = 0.9;
  r.push_back({"sgd nesterov", cfg("sgd")});
  r.back().cfg.momentum = 0.9;
  r.back().cfg.nesterov = true;
  r.push_back({"adam", cfg("adam")});
  r.push_back({"adam amsgrad", cfg("adam")});
  r.back().cfg.amsgrad = true;
  r.push_back({"adamw", cfg("adamw")});
  r.push_back({"rmsprop", cfg("rmsprop")});
  r.push_back({"rmsprop centered", cfg("rmsprop")});
  r.back().cfg.centered = true;
  r.push_back({"rmsprop centered momentum=0.9", cfg("rmsprop")});
  r.back().cfg.centered = true;
  r.back().cfg.momentum = 0.9;
  r.push_back({"adagrad", cfg("adagrad")});
  r.push_back({"adam --fuse-update", cfg("adam"), true});
  r.push_back({"adam --clip-grad-norm 1", cfg("adam"), false, 1.0});
  return r;
}

struct Flags {
  std::string model;
  int64_t batch = 1;
  int threads = 0;
  int repeat = 3;
  bool measure = false, json = false;
  OutputFlags out;
};

int run_compare(const Flags& f) {
  set_threads(f.threads);
  check_output_flags(f.out, f.measure);
  const Graph graph = make_model(f.model);
  Executor::check_batch(graph, f.batch);  // before the table's first line is printed
  const int64_t params = graph.param_count();
  nlohmann::json out = {{"model", f.model}, {"batch", f.batch}, {"params", params}};
  nlohmann::json table = nlohmann::json::array();
  std::string sgd_peak_op;
  if (!f.json) {
    std::printf("%s, batch %lld, %lld parameters%s\n\n", f.model.c_str(),
                static_cast<long long>(f.batch), static_cast<long long>(params),
                f.measure ? " (measured)" : " (predicted; --measure to run)");
    std::printf("%-30s %8s %14s %14s %14s %14s  %-28s %10s\n", "optimizer", "B/param", "peak",
                "grad", "state", "activation", "peak at", "ms/step");
  }
  for (const Row& row : rows()) {
    auto opt = make_optimizer(row.cfg);
    ExecutorOptions eo;
    eo.batch = f.batch;
    eo.fuse_update = row.fuse;
    eo.clip_grad_norm = row.clip;
    Executor ex(graph, eo, opt.get(), make_loss(default_loss_name(graph.nodes().back().dims)));
    double ms = -1;
    if (f.measure) {
      ms = 1e3 * measure_synthetic_steps(ex, graph, f.batch, f.repeat).seconds_per_step;
    }
    const MemoryStats& s = f.measure ? ex.measured() : ex.predicted();
    if (f.measure &&
        (s.peak_bytes != ex.predicted().peak_bytes || s.by_tag != ex.predicted().by_tag)) {
      throw InternalError(row.name + ": measured memory differs from the prediction");
    }
    const auto tag = [&](Tag t) { return s.by_tag[tag_index(t)]; };
    const int64_t state = s.tag_peaks[tag_index(Tag::kOptimizerState)];
    const double per_param = static_cast<double>(state) / static_cast<double>(params);
    if (sgd_peak_op.empty()) sgd_peak_op = s.peak_at.op;
    const bool moved = s.peak_at.op != sgd_peak_op;
    nlohmann::json j = stats_json(s);
    j["optimizer"] = row.name;
    j["describe"] = opt->describe();
    j["state_bytes_per_element"] = opt->state_bytes_per_element();
    j["state_bytes_per_param"] = per_param;
    j["peak_moved_from_sgd"] = moved;
    j["ms_per_step"] = ms < 0 ? nlohmann::json(nullptr) : nlohmann::json(ms);
    table.push_back(j);
    if (!f.json) {
      char ms_text[32] = "-";
      if (ms >= 0) std::snprintf(ms_text, sizeof ms_text, "%.1f", ms);
      const std::string at = s.peak_at.op + (moved ? " (moved)" : "");
      std::printf("%-30s %8.2f %14lld %14lld %14lld %14lld  %-28s %10s\n", row.name.c_str(),
                  per_param, static_cast<long long>(s.peak_bytes),
                  static_cast<long long>(tag(Tag::kGrad)), static_cast<long long>(state),
                  static_cast<long long>(tag(Tag::kActivation)), at.c_str(), ms_text);
    }
  }
  out["rows"] = table;
  write_comparison_html(
      f.out.html, "compare-optimizers",
      f.model + " training, batch " + std::to_string(f.batch) + ": memory per optimizer",
      std::to_string(params) + " parameters; " +
          (f.measure ? "measured" : "predicted (--measure to run)"),
      f.measure, out, f.json);
  if (f.json) {
    print_json(out);
  } else {
    std::printf(
        "\nB/param: optimizer state bytes per parameter (blocked layouts pad small layers);"
        "\npeak, grad, activation: bytes at the step's peak; state: optimizer state.\n");
  }
  return 0;
}

}  // namespace

Command add_compare_optimizers_command(CLI::App& app) {
  auto f = std::make_shared<Flags>();
  CLI::App* c = app.add_subcommand("compare-optimizers",
                                   "the memory of one training step under every optimizer");
  c->add_option("--model", f->model, model_help())->required();
  c->add_option("--batch", f->batch, "images per step")->check(whole_number(1));
  c->add_flag("--measure", f->measure, "run each step, measure it and time it");
  c->add_option("--repeat", f->repeat, "timed steps per row with --measure")
      ->check(whole_number(1, 1000));
  c->add_option("--threads", f->threads, "compute threads (default: all cores)")
      ->check(whole_number(1, kMaxThreads));
  c->add_flag("--json", f->json, "print one JSON object on stdout");
  add_output_flags(c, f->out, /*html_only=*/true);
  return {c, [f] { return run_compare(*f); }};
}

}  // namespace cnnmem
