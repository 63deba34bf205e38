// Shared pieces of the command line: flag validators with one-line messages, the flags every
// command takes (model, batch, optimizer, threads, JSON), and the commands' registry.
// Not here: any computation (the library does it).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "framework/executor.h"
#include "framework/process_memory.h"
#include "optimizers/optimizer.h"
#include "report/report.h"

namespace cnnmem {

constexpr int64_t kMaxThreads = 1024;  // more only exhausts the OS and crashes libgomp

CLI::Validator whole_number(int64_t lo, int64_t hi = INT64_MAX);
CLI::Validator non_negative_real();

struct CommonFlags {
  std::string model;
  int64_t batch = 64;
  std::string optimizer = "sgd";
  OptimizerConfig opt;
  std::string betas = "0.9,0.999";
  std::string checkpoint = "none";
  std::string reuse = "greedy-by-size";
  std::string loss;  // training only (layers/losses.h); "" = model_from() picks by the output
  std::string onnx;  // --onnx FILE: the model (and its weights) from an ONNX file
  std::vector<NamedTensor> onnx_weights;  // filled by model_from() for --onnx
  std::string input;                      // --input CxHxW ("" = the model's own)
  std::string memory_limit;               // --memory-limit as given ("" = none)
  int64_t memory_limit_bytes = 0;
  int threads = 0;
  bool json = false;
};

// Adds --model, --batch, the optimizer's flags, --checkpoint, --memory-limit, --threads and
// --json.
void add_common(CLI::App* app, CommonFlags& f);
// Validates what CLI11 cannot (betas, policies) and sets the thread count.
void apply_common(CommonFlags& f);
ReportHeader header(const CommonFlags& f, const std::string& mode, const Executor& ex);
// The model of --model, at the --input size when one was given; or the model of --onnx, whose
// weights go to f.onnx_weights (and f.model becomes its name, for reports); an unset --loss
// becomes default_loss_name of the model's output. For `training`, an ONNX file whose BatchNorms
// were folded into its convolutions gets a warning on stderr: the bill is then for another
// network than the one the user trains.
Graph model_from(CommonFlags& f, bool training);
// Loads --onnx's weights when there are some, else seeds them; after ex.bind().
void init_or_load_weights(Executor& ex, const CommonFlags& f, uint64_t seed);
void print_json(const nlohmann::json& j);
// --threads: T compute threads, or every core when T is 0.
void set_threads(int threads);

// A subcommand: its CLI11 node and what runs when it was chosen.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_train_command(CLI::App& app);
Command add_cost_command(CLI::App& app);
Command add_plan_command(CLI::App& app);
Command add_infer_command(CLI::App& app);
Command add_compare_optimizers_command(CLI::App& app);
Command add_compare_reuse_command(CLI::App& app);
Command add_sweep_checkpoint_command(CLI::App& app);

}  // namespace cnnmem
