#include "layers/group_norm.h"

#include <cmath>
#include <cstddef>

#include "framework/error.h"

namespace cnnmem {

using dnnl::memory;

namespace {

// The sizes the loops need: (N, C, S) row-major, G groups of C / G channels.
struct Shape {
  int64_t n, c, s, g;
  int64_t per_group() const { return c / g; }            // channels in a group
  int64_t m() const { return per_group() * s; }          // values in a group
  int64_t offset(int64_t ng) const { return ng * m(); }  // first value of group (n, g)
};

memory::desc row_major(const memory::dims& d) {
  memory::dims strides(d.size(), 1);
  for (size_t i = d.size() - 1; i > 0; --i) strides[i - 1] = strides[i] * d[i];
  return memory::desc(d, memory::data_type::f32, strides);
}

// y = (x - mean) * rstd * weight[c] + bias[c]; mean and rstd per (n, g) into `mean`/`rstd` when
// not null. x and y may be the same buffer.
void forward_loops(const Shape& sh, double eps, const float* x, float* y, const float* weight,
                   const float* bias, float* mean, float* rstd) {
  const int64_t groups = sh.n * sh.g, m = sh.m();
#pragma omp parallel for schedule(static)
  for (int64_t ng = 0; ng < groups; ++ng) {
    const float* xg = x + sh.offset(ng);
    double sum = 0;
    for (int64_t i = 0; i < m; ++i) sum += xg[i];
    const double mu = sum / static_cast<double>(m);
    double sq = 0;
    for (int64_t i = 0; i < m; ++i) sq += (xg[i] - mu) * (xg[i] - mu);
    const double r = 1.0 / std::sqrt(sq / static_cast<double>(m) + eps);
    if (mean != nullptr) mean[ng] = static_cast<float>(mu);
    if (rstd != nullptr) rstd[ng] = static_cast<float>(r);
    float* yg = y + sh.offset(ng);
    const int64_t c0 = (ng % sh.g) * sh.per_group();
    for (int64_t k = 0; k < sh.per_group(); ++k) {
      const double w = weight != nullptr ? weight[c0 + k] : 1.0;
      const auto scale = static_cast<float>(w * r);
      const auto shift = static_cast<float>((bias != nullptr ? bias[c0 + k] : 0.0) - mu * w * r);
      for (int64_t i = k * sh.s; i < (k + 1) * sh.s; ++i) yg[i] = xg[i] * scale + shift;
    }
  }
}

struct BackwardArgs {
  const float* x;
  const float* mean;
  const float* rstd;
  const float* dy;
  const float* weight;  // null: not affine
  float* dx;            // may be dy; null: not needed
  double* sums;         // (N, C, 2): sum of dy, sum of dy * x
  float* dweight;       // null: not affine
  float* dbias;
};

// Per (n, g): the channel sums, then dx. With xhat = (x - mu) * r and dxhat = weight * dy,
//   dx = r * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
//      = r * weight[c] * dy + c2 * x + c3,
// c2 = -r^3 (ds - mu db) / M, c3 = -r db / M - mu c2, ds = sum weight dy x, db = sum weight dy.
void backward_data_loops(const Shape& sh, const BackwardArgs& a) {
  const int64_t groups = sh.n * sh.g, m = sh.m();
#pragma omp parallel for schedule(static)
  for (int64_t ng = 0; ng < groups; ++ng) {
    const float* xg = a.x + sh.offset(ng);
    const float* dyg = a.dy + sh.offset(ng);
    const int64_t c0 = (ng % sh.g) * sh.per_group();
    double* sums = a.sums + 2 * ((ng / sh.g) * sh.c + c0);
    double ds = 0, db = 0;
    for (int64_t k = 0; k < sh.per_group(); ++k) {
      double sdy = 0, sdyx = 0;
      for (int64_t i = k * sh.s; i < (k + 1) * sh.s; ++i) {
        sdy += dyg[i];
        sdyx += static_cast<double>(dyg[i]) * xg[i];
      }
      sums[2 * k] = sdy;
      sums[2 * k + 1] = sdyx;
      const double w = a.weight != nullptr ? a.weight[c0 + k] : 1.0;
      db += w * sdy;
      ds += w * sdyx;
    }
    if (a.dx == nullptr) continue;
    const double mu = a.mean[ng], r = a.rstd[ng], inv_m = 1.0 / static_cast<double>(m);
    const double c2 = -r * r * r * (ds - mu * db) * inv_m;
    const auto c3 = static_cast<float>(-r * db * inv_m - mu * c2);
    float* dxg = a.dx + sh.offset(ng);
    for (int64_t k = 0; k < sh.per_group(); ++k) {
      const auto scale = static_cast<float>(r * (a.weight != nullptr ? a.weight[c0 + k] : 1.0));
      for (int64_t i = k * sh.s; i < (k + 1) * sh.s; ++i) {
        dxg[i] = dyg[i] * scale + static_cast<float>(c2) * xg[i] + c3;
      }
    }
  }
}

// dweight[c] = sum_n r (sum dy x - mu sum dy), dbias[c] = sum_n sum dy.
void backward_weights_loops(const Shape& sh, const BackwardArgs& a) {
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < sh.c; ++c) {
    double dw = 0, dbias = 0;
    for (int64_t n = 0; n < sh.n; ++n) {
      const int64_t ng = n * sh.g + c / sh.per_group();
      const double* s = a.sums + 2 * (n * sh.c + c);
      dw += a.rstd[ng] * (s[1] - a.mean[ng] * s[0]);
      dbias += s[0];
    }
    a.dweight[c] = static_cast<float>(dw);
    a.dbias[c] = static_cast<float>(dbias);
  }
}

}  // namespace

