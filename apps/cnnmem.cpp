// The cnnmem command line: parses flags and calls the library. Nothing here computes memory.
//   cnnmem train  --model M --data fashion-mnist|synthetic --epochs E --batch B --optimizer O ...
//   cnnmem cost   --model M --mode train|infer --batch B [--optimizer O] [--measure] [--json]
// Exit status: 0 success, 1 user error (one line on stderr), 2 internal error.
#include <omp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "framework/error.h"
#include "framework/executor.h"
#include "framework/report.h"
#include "framework/trainer.h"
#include "io/safetensors.h"
#include "models/zoo.h"
#include "optimizers/optimizer.h"

namespace cnnmem {
namespace {

// CLI11's PositiveNumber/NonNegativeNumber print "not in range 0.000000 to 1797...368.000000",
// call a word a value out of range, and let "nan" through; these say what to type instead.
constexpr int64_t kMaxThreads = 1024;  // more only exhausts the OS and crashes libgomp

CLI::Validator whole_number(int64_t lo, int64_t hi = INT64_MAX) {
  return CLI::Validator(
      [lo, hi](std::string& s) -> std::string {
        const std::string want = hi == INT64_MAX ? "a whole number >= " + std::to_string(lo)
                                                 : "a whole number from " + std::to_string(lo) +
                                                       " to " + std::to_string(hi);
        try {
          size_t used = 0;
          const long long v = std::stoll(s, &used);
          if (used == s.size() && v >= lo && v <= hi) return "";
        } catch (const std::logic_error&) {
        }
        return "use " + want + ", got \"" + s + "\"";
      },
      hi == INT64_MAX ? ">=" + std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi),
      "whole_number");
}

CLI::Validator non_negative_real() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        try {
          size_t used = 0;
          const double v = std::stod(s, &used);
          if (used == s.size() && std::isfinite(v) && v >= 0) return "";
        } catch (const std::logic_error&) {
        }
        return "use a finite number >= 0, got \"" + s + "\"";
      },
      ">=0", "non_negative_real");
}

struct CommonFlags {
  std::string model;
  int64_t batch = 64;
  std::string optimizer = "sgd";
  OptimizerConfig opt;
  std::string betas = "0.9,0.999";
  std::string checkpoint = "none";
  std::string reuse = "greedy-by-size";
  int threads = 0;
  bool json = false;
};

void add_common(CLI::App* app, CommonFlags& f, bool train) {
  app->add_option("--model", f.model, "lenet5 | vgg-mini | vgg16")->required();
  app->add_option("--batch", f.batch, "images per step")->check(whole_number(1));
  app->add_option("--optimizer", f.optimizer, "sgd | adam")->check(CLI::IsMember({"sgd", "adam"}));
  app->add_option("--lr", f.opt.lr, "learning rate (default: sgd 0.01, adam 0.001)")
      ->check(non_negative_real());
  app->add_option("--momentum", f.opt.momentum, "SGD momentum")->check(non_negative_real());
  app->add_flag("--nesterov", f.opt.nesterov, "SGD Nesterov momentum");
  app->add_option("--weight-decay", f.opt.weight_decay, "L2 penalty")->check(non_negative_real());
  app->add_option("--betas", f.betas, "Adam betas, as B1,B2");
  app->add_option("--eps", f.opt.eps, "Adam epsilon")->check(non_negative_real());
  app->add_option("--checkpoint", f.checkpoint, "activation checkpointing policy: none");
  app->add_option("--threads", f.threads, "compute threads (default: all cores)")
      ->check(whole_number(1, kMaxThreads));
  app->add_flag("--json", f.json, "print one JSON object on stdout");
  (void)train;
}

void apply_common(CommonFlags& f) {
  f.opt.name = f.optimizer;
  const auto comma = f.betas.find(',');
  try {
    if (comma == std::string::npos) throw std::invalid_argument("no comma");
    size_t used1 = 0, used2 = 0;
    f.opt.beta1 = std::stod(f.betas.substr(0, comma), &used1);
    f.opt.beta2 = std::stod(f.betas.substr(comma + 1), &used2);
    if (used1 != comma || used2 != f.betas.size() - comma - 1) throw std::invalid_argument("junk");
  } catch (const std::logic_error&) {
    throw Error("--betas must be two numbers like 0.9,0.999, got \"" + f.betas + "\"");
  }
  if (f.checkpoint != "none") {
    throw Error("--checkpoint " + f.checkpoint +
                ": only \"none\" is available in this version (checkpointing is planned)");
  }
  if (f.reuse != "greedy-by-size" && f.reuse != "none") {
    throw Error("--reuse " + f.reuse + ": use none or greedy-by-size");
  }
  omp_set_num_threads(f.threads > 0 ? f.threads : omp_get_num_procs());
}

