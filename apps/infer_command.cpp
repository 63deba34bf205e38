// cnnmem infer: run inference passes with a chosen buffer-reuse strategy and report their memory
// (predicted and measured, with the lower bound no planner can beat) and their speed. Scripts can
// feed an input and read the output (and any kept tensor) through safetensors files.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <sstream>

#include "apps/cli_common.h"
#include "apps/memory_limit.h"
#include "apps/output_flags.h"
#include "apps/output_path.h"
#include "apps/step_flags.h"
#include "framework/error.h"
#include "io/safetensors.h"
#include "models/onnx_import.h"
#include "models/zoo.h"

namespace cnnmem {
namespace {

struct InferFlags {
  std::string model, weights, input_tensor, output_tensor, keep;
  std::string reuse = "greedy-by-size";
  std::string memory_limit;
  std::string onnx;   // --onnx FILE
  std::string input;  // --input CxHxW
  int64_t batch = 1;
  int64_t repeat = 10;
  int64_t seed = 1;
  int threads = 0;
  bool no_inplace = false, poison = false, json = false;
  bool arena_guard = kArenaGuardDefault;
  OutputFlags out;
};

// The names of a comma-separated list, each once, in order of first mention.
std::vector<std::string> split_names(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream s(list);
  for (std::string item; std::getline(s, item, ',');) {
    if (!item.empty() && std::find(out.begin(), out.end(), item) == out.end()) {
      out.push_back(item);
    }
  }
  return out;
}

void fill_input(Executor& ex, const Graph& graph, const InferFlags& f) {
  const int64_t n = dims_product(graph.input_dims()) * f.batch;
  float* dst = ex.staging_images();
  if (f.input_tensor.empty()) {
    std::mt19937_64 rng(static_cast<uint64_t>(f.seed));
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(rng() >> 40) * 0x1.0p-24f;
    return;
  }
  const SafetensorsFile file = read_safetensors(f.input_tensor);
  const NamedTensor* t = find_tensor(file, "input");
  Dims want = {f.batch};
  for (int64_t d : graph.input_dims()) want.push_back(d);
  if (t == nullptr) {
    throw Error(f.input_tensor + ": no tensor named \"input\"; write the images as \"input\" " +
                "with shape " + dims_str(want));
  }
  if (t->shape != want) {
    throw Error(f.input_tensor + ": tensor \"input\" has shape " + dims_str(t->shape) + ", model " +
                graph.name() + " at --batch " + std::to_string(f.batch) + " needs " +
                dims_str(want));
  }
  std::copy(t->data.begin(), t->data.end(), dst);
}

// --model or --onnx (whose weights go to `weights`).
Graph infer_model(const InferFlags& f, std::vector<NamedTensor>& weights) {
  if (f.model.empty() == f.onnx.empty()) {
    throw Error("give the model with --model NAME (" + model_help() + ") or --onnx FILE, not " +
                (f.model.empty() ? "neither" : "both"));
  }
  if (f.onnx.empty()) {
    return make_model(
        f.model, f.input.empty() ? std::nullopt : std::optional<Dims>(parse_input_dims(f.input)));
  }
  if (!f.input.empty()) {
    throw Error("--input applies to --model; an ONNX file fixes its own input size");
  }
  ImportedModel m = import_onnx(f.onnx);
  weights = std::move(m.weights);
  return std::move(m.graph);
}

ExecutorOptions infer_options(const InferFlags& f) {
  ExecutorOptions eo;
  eo.training = false;
  eo.batch = f.batch;
  try {
    eo.strategy = parse_strategy(f.reuse);
  } catch (const Error& e) {
    throw Error("--reuse " + e.marked());
  }
  eo.in_place = !f.no_inplace;
  eo.keep = split_names(f.keep);
  eo.poison = f.poison;
  eo.guard = f.arena_guard;
  return eo;
}

std::unique_ptr<Executor> plan_inference(const Graph& graph, const ExecutorOptions& eo) {
  try {
    return std::make_unique<Executor>(graph, eo, nullptr);
  } catch (const Error& e) {
    if (eo.strategy != Strategy::kPingPong || eo.keep.empty()) throw;
    // A kept tensor stays live beside the chain, so the pass is no longer a chain.
    throw Error(e.marked() + " (--keep holds tensors alive beside the chain)");
  }
}

int run_infer(const InferFlags& f) {
  set_threads(f.threads);
  if (!f.output_tensor.empty()) check_output_path("--output-tensor", f.output_tensor);
  check_output_flags(f.out, /*measured=*/true);
  std::vector<NamedTensor> onnx_weights;
  const Graph graph = infer_model(f, onnx_weights);
  const ExecutorOptions eo = infer_options(f);
  const std::unique_ptr<Executor> plan = plan_inference(graph, eo);
  Executor& ex = *plan;
  if (!f.memory_limit.empty()) {
    enforce_memory_limit(parse_byte_size(f.memory_limit, "--memory-limit"), f.memory_limit, graph,
                         eo, nullptr, "", ex);
  }
  OutsideArena outside;
  const int64_t heap0 = heap_in_use_bytes();
  ex.bind();
  if (f.weights.empty() && !onnx_weights.empty()) {
    ex.load_weights(onnx_weights, f.onnx);
  } else if (f.weights.empty()) {
    ex.init_weights(static_cast<uint64_t>(f.seed));
  } else {
    ex.load_weights(read_safetensors(f.weights).tensors, f.weights);
  }
  outside.heap_setup_bytes = heap_in_use_bytes() - heap0 - ex.predicted().arena_bytes;
  fill_input(ex, graph, f);
  const StepRecording recording(ex, f.out.any());  // keeps the last pass
  ex.run_step();                                   // warm-up, and the pass whose output is written
  std::vector<NamedTensor> out = {ex.read_tensor("output")};
  for (const std::string& k : eo.keep) out.push_back(ex.read_tensor(k));
  const int64_t before = heap_in_use_bytes();
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < f.repeat; ++i) ex.run_step();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  outside.heap_growth_bytes = f.repeat > 0 ? heap_in_use_bytes() - before : 0;
  outside.rss_peak_bytes = rss_peak_bytes();
  const double ms_per_image =
      f.repeat > 0 ? 1e3 * seconds / static_cast<double>(f.repeat * f.batch) : 0;
  if (!f.output_tensor.empty()) {
    write_safetensors(f.output_tensor, out, {{"model", graph.name()}, {"reuse", f.reuse}});
  }

