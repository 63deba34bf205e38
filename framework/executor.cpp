#include "framework/executor.h"

#include <omp.h>

#include <cmath>
#include <cstring>
#include <random>
#include <tuple>

#include "framework/alloc_probe.h"
#include "framework/error.h"
#include "layers/conv2d.h"
#include "layers/layer.h"
#include "layers/relu.h"
#include "layers/softmax_cross_entropy.h"
#include "optimizers/optimizer.h"

namespace cnnmem {

std::atomic<bool> g_in_dnnl_execute{false};

using dnnl::memory;

namespace {

memory::desc plain_desc(const memory::dims& dims) {
  static const memory::format_tag tags[] = {memory::format_tag::undef, memory::format_tag::a,
                                            memory::format_tag::ab, memory::format_tag::abc,
                                            memory::format_tag::abcd};
  CNNMEM_CHECK(!dims.empty() && dims.size() <= 4);
  return memory::desc(dims, memory::data_type::f32, tags[dims.size()]);
}

std::string shapes_of(const std::vector<TensorRef>& in) {
  std::string s;
  for (const TensorRef& t : in) s += (s.empty() ? "" : ", ") + dims_str(t.md.dims());
  return s;
}

}  // namespace

Executor::Executor(const Graph& graph, const ExecutorOptions& options, Optimizer* optimizer)
    : options_(options),
      optimizer_(optimizer),
      engine_(dnnl::engine::kind::cpu, 0),
      stream_(engine_) {
  if (options_.batch <= 0) {
    throw Error("--batch must be a positive number of images, got " +
                std::to_string(options_.batch));
  }
  if (options_.training && optimizer_ == nullptr) {
    throw InternalError("a training step needs an optimizer");
  }
  if (options_.fuse_update && options_.clip_grad_norm > 0) {
    throw Error(
        "--fuse-update cannot be combined with --clip-grad-norm: clipping needs the "
        "global norm of every gradient before the first update; drop one of them");
  }
  if (!(options_.clip_grad_norm >= 0)) {
    throw Error("--clip-grad-norm must be a positive number (0 = off), got " +
                std::to_string(options_.clip_grad_norm));
  }
  plan(graph);
}

Executor::~Executor() = default;

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
  values[0] = images;
  b.set_readers(images.buffer, graph.consumers(0));
  fuse_conv_relu(graph);
  for (size_t i = 1; i < nodes.size(); ++i) {
    const Node& node = nodes[i];
    std::vector<TensorRef> in;
    for (int id : node.inputs) in.push_back(values[static_cast<size_t>(id)]);
    try {
      node_params[i].first = b.params().size();
      values[i] = node.layer->plan_forward(b, in);
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
    const int readers = graph.consumers(static_cast<int>(i));
    if (training && readers > 1) {
      throw Error("model " + graph.name() + ": \"" + node.layer->name() +
                  "\" feeds several layers; training such graphs is not supported yet");
    }
    b.set_readers(values[i].buffer, readers);
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
    loss_ = std::make_unique<SoftmaxCrossEntropy>();
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
      try {
        const std::vector<TensorRef> d = node.layer->plan_backward(b, diffs[i], need);
        for (size_t k = 0; k < node.inputs.size(); ++k) {
          if (need[k]) diffs[static_cast<size_t>(node.inputs[k])] = d[k];
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
    }
    if (options_.clip_grad_norm > 0) plan_clip_grad_norm(b);
    if (!options_.fuse_update) optimizer_->plan(b);
  }
  params_ = b.params();
  schedule_ = b.finish();
  lifetimes_ = schedule_.lifetimes();

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

void Executor::fuse_conv_relu(const Graph& graph) {
  // conv -> relu becomes one primitive (ReLU as a post-op) when the relu is the convolution's
  // only reader, would run in place anyway, and nobody asked to keep the pre-ReLU values.
  const auto& nodes = graph.nodes();
  for (size_t i = 1; i + 1 < nodes.size(); ++i) {
    auto* conv = dynamic_cast<Conv2d*>(nodes[i].layer.get());
    auto* relu = dynamic_cast<Relu*>(nodes[i + 1].layer.get());
    bool fuse = conv != nullptr && relu != nullptr && options_.in_place &&
                nodes[i + 1].inputs == std::vector<int>{static_cast<int>(i)} &&
                graph.consumers(static_cast<int>(i)) == 1;
    for (const std::string& k : options_.keep) fuse = fuse && k != nodes[i].layer->name();
    if (conv != nullptr) conv->set_fused_relu(fuse);
    if (relu != nullptr) relu->set_fused(fuse);
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
  arena_ = std::make_unique<Arena>(predicted_.arena_bytes, schedule_.buffers.size());
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
  if (op.custom) op.custom(table_);
}

void Executor::run_step() {
  CNNMEM_CHECK_MSG(bound(), "run_step before bind");
  if (optimizer_ != nullptr) optimizer_->begin_step();
  arena_->begin_step();
  for (size_t i = 0; i < schedule_.ops.size(); ++i) {
    for (BufferId id : starts_[i]) {
      arena_->acquire(id, offsets_[static_cast<size_t>(id)],
                      schedule_.buffers[static_cast<size_t>(id)]);
    }
    arena_->observe(static_cast<int>(i), schedule_.ops[i]);
    run_op(i);
    // What the last op hands back (the output, kept tensors) stays readable after the step.
    const bool last = i + 1 == schedule_.ops.size();
    for (BufferId id : ends_[i]) {
      arena_->release(id, schedule_.buffers[static_cast<size_t>(id)], /*poison=*/!last);
    }
  }
  stream_.wait();
  // Copy the step's numbers only when they are new (a copy of the op name could allocate).
  if (steps_run_ == 0 || arena_->peak_bytes() > measured_.peak_bytes) measured_ = arena_->stats();
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

void Executor::write_param(const ParamBinding& p, const float* plain) {
  memory src(plain_desc(p.md.dims()), engine_, const_cast<float*>(plain));
  memory dst(p.md, engine_, table_.bytes(p.weight));
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

void Executor::init_weights(uint64_t seed) {
  CNNMEM_CHECK(bound());
  std::mt19937_64 rng(seed);
  for (const ParamBinding& p : params_) {
    // PyTorch's defaults for conv and linear: weights kaiming_uniform(a=sqrt(5)) and biases
    // both reduce to U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    const double bound = 1.0 / std::sqrt(static_cast<double>(p.fan_in));
    const auto count = static_cast<size_t>(dims_product(p.torch_shape));
    // In training, the gradient buffer (same size, unused until the first step) holds the plain
    // values, so that initialising a large layer needs no heap copy of it (400 MB for vgg16).
    std::vector<float> heap;
    float* v = p.grad != kNoBuffer ? table_.f32(p.grad) : (heap.resize(count), heap.data());
    for (size_t i = 0; i < count; ++i) {
      const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // [0, 1)
      v[i] = static_cast<float>((2.0 * u - 1.0) * bound);
    }
    write_param(p, v);
    if (p.grad != kNoBuffer) std::memset(v, 0, p.md.get_size());
  }
}

void Executor::load_weights(const SafetensorsFile& file, const std::string& source) {
  CNNMEM_CHECK(bound());
  for (const ParamBinding& p : params_) {
    const NamedTensor* t = find_tensor(file, p.name);
    if (t == nullptr) {
      throw Error(source + ": tensor \"" + p.name + "\" is missing; the model expects " +
                  std::to_string(params_.size()) + " tensors named like PyTorch's");
    }
    if (t->shape != p.torch_shape) {
      throw Error(source + ": tensor \"" + p.name + "\" has shape " + dims_str(t->shape) +
                  ", the model expects " + dims_str(p.torch_shape));
    }
  }
  for (const NamedTensor& t : file.tensors) {
    bool known = false;
    for (const ParamBinding& p : params_) known = known || p.name == t.name;
    if (!known) {
      throw Error(source + ": tensor \"" + t.name + "\" is not a parameter of this model");
    }
  }
  for (const ParamBinding& p : params_) write_param(p, find_tensor(file, p.name)->data.data());
}

std::vector<NamedTensor> Executor::weights() const { return read_params(false); }

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

}  // namespace cnnmem
