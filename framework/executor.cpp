#include "framework/executor.h"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstring>

#include "framework/alloc_probe.h"
#include "framework/error.h"
#include "framework/layer.h"
#include "framework/loss.h"
#include "framework/optimizer.h"

namespace cnnmem {

std::atomic<bool> g_in_dnnl_execute{false};

using dnnl::memory;

Executor::Executor(const Graph& graph, const ExecutorOptions& options, Optimizer* optimizer,
                   std::unique_ptr<Loss> loss)
    : options_(options),
      graph_(&graph),
      optimizer_(optimizer),
      loss_(std::move(loss)),
      engine_(dnnl::engine::kind::cpu, 0),
      stream_(engine_) {
  check_batch(graph, options_.batch);
  if (options_.training && optimizer_ == nullptr) {
    throw InternalError("a training step needs an optimizer");
  }
  if (options_.training && loss_ == nullptr) throw InternalError("a training step needs a loss");
  if (!options_.training) loss_.reset();  // inference computes no loss
  if (options_.fuse_update && options_.clip_grad_norm > 0) {
    throw Error(setting("fuse_update", "fusing the update") + " cannot be combined with " +
                setting("clip_grad_norm", "gradient clipping") +
                ": clipping needs the global norm of every gradient before the first update; drop "
                "one of them");
  }
  if (!options_.training && options_.checkpoint.kind != CheckpointPolicy::Kind::kNone) {
    throw Error(setting("checkpoint", "checkpoint policy") + " " + options_.checkpoint.text +
                ": checkpointing applies to training; an inference pass keeps nothing for "
                "backward (drop " +
                setting("checkpoint", "the policy") + " or use " +
                setting("training", "a training step", "train") + ")");
  }
  if (!(options_.clip_grad_norm >= 0)) {
    throw Error(setting("clip_grad_norm") + " must be a positive number (0 = off), got " +
                std::to_string(options_.clip_grad_norm));
  }
  step_ = compile_step(graph, options_, optimizer_, loss_.get(), engine_, &context_);
  if (options_.training) {
    units_ = find_checkpoint_units(graph, step_, &checkpoint_.forward_flops);
    apply_checkpoint_policy(options_.checkpoint, graph, units_, step_.checkpoint_shared,
                            &step_.schedule, &checkpoint_);
  }
  lifetimes_ = step_.schedule.lifetimes();
  BufferLayout layout = layout_buffers(step_.schedule, lifetimes_, options_.strategy);
  offsets_ = std::move(layout.offsets);
  predicted_ = predict_memory(step_.schedule, lifetimes_, layout.arena_bytes);

  // Per op: the transient buffers it acquires first and releases last.
  starts_.assign(step_.schedule.ops.size(), {});
  ends_.assign(step_.schedule.ops.size(), {});
  for (size_t i = 0; i < step_.schedule.buffers.size(); ++i) {
    const Lifetime& l = lifetimes_[i];
    if (step_.schedule.buffers[i].persistent || l.last < l.first) continue;
    starts_[static_cast<size_t>(l.first)].push_back(static_cast<BufferId>(i));
    ends_[static_cast<size_t>(l.last)].push_back(static_cast<BufferId>(i));
  }
}

Executor::~Executor() = default;

void Executor::check_batch(const Graph& graph, int64_t batch) {
  if (batch <= 0) {
    throw Error(setting("batch") + " must be a positive number of images, got " +
                std::to_string(batch));
  }
  // Sizes are int64 bytes: refuse a batch whose largest feature map alone could overflow them
  // (blocked layouts pad channels up to 16x, so leave that much room).
  int64_t largest = 1;
  for (const Node& node : graph.nodes()) largest = std::max(largest, dims_product(node.dims));
  constexpr int64_t kMaxBytes = int64_t{1} << 58;
  const int64_t most = kMaxBytes / (16 * 4 * largest);
  if (batch > most) {
    throw Error(setting("batch") + " " + std::to_string(batch) + ": model " + graph.name() +
                " would need feature maps beyond 2^58 bytes; use a batch below " +
                std::to_string(most));
  }
}

int64_t Executor::param_count() const {
  int64_t total = 0;
  for (const ParamBinding& p : step_.params) total += dims_product(p.torch_shape);
  return total;
}

std::vector<std::string> Executor::implementations() const {
  std::vector<std::string> out;
  for (const Op& op : step_.schedule.ops) {
    for (const DnnlCall& c : op.calls) out.push_back(op.name + " " + c.what + ": " + c.impl);
  }
  return out;
}

void Executor::bind() {
  CNNMEM_CHECK(!bound());
  if (options_.guard) {
    std::vector<int64_t> ends(step_.schedule.buffers.size());
    for (size_t i = 0; i < ends.size(); ++i) {
      ends[i] = offsets_[i] + step_.schedule.buffers[i].bytes_aligned;
    }
    arena_ = std::make_unique<Arena>(predicted_.arena_bytes, step_.schedule.buffers.size(), ends);
  } else {
    arena_ = std::make_unique<Arena>(predicted_.arena_bytes, step_.schedule.buffers.size());
  }
  arena_->set_poison(options_.poison);
  table_.resize(step_.schedule.buffers.size());
  for (size_t i = 0; i < step_.schedule.buffers.size(); ++i) {
    const Buffer& buf = step_.schedule.buffers[i];
    const auto id = static_cast<BufferId>(i);
    if (buf.persistent) {
      table_.set(id, arena_->acquire(id, offsets_[i], buf));
    } else {
      table_.set(id, arena_->address(offsets_[i]));
    }
  }
  op_tables_.clear();
  op_tables_.resize(step_.schedule.ops.size());
  for (size_t i = 0; i < step_.schedule.ops.size(); ++i) {
    const Op& op = step_.schedule.ops[i];
    if (op.aliases.empty()) continue;
    op_tables_[i] = std::make_unique<BufferTable>(table_);
    for (const auto& [orig, copy] : op.aliases) op_tables_[i]->set(orig, table_.bytes(copy));
  }
  bound_.assign(step_.schedule.ops.size(), {});
  for (size_t i = 0; i < step_.schedule.ops.size(); ++i) {
    for (const DnnlCall& c : step_.schedule.ops[i].calls) {
      BoundCall bc{c.make(), {}};
      for (const auto& [arg, ref] : c.args) {
        bc.args.emplace(arg, memory(ref.md, engine_, table_.bytes(ref.buffer) + ref.offset));
      }
      bound_[i].push_back(std::move(bc));
    }
  }
}

void Executor::run_op(size_t i) {
  for (BoundCall& c : bound_[i]) {
    g_in_dnnl_execute.store(true, std::memory_order_relaxed);
    c.prim.execute(stream_, c.args);
    g_in_dnnl_execute.store(false, std::memory_order_relaxed);
  }
  const Op& op = step_.schedule.ops[i];
  if (op.custom) op.custom(op_tables_[i] ? *op_tables_[i] : table_);
}

void Executor::run_step() {
  CNNMEM_CHECK_MSG(bound(), "run_step before bind");
  if (optimizer_ != nullptr) optimizer_->begin_step();
  arena_->begin_step();
  using Clock = std::chrono::steady_clock;
  const Clock::time_point t0 = Clock::now();
  const auto since = [t0](Clock::time_point t) {
    return std::chrono::duration<double>(t - t0).count();
  };
  for (size_t i = 0; i < step_.schedule.ops.size(); ++i) {
    for (BufferId id : starts_[i]) {
      arena_->acquire(id, offsets_[static_cast<size_t>(id)],
                      step_.schedule.buffers[static_cast<size_t>(id)]);
    }
    arena_->observe(static_cast<int>(i), step_.schedule.ops[i]);
    if (observer_ != nullptr) {
      // The op's time includes waiting for oneDNN's stream, so that it is the op's own.
      const Clock::time_point begin = Clock::now();
      run_op(i);
      stream_.wait();
      observer_->on_op(static_cast<int>(i), step_.schedule.ops[i], arena_->live_by_tag(),
                       since(begin), since(Clock::now()));
    } else {
      run_op(i);
    }
    if (arena_->guarded()) {
      stream_.wait();
      arena_->check_guards(step_.schedule.ops[i]);
    }
    // What the last op hands back (the output, kept tensors) stays readable after the step.
    const bool last = i + 1 == step_.schedule.ops.size();
    for (BufferId id : ends_[i]) {
      arena_->release(id, step_.schedule.buffers[static_cast<size_t>(id)], /*poison=*/!last);
    }
  }
  stream_.wait();
  // Copy the step's numbers only when they are new (a copy of the op name could allocate).
  if (context_.steps_run == 0 || arena_->peak_bytes() > measured_.peak_bytes) {
    measured_ = arena_->stats();
  }
  if (observer_ != nullptr) observer_->on_step_end(arena_->stats());
  ++context_.steps_run;
}

void Executor::run_forward() {
  CNNMEM_CHECK_MSG(bound(), "run_forward before bind");
  for (size_t i = 0; i < step_.forward_end; ++i) run_op(i);
  stream_.wait();
}

void Executor::set_valid_rows(int64_t rows) {
  if (loss_) loss_->set_valid_rows(rows);
}

float Executor::loss() const {
  CNNMEM_CHECK_MSG(step_.result != kNoBuffer, "an inference pass has no loss");
  return table_.f32(step_.result)[0];
}
int64_t Executor::correct() const {
  CNNMEM_CHECK_MSG(step_.result != kNoBuffer, "an inference pass has no labels");
  return static_cast<int64_t>(table_.f32(step_.result)[1]);
}
const float* Executor::logits() const { return table_.f32(step_.output.buffer); }
float* Executor::staging_images() const { return table_.f32(step_.staging_images); }
int32_t* Executor::staging_labels() const {
  if (step_.staging_labels == kNoBuffer) return nullptr;
  CNNMEM_CHECK_MSG(step_.target.kind != TargetKind::kDense, "dense targets are floats");
  return reinterpret_cast<int32_t*>(table_.bytes(step_.staging_labels));
}
float* Executor::staging_dense_targets() const {
  if (step_.staging_labels == kNoBuffer) return nullptr;
  CNNMEM_CHECK_MSG(step_.target.kind == TargetKind::kDense, "class targets are int32");
  return table_.f32(step_.staging_labels);
}

}  // namespace cnnmem
