#include "layers/layer_norm.h"

#include <cmath>

#include "framework/error.h"

namespace cnnmem {

using dnnl::memory;

namespace {

dnnl::normalization_flags affine_flags(bool affine) {
  return affine ? dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift
                : dnnl::normalization_flags::none;
}

// The same buffer seen with another descriptor of the same bytes.
TensorRef as(const TensorRef& t, const memory::desc& md) { return TensorRef{t.buffer, md}; }

}  // namespace

LayerNormBase::LayerNormBase(std::string name, int64_t size, double eps, bool elementwise_affine)
    : Layer(std::move(name)),
      size_(size),
      eps_(static_cast<float>(eps)),
      affine_(elementwise_affine) {}

void LayerNormBase::validate(const char* size_name) const {
  if (size_ <= 0) {
    throw Error(error_prefix() + size_name + " must be positive, got " + std::to_string(size_));
  }
  if (!(eps_ > 0)) {
    throw Error(error_prefix() + "eps must be positive (PyTorch's default is 1e-5), got " +
                std::to_string(eps_));
  }
}

std::vector<ParamDecl> LayerNormBase::params(const std::vector<Dims>& /*in*/) const {
  if (!affine_) return {};
  return {{name() + ".weight", {size_}, size_}, {name() + ".bias", {size_}, size_}};
}

double LayerNormBase::flops(const std::vector<Dims>& /*in*/, const Dims& out) const {
  // Mean, variance, normalise, scale and shift: about four operations a value.
  return 4.0 * static_cast<double>(dims_product(out));
}

TensorRef LayerNormBase::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  const memory::dims d = in[0].md.dims();
  infer({Dims(d.begin() + 1, d.end())});
  plain_ = plain_desc(d);
  const int64_t rows = dims_product(Dims(d.begin(), d.end())) / size_;
  view_ = memory::desc({rows, size_}, memory::data_type::f32, memory::format_tag::ab);
  const bool training = b.training();
  const auto prop =
      training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  fwd_pd_.emplace(dnnl::layer_normalization_forward::desc(prop, view_, eps_, affine_flags(affine_)),
                  b.attr(), b.engine());
  if (affine_) {
    const memory::desc vec({size_}, memory::data_type::f32, memory::format_tag::a);
    const std::vector<ParamDecl> decls = params({});
    weight_ = b.param(decls[0], vec, 1.0f);
    bias_ = b.param(decls[1], vec, 0.0f);
  }
  TensorRef src, dst;
  in_place_ = false;
  std::vector<std::pair<int, TensorRef>> args;
  if (training) {
    src_ = b.reorder_to(in[0], plain_, name() + ".src", Tag::kActivation, Phase::kForward);
    src = src_;
    dst = b.book(name() + ".dst", Tag::kActivation, plain_);
    mean_ = b.book(name() + ".mean", Tag::kActivation, fwd_pd_->mean_desc());
    var_ = b.book(name() + ".var", Tag::kActivation, fwd_pd_->variance_desc());
    for (BufferId id : {src_.buffer, mean_.buffer, var_.buffer}) b.mark_saved(id);
    args = {{DNNL_ARG_MEAN, mean_}, {DNNL_ARG_VARIANCE, var_}};
  } else if (in[0].md == plain_) {
    src = in[0];
    in_place_ = b.can_overwrite(src.buffer);
    dst = in_place_ ? src : b.book(name() + ".dst", Tag::kActivation, plain_);
  } else {
    // The reorder copy is the output: normalised there in place, no second buffer.
    dst = b.book(name() + ".dst", Tag::kActivation, plain_);
    b.add_reorder(name() + ".src.reorder", in[0], dst, Phase::kForward);
    src = dst;
  }
  args.push_back({DNNL_ARG_SRC, as(src, view_)});
  args.push_back({DNNL_ARG_DST, as(dst, view_)});
  if (affine_) {
    args.push_back({DNNL_ARG_SCALE, {weight_.weight, weight_.md}});
    args.push_back({DNNL_ARG_SHIFT, {bias_.weight, bias_.md}});
  }
  const double f = static_cast<double>(d[0]) * flops({}, Dims(d.begin() + 1, d.end()));
  b.add_op(name() + ".forward", Phase::kForward,
           {b.call<dnnl::layer_normalization_forward>(*fwd_pd_, std::move(args))}, {}, {}, f);
  return dst;
}

