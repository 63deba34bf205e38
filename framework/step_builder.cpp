#include "framework/step_builder.h"

#include <algorithm>

#include "framework/error.h"

namespace cnnmem {

StepBuilder::StepBuilder(dnnl::engine engine, bool training, int64_t batch)
    : engine_(std::move(engine)), training_(training), batch_(batch) {
  attr_.set_scratchpad_mode(dnnl::scratchpad_mode::user);
}

TensorRef StepBuilder::book(const std::string& name, Tag tag, const dnnl::memory::desc& md,
                            bool persistent) {
  const BufferId id = book_bytes(name, tag, static_cast<int64_t>(md.get_size()), persistent);
  int64_t elements = 1;
  for (int64_t d : md.dims()) elements *= d;
  const auto dt = md.data_type();
  const int64_t elem = dt == dnnl::memory::data_type::f32 || dt == dnnl::memory::data_type::s32 ? 4
                       : dt == dnnl::memory::data_type::u8 || dt == dnnl::memory::data_type::s8 ? 1
                                                                                                : 2;
  schedule_.buffers[static_cast<size_t>(id)].bytes_logical = elements * elem;
  return TensorRef{id, md};
}

BufferId StepBuilder::book_bytes(const std::string& name, Tag tag, int64_t bytes, bool persistent) {
  CNNMEM_CHECK(bytes >= 0);
  Buffer buf;
  buf.name = name;
  buf.tag = tag;
  buf.bytes_requested = bytes;
  buf.bytes_aligned = align_up(bytes);
  buf.bytes_logical = bytes;
  buf.persistent = persistent;
  schedule_.buffers.push_back(std::move(buf));
  protected_.push_back(0);
  return static_cast<BufferId>(schedule_.buffers.size() - 1);
}

void StepBuilder::add_op(std::string name, Phase phase, std::vector<DnnlCall> calls,
                         CustomFn custom, const std::vector<BufferId>& extra_uses, double flops) {
  Op op;
  op.name = std::move(name);
  op.phase = phase;
  op.custom = std::move(custom);
  op.flops = flops;
  for (const DnnlCall& c : calls) {
    for (const auto& [arg, ref] : c.args) op.uses.push_back(ref.buffer);
  }
  for (BufferId id : extra_uses) op.uses.push_back(id);
  std::sort(op.uses.begin(), op.uses.end());
  op.uses.erase(std::unique(op.uses.begin(), op.uses.end()), op.uses.end());
  for (BufferId id : op.uses) CNNMEM_CHECK_MSG(id != kNoBuffer, op.name + " uses no buffer");
  op.calls = std::move(calls);
  schedule_.ops.push_back(std::move(op));
}

void StepBuilder::add_reorder(const std::string& op_name, const TensorRef& from,
                              const TensorRef& to, Phase phase) {
  auto pd = dnnl::reorder::primitive_desc(engine_, from.md, engine_, to.md, attr_);
  add_op(op_name, phase, {call<dnnl::reorder>(pd, {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}})});
}

TensorRef StepBuilder::reorder_to(const TensorRef& have, const dnnl::memory::desc& want,
                                  const std::string& name, Tag tag, Phase phase) {
  if (have.md == want) return have;
  TensorRef to = book(name, tag, want);
  add_reorder(name + ".reorder", have, to, phase);
  return to;
}

const ParamBinding& StepBuilder::param(const ParamDecl& decl, const dnnl::memory::desc& md,
                                       std::optional<float> init_constant) {
  const std::string& name = decl.name;
  for (const ParamBinding& p : params_) {
    CNNMEM_CHECK_MSG(p.name != name, "parameter " + name + " registered twice");
  }
  for (const StateBinding& s : states_) {
    CNNMEM_CHECK_MSG(s.name != name, "parameter " + name + " is already a state tensor");
  }
  ParamBinding p;
  p.name = name;
  p.torch_shape = decl.shape;
  p.fan_in = decl.fan_in;
  p.md = md;
  p.init_constant = init_constant;
  p.weight = book(name, Tag::kWeight, md, /*persistent=*/true).buffer;
  if (training_) p.grad = book("grad." + name, Tag::kGrad, md, !transient_grads_).buffer;
  params_.push_back(std::move(p));
  return params_.back();
}

