// pad: ONNX's Pad / PyTorch's F.pad over H and W of a 4-D tensor, per side (top, left, bottom,
// right): constant value, reflect (mirror without repeating the edge) or edge (PyTorch's
// replicate). Forward and backward on the framework's own OpenMP loops over NCHW, one plane per
// thread (backward of reflect and edge adds several output gradients into one input value).
// Nothing is saved for backward: it needs only the shapes.
// Legend: N batch, C channels, H/W input size, OH/OW output size.
// Not here: padding of N or C, negative pads (cropping), circular padding.
#pragma once

#include "framework/layer.h"
#include "layers/window2d.h"

namespace cnnmem {

enum class PadMode { kConstant, kReflect, kEdge };

struct PadOptions {
  PadMode mode = PadMode::kConstant;
  Pads2d pads;      // top, left, bottom, right; >= 0 (reflect: each below the input size)
  float value = 0;  // kConstant only
};

class Pad : public Layer {
 public:
  Pad(std::string name, PadOptions options);
  const char* kind() const override { return "pad"; }
  const PadOptions& options() const { return opt_; }

  Dims infer(const std::vector<Dims>& in) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;

  // The input index output index `o` (before the begin pad is removed: o - begin) reads along
  // an axis of `in` values, or -1 for the constant.
  static int64_t source(PadMode mode, int64_t o, int64_t in);

 private:
  PadOptions opt_;
  dnnl::memory::desc src_md_, dst_md_;  // plain NCHW
};

}  // namespace cnnmem
