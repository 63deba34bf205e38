#include "framework/executor.h"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <tuple>

#include "framework/alloc_probe.h"
#include "framework/error.h"
#include "framework/layer.h"
#include "framework/loss.h"
#include "framework/optimizer.h"

namespace cnnmem {

std::atomic<bool> g_in_dnnl_execute{false};

using dnnl::memory;

namespace {

memory::desc plain_desc(const memory::dims& dims) {
  static const memory::format_tag tags[] = {memory::format_tag::undef, memory::format_tag::a,
                                            memory::format_tag::ab,    memory::format_tag::abc,
                                            memory::format_tag::abcd,  memory::format_tag::abcde};
  CNNMEM_CHECK(!dims.empty() && dims.size() <= 5);
  return memory::desc(dims, memory::data_type::f32, tags[dims.size()]);
}

std::string shapes_of(const std::vector<TensorRef>& in) {
  std::string s;
  for (const TensorRef& t : in) s += (s.empty() ? "" : ", ") + dims_str(t.md.dims());
  return s;
}

}  // namespace

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
    throw Error(
        "--fuse-update cannot be combined with --clip-grad-norm: clipping needs the "
        "global norm of every gradient before the first update; drop one of them");
  }
  if (!options_.training && options_.checkpoint.kind != CheckpointPolicy::Kind::kNone) {
    throw Error("--checkpoint " + options_.checkpoint.text +
                ": checkpointing applies to training; an inference pass keeps nothing for "
                "backward (drop --checkpoint or use --mode train)");
  }
  if (!(options_.clip_grad_norm >= 0)) {
    throw Error("--clip-grad-norm must be a positive number (0 = off), got " +
                std::to_string(options_.clip_grad_norm));
  }
  plan(graph);
}

Executor::~Executor() = default;

void Executor::check_batch(const Graph& graph, int64_t batch) {
  if (batch <= 0) {
    throw Error("--batch must be a positive number of images, got " + std::to_string(batch));
  }
  // Sizes are int64 bytes: refuse a batch whose largest feature map alone could overflow them
  // (blocked layouts pad channels up to 16x, so leave that much room).
  int64_t largest = 1;
  for (const Node& node : graph.nodes()) largest = std::max(largest, dims_product(node.dims));
  constexpr int64_t kMaxBytes = int64_t{1} << 58;
  const int64_t most = kMaxBytes / (16 * 4 * largest);
  if (batch > most) {
    throw Error("--batch " + std::to_string(batch) + ": model " + graph.name() +
                " would need feature maps beyond 2^58 bytes; use a batch below " +
                std::to_string(most));
  }
}

