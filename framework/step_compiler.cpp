#include "framework/step_compiler.h"

#include <omp.h>

#include <cmath>
#include <cstring>
#include <optional>

#include "framework/concat_views.h"
#include "framework/error.h"
#include "framework/layer.h"
#include "framework/loss.h"
#include "framework/optimizer.h"

namespace cnnmem {
namespace {

using dnnl::memory;

std::string shapes_of(const std::vector<TensorRef>& in) {
  std::string s;
  for (const TensorRef& t : in) s += (s.empty() ? "" : ", ") + dims_str(t.md.dims());
  return s;
}

class Compiler {
 public:
  Compiler(const ExecutorOptions& options, Optimizer* optimizer, Loss* loss,
           const dnnl::engine& engine, StepContext* context)
      : options_(options),
        optimizer_(optimizer),
        loss_(loss),
        context_(context),
        b_(engine, options.training, options.batch) {}

  CompiledStep compile(const Graph& graph);

 private:
  TensorRef plan_load(const Graph& graph);
  void plan_forward(const Graph& graph, const TensorRef& images);
  void plan_output_or_loss(const Graph& graph);
  void plan_backward(const Graph& graph);
  TensorRef accumulate_gradient(const std::string& name, const TensorRef& have,
                                const TensorRef& more);
  void plan_clip_grad_norm();
  void fuse_conv_relu(const Graph& graph);
  std::optional<TensorRef> concat_view(const Graph& graph, size_t node);

