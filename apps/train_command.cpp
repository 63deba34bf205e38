// cnnmem train: train a model on a data set (train/datasets.h) and print the memory report.
#include <omp.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "apps/cli_common.h"
#include "apps/data_flags.h"
#include "apps/interrupt.h"
#include "apps/memory_limit.h"
#include "apps/output_flags.h"
#include "apps/output_path.h"
#include "apps/step_flags.h"
#include "framework/error.h"
#include "io/dir_lock.h"
#include "io/safetensors.h"
#include "io/training_state.h"
#include "layers/losses.h"
#include "models/zoo.h"
#include "optimizers/optimizer.h"
#include "report/progress.h"
#include "train/trainer.h"

namespace cnnmem {
namespace {

struct TrainFlags {
  CommonFlags common;
  DataFlags data;
  std::string init_weights, save;
  std::string state_dir, resume;  // --state-dir, --resume
  int64_t save_every = 0;
  TrainOptions t;
  bool no_shuffle = false, no_eval = false;
  int64_t seed = 1;
  StepFlags step;
  OutputFlags out;
  bool quiet = false;
  int64_t progress_every = 0;  // 0: default_progress_every
};

std::string exact(double v) {
  char text[40];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

// What a resumed run must share with the saved one for the same numbers.
TrainingConfig training_config(const TrainFlags& flags, const Optimizer& optimizer) {
  const CommonFlags& f = flags.common;
  TrainingConfig c = {{"model", f.model},
                      {"input", f.input.empty() ? "(the model's)" : f.input},
                      {"batch", std::to_string(f.batch)},
                      {"optimizer", optimizer.describe()},
                      {"checkpoint", f.checkpoint},
                      {"fuse-update", flags.step.fuse_update ? "on" : "off"},
                      {"clip-grad-norm", exact(flags.step.clip_grad_norm)},
                      {"seed", std::to_string(flags.seed)},
                      {"shuffle", flags.no_shuffle ? "off" : "on"},
                      {"save-every", std::to_string(flags.save_every)}};
  const auto data = data_config(flags.data);
  c.insert(c.begin() + 7, data.begin(), data.end());  // where "data" always stood
  return c;
}

// --save-every/--state-dir/--resume: where the training state goes, checked before training;
// the directory is locked for this run (nullptr without one).
std::unique_ptr<DirLock> prepare_state_dir(TrainFlags& flags) {
  namespace fs = std::filesystem;
  if (!flags.resume.empty()) {
    if (!flags.state_dir.empty() &&
        fs::path(flags.state_dir).lexically_normal() != fs::path(flags.resume).lexically_normal()) {
      throw Error("--state-dir " + flags.state_dir + " and --resume " + flags.resume +
                  " differ: a resumed run keeps saving where it resumes from; drop --state-dir");
    }
    flags.state_dir = flags.resume;
    std::error_code ec;
    if (!fs::is_directory(flags.resume, ec)) {
      throw Error("--resume " + flags.resume + ": no training state there (no such directory); " +
                  "give the --state-dir of the run to continue");
    }
    return std::make_unique<DirLock>(flags.resume);
  }
  if (flags.state_dir.empty()) {
    if (flags.save_every > 0) {
      throw Error("--save-every needs --state-dir DIR, the directory the training state goes to");
    }
    return nullptr;
  }
  std::error_code ec;
  fs::create_directories(flags.state_dir, ec);
  if (!fs::is_directory(flags.state_dir, ec)) {
    throw Error("--state-dir " + flags.state_dir +
                ": cannot create that directory; choose another path");
  }
  // Locked before looking: a live run in the directory is the better reason to give.
  auto lock = std::make_unique<DirLock>(flags.state_dir);
  if (fs::exists(training_state_path(flags.state_dir), ec)) {
    throw Error("--state-dir " + flags.state_dir + " already holds a training state; continue it " +
                "with --resume " + flags.state_dir + ", or choose another directory");
  }
  return lock;
}

// After SIGINT/SIGTERM: where the run stopped, what was saved and how to continue it.
int report_interrupted(const TrainFlags& flags, const TrainResult& r, int sig) {
  std::string msg = "cnnmem: interrupted by " + signal_name(sig) + " after step " +
                    std::to_string(r.steps) + " of " + std::to_string(r.total_steps);
  if (r.saved) {
    msg += "; the training state is saved in " + flags.state_dir +
           ": to continue, run the same command with --resume " + flags.state_dir;
  } else {
    msg += "; nothing was saved (give --state-dir DIR to be able to resume an interrupted run)";
  }
  if (!flags.save.empty()) msg += "; --save " + flags.save + " was not written";
  std::cerr << msg << "\n";
  return 128 + sig;
}

// Progress on stderr: a live bar on a terminal; plain lines otherwise, which --json turns off
// unless --progress-every asks for them (scripts read stdout, and often stderr too). Null: none.
std::unique_ptr<ProgressPrinter> progress_printer(const TrainFlags& flags) {
  const bool terminal = ::isatty(STDERR_FILENO) != 0;
  if (flags.quiet || (!terminal && flags.common.json && flags.progress_every <= 0)) return nullptr;
  return std::make_unique<ProgressPrinter>(stderr, terminal, flags.progress_every);
}

// The result of a finished run: JSON on stdout, or a summary line and the memory report.
void print_train_result(const TrainFlags& flags, const ReportHeader& h, const Graph& graph,
                        const Executor& ex, const Textbook& tb, const TrainResult& r) {
  if (flags.common.json) {
    nlohmann::json j = memory_json(h, ex, tb, true, r.outside);
    j["test_accuracy"] =
        r.test_accuracy < 0 ? nlohmann::json(nullptr) : nlohmann::json(r.test_accuracy);
    j["images_per_sec"] = r.images_per_sec;
    j["epochs"] = r.epochs;
    j["steps"] = r.steps;
    j["losses"] = r.losses;
    j["data"] = flags.data.data;
    j["threads"] = omp_get_max_threads();
    print_json(j);
  } else {
    std::printf("trained %lld steps (%.2f epochs), final loss %.4f, %.0f images/s\n",
                static_cast<long long>(r.steps), r.epochs,
                r.losses.empty() ? 0.0 : static_cast<double>(r.losses.back()), r.images_per_sec);
    if (r.test_accuracy >= 0) std::printf("test accuracy: %.4f\n", r.test_accuracy);
    std::printf("\n%s", memory_text(h, graph, ex, tb, true, r.outside).c_str());
  }
}

int run_train(TrainFlags& flags) {
  CommonFlags& f = flags.common;
  TrainOptions& t = flags.t;
  t.seed = static_cast<uint64_t>(flags.seed);
  t.shuffle = !flags.no_shuffle;
  t.eval = !flags.no_eval;
  const std::string& data = flags.data.data;
  const std::string& init_weights = flags.init_weights;
  const std::string& save = flags.save;
  apply_common(f);
  if (!save.empty()) check_output_path("--save", save);  // refuse now, not after training
  check_output_flags(flags.out, /*measured=*/true);
  const std::unique_ptr<DirLock> state_lock = prepare_state_dir(flags);
  std::optional<DataSet> data_set = read_data_for(flags.data, f);  // the model's input follows it
  Graph graph = model_from(f, true);
  auto optimizer = make_optimizer(f.opt);
  t.state_dir = flags.state_dir;
  t.save_every = flags.save_every;
  t.config = training_config(flags, *optimizer);
  TrainingState resumed;
  if (!flags.resume.empty()) {
    resumed = read_training_state(flags.resume);
    check_same_config(resumed, t.config, flags.resume);
    t.resume = &resumed;
  }
  ExecutorOptions eo;
  eo.training = true;
  eo.batch = f.batch;
  eo.strategy = parse_strategy(f.reuse);
  apply_step_flags(flags.step, eo);
  eo.checkpoint = parse_checkpoint_policy(f.checkpoint);
  Executor ex(graph, eo, optimizer.get(), make_loss(f.loss));
  const TrainData train_data =
      train_data_for(flags.data, std::move(data_set), graph, f.batch, t.seed, ex.target());
  enforce_memory_limit(f.memory_limit_bytes, f.memory_limit, graph, eo, &f.opt, f.loss, ex,
                       train_data.bytes());
  const int64_t heap0 = heap_in_use_bytes();
  ex.bind();
  if (!init_weights.empty()) {
    ex.load_weights(read_safetensors(init_weights).tensors, init_weights);
    ex.set_seed(t.seed);
  } else {
    init_or_load_weights(ex, f, t.seed);
  }
  const int64_t heap_setup = heap_in_use_bytes() - heap0 - ex.predicted().arena_bytes;
  if (!f.json && !flags.quiet) {
    std::cerr << "training " << f.model << " on " << data << " (" << train_data.train().count
              << " images of " << dims_str(train_data.dims) << ", test: " << train_data.test().count
              << " from " << train_data.test_from << "): " << optimizer->describe() << ", batch "
              << f.batch << ", " << omp_get_max_threads() << " threads\n";
  }
  const std::unique_ptr<ProgressPrinter> progress = progress_printer(flags);
  if (progress) t.on_step = [&progress](const TrainStep& s) { progress->step(s); };
  // Records every training step's memory timeline and keeps the last (for --trace/--html/--csv).
  const StepRecording recording(ex, flags.out.any());
  // Ctrl-C or SIGTERM from here on ends the run after its current step, with the state saved.
  TrainResult r;
  int interrupted = 0;
  {
    const InterruptScope interrupt;
    t.stop_requested = [] { return InterruptScope::received() != 0; };
    r = train(ex, train_data, t);
    interrupted = InterruptScope::received();
  }
  if (interrupted != 0) return report_interrupted(flags, r, interrupted);
  r.outside.heap_setup_bytes = heap_setup;
  r.outside.dataset_bytes = train_data.bytes();
  if (!save.empty()) write_safetensors(save, ex.weights(), {{"format", "pt"}, {"model", f.model}});
  const ReportHeader h = header(f, "train", ex);
  const Textbook tb = textbook_estimate(graph, true, f.batch, optimizer->state_bytes_per_element());
  write_step_outputs(flags.out, h, graph, ex, tb, recording, true, r.outside,
                     f.json || flags.quiet);
  print_train_result(flags, h, graph, ex, tb, r);
  return 0;
}

}  // namespace

Command add_train_command(CLI::App& app) {
  auto flags = std::make_shared<TrainFlags>();
  CLI::App* train = app.add_subcommand("train", "train a model and print the memory report");
  add_common(train, flags->common);
  add_data_flags(train, flags->data);
  auto* epochs = train->add_option("--epochs", flags->t.epochs, "passes over the training set")
                     ->check(whole_number(1));
  train->add_option("--max-steps", flags->t.max_steps, "stop after this many steps")
      ->check(whole_number(1))
      ->excludes(epochs);
  train->add_option("--seed", flags->seed, "seed for initialisation and shuffling")
      ->check(whole_number(0));
  train->add_flag("--no-shuffle", flags->no_shuffle, "keep the data set's order");
  train->add_flag("--no-eval", flags->no_eval, "skip the test-set pass");
  train->add_option("--init-weights", flags->init_weights, "safetensors file with PyTorch names")
      ->check(CLI::ExistingFile);
  train->add_option("--save", flags->save, "write the trained weights (safetensors)");
  train
      ->add_option("--save-every", flags->save_every,
                   "write the whole training state to --state-dir every N steps (and at the end)")
      ->check(whole_number(1));
  train->add_option("--state-dir", flags->state_dir,
                    "directory for the crash-safe training state (state.safetensors)");
  train->add_option("--resume", flags->resume,
                    "continue the run saved in this --state-dir, bitwise as if uninterrupted");
  add_step_flags(train, flags->step);
  add_output_flags(train, flags->out);
  train->add_flag("--quiet", flags->quiet, "no progress on stderr");
  train
      ->add_option("--progress-every", flags->progress_every,
                   "when stderr is not a terminal, a progress line every N steps (default: about "
                   "20 lines a run; with --json, none unless this is given)")
      ->check(whole_number(1));

  return {train, [flags] { return run_train(*flags); }};
}

}  // namespace cnnmem
