#include "apps/cli_common.h"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <numeric>

#include "framework/error.h"
#include "layers/losses.h"
#include "models/onnx_import.h"
#include "models/zoo.h"
#include "train/batch_pipeline.h"
#include "train/trainer.h"

namespace cnnmem {

// CLI11's PositiveNumber/NonNegativeNumber print "not in range 0.000000 to 1797...368.000000",
// call a word a value out of range, and let "nan" through; these say what to type instead.

CLI::Validator whole_number(int64_t lo, int64_t hi) {
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

void add_common(CLI::App* app, CommonFlags& f) {
  app->add_option("--model", f.model, model_help());
  app->add_option("--onnx", f.onnx,
                  "the model, with its weights, from an ONNX file (instead of --model)")
      ->check(CLI::ExistingFile);
  app->add_option("--batch", f.batch, "images per step")->check(whole_number(1));
  app->add_option("--optimizer", f.optimizer, "sgd | adam | adamw | rmsprop | adagrad")
      ->check(CLI::IsMember({"sgd", "adam", "adamw", "rmsprop", "adagrad"}));
  // Unset options keep the optimizer's own default, as in torch.optim.
  app->add_option("--lr", f.opt.lr,
                  "learning rate (default: sgd 0.01, adam/adamw 0.001, rmsprop/adagrad 0.01)")
      ->check(non_negative_real());
  app->add_option("--weight-decay", f.opt.weight_decay,
                  "L2 penalty (adamw: decoupled; default 0, adamw 0.01)")
      ->check(non_negative_real());
  app->add_option("--momentum", f.opt.momentum, "sgd, rmsprop: momentum")
      ->check(non_negative_real());
  app->add_option("--dampening", f.opt.dampening, "sgd: dampening of the momentum, in [0, 1]")
      ->check(non_negative_real());
  app->add_flag("--nesterov", f.opt.nesterov, "sgd: Nesterov momentum");
  app->add_option("--betas", f.betas, "adam, adamw: betas, as B1,B2");
  app->add_option("--eps", f.opt.eps, "adam, adamw, rmsprop (1e-8), adagrad (1e-10): epsilon")
      ->check(non_negative_real());
  app->add_flag("--amsgrad", f.opt.amsgrad, "adam, adamw: keep the maximum of v (AMSGrad)");
  app->add_option("--alpha", f.opt.alpha, "rmsprop: smoothing constant (default 0.99)")
      ->check(non_negative_real());
  app->add_flag("--centered", f.opt.centered, "rmsprop: divide by the centered variance");
  app->add_option("--lr-decay", f.opt.lr_decay, "adagrad: learning rate decay")
      ->check(non_negative_real());
  app->add_option("--initial-accumulator-value", f.opt.initial_accumulator_value,
                  "adagrad: starting value of the sum of squares")
      ->check(non_negative_real());
  app->add_option("--loss", f.loss,
                  "training: cross-entropy ((N, classes) logits) | mse | bce-with-logits (any "
                  "output, targets of its shape) | pixel-cross-entropy (N x K x H x W logits, "
                  "N x H x W class targets); default: pixel-cross-entropy for a model whose "
                  "output is K x H x W (a segmentation model), cross-entropy otherwise")
      ->check(CLI::IsMember(loss_names()));
  app->add_option("--checkpoint", f.checkpoint,
                  "training: which layer inputs to keep, the rest is recomputed in backward: "
                  "none | every:K | sqrt | budget:BYTES (e.g. budget:2G) | layers:NAME[,NAME]");
  app->add_option("--input", f.input,
                  "CxHxW: run the model on inputs of this size where its layers allow it "
                  "(default: its standard input)");
  app->add_option("--memory-limit", f.memory_limit,
                  "refuse to start when the plan needs more than this (bytes, or with K, M, G, "
                  "KiB, MiB, GiB), and say what would fit");
  app->add_option("--threads", f.threads, "compute threads (default: all cores)")
      ->check(whole_number(1, kMaxThreads));
  app->add_flag("--json", f.json, "print one JSON object on stdout");
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
  parse_checkpoint_policy(f.checkpoint);
  if (!f.memory_limit.empty()) {
    f.memory_limit_bytes = parse_byte_size(f.memory_limit, "--memory-limit");
  }
  try {
    parse_strategy(f.reuse);
  } catch (const Error& e) {
    throw Error("--reuse " + e.marked());
  }
  set_threads(f.threads);
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

namespace {

Graph build_model(CommonFlags& f, bool training) {
  if (f.model.empty() == f.onnx.empty()) {
    throw Error("give the model with --model NAME (" + model_help() + ") or --onnx FILE, not " +
                (f.model.empty() ? "neither" : "both"));
  }
  if (!f.onnx.empty()) {
    if (!f.input.empty()) {
      throw Error("--input applies to --model; an ONNX file fixes its own input size");
    }
    ImportedModel m = import_onnx(f.onnx);
    // Inference runs the eval-mode network the exporter folded; training would not.
    if (training && !m.batch_norm_warning.empty()) {
      std::fprintf(stderr, "cnnmem: warning: %s: %s\n", f.onnx.c_str(),
                   m.batch_norm_warning.c_str());
    }
    f.onnx_weights = std::move(m.weights);
    f.model = m.graph.name();
    return std::move(m.graph);
  }
  return make_model(
      f.model, f.input.empty() ? std::nullopt : std::optional<Dims>(parse_input_dims(f.input)));
}

}  // namespace

Graph model_from(CommonFlags& f, bool training) {
  Graph g = build_model(f, training);
  if (f.loss.empty()) f.loss = default_loss_name(g.nodes().back().dims);
  return g;
}

void init_or_load_weights(Executor& ex, const CommonFlags& f, uint64_t seed) {
  if (f.onnx_weights.empty()) {
    ex.init_weights(seed);
    return;
  }
  ex.load_weights(f.onnx_weights, f.onnx);
  ex.set_seed(seed);
}

void set_threads(int threads) { omp_set_num_threads(threads > 0 ? threads : omp_get_num_procs()); }

void print_json(const nlohmann::json& j) { std::cout << j.dump(2) << std::endl; }

}  // namespace cnnmem
