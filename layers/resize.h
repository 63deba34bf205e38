// resize: PyTorch's F.interpolate / nn.Upsample on 4-D tensors, nearest and bilinear, by output
// size or by scale factors, forward and backward on the framework's own OpenMP loops over NCHW
// (one plane per thread, so backward's scatter-add never races).
//   nearest:  src = min(floor(dst * scale), H - 1)           (ONNX: asymmetric + floor)
//             or ONNX's other modes (NearestCoords, NearestRound), in double
//   bilinear, align_corners=false: src = max(scale * (dst + 0.5) - 0.5, 0)   (half_pixel)
//   bilinear, align_corners=true:  src = dst * (H - 1) / (OH - 1)            (align_corners)
// scale is 1 / scale_factor when scale factors are given (PyTorch's recompute_scale_factor
// unset), H / OH otherwise; OH = floor(H * scale_factor). The arithmetic is in float, as
// PyTorch's float kernels, so that the sampled indices agree.
// Nothing is saved for backward: it needs only the shapes.
// Legend: N batch, C channels, H/W input size, OH/OW output size.
// Not here: bicubic, area, ONNX's other coordinate modes for bilinear (asymmetric,
// tf_crop_and_resize, pytorch_half_pixel for 1-pixel outputs); oneDNN's resampling (its nearest
// rounds where PyTorch floors, and its linear uses H / OH where PyTorch uses 1 / scale_factor).
#pragma once

#include "framework/layer.h"

namespace cnnmem {

enum class ResizeMode { kNearest, kBilinear };
// Nearest only, ONNX's coordinate_transformation_mode and nearest_mode (PyTorch: kAsymmetric,
// kFloor). src = dst * scale (asymmetric), (dst + 0.5) * scale - 0.5 (half_pixel;
// pytorch_half_pixel but 0 for a 1-pixel output), dst * (H - 1) / (OH - 1) (align_corners),
// (dst + 0.5) * scale (tf_half_pixel_for_nn); then rounded, clamped to [0, H - 1].
enum class NearestCoords {
  kAsymmetric,
  kHalfPixel,
  kPyTorchHalfPixel,
  kAlignCorners,
  kTfHalfPixel
};
enum class NearestRound { kFloor, kCeil, kRoundPreferFloor, kRoundPreferCeil };

struct ResizeOptions {
  ResizeMode mode = ResizeMode::kNearest;
  // Either the output size (both > 0) or the scale factors (both > 0), not both.
  int64_t out_h = 0, out_w = 0;
  double scale_h = 0, scale_w = 0;
  bool align_corners = false;  // bilinear only, as in PyTorch
  NearestCoords nearest_coords = NearestCoords::kAsymmetric;
  NearestRound nearest_round = NearestRound::kFloor;

  static ResizeOptions size(ResizeMode mode, int64_t h, int64_t w, bool align_corners = false) {
    ResizeOptions o;
    o.mode = mode;
    o.out_h = h;
    o.out_w = w;
    o.align_corners = align_corners;
    return o;
  }
  static ResizeOptions scale(ResizeMode mode, double h, double w, bool align_corners = false) {
    ResizeOptions o;
    o.mode = mode;
    o.scale_h = h;
    o.scale_w = w;
    o.align_corners = align_corners;
    return o;
  }
};

class Resize : public Layer {
 public:
  Resize(std::string name, ResizeOptions options);
  const char* kind() const override { return "resize"; }
  const ResizeOptions& options() const { return opt_; }

  Dims infer(const std::vector<Dims>& in) const override;
  double flops(const std::vector<Dims>& in, const Dims& out) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;

  // Where output row `dst` of `out` reads in an input of `in` rows (PyTorch's rules); for
  // bilinear also the second row and the weight of the second (the first weighs 1 - lambda).
  struct Tap {
    int64_t i0 = 0, i1 = 0;
    float lambda = 0;
  };
  static std::vector<Tap> taps(const ResizeOptions& o, int64_t in, int64_t out,
                               double scale_factor);

 private:
  ResizeOptions opt_;
  std::vector<Tap> taps_h_, taps_w_;
  dnnl::memory::desc src_md_, dst_md_;  // plain NCHW
};

}  // namespace cnnmem