  ReportHeader h;
  h.model = graph.name();
  h.mode = "infer";
  h.optimizer = "none";
  h.reuse = f.reuse;
  h.batch = f.batch;
  h.params = ex.param_count();
  const Textbook tb = textbook_estimate(graph, false, f.batch, 0);
  write_step_outputs(f.out, h, graph, ex, tb, recording, true, outside, f.json);
  if (f.json) {
    nlohmann::json j = memory_json(h, ex, tb, true, outside);
    j["in_place"] = eo.in_place;
    j["ms_per_image"] = ms_per_image;
    j["repeat"] = f.repeat;
    j["output_shape"] = out[0].shape;
    j["kept"] = eo.keep;
    print_json(j);
  } else {
    std::printf("%s", memory_text(h, graph, ex, tb, true, outside).c_str());
    std::printf("\nin-place ReLU: %s; %.3f ms per image over %lld passes\n",
                eo.in_place ? "on" : "off", ms_per_image, static_cast<long long>(f.repeat));
  }
  return 0;
}

}  // namespace

Command add_infer_command(CLI::App& app) {
  auto f = std::make_shared<InferFlags>();
  CLI::App* c = app.add_subcommand("infer", "run inference passes and report their memory");
  c->add_option("--model", f->model, model_help());
  c->add_option("--onnx", f->onnx, "the model, with its weights, from an ONNX file")
      ->check(CLI::ExistingFile);
  c->add_option("--weights", f->weights, "safetensors file with PyTorch names (default: random)")
      ->check(CLI::ExistingFile);
  c->add_option("--batch", f->batch, "images per pass")->check(whole_number(1));
  c->add_option("--reuse", f->reuse, "buffer planner: " + strategy_names());
  c->add_flag("--no-inplace", f->no_inplace, "give every layer its own output buffer");
  c->add_option("--keep", f->keep, "layer outputs to keep readable after the pass: NAME[,NAME]");
  c->add_flag("--poison", f->poison, "fill released buffers with NaN (catches reads after reuse)");
  add_arena_guard_flag(c, f->arena_guard);
  c->add_option("--input-tensor", f->input_tensor, "safetensors with a tensor \"input\" (NCHW)")
      ->check(CLI::ExistingFile);
  c->add_option("--output-tensor", f->output_tensor,
                "write \"output\" and the kept tensors to this safetensors file");
  c->add_option("--repeat", f->repeat, "timed passes after the first")->check(whole_number(0));
  c->add_option("--seed", f->seed, "seed of the random weights and input")->check(whole_number(0));
  c->add_option("--input", f->input,
                "CxHxW: run the model on inputs of this size where its layers allow it");
  c->add_option("--memory-limit", f->memory_limit,
                "refuse to start when the plan needs more than this (bytes, or with K, M, G, KiB, "
                "MiB, GiB), and say what would fit");
  c->add_option("--threads", f->threads, "compute threads (default: all cores)")
      ->check(whole_number(1, kMaxThreads));
  c->add_flag("--json", f->json, "print one JSON object on stdout");
  add_output_flags(c, f->out);
  return {c, [f] { return run_infer(*f); }};
}

}  // namespace cnnmem
