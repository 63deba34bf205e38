// cnnmem cost: predict the memory of a training step or an inference pass, and with --measure
// run it and set the measurement beside the prediction.
#include <cstdio>
#include <memory>

#include "apps/cli_common.h"
#include "apps/step_flags.h"
#include "framework/error.h"
#include "models/zoo.h"

namespace cnnmem {
namespace {

struct CostFlags {
  CommonFlags common;
  std::string mode = "train";
  bool measure = false;
  StepFlags step;
};

int run_cost(CostFlags& flags) {
  CommonFlags& f = flags.common;
  const std::string& mode = flags.mode;
  const bool measure = flags.measure;
  apply_common(f);
  Graph graph = make_model(f.model);
  const bool training = mode == "train";
  std::unique_ptr<Optimizer> optimizer;
  if (training) optimizer = make_optimizer(f.opt);
  ExecutorOptions eo;
  eo.training = training;
  eo.batch = f.batch;
  eo.strategy = parse_strategy(f.reuse);
  apply_step_flags(flags.step, eo);
  Executor ex(graph, eo, optimizer.get());
  OutsideArena outside;
  if (measure) {
    outside = measure_synthetic_steps(ex, graph, f.batch).outside;
  }
  const ReportHeader h = header(f, mode, ex);
  const Textbook tb = textbook_estimate(graph, training, f.batch,
                                        optimizer ? optimizer->state_bytes_per_element() : 0);
  if (f.json) {
    print_json(memory_json(h, ex, tb, measure, outside));
  } else {
    std::printf("%s", memory_text(h, graph, ex, tb, measure, outside).c_str());
  }
  return 0;
}

}  // namespace

Command add_cost_command(CLI::App& app) {
  auto flags = std::make_shared<CostFlags>();
  CLI::App* cost = app.add_subcommand("cost", "predict (and with --measure, measure) the memory");
  add_common(cost, flags->common);
  cost->add_option("--mode", flags->mode, "train | infer")
      ->check(CLI::IsMember({"train", "infer"}));
  cost->add_option("--reuse", flags->common.reuse, "buffer planner: " + strategy_names());
  cost->add_flag("--measure", flags->measure, "also run the step and measure it");
  add_step_flags(cost, flags->step);

  return {cost, [flags] { return run_cost(*flags); }};
}

}  // namespace cnnmem