  const ExecutorOptions& options_;
  Optimizer* optimizer_;
  Loss* loss_;
  StepContext* context_;
  StepBuilder b_;
  CompiledStep out_;
  std::vector<std::pair<size_t, size_t>> node_params_;  // [begin, end) in b_.params()
  int gradient_sums_ = 0;
  std::vector<ChannelPlacement> concat_places_;  // in-place concatenation, per node
  std::vector<TensorRef> concat_roots_;          // per node: its buffer when it is a root
};

CompiledStep Compiler::compile(const Graph& graph) {
  const size_t n = graph.nodes().size();
  out_.values.assign(n, {});
  out_.node_fwd.assign(n, {});
  out_.node_bwd.assign(n, {});
  node_params_.assign(n, {});
  b_.set_transient_grads(options_.training && options_.fuse_update);
  const TensorRef images = plan_load(graph);
  b_.set_in_place(options_.in_place);
  plan_forward(graph, images);
  plan_output_or_loss(graph);
  if (options_.training) plan_backward(graph);
  out_.params = b_.params();
  out_.states = b_.states();
  if (b_.scratchpad() != kNoBuffer) out_.checkpoint_shared.push_back(b_.scratchpad());
  out_.schedule = b_.finish();
  return std::move(out_);
}

TensorRef Compiler::plan_load(const Graph& graph) {
  // Load: the staging buffers are filled ahead of time by the input pipeline.
  const bool training = options_.training;
  const int64_t n = options_.batch;
  memory::dims image_dims = {n};
  for (int64_t d : graph.input_dims()) image_dims.push_back(d);
  CNNMEM_CHECK_MSG(image_dims.size() == 4, "models take (C, H, W) images");
  const memory::desc image_md(image_dims, memory::data_type::f32, memory::format_tag::nchw);
  // Targets and the loss exist only in training; an inference pass ends with its output.
  out_.staging_images = b_.book("input.next_images", Tag::kInput, image_md, true).buffer;
  int64_t target_bytes = 0;
  if (training) {
    out_.target = loss_->target(graph.nodes().back().dims);
    if (out_.target.kind == TargetKind::kClass && out_.target.classes != graph.classes()) {
      throw Error("model " + graph.name() + ": the last layer produces " +
                  dims_str(graph.nodes().back().dims) + " per image, the model has " +
                  std::to_string(graph.classes()) + " classes: end with a layer of that width");
    }
    target_bytes = n * out_.target.bytes();
    out_.staging_labels = b_.book_bytes("input.next_labels", Tag::kInput, target_bytes, true);
    out_.result = b_.book_bytes("loss", Tag::kInput, 2 * sizeof(float), true);
  }
  const TensorRef images = b_.book("input.images", Tag::kInput, image_md);
  out_.images = images.buffer;
  if (training) out_.labels = b_.book_bytes("input.labels", Tag::kInput, target_bytes);
  const int64_t image_bytes = static_cast<int64_t>(image_md.get_size());
  const BufferId img = out_.images, lab = out_.labels, s_img = out_.staging_images,
                 s_lab = out_.staging_labels;
  std::vector<BufferId> load_uses = {img, s_img};
  if (training) load_uses.insert(load_uses.end(), {lab, s_lab});
  const StepContext* ctx = context_;
  b_.add_op(
      "load_batch", Phase::kLoad, {},
      [ctx, img, lab, s_img, s_lab, image_bytes, target_bytes](const BufferTable& t) {
        if (ctx->source != nullptr) ctx->source->wait_ready();
        std::memcpy(t.bytes(img), t.bytes(s_img), static_cast<size_t>(image_bytes));
        if (lab != kNoBuffer) {
          std::memcpy(t.bytes(lab), t.bytes(s_lab), static_cast<size_t>(target_bytes));
        }
        if (ctx->source != nullptr) ctx->source->prefetch_next();
      },
      load_uses);
  return images;
}

void Compiler::plan_forward(const Graph& graph, const TensorRef& images) {
  const auto& nodes = graph.nodes();
  std::vector<TensorRef>& values = out_.values;
  values[0] = images;
  b_.set_readers(images.buffer, graph.consumers(0));
  fuse_conv_relu(graph);
  concat_places_ = options_.in_place_concat && options_.training
                       ? place_concat_inputs(graph, options_.batch)
                       : std::vector<ChannelPlacement>(nodes.size());
  concat_roots_.assign(nodes.size(), {});
  for (const Node& node : nodes) {
    // Dropout masks follow this executor's step number and seed, so that a recomputed forward
    // op draws the same mask as the forward op it copies.
    if (!node.layer) continue;  // the input
    out_.forward_differs = out_.forward_differs || node.layer->forward_differs_in_training();
    if (options_.training) {
      node.layer->bind_step_counter(&context_->steps_run, &context_->dropout_seed);
    }
  }
  for (size_t i = 1; i < nodes.size(); ++i) {
    const Node& node = nodes[i];
    std::vector<TensorRef> in;
    for (int id : node.inputs) in.push_back(values[static_cast<size_t>(id)]);
    try {
      node_params_[i].first = b_.params().size();
      out_.node_fwd[i].first = b_.ops().size();
      b_.set_output_view(concat_view(graph, i));
      values[i] = node.layer->plan_forward(b_, in);
      b_.set_output_view(std::nullopt);
      out_.node_fwd[i].second = b_.ops().size();
      node_params_[i].second = b_.params().size();
    } catch (const dnnl::error& e) {
      throw InternalError(std::string(node.layer->kind()) + " \"" + node.layer->name() +
                          "\": oneDNN refused input " + shapes_of(in) + ": " + e.what());
    }
    for (const std::string& k : options_.keep) {
      if (k == node.layer->name()) {
        b_.mark_saved(values[i].buffer);  // no later layer may write over it
        out_.kept.emplace_back(k, values[i]);
      }
    }
    b_.set_readers(values[i].buffer, graph.consumers(static_cast<int>(i)));
  }
}

void Compiler::plan_output_or_loss(const Graph& graph) {
  const auto& nodes = graph.nodes();
  out_.output = out_.values.back();
  const TensorRef& output = out_.output;
  for (const std::string& k : options_.keep) {
    bool found = false;
    for (const auto& [name, ref] : out_.kept) found = found || name == k;
    if (!found) {
      throw Error(setting("keep", "kept tensor") + " " + k + ": model " + graph.name() +
                  " has no layer of that name (layer names are like PyTorch's, e.g. " +
                  nodes.back().layer->name() + ")");
    }
  }
  if (!options_.training) {
    // The pass ends where its caller reads the output (and the tensors it asked to keep).
    std::vector<BufferId> out_uses = {output.buffer};
    for (const auto& [name, ref] : out_.kept) out_uses.push_back(ref.buffer);
    b_.add_op("output", Phase::kForward, {}, {}, out_uses);
  } else {
    loss_->plan_forward(b_, output, out_.labels, out_.result);
  }
  out_.forward_end = b_.ops().size();
}

void Compiler::plan_backward(const Graph& graph) {
  if (!options_.keep.empty()) {
    throw Error(setting("keep", "keeping tensors") +
                " applies to inference; a training step keeps what backward needs");
  }
  const auto& nodes = graph.nodes();
  optimizer_->set_grad_scale(kNoBuffer);
  std::vector<TensorRef> diffs(nodes.size());
  diffs.back() = loss_->plan_backward(b_);
  for (size_t i = nodes.size() - 1; i >= 1; --i) {
    const Node& node = nodes[i];
    std::vector<bool> need;
    for (int id : node.inputs) need.push_back(id != 0);
    out_.node_bwd[i].first = b_.ops().size();
    try {
      const std::vector<TensorRef> d = node.layer->plan_backward(b_, diffs[i], need);
      for (size_t k = 0; k < node.inputs.size(); ++k) {
        if (!need[k]) continue;
        // One buffer handed to several inputs (a residual add) must outlive every reader:
        // no layer may write its gradient over it in place.
        for (size_t j = 0; j < node.inputs.size(); ++j) {
          if (j != k && need[j] && d[j].buffer == d[k].buffer) b_.mark_saved(d[k].buffer);
        }
        const auto src = static_cast<size_t>(node.inputs[k]);
        diffs[src] = diffs[src].buffer == kNoBuffer
                         ? d[k]
                         : accumulate_gradient(nodes[src].layer->name(), diffs[src], d[k]);
      }
    } catch (const dnnl::error& e) {
      throw InternalError(std::string(node.layer->kind()) + " \"" + node.layer->name() +
                          "\": oneDNN refused the backward pass: " + e.what());
    }
    if (options_.fuse_update) {
      // The layer's gradients are complete: update its parameters now.
      for (size_t k = node_params_[i].first; k < node_params_[i].second; ++k) {
        const ParamBinding p = b_.params()[k];
        optimizer_->plan_update(b_, p);
      }
    }
    out_.node_bwd[i].second = b_.ops().size();
  }
  if (options_.clip_grad_norm > 0) plan_clip_grad_norm();
  if (!options_.fuse_update) optimizer_->plan(b_);
}

TensorRef Compiler::accumulate_gradient(const std::string& name, const TensorRef& have,
                                        const TensorRef& more) {
  // A tensor read by several layers gets the sum of their gradients, in a new buffer: either
  // part may still be read by another branch.
  const std::string base = name + ".diff_sum" + std::to_string(++gradient_sums_);
  const TensorRef other =
      b_.reorder_to(more, have.md, base + ".src", Tag::kActivationGrad, Phase::kBackward);
  const dnnl::binary::primitive_desc pd(
      dnnl::binary::desc(dnnl::algorithm::binary_add, have.md, have.md, have.md), b_.attr(),
      b_.engine());
  const TensorRef dst = b_.book(base, Tag::kActivationGrad, pd.dst_desc());
  b_.add_op(base, Phase::kBackward,
            {b_.call<dnnl::binary>(
                pd, {{DNNL_ARG_SRC_0, have}, {DNNL_ARG_SRC_1, other}, {DNNL_ARG_DST, dst}})},
            {}, {}, static_cast<double>(have.md.get_size()) / sizeof(float));
  return dst;
}

void Compiler::fuse_conv_relu(const Graph& graph) {
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

std::optional<TensorRef> Compiler::concat_view(const Graph& graph, size_t node) {
  // In-place concatenation (framework/concat_views.h): the first output placed in a root books
  // the root's buffer; nobody writes over it in place, since several tensors share it.
  const ChannelPlacement& place = concat_places_[node];
  const Node& n = graph.nodes()[node];
  for (const std::string& k : options_.keep) {
    if (k == n.layer->name()) return std::nullopt;  // a kept tensor stays a tensor of its own
  }
  if (place.root < 0) return std::nullopt;
  TensorRef& root = concat_roots_[static_cast<size_t>(place.root)];
  if (root.buffer == kNoBuffer) {
    const memory::desc md = concat_root_md(graph, concat_places_, place.root, options_.batch);
    root = b_.book(graph.nodes()[static_cast<size_t>(place.root)].layer->name() + ".dst",
                   Tag::kActivation, md);
    b_.mark_saved(root.buffer);
  }
  return channel_view(root, place.offset, n.dims[0]);
}

void Compiler::plan_clip_grad_norm() {
  // PyTorch's clip_grad_norm_: total = ||(||g_1||, ..., ||g_k||)||_2,
  // scale = min(max_norm / (total + 1e-6), 1). The update ops multiply by it as they read g.
  const BufferId scale = b_.book_bytes("clip_grad_norm.scale", Tag::kWorkspace, sizeof(float));
  std::vector<std::pair<BufferId, int64_t>> grads;
  std::vector<BufferId> uses = {scale};
  for (const ParamBinding& p : b_.params()) {
    grads.emplace_back(p.grad, static_cast<int64_t>(p.md.get_size() / sizeof(float)));
    uses.push_back(p.grad);
  }
  const double max_norm = options_.clip_grad_norm;
  b_.add_op(
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

}  // namespace

CompiledStep compile_step(const Graph& graph, const ExecutorOptions& options, Optimizer* optimizer,
                          Loss* loss, const dnnl::engine& engine, StepContext* context) {
  return Compiler(options, optimizer, loss, engine, context).compile(graph);
}

}  // namespace cnnmem