GroupNorm::GroupNorm(std::string name, int64_t num_groups, int64_t num_channels, double eps,
                     bool affine)
    : Layer(std::move(name)),
      groups_(num_groups),
      channels_(num_channels),
      eps_(eps),
      affine_(affine) {
  validate(eps);
}

GroupNorm::GroupNorm(Instance, std::string name, int64_t num_features, double eps, bool affine)
    : Layer(std::move(name)),
      groups_(num_features),
      channels_(num_features),
      eps_(eps),
      affine_(affine),
      instance_(true) {
  validate(eps);
}

void GroupNorm::validate(double eps) const {
  // kind() is not yet the subclass's while a constructor runs.
  const std::string prefix =
      std::string(instance_ ? "instance_norm2d" : "group_norm") + " \"" + name() + "\": ";
  if (channels_ <= 0) {
    throw Error(prefix + (instance_ ? "num_features" : "num_channels") + " must be positive, got " +
                std::to_string(channels_));
  }
  if (groups_ <= 0) {
    throw Error(prefix + "num_groups must be positive, got " + std::to_string(groups_));
  }
  if (channels_ % groups_ != 0) {
    throw Error(prefix + "num_channels " + std::to_string(channels_) +
                " is not divisible by num_groups " + std::to_string(groups_) +
                "; choose a number of groups that divides the channels");
  }
  if (!(eps > 0)) {
    throw Error(prefix + "eps must be positive (PyTorch's default is 1e-5), got " +
                std::to_string(eps));
  }
}

Dims GroupNorm::infer(const std::vector<Dims>& in) const {
  if (in.size() != 1 || in[0].empty() || (instance_ && in[0].size() != 3)) {
    throw Error(error_prefix() + "expects one " + (instance_ ? "CxHxW" : "C or CxHxW") +
                " input, got " + (in.empty() || in[0].empty() ? "none" : dims_str(in[0])));
  }
  if (in[0][0] != channels_) {
    throw Error(error_prefix() + "input has " + std::to_string(in[0][0]) +
                " channels, the layer normalises " + std::to_string(channels_));
  }
  return in[0];
}

std::vector<ParamDecl> GroupNorm::params(const std::vector<Dims>& /*in*/) const {
  if (!affine_) return {};
  return {{name() + ".weight", {channels_}, channels_}, {name() + ".bias", {channels_}, channels_}};
}

double GroupNorm::flops(const std::vector<Dims>& /*in*/, const Dims& out) const {
  // Mean, variance, and one multiply-add a value.
  return 4.0 * static_cast<double>(dims_product(out));
}