const StateBinding& StepBuilder::state(const std::string& name, const Dims& torch_shape,
                                       const dnnl::memory::desc& md, float init_value) {
  for (const StateBinding& s : states_) {
    CNNMEM_CHECK_MSG(s.name != name, "state tensor " + name + " registered twice");
  }
  for (const ParamBinding& p : params_) {
    CNNMEM_CHECK_MSG(p.name != name, "state tensor " + name + " is already a parameter");
  }
  // Logical elements: a channel-blocked layout may pad (it is read and written by reorders).
  CNNMEM_CHECK_MSG(dims_product(torch_shape) == dims_product(md.dims()),
                   "state tensor " + name + ": PyTorch shape and layout disagree");
  StateBinding s;
  s.name = name;
  s.torch_shape = torch_shape;
  s.md = md;
  s.init_value = init_value;
  s.buffer = book(name, Tag::kWeight, md, /*persistent=*/true).buffer;
  states_.push_back(std::move(s));
  return states_.back();
}

void StepBuilder::mark_saved(BufferId id) { protected_[static_cast<size_t>(id)] = 1; }

void StepBuilder::set_readers(BufferId id, int readers) {
  if (readers > 1) protected_[static_cast<size_t>(id)] = 1;
}

bool StepBuilder::can_overwrite(BufferId id) const {
  return in_place_ && !protected_[static_cast<size_t>(id)] && !buffer(id).persistent &&
         buffer(id).tag != Tag::kInput;
}

void StepBuilder::attach_scratchpad(DnnlCall& c, const dnnl::memory::desc& scratch_md) {
  const auto bytes = static_cast<int64_t>(scratch_md.get_size());
  if (bytes == 0) return;
  if (scratchpad_ == kNoBuffer) scratchpad_ = book_bytes("scratchpad", Tag::kWorkspace, 0);
  Buffer& buf = schedule_.buffers[static_cast<size_t>(scratchpad_)];
  if (bytes > buf.bytes_requested) {
    buf.bytes_requested = bytes;
    buf.bytes_aligned = align_up(bytes);
    buf.bytes_logical = bytes;
  }
  c.args.emplace_back(DNNL_ARG_SCRATCHPAD, TensorRef{scratchpad_, scratch_md});
}

Schedule StepBuilder::finish() { return std::move(schedule_); }

const char* StepBuilder::kind_name(dnnl::primitive::kind k) {
  switch (k) {
    case dnnl::primitive::kind::convolution:
      return "convolution";
    case dnnl::primitive::kind::inner_product:
      return "inner_product";
    case dnnl::primitive::kind::pooling:
    case dnnl::primitive::kind::pooling_v2:
      return "pooling";
    case dnnl::primitive::kind::eltwise:
      return "eltwise";
    case dnnl::primitive::kind::reorder:
      return "reorder";
    case dnnl::primitive::kind::batch_normalization:
      return "batch_normalization";
    case dnnl::primitive::kind::binary:
      return "binary";
    case dnnl::primitive::kind::sum:
      return "sum";
    case dnnl::primitive::kind::concat:
      return "concat";
    case dnnl::primitive::kind::deconvolution:
      return "deconvolution";
    case dnnl::primitive::kind::layer_normalization:
      return "layer_normalization";
    case dnnl::primitive::kind::resampling:
      return "resampling";
    case dnnl::primitive::kind::reduction:
      return "reduction";
    case dnnl::primitive::kind::prelu:
      return "prelu";
    case dnnl::primitive::kind::shuffle:
      return "shuffle";
    default:
      return "primitive";
  }
}

}  // namespace cnnmem