std::vector<TensorRef> LayerNormBase::plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                                    const std::vector<bool>& need) {
  CNNMEM_CHECK(fwd_pd_.has_value() && b.training());
  if (!need[0] && !affine_) return {TensorRef{}};
  const auto prop = affine_ ? dnnl::prop_kind::backward : dnnl::prop_kind::backward_data;
  const dnnl::layer_normalization_backward::primitive_desc pd(
      dnnl::layer_normalization_backward::desc(prop, view_, view_, eps_, affine_flags(affine_)),
      b.attr(), b.engine(), *fwd_pd_);
  CNNMEM_CHECK(pd.diff_dst_desc() == view_ && pd.diff_src_desc() == view_);
  const TensorRef dd =
      b.reorder_to(diff_dst, plain_, name() + ".diff_dst", Tag::kActivationGrad, Phase::kBackward);
  // diff_src comes with the parameter gradients, needed or not; over diff_dst when nobody else
  // reads it (a residual add hands the same diff_dst to two branches).
  const TensorRef diff_src =
      b.can_overwrite(dd.buffer)
          ? dd
          : b.book(name() + ".diff_src", need[0] ? Tag::kActivationGrad : Tag::kWorkspace, plain_);
  std::vector<std::pair<int, TensorRef>> args = {{DNNL_ARG_SRC, as(src_, view_)},
                                                 {DNNL_ARG_MEAN, mean_},
                                                 {DNNL_ARG_VARIANCE, var_},
                                                 {DNNL_ARG_DIFF_DST, as(dd, view_)},
                                                 {DNNL_ARG_DIFF_SRC, as(diff_src, view_)}};
  if (affine_) {
    args.push_back({DNNL_ARG_SCALE, {weight_.weight, weight_.md}});
    args.push_back({DNNL_ARG_SHIFT, {bias_.weight, bias_.md}});
    args.push_back({DNNL_ARG_DIFF_SCALE, {weight_.grad, weight_.md}});
    args.push_back({DNNL_ARG_DIFF_SHIFT, {bias_.grad, bias_.md}});
  }
  const double f = 2.0 * static_cast<double>(plain_.get_size()) / sizeof(float) * 4.0;
  b.add_op(name() + ".backward", Phase::kBackward,
           {b.call<dnnl::layer_normalization_backward>(pd, std::move(args))}, {}, {}, f);
  return {need[0] ? diff_src : TensorRef{}};
}

// ---- LayerNorm ----------------------------------------------------------------------------

LayerNorm::LayerNorm(std::string name, int64_t normalized_shape, double eps,
                     bool elementwise_affine)
    : LayerNormBase(std::move(name), normalized_shape, eps, elementwise_affine) {
  validate("normalized_shape");
}

Dims LayerNorm::infer(const std::vector<Dims>& in) const {
  if (in.size() != 1 || in[0].empty()) throw Error(error_prefix() + "expects exactly one input");
  if (in[0].back() != normalized_size()) {
    throw Error(error_prefix() + "input " + dims_str(in[0]) + " ends in " +
                std::to_string(in[0].back()) + " values, the layer normalises " +
                std::to_string(normalized_size()) +
                "; normalized_shape must be the input's last dimension");
  }
  return in[0];
}

memory::desc LayerNorm::plain_desc(const memory::dims& d) const {
  memory::dims strides(d.size(), 1);
  for (size_t i = d.size() - 1; i > 0; --i) strides[i - 1] = strides[i] * d[i];
  return memory::desc(d, memory::data_type::f32, strides);
}

// ---- LayerNorm2d --------------------------------------------------------------------------

LayerNorm2d::LayerNorm2d(std::string name, int64_t channels, double eps, bool elementwise_affine)
    : LayerNormBase(std::move(name), channels, eps, elementwise_affine) {
  validate("channels");
}

Dims LayerNorm2d::infer(const std::vector<Dims>& in) const {
  if (in.size() != 1 || in[0].size() != 3) {
    throw Error(error_prefix() + "expects one CxHxW input, got " +
                (in.empty() ? "none" : dims_str(in[0])) +
                "; use layer_norm for a flat (features) input");
  }
  if (in[0][0] != normalized_size()) {
    throw Error(error_prefix() + "input has " + std::to_string(in[0][0]) +
                " channels, the layer normalises " + std::to_string(normalized_size()));
  }
  return in[0];
}

memory::desc LayerNorm2d::plain_desc(const memory::dims& d) const {
  return memory::desc(d, memory::data_type::f32, memory::format_tag::nhwc);
}

}  // namespace cnnmem