void Executor::plan(const Graph& graph) {
  const int64_t n = options_.batch;
  const bool training = options_.training;
  StepBuilder b(engine_, training, n);
  b.set_transient_grads(training && options_.fuse_update);

  // Load: the staging buffers are filled ahead of time by the input pipeline.
  memory::dims image_dims = {n};
  for (int64_t d : graph.input_dims()) image_dims.push_back(d);
  CNNMEM_CHECK_MSG(image_dims.size() == 4, "models take (C, H, W) images");
  const memory::desc image_md(image_dims, memory::data_type::f32, memory::format_tag::nchw);
  // Labels and the loss exist only in training; an inference pass ends with its output.
  staging_images_ = b.book("input.next_images", Tag::kInput, image_md, true).buffer;
  if (training) {
    staging_labels_ = b.book_bytes("input.next_labels", Tag::kInput, n * 4, true);
    result_ = b.book_bytes("loss", Tag::kInput, 2 * sizeof(float), true);
  }
  const TensorRef images = b.book("input.images", Tag::kInput, image_md);
  images_ = images.buffer;
  if (training) labels_ = b.book_bytes("input.labels", Tag::kInput, n * 4);
  const int64_t image_bytes = static_cast<int64_t>(image_md.get_size());
  const BufferId img = images_, lab = labels_, s_img = staging_images_, s_lab = staging_labels_;
  std::vector<BufferId> load_uses = {img, s_img};
  if (training) load_uses.insert(load_uses.end(), {lab, s_lab});
  b.add_op(
      "load_batch", Phase::kLoad, {},
      [this, img, lab, s_img, s_lab, image_bytes, n](const BufferTable& t) {
        if (source_ != nullptr) source_->wait_ready();
        std::memcpy(t.bytes(img), t.bytes(s_img), static_cast<size_t>(image_bytes));
        if (lab != kNoBuffer) {
          std::memcpy(t.bytes(lab), t.bytes(s_lab), static_cast<size_t>(n * 4));
        }
        if (source_ != nullptr) source_->prefetch_next();
      },
      load_uses);
  b.set_in_place(options_.in_place);

  // Forward, node by node.
  const auto& nodes = graph.nodes();
  std::vector<TensorRef> values(nodes.size());
  std::vector<std::pair<size_t, size_t>> node_params(nodes.size());  // [begin, end) in b.params()
  // Each node's forward and backward ops, [begin, end) in b.ops(), for checkpointing.
  std::vector<std::pair<size_t, size_t>> node_fwd(nodes.size()), node_bwd(nodes.size());
  values[0] = images;
  b.set_readers(images.buffer, graph.consumers(0));
  fuse_conv_relu(graph);
  for (const Node& node : nodes) {
    // Dropout masks follow this executor's step number and seed, so that a recomputed forward
    // op draws the same mask as the forward op it copies.
    if (!node.layer) continue;  // the input
    forward_differs_ = forward_differs_ || node.layer->forward_differs_in_training();
    if (training) node.layer->bind_step_counter(&steps_run_, &dropout_seed_);
  }
  for (size_t i = 1; i < nodes.size(); ++i) {
    const Node& node = nodes[i];
    std::vector<TensorRef> in;
    for (int id : node.inputs) in.push_back(values[static_cast<size_t>(id)]);
    try {
      node_params[i].first = b.params().size();
      node_fwd[i].first = b.ops().size();
      values[i] = node.layer->plan_forward(b, in);
      node_fwd[i].second = b.ops().size();
      node_params[i].second = b.params().size();
    } catch (const dnnl::error& e) {
      throw InternalError(std::string(node.layer->kind()) + " \"" + node.layer->name() +
                          "\": oneDNN refused input " + shapes_of(in) + ": " + e.what());
    }
    for (const std::string& k : options_.keep) {
      if (k == node.layer->name()) {
        b.mark_saved(values[i].buffer);  // no later layer may write over it
        kept_.emplace_back(k, values[i]);
      }
    }
    b.set_readers(values[i].buffer, graph.consumers(static_cast<int>(i)));
  }
  logits_ = values.back();
  if (logits_.md.dims().size() != 2 || logits_.md.dims()[1] != graph.classes()) {
    throw Error("model " + graph.name() + ": the last layer produces " +
                dims_str(nodes.back().dims) + " per image, the model has " +
                std::to_string(graph.classes()) + " classes: end with a layer of that width");
  }

  for (const std::string& k : options_.keep) {
    bool found = false;
    for (const auto& [name, ref] : kept_) found = found || name == k;
    if (!found) {
      throw Error("--keep " + k + ": model " + graph.name() +
                  " has no layer of that name (layer names are like PyTorch's, e.g. " +
                  nodes.back().layer->name() + ")");
    }
  }
  if (!training) {
    // The pass ends where its caller reads the output (and the tensors it asked to keep).
    std::vector<BufferId> out_uses = {logits_.buffer};
    for (const auto& [name, ref] : kept_) out_uses.push_back(ref.buffer);
    b.add_op("output", Phase::kForward, {}, {}, out_uses);
    forward_end_ = b.ops().size();
  } else {
    loss_->plan_forward(b, logits_, labels_, result_);
    forward_end_ = b.ops().size();
  }
  if (training) {
    if (!options_.keep.empty()) {
      throw Error("--keep applies to inference; a training step keeps what backward needs");
    }
    optimizer_->set_grad_scale(kNoBuffer);
    std::vector<TensorRef> diffs(nodes.size());
    diffs.back() = loss_->plan_backward(b);
    for (size_t i = nodes.size() - 1; i >= 1; --i) {
      const Node& node = nodes[i];
      std::vector<bool> need;
      for (int id : node.inputs) need.push_back(id != 0);
      node_bwd[i].first = b.ops().size();
      try {
        const std::vector<TensorRef> d = node.layer->plan_backward(b, diffs[i], need);
        for (size_t k = 0; k < node.inputs.size(); ++k) {
          if (!need[k]) continue;
          // One buffer handed to several inputs (a residual add) must outlive every reader:
          // no layer may write its gradient over it in place.
          for (size_t j = 0; j < node.inputs.size(); ++j) {
            if (j != k && need[j] && d[j].buffer == d[k].buffer) b.mark_saved(d[k].buffer);
          }
          const auto src = static_cast<size_t>(node.inputs[k]);
          diffs[src] = diffs[src].buffer == kNoBuffer
                           ? d[k]
                           : accumulate_gradient(b, nodes[src].layer->name(), diffs[src], d[k]);
        }
      } catch (const dnnl::error& e) {
        throw InternalError(std::string(node.layer->kind()) + " \"" + node.layer->name() +
                            "\": oneDNN refused the backward pass: " + e.what());
      }
      if (options_.fuse_update) {
        // The layer's gradients are complete: update its parameters now.
        for (size_t k = node_params[i].first; k < node_params[i].second; ++k) {
          const ParamBinding p = b.params()[k];
          optimizer_->plan_update(b, p);
        }
      }
      node_bwd[i].second = b.ops().size();
    }
    if (options_.clip_grad_norm > 0) plan_clip_grad_norm(b);
    if (!options_.fuse_update) optimizer_->plan(b);
  }
  params_ = b.params();
  states_ = b.states();
  if (b.scratchpad() != kNoBuffer) checkpoint_shared_.push_back(b.scratchpad());
  schedule_ = b.finish();
  lifetimes_ = schedule_.lifetimes();
  if (training) {
    find_checkpoint_units(graph, values, node_fwd, node_bwd);
    apply_checkpoint_policy(graph);
  }

  // Plan: persistent buffers first, one after the other; transient ones share the rest. Ping-pong
  // alternates the chain of feature maps (activations and the input) between two slots; the
  // scratchpad and other workspace, which live beside that chain, go above them (greedy).
  offsets_.assign(schedule_.buffers.size(), 0);
  int64_t top = 0;
  std::vector<Interval> chain, rest;
  std::vector<size_t> chain_ids, rest_ids;
  const bool pingpong = options_.strategy == Strategy::kPingPong;
  for (size_t i = 0; i < schedule_.buffers.size(); ++i) {
    const Buffer& buf = schedule_.buffers[i];
    if (buf.persistent) {
      offsets_[i] = top;
      top += buf.bytes_aligned;
      continue;
    }
    const Interval iv{buf.bytes_aligned, lifetimes_[i].first, lifetimes_[i].last};
    const bool in_chain = !pingpong || buf.tag == Tag::kActivation || buf.tag == Tag::kInput;
    (in_chain ? chain : rest).push_back(iv);
    (in_chain ? chain_ids : rest_ids).push_back(i);
  }
  for (auto [intervals, ids, strategy] : {std::tuple{&chain, &chain_ids, options_.strategy},
                                          std::tuple{&rest, &rest_ids, Strategy::kGreedyBySize}}) {
    if (intervals->empty()) continue;
    const Plan p = plan_buffers(*intervals, strategy);
    for (size_t k = 0; k < ids->size(); ++k) offsets_[(*ids)[k]] = top + p.offsets[k];
    top += p.arena_bytes;
  }
  predicted_ = predict_memory(schedule_, lifetimes_, top);

  // Per op: the transient buffers it acquires first and releases last.
  starts_.assign(schedule_.ops.size(), {});
  ends_.assign(schedule_.ops.size(), {});
  for (size_t i = 0; i < schedule_.buffers.size(); ++i) {
    const Lifetime& l = lifetimes_[i];
    if (schedule_.buffers[i].persistent || l.last < l.first) continue;
    starts_[static_cast<size_t>(l.first)].push_back(static_cast<BufferId>(i));
    ends_[static_cast<size_t>(l.last)].push_back(static_cast<BufferId>(i));
  }
}

