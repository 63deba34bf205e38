// layer_norm: PyTorch's LayerNorm over the last dimension (e.g. a head's (N, F) tensor) and
// torchvision's LayerNorm2d (ConvNeXt: over the channels at every (n, h, w) of an N x C x H x W
// tensor), both on oneDNN's layer_normalization primitive.
//
//   y = (x - mean) / sqrt(var + eps) * weight + bias     (biased variance over K values)
//
// oneDNN 2.6 normalises over the last logical dimension and has a jit kernel only when that
// dimension is dense (stride 1); other layouts get its reference kernel (about 40x slower). So
// the input is reordered into one physical layout that is, and the primitive sees it as an
// (M, K) row-major matrix over the same bytes:
//   LayerNorm:   row-major (abcd...), M = all values / K, K = the last dimension;
//   LayerNorm2d: nhwc,                M = N * H * W,      K = C.
// The output stays in that layout (nhwc for LayerNorm2d): a consumer that wants another reorders.
//
// Buffers. Training: the input in that layout ("<name>.src": the input itself when it already
// is, else a reorder copy tagged activation), dst, and the statistics "<name>.mean" and
// "<name>.var" (M floats each); all four but dst are saved for backward. Inference: no
// statistics are kept; dst is the input itself when it is in that layout and nothing else reads
// it, else the input is reordered straight into dst and normalised there in place.
// Backward: diff_dst in that layout (a reorder copy when it arrives in another), diff_src over it
// when nothing else reads it, and the parameter gradients written straight by the primitive.
//
// Parameters (elementwise_affine): weight [K] (init 1) and bias [K] (init 0), "<name>.weight"
// and "<name>.bias".
// Legend: N batch, C channels, H/W size, K normalised size, M rows.
// Not here: a normalised shape of more than one dimension, bias=False with weight, group norm
// (layers/group_norm.h).
#pragma once

#include <optional>

#include "framework/layer.h"

namespace cnnmem {

class LayerNormBase : public Layer {
 public:
  int64_t normalized_size() const { return size_; }
  double eps() const { return eps_; }
  bool elementwise_affine() const { return affine_; }
  // Inference: dst is the input's own buffer.
  bool in_place() const { return in_place_; }
  bool writes_over_input() const override { return in_place_; }

  std::vector<ParamDecl> params(const std::vector<Dims>& in) const override;
  double flops(const std::vector<Dims>& in, const Dims& out) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;

 protected:
  LayerNormBase(std::string name, int64_t size, double eps, bool elementwise_affine);
  // Throws for a size or eps out of range; called by the subclass's constructor (where kind()
  // already names the subclass).
  void validate(const char* size_name) const;
  // The layout the primitive works in, for a batched input of dims `d`.
  virtual dnnl::memory::desc plain_desc(const dnnl::memory::dims& d) const = 0;

 private:
  int64_t size_;
  float eps_;
  bool affine_;
  bool in_place_ = false;
  dnnl::memory::desc plain_, view_;  // the layout, and the (M, K) matrix over its bytes
  std::optional<dnnl::layer_normalization_forward::primitive_desc> fwd_pd_;
  TensorRef src_, mean_, var_;  // saved for backward (views of (M, K) and M)
  ParamBinding weight_, bias_;
};

// nn.LayerNorm(normalized_shape): over the last dimension of any input ((F), (C, H, W), ...).
class LayerNorm : public LayerNormBase {
 public:
  LayerNorm(std::string name, int64_t normalized_shape, double eps = 1e-5,
            bool elementwise_affine = true);
  const char* kind() const override { return "layer_norm"; }
  Dims infer(const std::vector<Dims>& in) const override;

 protected:
  dnnl::memory::desc plain_desc(const dnnl::memory::dims& d) const override;
};

// torchvision's LayerNorm2d(channels): over C at every (n, h, w) of a C x H x W input (what
// ConvNeXt's blocks and downsampling layers do with nn.LayerNorm on a permuted tensor).
class LayerNorm2d : public LayerNormBase {
 public:
  LayerNorm2d(std::string name, int64_t channels, double eps = 1e-5,
              bool elementwise_affine = true);
  const char* kind() const override { return "layer_norm2d"; }
  Dims infer(const std::vector<Dims>& in) const override;

 protected:
  dnnl::memory::desc plain_desc(const dnnl::memory::dims& d) const override;
};

}  // namespace cnnmem
