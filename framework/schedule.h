// The schedule: a training step or an inference pass compiled to a flat list of ops, and the
// buffers those ops use. Each op lists every buffer it touches; a buffer's lifetime is the span
// from the first op that uses it to the last (persistent buffers live across the whole step).
// The predictor (framework/memory_stats.h) and the executor (framework/executor.h) both read
// this one description, so what is predicted and what runs cannot drift apart.
//
// Not here: where buffers go (framework/planner.h) or who owns the bytes (framework/arena.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <dnnl.hpp>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "framework/tag.h"

namespace cnnmem {

using BufferId = int32_t;
inline constexpr BufferId kNoBuffer = -1;

// Every buffer's size is rounded up to this, so that each starts on a cache line.
inline constexpr int64_t kAlignment = 64;
inline int64_t align_up(int64_t bytes) {
  return (bytes + kAlignment - 1) / kAlignment * kAlignment;
}

struct Buffer {
  std::string name;  // e.g. "conv1.dst", "fc1.weight", "adam.m.fc1.weight"
  Tag tag = Tag::kActivation;
  int64_t bytes_requested = 0;  // memory::desc::get_size() (padded blocked layouts included)
  int64_t bytes_aligned = 0;    // rounded up to kAlignment
  int64_t bytes_logical = 0;    // elements x element size, before layout padding
  bool persistent = false;      // lives across steps (weights, grads, optimizer state)
};

enum class Phase { kLoad, kForward, kLoss, kBackward, kUpdate, kRecompute };
const char* phase_name(Phase phase);

// A view of a buffer with the layout an op reads or writes it in.
struct TensorRef {
  BufferId buffer = kNoBuffer;
  dnnl::memory::desc md;
  // Bytes from the buffer's start: a view of a slice of a concatenation's buffer
  // (framework/concat_views.h); 0 everywhere else.
  int64_t offset = 0;
};

// Pointers of bound buffers, indexed by BufferId. Filled at bind time, read by ops at run time.
class BufferTable {
 public:
  void resize(size_t n) { ptrs_.assign(n, nullptr); }
  void set(BufferId id, std::byte* p) { ptrs_[static_cast<size_t>(id)] = p; }
  std::byte* bytes(BufferId id) const { return ptrs_[static_cast<size_t>(id)]; }
  float* f32(BufferId id) const { return reinterpret_cast<float*>(bytes(id)); }

 private:
  std::vector<std::byte*> ptrs_;
};

// One oneDNN primitive execution. The primitive is created at bind time from `make`, so that a
// shapes-only prediction compiles no kernels.
struct DnnlCall {
  std::function<dnnl::primitive()> make;
  std::vector<std::pair<int, TensorRef>> args;  // DNNL_ARG_* -> buffer and layout
  std::string impl;  // oneDNN implementation name, e.g. "jit:avx512_core"
  std::string what;  // primitive kind, for messages
};

using CustomFn = std::function<void(const BufferTable&)>;

struct Op {
  std::string name;  // "conv1.forward", "fc2.backward", "update(fc1.weight)"
  Phase phase = Phase::kForward;
  std::vector<BufferId> uses;   // every buffer read or written
  std::vector<DnnlCall> calls;  // oneDNN work, in order
  CustomFn custom;              // or the framework's own work (loss, optimizer, batch load)
  double flops = 0;             // multiply-adds * 2, for reports
  // Writes persistent state that is not a parameter (BatchNorm's running statistics): run once
  // per step, never recomputed by checkpointing.
  bool stateful = false;
  // A recompute copy's custom work reads buffer .second where it was written for .first.
  std::vector<std::pair<BufferId, BufferId>> aliases;
};

struct Lifetime {
  int first = 0;  // index of the first op that uses the buffer
  int last = -1;  // index of the last op (inclusive)
};

struct Schedule {
  std::vector<Buffer> buffers;
  std::vector<Op> ops;

  // Inclusive [first, last] op indices of every buffer. Persistent buffers span every op.
  // A buffer no op uses gets an empty lifetime (last < first) unless it is persistent.
  std::vector<Lifetime> lifetimes() const;
};

}  // namespace cnnmem
