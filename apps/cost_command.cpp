// cnnmem cost: predict the memory of a training step or an inference pass, and with --measure
// run it and set the measurement beside the prediction.
#include <cstdio>
#include <memory>

#include "apps/cli_common.h"
#include "apps/memory_limit.h"
#include "apps/output_flags.h"
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
  OutputFlags out;
};

int run_cost(CostFlags& flags) {
  CommonFlags& f = flags.common;
  const std::string& mode = flags.mode;
  const bool measure = flags.measure;
  apply_common(f);
  check_output_flags(flags.out, measure);
  Graph graph = model_from(f);
  const bool training = mode == "train";
  std::unique_ptr<Optimizer> optimizer;
  if (training) optimizer = make_optimizer(f.opt);
  ExecutorOptions eo;
  eo.training = training;
  eo.batch = f.batch;
  eo.strategy = parse_strategy(f.reuse);
  apply_step_flags(flags.step, eo);
  eo.checkpoint = parse_checkpoint_policy(f.checkpoint);
  Executor ex(graph, eo, optimizer.get());
  enforce_memory_limit(f.memory_limit_bytes, f.memory_limit, graph, eo, training ? &f.opt : nullptr,
                       ex);
  OutsideArena outside;
  // With checkpointing, the price in time: the same step without it, measured after.
  const bool checkpointed = !ex.checkpoint().kept.empty();
  constexpr int kTimedSteps = 3;
  double seconds = 0, seconds_plain = 0;
  const StepRecording recording(ex, measure && flags.out.any());  // keeps the last timed step
  if (measure) {
    const Measurement m = measure_synthetic_steps(ex, graph, f.batch, kTimedSteps);
    outside = m.outside;
    seconds = m.seconds_per_step;
    if (checkpointed) {
      std::unique_ptr<Optimizer> opt_plain = make_optimizer(f.opt);
      ExecutorOptions plain = eo;
      plain.checkpoint = CheckpointPolicy{};
      Executor ex_plain(graph, plain, opt_plain.get());
      seconds_plain =
          measure_synthetic_steps(ex_plain, graph, f.batch, kTimedSteps).seconds_per_step;
    }
  }
  const ReportHeader h = header(f, mode, ex);
  const Textbook tb = textbook_estimate(graph, training, f.batch,
                                        optimizer ? optimizer->state_bytes_per_element() : 0);
  write_step_outputs(flags.out, h, graph, ex, tb, recording, measure, outside, f.json);
  if (f.json) {
    nlohmann::json j = memory_json(h, ex, tb, measure, outside);
    if (measure) j["step_seconds"] = seconds;
    if (measure && checkpointed) j["step_seconds_no_checkpoint"] = seconds_plain;
    print_json(j);
  } else {
    std::printf("%s", memory_text(h, graph, ex, tb, measure, outside).c_str());
    if (measure && checkpointed) {
      std::printf(
          "\nstep time: %.4f s with checkpointing, %.4f s without (%+.1f%%), %d steps each\n",
          seconds, seconds_plain, 100.0 * (seconds / seconds_plain - 1.0), kTimedSteps);
    }
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
  add_output_flags(cost, flags->out);

  return {cost, [flags] { return run_cost(*flags); }};
}

}  // namespace cnnmem