TensorRef GroupNorm::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  const memory::dims d = in[0].md.dims();
  const Dims sample(d.begin() + 1, d.end());
  infer({sample});
  n_ = d[0];
  spatial_ = dims_product(sample) / channels_;
  const bool training = b.training();
  if (instance_ && training && spatial_ < 2) {
    throw Error(error_prefix() + "training needs more than one spatial value per channel, got " +
                dims_str(sample) + " (PyTorch raises the same)");
  }
  plain_ = row_major(d);
  if (affine_) {
    const memory::desc vec({channels_}, memory::data_type::f32, memory::format_tag::a);
    const std::vector<ParamDecl> decls = params({});
    weight_ = b.param(decls[0], vec, 1.0f);
    bias_ = b.param(decls[1], vec, 0.0f);
  }
  TensorRef src, dst;
  in_place_ = false;
  mean_ = rstd_ = kNoBuffer;
  if (training) {
    src_ = b.reorder_to(in[0], plain_, name() + ".src", Tag::kActivation, Phase::kForward);
    src = src_;
    dst = b.book(name() + ".dst", Tag::kActivation, plain_);
    const memory::desc stats({n_ * groups_}, memory::data_type::f32, memory::format_tag::a);
    mean_ = b.book(name() + ".mean", Tag::kActivation, stats).buffer;
    rstd_ = b.book(name() + ".rstd", Tag::kActivation, stats).buffer;
    for (BufferId id : {src_.buffer, mean_, rstd_}) b.mark_saved(id);
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
  const Shape sh{n_, channels_, spatial_, groups_};
  const double eps = eps_;
  const BufferId x = src.buffer, y = dst.buffer, mean = mean_, rstd = rstd_;
  const BufferId w = affine_ ? weight_.weight : kNoBuffer,
                 bias = affine_ ? bias_.weight : kNoBuffer;
  std::vector<BufferId> uses = {x, y};
  for (BufferId id : {w, bias, mean, rstd}) {
    if (id != kNoBuffer) uses.push_back(id);
  }
  const auto ptr = [](const BufferTable& t, BufferId id) {
    return id == kNoBuffer ? nullptr : t.f32(id);
  };
  b.add_op(
      name() + ".forward", Phase::kForward, {},
      [=](const BufferTable& t) {
        forward_loops(sh, eps, t.f32(x), t.f32(y), ptr(t, w), ptr(t, bias), ptr(t, mean),
                      ptr(t, rstd));
      },
      uses, static_cast<double>(n_) * flops({}, sample));
  return dst;
}

std::vector<TensorRef> GroupNorm::plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                                const std::vector<bool>& need) {
  CNNMEM_CHECK(b.training() && mean_ != kNoBuffer);
  if (!need[0] && !affine_) return {TensorRef{}};
  const TensorRef dd =
      b.reorder_to(diff_dst, plain_, name() + ".diff_dst", Tag::kActivationGrad, Phase::kBackward);
  TensorRef diff_src;
  if (need[0]) {
    // Each group's sums are taken before its dx is written: diff_src may be diff_dst's buffer.
    diff_src = b.can_overwrite(dd.buffer)
                   ? dd
                   : b.book(name() + ".diff_src", Tag::kActivationGrad, plain_);
  }
  const BufferId sums = b.book_bytes(name() + ".sums", Tag::kWorkspace,
                                     n_ * channels_ * 2 * static_cast<int64_t>(sizeof(double)));
  const Shape sh{n_, channels_, spatial_, groups_};
  const BufferId x = src_.buffer, mean = mean_, rstd = rstd_, dy = dd.buffer;
  const BufferId dx = need[0] ? diff_src.buffer : kNoBuffer;
  const BufferId w = affine_ ? weight_.weight : kNoBuffer;
  const BufferId dw = affine_ ? weight_.grad : kNoBuffer, db = affine_ ? bias_.grad : kNoBuffer;
  std::vector<BufferId> uses = {x, mean, rstd, dy, sums};
  for (BufferId id : {dx, w, dw, db}) {
    if (id != kNoBuffer && id != dy) uses.push_back(id);
  }
  const auto ptr = [](const BufferTable& t, BufferId id) {
    return id == kNoBuffer ? nullptr : t.f32(id);
  };
  b.add_op(
      name() + ".backward", Phase::kBackward, {},
      [=](const BufferTable& t) {
        const BackwardArgs a{t.f32(x),
                             t.f32(mean),
                             t.f32(rstd),
                             t.f32(dy),
                             ptr(t, w),
                             ptr(t, dx),
                             reinterpret_cast<double*>(t.bytes(sums)),
                             ptr(t, dw),
                             ptr(t, db)};
        backward_data_loops(sh, a);
        if (a.dweight != nullptr) backward_weights_loops(sh, a);
      },
      uses, 2.0 * static_cast<double>(n_ * channels_ * spatial_) * 4.0);
  return {diff_src};
}

}  // namespace cnnmem
