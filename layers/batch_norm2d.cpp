#include "layers/batch_norm2d.h"

#include <cmath>

#include "framework/error.h"

namespace cnnmem {

using dnnl::memory;

namespace {
dnnl::normalization_flags affine() {
  return dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
}

// The buffers the running-statistics update reads and writes.
struct RunningStats {
  BufferId mean, var, running_mean, running_var, count;
};

// The op that folds a training step's batch statistics into the running ones as PyTorch does:
// momentum `m`, the variance unbiased over the `per_channel` values of each channel.
void add_running_stats_op(StepBuilder& b, const std::string& op, const RunningStats& s, int64_t c,
                          float m, int64_t per_channel) {
  const float unbias =
      static_cast<float>(static_cast<double>(per_channel) / static_cast<double>(per_channel - 1));
  b.add_op(
      op, Phase::kForward, {},
      [=](const BufferTable& t) {
        const float* bm = t.f32(s.mean);
        const float* bv = t.f32(s.var);
        float* rm = t.f32(s.running_mean);
        float* rv = t.f32(s.running_var);
        for (int64_t i = 0; i < c; ++i) {
          rm[i] = (1 - m) * rm[i] + m * bm[i];
          rv[i] = (1 - m) * rv[i] + m * bv[i] * unbias;
        }
        t.f32(s.count)[0] += 1;
      },
      {s.mean, s.var, s.running_mean, s.running_var, s.count}, static_cast<double>(4 * c));
}
}  // namespace

BatchNorm2d::BatchNorm2d(std::string name, int64_t channels, double eps, double momentum)
    : Layer(std::move(name)),
      channels_(channels),
      eps_(static_cast<float>(eps)),
      momentum_(static_cast<float>(momentum)) {
  if (channels_ <= 0) {
    throw Error(error_prefix() + "channels must be positive, got " + std::to_string(channels));
  }
  if (!(eps > 0)) {
    throw Error(error_prefix() + "eps must be positive (PyTorch's default is 1e-5), got " +
                std::to_string(eps));
  }
  if (!(momentum >= 0 && momentum <= 1)) {
    throw Error(error_prefix() +
                "momentum must be between 0 and 1 (PyTorch's default is 0.1), got " +
                std::to_string(momentum));
  }
}

Dims BatchNorm2d::infer(const std::vector<Dims>& in) const {
  if (in.size() != 1 || in[0].size() != 3) {
    throw Error(error_prefix() + "expects one CxHxW input, got " +
                (in.empty() ? "none" : dims_str(in[0])));
  }
  if (in[0][0] != channels_) {
    throw Error(error_prefix() + "input has " + std::to_string(in[0][0]) +
                " channels, the layer normalises " + std::to_string(channels_));
  }
  return in[0];
}

std::vector<ParamDecl> BatchNorm2d::params(const std::vector<Dims>& /*in*/) const {
  return {{name() + ".weight", {channels_}, channels_}, {name() + ".bias", {channels_}, channels_}};
}

double BatchNorm2d::flops(const std::vector<Dims>& /*in*/, const Dims& out) const {
  return 2.0 * static_cast<double>(dims_product(out));  // one multiply-add per value
}

TensorRef BatchNorm2d::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  TensorRef src = in[0];
  const memory::dims d = src.md.dims();
  CNNMEM_CHECK(d.size() == 4);
  infer({{d[1], d[2], d[3]}});
  const int64_t per_channel = d[0] * d[2] * d[3];  // M: values per channel in the batch
  const bool training = b.training();
  if (training && per_channel < 2) {
    throw Error(error_prefix() + "training needs more than one value per channel, got batch " +
                std::to_string(d[0]) + " of " + std::to_string(d[2]) + "x" + std::to_string(d[3]) +
                " maps; use a batch of at least 2");
  }
  const Phase phase = recompute_ ? Phase::kRecompute : Phase::kForward;
  const auto flags = training ? affine() : affine() | dnnl::normalization_flags::use_global_stats;
  const auto prop =
      training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  fwd_pd_.emplace(dnnl::batch_normalization_forward::desc(prop, src.md, eps_, flags), b.attr(),
                  b.engine());
  if (std::string(fwd_pd_->impl_info_str()).find("ref") != std::string::npos) {
    // oneDNN 2.6 has only its reference kernel for some layouts a convolution picks (aBcd4b
    // after resnext's 4-channel groups): normalise a channels-last copy instead.
    src = b.reorder_to(src, memory::desc(d, memory::data_type::f32, memory::format_tag::acdb),
                       name() + ".src", training ? Tag::kActivation : Tag::kWorkspace, phase);
    fwd_pd_.emplace(dnnl::batch_normalization_forward::desc(prop, src.md, eps_, flags), b.attr(),
                    b.engine());
  }
  const memory::desc vec({channels_}, memory::data_type::f32, memory::format_tag::a);
  CNNMEM_CHECK(fwd_pd_->mean_desc() == vec && fwd_pd_->variance_desc() == vec);
  if (!recompute_) {
    const std::vector<ParamDecl> decls = params({});
    weight_ = b.param(decls[0], vec, 1.0f);
    bias_ = b.param(decls[1], vec, 0.0f);
    running_mean_ = b.state(name() + ".running_mean", {channels_}, vec, 0.0f);
    running_var_ = b.state(name() + ".running_var", {channels_}, vec, 1.0f);
    num_batches_tracked_ =
        b.state(name() + ".num_batches_tracked", {},
                memory::desc({1}, memory::data_type::f32, memory::format_tag::a), 0.0f);
  }
  std::vector<std::pair<int, TensorRef>> args = {{DNNL_ARG_SRC, src},
                                                 {DNNL_ARG_SCALE, {weight_.weight, weight_.md}},
                                                 {DNNL_ARG_SHIFT, {bias_.weight, bias_.md}}};
  TensorRef dst;
  in_place_ = false;
  if (training) {
    // Backward reads src and the batch statistics: they are what this layer saves.
    src_ = src;
    mean_ = b.book(name() + ".mean", Tag::kActivation, fwd_pd_->mean_desc());
    var_ = b.book(name() + ".var", Tag::kActivation, fwd_pd_->variance_desc());
    dst = b.book(name() + ".dst", Tag::kActivation, fwd_pd_->dst_desc());
    b.mark_saved(src_.buffer);
    b.mark_saved(mean_.buffer);
    b.mark_saved(var_.buffer);
    args.push_back({DNNL_ARG_MEAN, mean_});
    args.push_back({DNNL_ARG_VARIANCE, var_});
  } else {
    in_place_ = b.can_overwrite(src.buffer) && fwd_pd_->dst_desc() == src.md;
    dst = in_place_ ? TensorRef{src.buffer, fwd_pd_->dst_desc()}
                    : b.book(name() + ".dst", Tag::kActivation, fwd_pd_->dst_desc());
    args.push_back({DNNL_ARG_MEAN, {running_mean_.buffer, running_mean_.md}});
    args.push_back({DNNL_ARG_VARIANCE, {running_var_.buffer, running_var_.md}});
  }
  args.push_back({DNNL_ARG_DST, dst});
  const double f = static_cast<double>(d[0]) * flops({}, {d[1], d[2], d[3]});
  b.add_op(name() + ".forward", phase,
           {b.call<dnnl::batch_normalization_forward>(*fwd_pd_, std::move(args))}, {}, {}, f);
  if (training && !recompute_) {
    add_running_stats_op(b, name() + ".running_stats",
                         {mean_.buffer, var_.buffer, running_mean_.buffer, running_var_.buffer,
                          num_batches_tracked_.buffer},
                         channels_, momentum_, per_channel);
    b.mark_last_op_stateful();
  }
  return dst;
}

