// The step compiler: turns a Graph into the ops and buffers of one step, before any byte exists.
// Training: load, forward, loss, backward (gradients of shared tensors summed), gradient
// clipping, optimizer updates (after backward, or fused into it); inference: load, forward,
// output. Also fuses conv -> ReLU pairs and marks the tensors the caller asked to keep.
//
// Usage:
//   StepContext ctx;                                     // what ops read at run time
//   CompiledStep s = compile_step(graph, options, optimizer, loss, engine, &ctx);
//   s.schedule;                                          // ops and buffers, for the planner
// Not here: checkpointing (framework/checkpoint_units.h), offsets (framework/buffer_layout.h),
// running (framework/executor.h).
#pragma once

#include <cstdint>
#include <dnnl.hpp>
#include <string>
#include <utility>
#include <vector>

#include "framework/checkpoint.h"
#include "framework/graph.h"
#include "framework/loss.h"
#include "framework/planner.h"
#include "framework/schedule.h"
#include "framework/step_builder.h"

namespace cnnmem {

class Optimizer;

#ifdef CNNMEM_ARENA_GUARD
inline constexpr bool kArenaGuardDefault = true;
#else
inline constexpr bool kArenaGuardDefault = false;
#endif

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
  // Training: producers write straight into their slice of a channel concatenation's buffer where
  // oneDNN's jit kernels allow it (framework/concat_views.h; off: every concatenation copies).
  bool in_place_concat = true;
  // Inference: layer outputs (by layer name) kept alive and readable after the pass.
  std::vector<std::string> keep;
  // Fill released buffers with NaN, so a read after reuse shows in the output.
  bool poison = false;
  // Arena guard mode (framework/arena.h): canaries after every buffer, checked after every op;
  // on by default in builds configured with CNNMEM_ARENA_GUARD (Debug and the sanitizer build).
  bool guard = kArenaGuardDefault;
  // Training: which layer inputs to keep and which to recompute (framework/checkpoint.h).
  CheckpointPolicy checkpoint;
};

// Fills the staging input buffers; the load op calls it at the start of every step.
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual void wait_ready() = 0;     // the next batch is in the staging buffers when this returns
  virtual void prefetch_next() = 0;  // start preparing the batch after it
};

// What the compiled ops read at run time; owned by the executor, which must outlive its ops.
struct StepContext {
  BatchSource* source = nullptr;  // fills the staging buffers (null: they are filled by hand)
  int64_t steps_run = 0;          // dropout masks follow the step number...
  uint64_t dropout_seed = 0;      // ...and this seed
};

struct CompiledStep {
  Schedule schedule;
  std::vector<ParamBinding> params;
  std::vector<StateBinding> states;
  BufferId images = kNoBuffer, labels = kNoBuffer, staging_images = kNoBuffer,
           staging_labels = kNoBuffer, result = kNoBuffer;
  TensorRef output;    // the model's output (the logits, or any tensor in inference)
  TargetShape target;  // training: one sample's target, as the loss asked for it
  std::vector<std::pair<std::string, TensorRef>> kept;  // inference: options.keep, by name
  size_t forward_end = 0;        // ops [0, forward_end) are load, forward and loss forward
  bool forward_differs = false;  // a layer's training forward is not its inference forward
  // Training, for checkpointing: each node's output and its forward and backward ops
  // ([begin, end) in schedule.ops), and the buffers checkpointing never copies.
  std::vector<TensorRef> values;
  std::vector<std::pair<size_t, size_t>> node_fwd, node_bwd;
  std::vector<BufferId> checkpoint_shared;
};

// Throws Error for a model or options that cannot make a step (e.g. an unknown --keep name) and
// InternalError when oneDNN refuses a layer's shapes.
CompiledStep compile_step(const Graph& graph, const ExecutorOptions& options, Optimizer* optimizer,
                          Loss* loss, const dnnl::engine& engine, StepContext* context);

}  // namespace cnnmem
