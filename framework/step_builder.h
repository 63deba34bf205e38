// StepBuilder: what layers, the loss and the optimizers talk to while a step is planned.
//
// It books buffers (name, tag, size from memory::desc::get_size(), persistent or not), adds ops
// with their oneDNN calls or custom work, inserts reorders where a primitive asks for another
// layout, registers parameters, and sizes the one scratchpad that all primitives share. At the
// end, `finish()` hands over the Schedule. Nothing is allocated and no kernel is compiled here.
//
// Usage (inside a layer's plan_forward):
//   auto pd = dnnl::eltwise_forward::primitive_desc(desc, b.attr(), b.engine());
//   TensorRef dst = b.book(name() + ".dst", Tag::kActivation, pd.dst_desc());
//   b.add_op(name() + ".forward", Phase::kForward,
//            {b.call<dnnl::eltwise_forward>(pd, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}})});
#pragma once

#include <dnnl.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "framework/graph.h"
#include "framework/schedule.h"

namespace cnnmem {

struct ParamBinding {
  std::string name;       // "conv1.weight"
  Dims torch_shape;       // PyTorch's shape
  int64_t fan_in = 1;     // for the default initialisation
  dnnl::memory::desc md;  // the layout the primitives use (weights, grads, state alike)
  BufferId weight = kNoBuffer;
  BufferId grad = kNoBuffer;  // kNoBuffer in inference
  // Set: initialised to this value instead of the fan-in uniform range (BatchNorm's weight 1
  // and bias 0, as PyTorch's reset_parameters).
  std::optional<float> init_constant;
};

// A persistent tensor that is not trained: no gradient, no optimizer state, not counted among
// the parameters (BatchNorm's running_mean, running_var, num_batches_tracked). Tagged weight;
// initialised to `init_value`, saved and loaded by its PyTorch name like the parameters.
// A trainable parameter as a layer declares it (Layer::params), before any layout exists.
struct ParamDecl {
  std::string name;  // full name, e.g. "conv1.weight" (PyTorch's)
  Dims shape;        // PyTorch's shape and layout (OIHW, [out, in], [C])
  int64_t fan_in = 1;
};

struct StateBinding {
  std::string name;       // "bn1.running_mean"
  Dims torch_shape;       // PyTorch's shape ({} for a scalar such as num_batches_tracked)
  dnnl::memory::desc md;  // the layout the ops read and write
  float init_value = 0;
  BufferId buffer = kNoBuffer;
};

class StepBuilder {
 public:
  StepBuilder(dnnl::engine engine, bool training, int64_t batch);

  const dnnl::engine& engine() const { return engine_; }
  bool training() const { return training_; }
  int64_t batch() const { return batch_; }
  // Every primitive is created with this: scratchpad_mode::user.
  const dnnl::primitive_attr& attr() const { return attr_; }

  TensorRef book(const std::string& name, Tag tag, const dnnl::memory::desc& md,
                 bool persistent = false);
  BufferId book_bytes(const std::string& name, Tag tag, int64_t bytes, bool persistent = false);

  // A oneDNN call of primitive `Prim` from its primitive descriptor; attaches the shared
  // scratchpad when the primitive needs one.
  template <typename Prim>
  DnnlCall call(const typename Prim::primitive_desc& pd,
                std::vector<std::pair<int, TensorRef>> args) {
    DnnlCall c;
    c.make = [pd] { return Prim(pd); };
    c.impl = pd.impl_info_str();
    c.what = kind_name(pd.get_kind());
    c.args = std::move(args);
    attach_scratchpad(c, pd.scratchpad_desc());
    return c;
  }

  // Adds an op; its `uses` are the buffers of its calls plus `extra_uses`.
  void add_op(std::string name, Phase phase, std::vector<DnnlCall> calls, CustomFn custom = {},
              const std::vector<BufferId>& extra_uses = {}, double flops = 0);

  // The op just added updates persistent state (see Op::stateful).
  void mark_last_op_stateful() { schedule_.ops.back().stateful = true; }

  // Returns `have` if it is already in layout `want`; otherwise books `name` with `tag` and adds
  // an op that reorders into it.
  TensorRef reorder_to(const TensorRef& have, const dnnl::memory::desc& want,
                       const std::string& name, Tag tag, Phase phase);
  // Reorders `from` into the existing buffer `to` as an op of its own.
  void add_reorder(const std::string& op_name, const TensorRef& from, const TensorRef& to,
                   Phase phase);

  // Registers a trainable parameter in layout `md`: books its weight (and, in training, its
  // gradient) as persistent buffers.
  // A layer passes the declaration its params() returns, so that a parameter is declared once.
  const ParamBinding& param(const ParamDecl& decl, const dnnl::memory::desc& md,
                            std::optional<float> init_constant = std::nullopt);
  const ParamBinding& param(const std::string& name, const Dims& torch_shape, int64_t fan_in,
                            const dnnl::memory::desc& md,
                            std::optional<float> init_constant = std::nullopt) {
    return param(ParamDecl{name, torch_shape, fan_in}, md, init_constant);
  }
  const std::vector<ParamBinding>& params() const { return params_; }
  // Registers a non-trainable persistent tensor (see StateBinding): one persistent buffer tagged
  // weight, in training and inference alike.
  const StateBinding& state(const std::string& name, const Dims& torch_shape,
                            const dnnl::memory::desc& md, float init_value);
  const std::vector<StateBinding>& states() const { return states_; }
  // With fused updates a gradient lives only from its backward op to its update op, so it is
  // booked as a transient buffer instead of a persistent one. Call before planning layers.
  void set_transient_grads(bool on) { transient_grads_ = on; }
  // Off: no layer may write over its input (to compare with in-place execution).
  void set_in_place(bool on) { in_place_ = on; }

  // In-place concatenation: the view of a concatenation's buffer that the layer being planned
  // should write its output into (see TensorRef::offset). A layer
  // that can takes it; the concatenation copies the output of one that does not.
  void set_output_view(const std::optional<TensorRef>& view) { output_view_ = view; }
  std::optional<TensorRef> take_output_view() { return std::exchange(output_view_, std::nullopt); }

  // In-place decisions. A buffer some op saves for backward, or that more than one layer reads,
  // must not be overwritten by a later layer.
  void mark_saved(BufferId id);
  void set_readers(BufferId id, int readers);
  bool can_overwrite(BufferId id) const;

  // The one scratchpad every primitive shares (kNoBuffer until a primitive needs one).
  BufferId scratchpad() const { return scratchpad_; }
  const Buffer& buffer(BufferId id) const { return schedule_.buffers[static_cast<size_t>(id)]; }
  const std::vector<Op>& ops() const { return schedule_.ops; }
  Schedule finish();

 private:
  static const char* kind_name(dnnl::primitive::kind k);
  void attach_scratchpad(DnnlCall& c, const dnnl::memory::desc& scratch_md);

  dnnl::engine engine_;
  bool training_;
  bool transient_grads_ = false;
  bool in_place_ = true;
  int64_t batch_;
  dnnl::primitive_attr attr_;
  Schedule schedule_;
  std::vector<ParamBinding> params_;
  std::vector<StateBinding> states_;
  std::vector<uint8_t> protected_;  // per buffer: saved for backward or read by several layers
  BufferId scratchpad_ = kNoBuffer;
  std::optional<TensorRef> output_view_;
};

}  // namespace cnnmem
