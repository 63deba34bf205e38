#include "layers/pad.h"

#include <algorithm>
#include <vector>

#include "framework/error.h"

namespace cnnmem {

using dnnl::memory;

namespace {

memory::desc nchw(const memory::dims& dims) {
  return memory::desc(dims, memory::data_type::f32, memory::format_tag::nchw);
}

// source() of every output index along one axis.
std::vector<int64_t> sources(PadMode mode, int64_t begin, int64_t in, int64_t out) {
  std::vector<int64_t> s(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) s[static_cast<size_t>(o)] = Pad::source(mode, o - begin, in);
  return s;
}

}  // namespace

Pad::Pad(std::string name, PadOptions options) : Layer(std::move(name)), opt_(options) {
  const Pads2d& p = opt_.pads;
  if (p.top < 0 || p.left < 0 || p.bottom < 0 || p.right < 0) {
    throw Error(error_prefix() + "pads must be >= 0, got " + std::to_string(p.top) + "," +
                std::to_string(p.left) + "," + std::to_string(p.bottom) + "," +
                std::to_string(p.right) + " (top, left, bottom, right); cropping is not supported");
  }
}

int64_t Pad::source(PadMode mode, int64_t o, int64_t in) {
  if (o >= 0 && o < in) return o;
  switch (mode) {
    case PadMode::kConstant:
      return -1;
    case PadMode::kEdge:
      return o < 0 ? 0 : in - 1;
    case PadMode::kReflect:
      return o < 0 ? -o : 2 * (in - 1) - o;
  }
  return -1;
}

Dims Pad::infer(const std::vector<Dims>& in) const {
  if (in.size() != 1 || in[0].size() != 3) {
    throw Error(error_prefix() + "expects one CxHxW input, got " +
                (in.empty() ? "none" : dims_str(in[0])));
  }
  const Dims& x = in[0];
  const Pads2d& p = opt_.pads;
  if (opt_.mode == PadMode::kReflect &&
      (std::max(p.top, p.bottom) >= x[1] || std::max(p.left, p.right) >= x[2])) {
    throw Error(error_prefix() + "reflect pads must be smaller than the input " + dims_str(x) +
                ", got " + std::to_string(p.top) + "," + std::to_string(p.left) + "," +
                std::to_string(p.bottom) + "," + std::to_string(p.right));
  }
  return {x[0], x[1] + p.top + p.bottom, x[2] + p.left + p.right};
}

TensorRef Pad::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  const memory::dims d = in[0].md.dims();
  CNNMEM_CHECK(d.size() == 4);
  const Dims out = infer({{d[1], d[2], d[3]}});
  src_md_ = nchw(d);
  dst_md_ = nchw({d[0], out[0], out[1], out[2]});
  const TensorRef src =
      b.reorder_to(in[0], src_md_, name() + ".src", Tag::kWorkspace, Phase::kForward);
  const TensorRef dst = b.book(name() + ".dst", Tag::kActivation, dst_md_);
  const int64_t planes = d[0] * d[1], h = d[2], w = d[3], oh = out[1], ow = out[2];
  const BufferId s = src.buffer, t = dst.buffer;
  const float value = opt_.value;
  b.add_op(name() + ".forward", Phase::kForward, {},
           [=, sh = sources(opt_.mode, opt_.pads.top, h, oh),
            sw = sources(opt_.mode, opt_.pads.left, w, ow)](const BufferTable& table) {
             const float* x = table.f32(s);
             float* y = table.f32(t);
#pragma omp parallel for schedule(static)
             for (int64_t p = 0; p < planes; ++p) {
               const float* xp = x + p * h * w;
               float* yp = y + p * oh * ow;
               for (int64_t i = 0; i < oh; ++i) {
                 const int64_t a = sh[static_cast<size_t>(i)];
                 for (int64_t j = 0; j < ow; ++j) {
                   const int64_t c = sw[static_cast<size_t>(j)];
                   yp[i * ow + j] = a < 0 || c < 0 ? value : xp[a * w + c];
                 }
               }
             }
           },
           {s, t});
  return dst;
}

std::vector<TensorRef> Pad::plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                          const std::vector<bool>& need) {
  if (!need[0]) return {TensorRef{}};
  const TensorRef dd =
      b.reorder_to(diff_dst, dst_md_, name() + ".diff_dst", Tag::kActivationGrad, Phase::kBackward);
  const TensorRef diff_src = b.book(name() + ".diff_src", Tag::kActivationGrad, src_md_);
  const memory::dims d = src_md_.dims(), o = dst_md_.dims();
  const int64_t planes = d[0] * d[1], h = d[2], w = d[3], oh = o[2], ow = o[3];
  const BufferId s = dd.buffer, t = diff_src.buffer;
  b.add_op(name() + ".backward", Phase::kBackward, {},
           [=, sh = sources(opt_.mode, opt_.pads.top, h, oh),
            sw = sources(opt_.mode, opt_.pads.left, w, ow)](const BufferTable& table) {
             const float* dy = table.f32(s);
             float* dx = table.f32(t);
#pragma omp parallel for schedule(static)
             for (int64_t p = 0; p < planes; ++p) {
               float* dxp = dx + p * h * w;
               const float* dyp = dy + p * oh * ow;
               std::fill(dxp, dxp + h * w, 0.f);
               for (int64_t i = 0; i < oh; ++i) {
                 const int64_t a = sh[static_cast<size_t>(i)];
                 if (a < 0) continue;
                 for (int64_t j = 0; j < ow; ++j) {
                   const int64_t c = sw[static_cast<size_t>(j)];
                   if (c >= 0) dxp[a * w + c] += dyp[i * ow + j];
                 }
               }
             }
           },
           {s, t});
  return {diff_src};
}

}  // namespace cnnmem