TensorRef Executor::accumulate_gradient(StepBuilder& b, const std::string& name,
                                        const TensorRef& have, const TensorRef& more) {
  // A tensor read by several layers gets the sum of their gradients, in a new buffer: either
  // part may still be read by another branch.
  const std::string base = name + ".diff_sum" + std::to_string(++gradient_sums_);
  const TensorRef other =
      b.reorder_to(more, have.md, base + ".src", Tag::kActivationGrad, Phase::kBackward);
  const dnnl::binary::primitive_desc pd(
      dnnl::binary::desc(dnnl::algorithm::binary_add, have.md, have.md, have.md), b.attr(),
      b.engine());
  const TensorRef dst = b.book(base, Tag::kActivationGrad, pd.dst_desc());
  b.add_op(base, Phase::kBackward,
           {b.call<dnnl::binary>(
               pd, {{DNNL_ARG_SRC_0, have}, {DNNL_ARG_SRC_1, other}, {DNNL_ARG_DST, dst}})},
           {}, {}, static_cast<double>(have.md.get_size()) / sizeof(float));
  return dst;
}

void Executor::find_checkpoint_units(const Graph& graph, const std::vector<TensorRef>& values,
                                     const std::vector<std::pair<size_t, size_t>>& node_fwd,
                                     const std::vector<std::pair<size_t, size_t>>& node_bwd) {
  // A unit starts at node i unless node i wrote over its input (a fused or in-place ReLU, a
  // flatten that needed no reorder) or a tensor from before node i-1 is read after it.
  const auto& nodes = graph.nodes();
  units_.clear();
  for (size_t i = 1; i < nodes.size(); ++i) {
    bool starts = i == 1 || values[i].buffer != values[i - 1].buffer;
    for (size_t j = i; starts && j < nodes.size(); ++j) {
      for (int in : nodes[j].inputs) starts = starts && in >= static_cast<int>(i) - 1;
    }
    if (starts) {
      CheckpointUnit u;
      u.name = nodes[i].layer->name();
      u.first_node = static_cast<int>(i);
      u.input = values[i - 1].buffer;
      units_.push_back(u);
    }
    CheckpointUnit& u = units_.back();
    u.last_node = static_cast<int>(i);
  }
  for (CheckpointUnit& u : units_) {
    const auto first = static_cast<size_t>(u.first_node), last = static_cast<size_t>(u.last_node);
    u.fwd_begin = node_fwd[first].first;
    u.fwd_end = node_fwd[last].second;
    u.bwd_begin = node_bwd[last].first;
    u.bwd_end = node_bwd[first].second;
    for (size_t k = u.fwd_begin; k < u.fwd_end; ++k) u.flops += schedule_.ops[k].flops;
    checkpoint_.forward_flops += u.flops;
  }
}

