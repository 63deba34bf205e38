// cnnmem cost: predict the memory of a training step or an inference pass, and with --measure
// run it and set the measurement beside the prediction.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <stdexcept>

#include "apps/cli_common.h"
#include "apps/memory_limit.h"
#include "apps/output_flags.h"
#include "apps/step_flags.h"
#include "framework/error.h"
#include "layers/losses.h"
#include "models/zoo.h"
#include "report/bytes.h"
#include "train/measure.h"

namespace cnnmem {
namespace {

struct CostFlags {
  CommonFlags common;
  std::string batches;  // --batch: one size, or a list such as 1,8,32,256
  std::string mode = "train";
  bool measure = false;
  StepFlags step;
  OutputFlags out;
};

std::vector<int64_t> parse_batches(const std::string& text) {
  std::vector<int64_t> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string part = text.substr(start, comma - start);
    int64_t value = 0;
    try {
      value = part.find_first_not_of("0123456789") == std::string::npos ? std::stoll(part) : 0;
    } catch (const std::out_of_range&) {
      value = 0;
    } catch (const std::invalid_argument&) {
      value = 0;  // empty
    }
    if (value <= 0) {
      throw Error("--batch \"" + text +
                  "\": give a whole number of images >= 1, or a list "
                  "like 1,8,32,256");
    }
    out.push_back(value);
    start = comma + 1;
  }
  return out;
}

// One row per batch size: the prediction by tag, the peak and where it is, and the textbook.
int run_cost_rows(CostFlags& flags, const std::vector<int64_t>& batches) {
  CommonFlags& f = flags.common;
  if (flags.measure || !flags.out.trace.empty() || !flags.out.html.empty() ||
      !flags.out.csv.empty()) {
    throw Error("--batch " + flags.batches +
                ": a list of batch sizes is predicted only; give one size to --measure or to "
                "write a trace, page or CSV");
  }
  Graph graph = model_from(f, flags.mode == "train");
  const bool training = flags.mode == "train";
  nlohmann::json rows = nlohmann::json::array();
  if (!f.json) {
    std::printf("%s %s, optimizer %s, checkpoint %s (predicted; nothing allocated)\n\n",
                f.model.c_str(), training ? "training" : "inference",
                training ? f.optimizer.c_str() : "none", f.checkpoint.c_str());
    std::printf("%8s", "batch");
    for (Tag tag : kAllTags) std::printf(" %15s", std::string(tag_name(tag)).c_str());
    std::printf(" %12s %12s  %s\n", "peak", "textbook", "peak at");
  }
  for (int64_t batch : batches) {
    std::unique_ptr<Optimizer> optimizer = training ? make_optimizer(f.opt) : nullptr;
    ExecutorOptions eo;
    eo.training = training;
    eo.batch = batch;
    eo.strategy = parse_strategy(f.reuse);
    apply_step_flags(flags.step, eo);
    eo.checkpoint = parse_checkpoint_policy(f.checkpoint);
    const Executor ex(graph, eo, optimizer.get(), make_loss(f.loss));
    CommonFlags at = f;
    at.batch = batch;
    const Textbook tb = textbook_estimate(graph, training, batch,
                                          optimizer ? optimizer->state_bytes_per_element() : 0);
    if (f.json) {
      rows.push_back(memory_json(header(at, flags.mode, ex), ex, tb, false, OutsideArena{}));
      continue;
    }
    const MemoryStats& p = ex.predicted();
    std::printf("%8lld", static_cast<long long>(batch));
    for (Tag tag : kAllTags) std::printf(" %15s", human_bytes(p.by_tag[tag_index(tag)]).c_str());
    std::printf(" %12s %12s  %s\n", human_bytes(p.peak_bytes).c_str(),
                human_bytes(tb.total).c_str(), p.peak_at.op.c_str());
  }
  if (f.json) {
    print_json({{"model", f.model}, {"mode", flags.mode}, {"rows", rows}});
  } else {
    std::printf("\ntag columns: live bytes of each tag at the peak (they sum to the peak)\n");
  }
  return 0;
}

int run_cost(CostFlags& flags) {
  CommonFlags& f = flags.common;
  const std::string& mode = flags.mode;
  const bool measure = flags.measure;
  apply_common(f);
  if (!flags.batches.empty()) {
    const std::vector<int64_t> batches = parse_batches(flags.batches);
    if (batches.size() > 1) return run_cost_rows(flags, batches);
    f.batch = batches.front();
  }
  check_output_flags(flags.out, measure);
  Graph graph = model_from(f, mode == "train");
  const bool training = mode == "train";
  std::unique_ptr<Optimizer> optimizer;
  if (training) optimizer = make_optimizer(f.opt);
  ExecutorOptions eo;
  eo.training = training;
  eo.batch = f.batch;
  eo.strategy = parse_strategy(f.reuse);
  apply_step_flags(flags.step, eo);
  eo.checkpoint = parse_checkpoint_policy(f.checkpoint);
  Executor ex(graph, eo, optimizer.get(), make_loss(f.loss));
  enforce_memory_limit(f.memory_limit_bytes, f.memory_limit, graph, eo, training ? &f.opt : nullptr,
                       f.loss, ex);
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
      Executor ex_plain(graph, plain, opt_plain.get(), make_loss(f.loss));
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
  // cost takes a list of batch sizes as well: replace the common whole-number --batch.
  cost->remove_option(cost->get_option("--batch"));
  cost->add_option("--batch", flags->batches,
                   "images per step, or a list such as 1,8,32,256 (a row per batch size, "
                   "predicted only; default 64)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // like every other flag
  cost->add_option("--mode", flags->mode, "train | infer")
      ->check(CLI::IsMember({"train", "infer"}));
  cost->add_option("--reuse", flags->common.reuse, "buffer planner: " + strategy_names());
  cost->add_flag("--measure", flags->measure, "also run the step and measure it");
  add_step_flags(cost, flags->step);
  add_output_flags(cost, flags->out);

  return {cost, [flags] { return run_cost(*flags); }};
}

}  // namespace cnnmem