ReportHeader header(const CommonFlags& f, const std::string& mode, const Executor& ex) {
  ReportHeader h;
  h.model = f.model;
  h.mode = mode;
  h.optimizer = mode == "train" ? f.optimizer : "none";
  h.checkpoint = f.checkpoint;
  h.reuse = f.reuse;
  h.batch = f.batch;
  h.params = ex.param_count();
  return h;
}

void print_json(const nlohmann::json& j) { std::cout << j.dump(2) << std::endl; }

int run_train(CommonFlags& f, const std::string& data, const std::string& data_dir, TrainOptions& t,
              const std::string& init_weights, const std::string& save) {
  apply_common(f);
  if (!save.empty()) {
    // Refuse now rather than after hours of training.
    const std::filesystem::path dir = std::filesystem::absolute(save).parent_path();
    if (!std::filesystem::is_directory(dir)) {
      throw Error("--save " + save + ": directory " + dir.string() +
                  " does not exist; create it or choose another path");
    }
  }
  Graph graph = make_model(f.model);
  auto optimizer = make_optimizer(f.opt);
  const TrainData train_data = load_train_data(data, data_dir, graph, f.batch, t.seed);
  ExecutorOptions eo;
  eo.training = true;
  eo.batch = f.batch;
  eo.strategy = parse_strategy(f.reuse);
  Executor ex(graph, eo, optimizer.get());
  const int64_t heap0 = heap_in_use_bytes();
  ex.bind();
  if (!init_weights.empty()) {
    ex.load_weights(read_safetensors(init_weights), init_weights);
  } else {
    ex.init_weights(t.seed);
  }
  const int64_t heap_setup = heap_in_use_bytes() - heap0 - ex.predicted().arena_bytes;
  if (!f.json) {
    std::cerr << "training " << f.model << " on " << data << ": " << optimizer->describe()
              << ", batch " << f.batch << ", " << omp_get_max_threads() << " threads\n";
    t.on_step = [](int64_t step, int64_t epoch, float loss) {
      if ((step + 1) % 200 == 0) {
        std::fprintf(stderr, "  epoch %lld step %lld loss %.4f\n",
                     static_cast<long long>(epoch) + 1, static_cast<long long>(step) + 1,
                     static_cast<double>(loss));
      }
    };
  }
  TrainResult r = train(ex, train_data, t);
  r.outside.heap_setup_bytes = heap_setup;
  if (!save.empty()) write_safetensors(save, ex.weights(), {{"format", "pt"}, {"model", f.model}});
  const ReportHeader h = header(f, "train", ex);
  const Textbook tb = textbook_estimate(graph, true, f.batch, optimizer->state_bytes_per_element());
  if (f.json) {
    nlohmann::json j = memory_json(h, ex, tb, true, r.outside);
    j["test_accuracy"] =
        r.test_accuracy < 0 ? nlohmann::json(nullptr) : nlohmann::json(r.test_accuracy);
    j["images_per_sec"] = r.images_per_sec;
    j["epochs"] = r.epochs;
    j["steps"] = r.steps;
    j["losses"] = r.losses;
    j["data"] = data;
    j["threads"] = omp_get_max_threads();
    print_json(j);
  } else {
    std::printf("trained %lld steps (%.2f epochs), final loss %.4f, %.0f images/s\n",
                static_cast<long long>(r.steps), r.epochs,
                r.losses.empty() ? 0.0 : static_cast<double>(r.losses.back()), r.images_per_sec);
    if (r.test_accuracy >= 0) std::printf("test accuracy: %.4f\n", r.test_accuracy);
    std::printf("\n%s", memory_text(h, graph, ex, tb, true, r.outside).c_str());
  }
  return 0;
}

