// max_pool2d and avg_pool2d on oneDNN's pooling, with PyTorch's semantics: non-square kernel and
// stride, per-side padding (ONNX's pads order, layers/window2d.h), ceil mode, and for average
// pooling count_include_pad (PyTorch's default: the padding counts in the divisor).
// Max pooling in training keeps oneDNN's workspace (the argmax indices) as an activation for
// backward.
//
// Ceil mode (PyTorch's rule): OH = ceil((H + top + bottom - KH) / SH) + 1, minus one when the
// last window would start past the input and the top padding. oneDNN is given the extra bottom
// (right) padding that makes its floor rule reach OH. A window that runs past the declared
// padding is divided, with count_include_pad, by its size clipped to input + padding (as
// PyTorch does); oneDNN's include-padding divisor is the whole kernel, so those outputs (and
// their gradients in backward) are rescaled by KH*KW / clipped size in an op of their own.
// Legend: N batch, C channels, H/W input size, KH/KW kernel, SH/SW stride, OH/OW output size.
// Dilated max pooling (oneDNN's pooling_v2; PyTorch's and ONNX's dilations): the window spans
// DH * (KH - 1) + 1 rows. Padding may exceed half the kernel (ONNX allows it, PyTorch does not)
// but must be smaller than the window's span. oneDNN 2.6 has no jit kernel for dilated pooling:
// it runs on its reference kernel (ONEDNN_VERBOSE shows ref:any), correct but slow.
// Not here: dilated average pooling, adaptive or global pooling (layers/adaptive_avg_pool2d.h).
#pragma once

#include <optional>
#include <vector>

#include "framework/layer.h"
#include "layers/window2d.h"

namespace cnnmem {

enum class PoolKind { kMax, kAvg };

struct Pool2dOptions {
  Window2d window;  // dilation: max pooling only
  bool ceil_mode = false;
  bool count_include_pad = true;  // average pooling only

  // PyTorch's square shorthand; stride 0 means "same as kernel".
  static Pool2dOptions square(int64_t kernel, int64_t stride = 0, int64_t padding = 0) {
    Pool2dOptions o;
    o.window = Window2d::square(kernel, stride == 0 ? kernel : stride, padding);
    return o;
  }
};

class Pool2d : public Layer {
 public:
  // stride 0 means "same as kernel", as in PyTorch.
  Pool2d(std::string name, PoolKind kind, int64_t kernel, int64_t stride = 0, int64_t padding = 0);
  Pool2d(std::string name, PoolKind kind, Pool2dOptions options);
  const char* kind() const override {
    return kind_ == PoolKind::kMax ? "max_pool2d" : "avg_pool2d";
  }
  const Pool2dOptions& options() const { return opt_; }

  // Writes its output into a slice of a concatenation's buffer (framework/concat_views.h).
  bool writes_into_view() const override { return true; }

  Dims infer(const std::vector<Dims>& in) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;

 private:
  dnnl::algorithm alg() const;
  // Output size along one axis of `in` values with padding `begin`, `end`, kernel k, stride s.
  int64_t out_size(int64_t in, int64_t begin, int64_t end, int64_t k, int64_t s) const;
  // Per-row and per-column factors KH*KW / clipped window (empty: no rescaling needed).
  void plan_rescale(int64_t h, int64_t w, int64_t oh, int64_t ow);

  PoolKind kind_;
  Pool2dOptions opt_;
  Window2d win_;  // as given to oneDNN: the bottom/right padding extended for ceil mode
  std::vector<float> scale_h_, scale_w_;
  std::optional<dnnl::pooling_v2_forward::primitive_desc> fwd_pd_;
  dnnl::memory::desc src_md_, dst_md_;
  TensorRef workspace_;
};

}  // namespace cnnmem