void Executor::apply_checkpoint_policy(const Graph& graph) {
  const CheckpointPolicy& policy = options_.checkpoint;
  checkpoint_.policy = policy.text;
  const int n = static_cast<int>(units_.size());
  std::vector<int> kept;
  switch (policy.kind) {
    case CheckpointPolicy::Kind::kNone:
      return;
    case CheckpointPolicy::Kind::kEvery:
      for (int64_t u = policy.every; u < n; u += policy.every) kept.push_back(static_cast<int>(u));
      break;
    case CheckpointPolicy::Kind::kSqrt: {
      // Segments of k = round(sqrt(n)) units counted from the end, so that the last segment,
      // which backward reaches first and which is never recomputed, is a full one.
      const int k = std::max(1, static_cast<int>(std::lround(std::sqrt(n))));
      for (int u = n - k; u > 0; u -= k) kept.insert(kept.begin(), u);
      break;
    }
    case CheckpointPolicy::Kind::kLayers:
      for (const std::string& name : policy.layers) kept.push_back(unit_index(graph, name));
      break;
    case CheckpointPolicy::Kind::kBudget:
      kept = CheckpointSearch(schedule_, units_, checkpoint_shared_).fit(policy.budget_bytes).kept;
      break;
  }
  if (kept.empty()) return;
  const CheckpointRewrite rewrite =
      plan_rewrite(schedule_, lifetimes_, units_, kept, checkpoint_shared_);
  schedule_ = apply_rewrite(schedule_, rewrite);
  lifetimes_ = schedule_.lifetimes();
  checkpoint_.recompute_flops = rewrite.recompute_flops;
  for (int u : rewrite.kept) checkpoint_.kept.push_back(units_[static_cast<size_t>(u)].name);
}

int Executor::unit_index(const Graph& graph, const std::string& name) const {
  std::string starts;
  for (size_t u = 1; u < units_.size(); ++u) {
    if (units_[u].name == name) return static_cast<int>(u);
    if (u <= 4) starts += (starts.empty() ? "" : ", ") + units_[u].name;
  }
  const std::string what = "--checkpoint layers:" + name + ": ";
  if (!units_.empty() && units_[0].name == name) {
    throw Error(what +
                "the input of the first layer (the images) is always kept; name a later "
                "layer, e.g. " +
                starts);
  }
  for (const Node& node : graph.nodes()) {
    if (node.layer != nullptr && node.layer->name() == name) {
      throw Error(what + "\"" + name +
                  "\" works in place on its input, which is not kept as a "
                  "tensor of its own; name a layer that starts a unit, e.g. " +
                  starts);
    }
  }
  throw Error(what + "model " + graph.name() +
              " has no layer of that name; layers whose input "
              "can be kept are e.g. " +
              starts);
}

