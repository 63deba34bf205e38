#include "layers/resize.h"

#include <algorithm>
#include <cmath>

#include "framework/error.h"

namespace cnnmem {

using dnnl::memory;

namespace {

memory::desc nchw(const memory::dims& dims) {
  return memory::desc(dims, memory::data_type::f32, memory::format_tag::nchw);
}

}  // namespace

Resize::Resize(std::string name, ResizeOptions options) : Layer(std::move(name)), opt_(options) {
  const std::string p = error_prefix();
  const bool by_size = opt_.out_h > 0 && opt_.out_w > 0 && opt_.scale_h == 0 && opt_.scale_w == 0;
  const bool by_scale = opt_.scale_h > 0 && opt_.scale_w > 0 && opt_.out_h == 0 && opt_.out_w == 0;
  if (!by_size && !by_scale) {
    throw Error(p + "give either a positive output size or positive scale factors, got size " +
                std::to_string(opt_.out_h) + "x" + std::to_string(opt_.out_w) + " and scales " +
                std::to_string(opt_.scale_h) + "x" + std::to_string(opt_.scale_w));
  }
  if (opt_.align_corners && opt_.mode != ResizeMode::kBilinear) {
    throw Error(p + "align_corners applies to bilinear mode only; leave it false for nearest");
  }
  if (opt_.mode != ResizeMode::kNearest && (opt_.nearest_coords != NearestCoords::kAsymmetric ||
                                            opt_.nearest_round != NearestRound::kFloor)) {
    throw Error(p + "nearest_coords and nearest_round apply to nearest mode only");
  }
}

Dims Resize::infer(const std::vector<Dims>& in) const {
  if (in.size() != 1 || in[0].size() != 3) {
    throw Error(error_prefix() + "expects one CxHxW input, got " +
                (in.empty() ? "none" : dims_str(in[0])));
  }
  const Dims& x = in[0];
  if (opt_.out_h > 0) return {x[0], opt_.out_h, opt_.out_w};
  const auto oh = static_cast<int64_t>(std::floor(static_cast<double>(x[1]) * opt_.scale_h));
  const auto ow = static_cast<int64_t>(std::floor(static_cast<double>(x[2]) * opt_.scale_w));
  if (oh <= 0 || ow <= 0) {
    throw Error(error_prefix() + "input " + dims_str(x) + " scaled by " +
                std::to_string(opt_.scale_h) + "x" + std::to_string(opt_.scale_w) +
                " is empty; use larger scale factors");
  }
  return {x[0], oh, ow};
}

double Resize::flops(const std::vector<Dims>& /*in*/, const Dims& out) const {
  return static_cast<double>(dims_product(out)) * (opt_.mode == ResizeMode::kBilinear ? 8 : 1);
}

namespace {

// ONNX's nearest source row for output row d (scale: output rows per input row; divided by, as
// ONNX's reference does, so that ties round as there).
int64_t onnx_nearest(const ResizeOptions& o, int64_t d, int64_t in, int64_t out, double scale) {
  const auto dd = static_cast<double>(d);
  double x = dd / scale;
  switch (o.nearest_coords) {
    case NearestCoords::kHalfPixel:
      x = (dd + 0.5) / scale - 0.5;
      break;
    case NearestCoords::kPyTorchHalfPixel:
      x = out > 1 ? (dd + 0.5) / scale - 0.5 : 0.0;
      break;
    case NearestCoords::kTfHalfPixel:
      x = (dd + 0.5) / scale;
      break;
    case NearestCoords::kAlignCorners:
      x = out > 1 ? dd * static_cast<double>(in - 1) / static_cast<double>(out - 1) : 0.0;
      break;
    default:
      break;
  }
  switch (o.nearest_round) {
    case NearestRound::kFloor:
      x = std::floor(x);
      break;
    case NearestRound::kCeil:
      x = std::ceil(x);
      break;
    case NearestRound::kRoundPreferFloor:
      x = std::ceil(x - 0.5);
      break;
    case NearestRound::kRoundPreferCeil:
      x = std::floor(x + 0.5);
      break;
  }
  return std::clamp(static_cast<int64_t>(x), int64_t{0}, in - 1);
}

}  // namespace

std::vector<Resize::Tap> Resize::taps(const ResizeOptions& o, int64_t in, int64_t out,
                                      double scale_factor) {
  const ResizeMode mode = o.mode;
  const bool align_corners = o.align_corners;
  const bool pytorch_nearest =
      o.nearest_coords == NearestCoords::kAsymmetric && o.nearest_round == NearestRound::kFloor;
  std::vector<Tap> t(static_cast<size_t>(out));
  // PyTorch's scale, in float: 1 / scale_factor when given, else in / out.
  const auto ratio = static_cast<float>(
      scale_factor > 0 ? 1.0 / scale_factor : static_cast<double>(in) / static_cast<double>(out));
  for (int64_t d = 0; d < out; ++d) {
    Tap& tap = t[static_cast<size_t>(d)];
    if (mode == ResizeMode::kNearest && !pytorch_nearest) {
      const double scale =
          scale_factor > 0 ? scale_factor : static_cast<double>(out) / static_cast<double>(in);
      tap.i0 = tap.i1 = onnx_nearest(o, d, in, out, scale);
      continue;
    }
    if (mode == ResizeMode::kNearest) {
      const auto s = static_cast<int64_t>(std::floor(static_cast<float>(d) * ratio));
      tap.i0 = tap.i1 = std::min(s, in - 1);
      continue;
    }
    float src = 0;
    if (align_corners) {
      const float r = out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.f;
      src = r * static_cast<float>(d);
    } else {
      src = std::max(ratio * (static_cast<float>(d) + 0.5f) - 0.5f, 0.f);
    }
    tap.i0 = std::min(static_cast<int64_t>(src), in - 1);
    tap.i1 = tap.i0 + (tap.i0 < in - 1 ? 1 : 0);
    tap.lambda = src - static_cast<float>(tap.i0);
  }
  return t;
}

TensorRef Resize::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  const memory::dims d = in[0].md.dims();
  CNNMEM_CHECK(d.size() == 4);
  const Dims out = infer({{d[1], d[2], d[3]}});
  taps_h_ = taps(opt_, d[2], out[1], opt_.scale_h);
  taps_w_ = taps(opt_, d[3], out[2], opt_.scale_w);
  src_md_ = nchw(d);
  dst_md_ = nchw({d[0], out[0], out[1], out[2]});
  // Read only by this op: a layout copy, not kept for backward.
  const TensorRef src =
      b.reorder_to(in[0], src_md_, name() + ".src", Tag::kWorkspace, Phase::kForward);
  const TensorRef dst = b.book(name() + ".dst", Tag::kActivation, dst_md_);
  const int64_t planes = d[0] * d[1], h = d[2], w = d[3], oh = out[1], ow = out[2];
  const BufferId s = src.buffer, t = dst.buffer;
  b.add_op(
      name() + ".forward", Phase::kForward, {},
      [=, th = taps_h_, tw = taps_w_](const BufferTable& table) {
        const float* x = table.f32(s);
        float* y = table.f32(t);
#pragma omp parallel for schedule(static)
        for (int64_t p = 0; p < planes; ++p) {
          const float* xp = x + p * h * w;
          float* yp = y + p * oh * ow;
          for (int64_t i = 0; i < oh; ++i) {
            const Tap& a = th[static_cast<size_t>(i)];
            for (int64_t j = 0; j < ow; ++j) {
              const Tap& c = tw[static_cast<size_t>(j)];
              const float top =
                  (1 - c.lambda) * xp[a.i0 * w + c.i0] + c.lambda * xp[a.i0 * w + c.i1];
              const float bottom =
                  (1 - c.lambda) * xp[a.i1 * w + c.i0] + c.lambda * xp[a.i1 * w + c.i1];
              yp[i * ow + j] = (1 - a.lambda) * top + a.lambda * bottom;
            }
          }
        }
      },
      {s, t}, static_cast<double>(d[0]) * flops({}, out));
  return dst;
}