std::vector<TensorRef> BatchNorm2d::plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                                  const std::vector<bool>& need) {
  CNNMEM_CHECK(fwd_pd_.has_value() && b.training());
  const memory::desc diff_any(src_.md.dims(), memory::data_type::f32, memory::format_tag::any);
  const dnnl::batch_normalization_backward::primitive_desc pd(
      dnnl::batch_normalization_backward::desc(dnnl::prop_kind::backward, diff_any, src_.md, eps_,
                                               affine()),
      b.attr(), b.engine(), *fwd_pd_);
  const TensorRef dd = b.reorder_to(diff_dst, pd.diff_dst_desc(), name() + ".diff_dst",
                                    Tag::kActivationGrad, Phase::kBackward);
  const TensorRef src =
      b.reorder_to(src_, pd.src_desc(), name() + ".src_bwd", Tag::kWorkspace, Phase::kBackward);
  // oneDNN computes diff_src along with the parameter gradients, needed or not. Never in place
  // over diff_dst: a residual add hands the same diff_dst to another branch.
  const TensorRef diff_src = b.book(name() + ".diff_src", Tag::kActivationGrad, pd.diff_src_desc());
  const std::vector<std::pair<int, TensorRef>> args = {
      {DNNL_ARG_SRC, src},
      {DNNL_ARG_MEAN, mean_},
      {DNNL_ARG_VARIANCE, var_},
      {DNNL_ARG_DIFF_DST, dd},
      {DNNL_ARG_SCALE, {weight_.weight, weight_.md}},
      {DNNL_ARG_SHIFT, {bias_.weight, bias_.md}},
      {DNNL_ARG_DIFF_SRC, diff_src},
      {DNNL_ARG_DIFF_SCALE, {weight_.grad, weight_.md}},
      {DNNL_ARG_DIFF_SHIFT, {bias_.grad, bias_.md}}};
  const double f = 2.0 * static_cast<double>(src_.md.get_size()) / sizeof(float);
  b.add_op(name() + ".backward", Phase::kBackward,
           {b.call<dnnl::batch_normalization_backward>(pd, args)}, {}, {}, f);
  return {need[0] ? diff_src : TensorRef{}};
}

}  // namespace cnnmem
