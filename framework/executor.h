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
// The step is compiled by framework/step_compiler.h and checkpointed by
// framework/checkpoint_units.h; its buffers are placed by framework/buffer_layout.h. Host tensor
// I/O (weights, state, optimizer state) is in executor_io.cpp.
// Not here: epochs, data sets and evaluation (train/trainer.h).
#pragma once

#include <cstdint>
#include <dnnl.hpp>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "framework/arena.h"
#include "framework/buffer_layout.h"
#include "framework/checkpoint.h"
#include "framework/checkpoint_units.h"
#include "framework/graph.h"
#include "framework/loss.h"
#include "framework/memory_stats.h"
#include "framework/planner.h"
#include "framework/schedule.h"
#include "framework/step_builder.h"
#include "framework/step_compiler.h"
#include "framework/tensor.h"

namespace cnnmem {

class Optimizer;

// Sees every op of a measured step as it runs (traces, timelines). Called on the step's thread,
// after the op's buffers are acquired and the op ran; must not allocate if the step is to stay
// allocation-free (preallocate, e.g. one record per op).
class OpObserver {
 public:
  virtual ~OpObserver() = default;
  // `live` is the arena's live bytes per tag while the op ran (its inputs, outputs and every
  // persistent buffer); `begin`/`end` are steady-clock seconds since the step began.
  virtual void on_op(int op_index, const Op& op, const TagBytes& live, double begin,
                     double end) = 0;
  // After the last op: the step's measured numbers.
  virtual void on_step_end(const MemoryStats& measured) = 0;
};

class Executor {
 public:
  // Training needs an optimizer and a loss (e.g. layers/softmax_cross_entropy.h); inference
  // takes neither.
  Executor(const Graph& graph, const ExecutorOptions& options, Optimizer* optimizer,
           std::unique_ptr<Loss> loss = nullptr);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Throws Error when `batch` is not positive or so large that byte sizes could overflow.
  static void check_batch(const Graph& graph, int64_t batch);

  const ExecutorOptions& options() const { return options_; }
  // The graph this executor was planned from (it must outlive the executor).
  const Graph& graph() const { return *graph_; }
  // BatchNorm or dropout: evaluation needs an inference pass, not the training forward ops.
  bool forward_differs_in_training() const { return step_.forward_differs; }
  const Schedule& schedule() const { return step_.schedule; }
  const std::vector<Lifetime>& lifetimes() const { return lifetimes_; }
  const std::vector<int64_t>& offsets() const { return offsets_; }
  const MemoryStats& predicted() const { return predicted_; }
  const std::vector<ParamBinding>& params() const { return step_.params; }
  int64_t param_count() const;
  // oneDNN implementation name of every primitive call, e.g. "conv1.forward: jit:avx512_core".
  std::vector<std::string> implementations() const;

  void bind();
  bool bound() const { return arena_ != nullptr; }

  void init_weights(uint64_t seed);  // PyTorch's default uniform ranges; also set_seed(seed)
  // Seeds the dropout masks (a mask is a function of the seed, the step and the layer).
  void set_seed(uint64_t seed);
  // `source` names where the tensors came from, in errors (a file name).
  void load_weights(const std::vector<NamedTensor>& tensors, const std::string& source);
  // Parameters, then state tensors (BatchNorm running statistics), by PyTorch name, shape and
  // layout: what a PyTorch state_dict holds. load_weights expects the same set.
  std::vector<NamedTensor> weights() const;
  // Non-trainable persistent tensors, registered through StepBuilder::state(); plan() copies
  // them from its StepBuilder next to the parameters (`states_ = b.states();`).
  const std::vector<StateBinding>& states() const { return step_.states; }
  std::vector<NamedTensor> gradients() const;  // of the last training step, same names
  // Training: every optimizer_state buffer ("adam.m.features.0.weight"), in its parameter's
  // plain PyTorch shape, in schedule order; with optimizer_step(), what a resumed run needs to
  // update exactly as an uninterrupted one. load_optimizer_state expects the same set.
  std::vector<NamedTensor> optimizer_state() const;
  void load_optimizer_state(const std::vector<NamedTensor>& tensors, const std::string& source);
  int64_t optimizer_step() const;  // steps the optimizer has begun (0 before the first)
  void set_optimizer_step(int64_t step);
  // Restores the step number that dropout masks depend on (steps_run()), for a resumed run.
  void set_steps_run(int64_t steps) { context_.steps_run = steps; }

  // Staging input buffers: (N, C, H, W) floats and, in training, N targets (target(): int32
  // class indices, per sample or per pixel, or floats shaped like the output).
  float* staging_images() const;
  int32_t* staging_labels() const;       // class targets; null in inference
  float* staging_dense_targets() const;  // dense targets; null in inference
  const TargetShape& target() const { return step_.target; }
  void set_batch_source(BatchSource* source) { context_.source = source; }
  void set_valid_rows(int64_t rows);
  // Every op of the following run_step calls goes to `observer` (null: none). Not owned.
  void set_observer(OpObserver* observer) { observer_ = observer; }

  void run_step();              // every op, with the arena's accounting
  void run_forward();           // load, forward and loss forward only (evaluation; no accounting)
  float loss() const;           // of the last run
  int64_t correct() const;      // argmax == label among the valid rows of the last run
  const float* logits() const;  // the output after the last run (plain (N, classes) logits)
  // "output" (the logits) or a tensor named in options().keep, in plain NCHW / NC layout.
  NamedTensor read_tensor(const std::string& name) const;

  // Training: the units checkpointing works with (of the schedule before any rewrite), the
  // buffers it never copies, and what the policy chose.
  const std::vector<CheckpointUnit>& checkpoint_units() const { return units_; }
  const std::vector<BufferId>& checkpoint_shared() const { return step_.checkpoint_shared; }
  const CheckpointInfo& checkpoint() const { return checkpoint_; }

  MemoryStats measured() const { return measured_; }
  int64_t steps_run() const { return context_.steps_run; }

 private:
  struct BoundCall {
    dnnl::primitive prim;
    std::unordered_map<int, dnnl::memory> args;
  };
  void run_op(size_t i);
  // Rows [first, first + count) of the outermost dimension, from plain (PyTorch) layout.
  void write_param(const ParamBinding& p, const float* plain, int64_t first, int64_t count);
  void read_param(const ParamBinding& p, BufferId id, float* plain) const;
  std::vector<NamedTensor> read_params(bool grads) const;
  void write_state(const StateBinding& s, const float* plain);
  NamedTensor read_state(const StateBinding& s) const;
  // The parameter an optimizer_state buffer ("<optimizer>.<state>.<param>") belongs to.
  const ParamBinding& param_of_state(const Buffer& buffer) const;

  ExecutorOptions options_;
  const Graph* graph_;
  Optimizer* optimizer_;
  std::unique_ptr<Loss> loss_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  StepContext context_;  // read by the compiled ops at run time
  CompiledStep step_;
  std::vector<Lifetime> lifetimes_;
  std::vector<int64_t> offsets_;
  MemoryStats predicted_;
  std::vector<CheckpointUnit> units_;
  CheckpointInfo checkpoint_;

  std::unique_ptr<Arena> arena_;
  BufferTable table_;
  std::vector<std::unique_ptr<BufferTable>> op_tables_;  // per op with aliases: its own view
  std::vector<std::vector<BoundCall>> bound_;
  std::vector<std::vector<BufferId>> starts_, ends_;
  OpObserver* observer_ = nullptr;
  MemoryStats measured_;
};

}  // namespace cnnmem