int run_cost(CommonFlags& f, const std::string& mode, bool measure) {
  apply_common(f);
  Graph graph = make_model(f.model);
  const bool training = mode == "train";
  std::unique_ptr<Optimizer> optimizer;
  if (training) optimizer = make_optimizer(f.opt);
  ExecutorOptions eo;
  eo.training = training;
  eo.batch = f.batch;
  eo.strategy = parse_strategy(f.reuse);
  Executor ex(graph, eo, optimizer.get());
  OutsideArena outside;
  if (measure) {
    const int64_t heap0 = heap_in_use_bytes();
    ex.bind();
    ex.init_weights(1);
    outside.heap_setup_bytes = heap_in_use_bytes() - heap0 - ex.predicted().arena_bytes;
    const TrainData data = load_train_data("synthetic", "", graph, f.batch, 1);
    BatchPipeline pipeline(ex, data.train(), f.batch);
    std::vector<int64_t> order(static_cast<size_t>(data.train().count));
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    pipeline.start_epoch(order, true);
    ex.set_batch_source(&pipeline);
    ex.run_step();  // warm-up
    const int64_t before = heap_in_use_bytes();
    ex.run_step();
    outside.heap_growth_bytes = heap_in_use_bytes() - before;
    ex.set_batch_source(nullptr);
    outside.rss_peak_bytes = rss_peak_bytes();
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

int run(int argc, char** argv) {
  CLI::App app{"cnnmem: train CNNs on the CPU and account for every byte"};
  app.require_subcommand(1);
  CommonFlags f;

  CLI::App* train = app.add_subcommand("train", "train a model and print the memory report");
  add_common(train, f, true);
  std::string data = "fashion-mnist", data_dir = "/usr/share/datasets/fashion-mnist";
  std::string init_weights, save;
  TrainOptions t;
  bool no_shuffle = false, no_eval = false;
  int64_t seed = 1;
  train->add_option("--data", data, "fashion-mnist | synthetic")
      ->check(CLI::IsMember({"fashion-mnist", "synthetic"}));
  train->add_option("--data-dir", data_dir, "directory of the gzip IDX files");
  auto* epochs = train->add_option("--epochs", t.epochs, "passes over the training set")
                     ->check(whole_number(1));
  train->add_option("--max-steps", t.max_steps, "stop after this many steps")
      ->check(whole_number(1))
      ->excludes(epochs);
  train->add_option("--seed", seed, "seed for initialisation and shuffling")
      ->check(whole_number(0));
  train->add_flag("--no-shuffle", no_shuffle, "keep the data set's order");
  train->add_flag("--no-eval", no_eval, "skip the test-set pass");
  train->add_option("--init-weights", init_weights, "safetensors file with PyTorch names")
      ->check(CLI::ExistingFile);
  train->add_option("--save", save, "write the trained weights (safetensors)");

  CLI::App* cost = app.add_subcommand("cost", "predict (and with --measure, measure) the memory");
  CommonFlags fc;
  add_common(cost, fc, false);
  std::string mode = "train";
  bool measure = false;
  cost->add_option("--mode", mode, "train | infer")->check(CLI::IsMember({"train", "infer"}));
  cost->add_option("--reuse", fc.reuse, "planner: greedy-by-size | none")
      ->check(CLI::IsMember({"greedy-by-size", "none"}));
  cost->add_flag("--measure", measure, "also run the step and measure it");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    // CLI11 calls "cnnmem trian" a missing subcommand; name the word the user typed instead.
    if (argc > 1 && argv[1][0] != '-' && app.get_subcommands().empty()) {
      what = "unknown command \"" + std::string(argv[1]) + "\": use train or cost";
    }
    std::replace(what.begin(), what.end(), '\n', ' ');
    std::cerr << "cnnmem: error: " << what << " (see cnnmem --help)\n";
    return 1;
  }
  if (train->parsed()) {
    t.seed = static_cast<uint64_t>(seed);
    t.shuffle = !no_shuffle;
    t.eval = !no_eval;
    return run_train(f, data, data_dir, t, init_weights, save);
  }
  return run_cost(fc, mode, measure);
}

}  // namespace
}  // namespace cnnmem

int main(int argc, char** argv) {
  try {
    return cnnmem::run(argc, argv);
  } catch (const cnnmem::Error& e) {
    std::cerr << "cnnmem: error: " << e.what() << "\n";
    return 1;
  } catch (const dnnl::error& e) {
    std::cerr << "cnnmem: internal error: oneDNN: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "cnnmem: internal error: " << e.what() << "\n";
    return 2;
  }
}