void Executor::fuse_conv_relu(const Graph& graph) {
  // conv -> relu becomes one primitive (ReLU as a post-op) when the relu is the convolution's
  // only reader, would run in place anyway, and nobody asked to keep the pre-ReLU values.
  const auto& nodes = graph.nodes();
  for (size_t i = 1; i + 1 < nodes.size(); ++i) {
    Layer* conv = nodes[i].layer.get();
    Layer* relu = nodes[i + 1].layer.get();
    bool fuse = conv->absorbs_relu() && relu->is_relu() && options_.in_place &&
                nodes[i + 1].inputs == std::vector<int>{static_cast<int>(i)} &&
                graph.consumers(static_cast<int>(i)) == 1;
    for (const std::string& k : options_.keep) fuse = fuse && k != nodes[i].layer->name();
    if (conv->absorbs_relu()) conv->set_relu_fused(fuse);
    if (relu->is_relu()) relu->set_relu_fused(fuse);
  }
}

void Executor::plan_clip_grad_norm(StepBuilder& b) {
  // PyTorch's clip_grad_norm_: total = ||(||g_1||, ..., ||g_k||)||_2,
  // scale = min(max_norm / (total + 1e-6), 1). The update ops multiply by it as they read g.
  const BufferId scale = b.book_bytes("clip_grad_norm.scale", Tag::kWorkspace, sizeof(float));
  std::vector<std::pair<BufferId, int64_t>> grads;
  std::vector<BufferId> uses = {scale};
  for (const ParamBinding& p : b.params()) {
    grads.emplace_back(p.grad, static_cast<int64_t>(p.md.get_size() / sizeof(float)));
    uses.push_back(p.grad);
  }
  const double max_norm = options_.clip_grad_norm;
  b.add_op(
      "clip_grad_norm", Phase::kUpdate, {},
      [grads, scale, max_norm](const BufferTable& t) {
        // Per-thread partial sums added in thread order: the same threads give the same bits.
        constexpr int kMaxPartials = 1024;
        double partial[kMaxPartials] = {};
        for (const auto& grad : grads) {
          const float* g = t.f32(grad.first);
          const int64_t n = grad.second;
#pragma omp parallel if (n > 16384)
          {
            const int tid = omp_get_thread_num();
            double sum = 0;
#pragma omp for schedule(static)
            for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(g[i]) * g[i];
            if (tid < kMaxPartials) partial[tid] += sum;
          }
        }
        double total = 0;
        for (double s : partial) total += s;
        const double coef = max_norm / (std::sqrt(total) + 1e-6);
        t.f32(scale)[0] = static_cast<float>(coef < 1.0 ? coef : 1.0);
      },
      uses);
  optimizer_->set_grad_scale(scale);
}

int64_t Executor::param_count() const {
  int64_t total = 0;
  for (const ParamBinding& p : params_) total += dims_product(p.torch_shape);
  return total;
}

std::vector<std::string> Executor::implementations() const {
  std::vector<std::string> out;
  for (const Op& op : schedule_.ops) {
    for (const DnnlCall& c : op.calls) out.push_back(op.name + " " + c.what + ": " + c.impl);
  }
  return out;
}