std::vector<TensorRef> Resize::plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                             const std::vector<bool>& need) {
  if (!need[0]) return {TensorRef{}};
  const TensorRef dd =
      b.reorder_to(diff_dst, dst_md_, name() + ".diff_dst", Tag::kActivationGrad, Phase::kBackward);
  const TensorRef diff_src = b.book(name() + ".diff_src", Tag::kActivationGrad, src_md_);
  const memory::dims d = src_md_.dims(), o = dst_md_.dims();
  const int64_t planes = d[0] * d[1], h = d[2], w = d[3], oh = o[2], ow = o[3];
  const BufferId s = dd.buffer, t = diff_src.buffer;
  b.add_op(
      name() + ".backward", Phase::kBackward, {},
      [=, th = taps_h_, tw = taps_w_](const BufferTable& table) {
        const float* dy = table.f32(s);
        float* dx = table.f32(t);
#pragma omp parallel for schedule(static)
        for (int64_t p = 0; p < planes; ++p) {
          float* dxp = dx + p * h * w;
          const float* dyp = dy + p * oh * ow;
          std::fill(dxp, dxp + h * w, 0.f);
          for (int64_t i = 0; i < oh; ++i) {
            const Tap& a = th[static_cast<size_t>(i)];
            for (int64_t j = 0; j < ow; ++j) {
              const Tap& c = tw[static_cast<size_t>(j)];
              const float g = dyp[i * ow + j];
              dxp[a.i0 * w + c.i0] += (1 - a.lambda) * (1 - c.lambda) * g;
              dxp[a.i0 * w + c.i1] += (1 - a.lambda) * c.lambda * g;
              dxp[a.i1 * w + c.i0] += a.lambda * (1 - c.lambda) * g;
              dxp[a.i1 * w + c.i1] += a.lambda * c.lambda * g;
            }
          }
        }
      },
      {s, t}, static_cast<double>(d[0]) * flops({}, {o[1], o[2], o[3]}));
  return {diff_src};
}

}  // namespace cnnmem
