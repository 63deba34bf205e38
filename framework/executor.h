// The executor: compiles a Graph into a step (training: load, forward, loss, backward, update;
// inference: load, forward, output), plans it, binds it to an arena and runs it.
//
// Life cycle, in this order:
//   Executor ex(graph, options, optimizer);   // plan: schedule, lifetimes, offsets, prediction
//   ex.predicted();                          //   available now; nothing allocated
//   ex.bind();                               // bind: reserve the arena, compile primitives
//   ex.init_weights(seed) / ex.load_weights(file);
//   ex.run_step();                           // run: compute only, no allocation
//   ex.measured();                           //   what the arena counted
// A new batch size or input shape means a new Executor (an explicit re-plan).
//
// Not here: epochs, data sets and evaluation (framework/trainer.h).
#pragma once

#include <cstdint>
#include <dnnl.hpp>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "framework/arena.h"
#include "framework/graph.h"
#include "framework/memory_stats.h"
#include "framework/planner.h"
#include "framework/schedule.h"
#include "framework/step_builder.h"
#include "io/safetensors.h"

namespace cnnmem {

class Optimizer;
class SoftmaxCrossEntropy;

struct ExecutorOptions {
  bool training = true;
  int64_t batch = 1;
  Strategy strategy = Strategy::kGreedyBySize;
  // Apply each parameter's update as soon as its gradient is complete, and free that gradient:
  // gradient memory falls from every parameter's to the largest layer's.
  bool fuse_update = false;
  // > 0: scale gradients so that their global L2 norm is at most this (PyTorch's
  // clip_grad_norm_). Needs every gradient before any update, so it excludes fuse_update.
  double clip_grad_norm = 0;
  // ReLU writes over its input where that is legal (off: every layer gets its own output).
  bool in_place = true;
  // Inference: layer outputs (by layer name) kept alive and readable after the pass.
  std::vector<std::string> keep;
  // Fill released buffers with NaN, so a read after reuse shows in the output.
  bool poison = false;
};

// Fills the staging input buffers; the load op calls it at the start of every step.
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual void wait_ready() = 0;     // the next batch is in the staging buffers when this returns
  virtual void prefetch_next() = 0;  // start preparing the batch after it
};

class Executor {
 public:
  Executor(const Graph& graph, const ExecutorOptions& options, Optimizer* optimizer);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  const ExecutorOptions& options() const { return options_; }
  const Schedule& schedule() const { return schedule_; }
  const std::vector<Lifetime>& lifetimes() const { return lifetimes_; }
  const std::vector<int64_t>& offsets() const { return offsets_; }
  const MemoryStats& predicted() const { return predicted_; }
  const std::vector<ParamBinding>& params() const { return params_; }
  int64_t param_count() const;
  // oneDNN implementation name of every primitive call, e.g. "conv1.forward: jit:avx512_core".
  std::vector<std::string> implementations() const;

  void bind();
  bool bound() const { return arena_ != nullptr; }

  void init_weights(uint64_t seed);  // PyTorch's default uniform ranges
  void load_weights(const SafetensorsFile& file, const std::string& source);
  std::vector<NamedTensor> weights() const;    // PyTorch names, shapes and layouts
  std::vector<NamedTensor> gradients() const;  // of the last training step, same names

  // Staging input buffers: (N, C, H, W) floats and N int32 labels.
  float* staging_images() const;
  int32_t* staging_labels() const;
  void set_batch_source(BatchSource* source) { source_ = source; }
  void set_valid_rows(int64_t rows);

  void run_step();              // every op, with the arena's accounting
  void run_forward();           // load, forward and loss forward only (evaluation; no accounting)
  float loss() const;           // of the last run
  int64_t correct() const;      // argmax == label among the valid rows of the last run
  const float* logits() const;  // (N, classes), plain, after the last run
  // "output" (the logits) or a tensor named in options().keep, in plain NCHW / NC layout.
  NamedTensor read_tensor(const std::string& name) const;

  MemoryStats measured() const { return measured_; }
  int64_t steps_run() const { return steps_run_; }

 private:
  struct BoundCall {
    dnnl::primitive prim;
    std::unordered_map<int, dnnl::memory> args;
  };
  void plan(const Graph& graph);
  void plan_clip_grad_norm(StepBuilder& b);
  void fuse_conv_relu(const Graph& graph);
  void run_op(size_t i);
  void write_param(const ParamBinding& p, const float* plain);
  void read_param(const ParamBinding& p, BufferId id, float* plain) const;
  std::vector<NamedTensor> read_params(bool grads) const;

  ExecutorOptions options_;
  Optimizer* optimizer_;
  std::unique_ptr<SoftmaxCrossEntropy> loss_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  Schedule schedule_;
  std::vector<Lifetime> lifetimes_;
  std::vector<int64_t> offsets_;
  MemoryStats predicted_;
  std::vector<ParamBinding> params_;
  BufferId images_ = kNoBuffer, labels_ = kNoBuffer, staging_images_ = kNoBuffer,
           staging_labels_ = kNoBuffer, result_ = kNoBuffer;
  TensorRef logits_;
  std::vector<std::pair<std::string, TensorRef>> kept_;
  size_t forward_end_ = 0;  // ops [0, forward_end_) are load, forward and loss forward

  std::unique_ptr<Arena> arena_;
  BufferTable table_;
  std::vector<std::vector<BoundCall>> bound_;
  std::vector<std::vector<BufferId>> starts_, ends_;
  BatchSource* source_ = nullptr;
  MemoryStats measured_;
  int64_t steps_run_ = 0;
};

}  // namespace cnnmem