void Executor::bind() {
  CNNMEM_CHECK(!bound());
  if (options_.guard) {
    std::vector<int64_t> ends(schedule_.buffers.size());
    for (size_t i = 0; i < ends.size(); ++i) {
      ends[i] = offsets_[i] + schedule_.buffers[i].bytes_aligned;
    }
    arena_ = std::make_unique<Arena>(predicted_.arena_bytes, schedule_.buffers.size(), ends);
  } else {
    arena_ = std::make_unique<Arena>(predicted_.arena_bytes, schedule_.buffers.size());
  }
  arena_->set_poison(options_.poison);
  table_.resize(schedule_.buffers.size());
  for (size_t i = 0; i < schedule_.buffers.size(); ++i) {
    const Buffer& buf = schedule_.buffers[i];
    const auto id = static_cast<BufferId>(i);
    if (buf.persistent) {
      table_.set(id, arena_->acquire(id, offsets_[i], buf));
    } else {
      table_.set(id, arena_->address(offsets_[i]));
    }
  }
  op_tables_.clear();
  op_tables_.resize(schedule_.ops.size());
  for (size_t i = 0; i < schedule_.ops.size(); ++i) {
    const Op& op = schedule_.ops[i];
    if (op.aliases.empty()) continue;
    op_tables_[i] = std::make_unique<BufferTable>(table_);
    for (const auto& [orig, copy] : op.aliases) op_tables_[i]->set(orig, table_.bytes(copy));
  }
  bound_.assign(schedule_.ops.size(), {});
  for (size_t i = 0; i < schedule_.ops.size(); ++i) {
    for (const DnnlCall& c : schedule_.ops[i].calls) {
      BoundCall bc{c.make(), {}};
      for (const auto& [arg, ref] : c.args) {
        bc.args.emplace(arg, memory(ref.md, engine_, table_.bytes(ref.buffer)));
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
  const Op& op = schedule_.ops[i];
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
  for (size_t i = 0; i < schedule_.ops.size(); ++i) {
    for (BufferId id : starts_[i]) {
      arena_->acquire(id, offsets_[static_cast<size_t>(id)],
                      schedule_.buffers[static_cast<size_t>(id)]);
    }
    arena_->observe(static_cast<int>(i), schedule_.ops[i]);
    if (observer_ != nullptr) {
      // The op's time includes waiting for oneDNN's stream, so that it is the op's own.
      const Clock::time_point begin = Clock::now();
      run_op(i);
      stream_.wait();
      observer_->on_op(static_cast<int>(i), schedule_.ops[i], arena_->live_by_tag(), since(begin),
                       since(Clock::now()));
    } else {
      run_op(i);
    }
    if (arena_->guarded()) {
      stream_.wait();
      arena_->check_guards(schedule_.ops[i]);
    }
    // What the last op hands back (the output, kept tensors) stays readable after the step.
    const bool last = i + 1 == schedule_.ops.size();
    for (BufferId id : ends_[i]) {
      arena_->release(id, schedule_.buffers[static_cast<size_t>(id)], /*poison=*/!last);
    }
  }
  stream_.wait();
  // Copy the step's numbers only when they are new (a copy of the op name could allocate).
  if (steps_run_ == 0 || arena_->peak_bytes() > measured_.peak_bytes) measured_ = arena_->stats();
  if (observer_ != nullptr) observer_->on_step_end(arena_->stats());
  ++steps_run_;
}

void Executor::run_forward() {
  CNNMEM_CHECK_MSG(bound(), "run_forward before bind");
  for (size_t i = 0; i < forward_end_; ++i) run_op(i);
  stream_.wait();
}

void Executor::set_valid_rows(int64_t rows) {
  if (loss_) loss_->set_valid_rows(rows);
}

float Executor::loss() const {
  CNNMEM_CHECK_MSG(result_ != kNoBuffer, "an inference pass has no loss");
  return table_.f32(result_)[0];
}
int64_t Executor::correct() const {
  CNNMEM_CHECK_MSG(result_ != kNoBuffer, "an inference pass has no labels");
  return static_cast<int64_t>(table_.f32(result_)[1]);
}
const float* Executor::logits() const { return table_.f32(logits_.buffer); }
float* Executor::staging_images() const { return table_.f32(staging_images_); }
int32_t* Executor::staging_labels() const {
  return staging_labels_ == kNoBuffer ? nullptr
                                      : reinterpret_cast<int32_t*>(table_.bytes(staging_labels_));
}

NamedTensor Executor::read_tensor(const std::string& name) const {
  CNNMEM_CHECK(bound());
  TensorRef ref = name == "output" ? logits_ : TensorRef{};
  for (const auto& [k, r] : kept_) {
    if (k == name) ref = r;
  }
  if (ref.buffer == kNoBuffer) {
    throw Error("tensor \"" + name + "\" was not kept: pass --keep " + name);
  }
  NamedTensor t;
  t.name = name;
  t.shape = ref.md.dims();
  t.data.resize(static_cast<size_t>(dims_product(t.shape)));
  dnnl::stream s(engine_);
  memory src(ref.md, engine_, table_.bytes(ref.buffer));
  memory dst(plain_desc(t.shape), engine_, t.data.data());
  dnnl::reorder(src, dst).execute(s, src, dst);
  s.wait();
  return t;
}

void Executor::write_param(const ParamBinding& p, const float* plain, int64_t first,
                           int64_t count) {
  memory::desc dst_md = p.md;
  if (first != 0 || count != p.md.dims()[0]) {
    memory::dims dims = p.md.dims(), offsets(dims.size(), 0);
    dims[0] = count;
    offsets[0] = first;
    dst_md = p.md.submemory_desc(dims, offsets);
  }
  memory src(plain_desc(dst_md.dims()), engine_, const_cast<float*>(plain));
  memory dst(dst_md, engine_, table_.bytes(p.weight));
  dnnl::reorder(src, dst).execute(stream_, src, dst);
  stream_.wait();
}

void Executor::read_param(const ParamBinding& p, BufferId id, float* plain) const {
  dnnl::stream s(engine_);
  memory src(p.md, engine_, table_.bytes(id));
  memory dst(plain_desc(p.md.dims()), engine_, plain);
  dnnl::reorder(src, dst).execute(s, src, dst);
  s.wait();
}

void Executor::set_seed(uint64_t seed) { dropout_seed_ = seed; }

void Executor::init_weights(uint64_t seed) {
  CNNMEM_CHECK(bound());
  set_seed(seed);
  std::mt19937_64 rng(seed);
  for (const ParamBinding& p : params_) {
    // PyTorch's defaults for conv and linear: weights kaiming_uniform(a=sqrt(5)) and biases
    // both reduce to U(-1/sqrt(fan_in), 1/sqrt(fan_in)). Values are drawn in PyTorch's order.
    const double bound = 1.0 / std::sqrt(static_cast<double>(p.fan_in));
    const auto draw = [&](float* v, int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        if (p.init_constant) {
          v[i] = *p.init_constant;  // BatchNorm: weight 1, bias 0; draws no random numbers
          continue;
        }
        const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // [0, 1)
        v[i] = static_cast<float>((2.0 * u - 1.0) * bound);
      }
    };
    const int64_t count = dims_product(p.torch_shape);
    const int64_t rows = p.md.dims()[0];
    // A weight kept in plain layout is drawn in place.
    if (p.md == plain_desc(p.md.dims())) {
      draw(table_.f32(p.weight), count);
      continue;
    }
    // Otherwise the values are drawn in plain layout and reordered. In training the gradient
    // buffer (same size, unused until the first step) holds them, so initialising a large layer
    // needs no heap copy of it (392 MiB for vgg16's first linear layer).
    if (p.grad != kNoBuffer) {
      float* v = table_.f32(p.grad);
      draw(v, count);
      write_param(p, v, 0, rows);
      std::memset(v, 0, p.md.get_size());
      continue;
    }
    // In inference, a few MiB of rows at a time, where the layout's blocks along the outermost
    // dimension divide it (a sub-tensor must start and end on a block).
    int64_t block = 1;
    const dnnl_blocking_desc_t& blocking = p.md.data.format_desc.blocking;
    for (int i = 0; i < blocking.inner_nblks; ++i) {
      if (blocking.inner_idxs[i] == 0) block *= blocking.inner_blks[i];
    }
    const int64_t row = count / rows;
    constexpr int64_t kChunkFloats = int64_t{1} << 20;
    const int64_t step = rows % block == 0
                             ? std::min(rows, std::max(block, kChunkFloats / row / block * block))
                             : rows;
    std::vector<float> heap(static_cast<size_t>(step * row));
    for (int64_t first = 0; first < rows; first += step) {
      const int64_t n = std::min(step, rows - first);
      draw(heap.data(), n * row);
      write_param(p, heap.data(), first, n);
    }
  }
  // State tensors (running mean 0, running variance 1, num_batches_tracked 0).
  for (const StateBinding& s : states_) {
    const std::vector<float> v(static_cast<size_t>(dims_product(s.torch_shape)), s.init_value);
    write_state(s, v.data());
  }
}

void Executor::load_weights(const std::vector<NamedTensor>& tensors, const std::string& source) {
  CNNMEM_CHECK(bound());
  // Parameters and state tensors alike, as PyTorch's load_state_dict(strict=True).
  std::vector<std::pair<std::string, Dims>> expected;
  for (const ParamBinding& p : params_) expected.emplace_back(p.name, p.torch_shape);
  for (const StateBinding& s : states_) expected.emplace_back(s.name, s.torch_shape);
  for (const auto& [name, shape] : expected) {
    const NamedTensor* t = find_tensor(tensors, name);
    if (t == nullptr) {
      throw Error(source + ": tensor \"" + name + "\" is missing; the model expects " +
                  std::to_string(expected.size()) + " tensors named like PyTorch's");
    }
    if (t->shape != shape) {
      throw Error(source + ": tensor \"" + name + "\" has shape " + dims_str(t->shape) +
                  ", the model expects " + dims_str(shape));
    }
  }
  for (const NamedTensor& t : tensors) {
    bool known = false;
    for (const auto& [name, shape] : expected) known = known || name == t.name;
    if (!known) {
      throw Error(source + ": tensor \"" + t.name + "\" is not a parameter of this model");
    }
  }
  for (const ParamBinding& p : params_) {
    write_param(p, find_tensor(tensors, p.name)->data.data(), 0, p.md.dims()[0]);
  }
  for (const StateBinding& s : states_) write_state(s, find_tensor(tensors, s.name)->data.data());
}

std::vector<NamedTensor> Executor::weights() const {
  std::vector<NamedTensor> out = read_params(false);
  for (const StateBinding& s : states_) out.push_back(read_state(s));
  return out;
}

std::vector<NamedTensor> Executor::gradients() const {
  CNNMEM_CHECK_MSG(options_.training, "gradients exist only in training");
  return read_params(true);
}

std::vector<NamedTensor> Executor::read_params(bool grads) const {
  CNNMEM_CHECK(bound());
  std::vector<NamedTensor> out;
  for (const ParamBinding& p : params_) {
    NamedTensor t;
    t.name = p.name;
    t.shape = p.torch_shape;
    t.data.resize(static_cast<size_t>(dims_product(p.torch_shape)));
    read_param(p, grads ? p.grad : p.weight, t.data.data());
    out.push_back(std::move(t));
  }
  return out;
}

void Executor::write_state(const StateBinding& s, const float* plain) {
  memory src(plain_desc(s.md.dims()), engine_, const_cast<float*>(plain));
  memory dst(s.md, engine_, table_.bytes(s.buffer));
  dnnl::reorder(src, dst).execute(stream_, src, dst);
  stream_.wait();
}

NamedTensor Executor::read_state(const StateBinding& s) const {
  CNNMEM_CHECK(bound());
  NamedTensor t;
  t.name = s.name;
  t.shape = s.torch_shape;
  t.data.resize(static_cast<size_t>(dims_product(s.torch_shape)));
  dnnl::stream str(engine_);
  memory src(s.md, engine_, table_.bytes(s.buffer));
  memory dst(plain_desc(s.md.dims()), engine_, t.data.data());
  dnnl::reorder(src, dst).execute(str, src, dst);
  str.wait();
  return t;
}

const ParamBinding& Executor::param_of_state(const Buffer& buffer) const {
  // "<optimizer>.<state>.<param>": neither the optimizer's nor the state's name has a dot.
  const size_t first = buffer.name.find('.');
  const size_t second = first == std::string::npos ? first : buffer.name.find('.', first + 1);
  CNNMEM_CHECK_MSG(second != std::string::npos, "optimizer state buffers are named o.s.param");
  const std::string param = buffer.name.substr(second + 1);
  for (const ParamBinding& p : params_) {
    if (p.name == param) return p;
  }
  throw InternalError("optimizer state " + buffer.name + " has no parameter " + param);
}

std::vector<NamedTensor> Executor::optimizer_state() const {
  CNNMEM_CHECK(bound());
  std::vector<NamedTensor> out;
  for (size_t i = 0; i < schedule_.buffers.size(); ++i) {
    const Buffer& buf = schedule_.buffers[i];
    if (buf.tag != Tag::kOptimizerState || !buf.persistent) continue;
    const ParamBinding& p = param_of_state(buf);
    NamedTensor t;
    t.name = buf.name;
    t.shape = p.torch_shape;
    t.data.resize(static_cast<size_t>(dims_product(p.torch_shape)));
    read_param(p, static_cast<BufferId>(i), t.data.data());
    out.push_back(std::move(t));
  }
  return out;
}

void Executor::load_optimizer_state(const std::vector<NamedTensor>& tensors,
                                    const std::string& source) {
  CNNMEM_CHECK(bound());
  size_t expected = 0;
  for (size_t i = 0; i < schedule_.buffers.size(); ++i) {
    const Buffer& buf = schedule_.buffers[i];
    if (buf.tag != Tag::kOptimizerState || !buf.persistent) continue;
    ++expected;
    const ParamBinding& p = param_of_state(buf);
    const NamedTensor* t = nullptr;
    for (const NamedTensor& c : tensors) {
      if (c.name == buf.name) t = &c;
    }
    if (t == nullptr) {
      throw Error(source + ": optimizer state \"" + buf.name +
                  "\" is missing; it was saved with another optimizer configuration");
    }
    if (t->shape != p.torch_shape) {
      throw Error(source + ": optimizer state \"" + buf.name + "\" has shape " +
                  dims_str(t->shape) + ", the model expects " + dims_str(p.torch_shape));
    }
    memory src(plain_desc(p.md.dims()), engine_, const_cast<float*>(t->data.data()));
    memory dst(p.md, engine_, table_.bytes(static_cast<BufferId>(i)));
    dnnl::reorder(src, dst).execute(stream_, src, dst);
    stream_.wait();
  }
  if (tensors.size() != expected) {
    throw Error(source + ": holds " + std::to_string(tensors.size()) +
                " optimizer state tensors, the optimizer has " + std::to_string(expected) +
                "; it was saved with another optimizer configuration");
  }
}

int64_t Executor::optimizer_step() const { return optimizer_ != nullptr ? optimizer_->step() : 0; }

void Executor::set_optimizer_step(int64_t step) {
  CNNMEM_CHECK_MSG(optimizer_ != nullptr, "an inference pass has no optimizer");
  optimizer_->set_step(step);
}

}  // namespace cnnmem
