// binary: y = a op b (op: add, sub, mul, div) of two layers' outputs with numpy/ONNX
// broadcasting between the per-sample shapes (the batch is never broadcast). Shapes are checked
// with numpy's rules (right-aligned, each axis equal or 1); planned are equal shapes and the
// per-channel pattern C x H x W op C x 1 x 1 in either order (the squeeze-and-excitation scale).
// Other patterns are refused at plan time: oneDNN 2.6's jit binary gave wrong values for 1xHxW
// onto an NHWC src0 and has only its reference kernel for CxHx1, 1x1x1 and div on NHWC with 4
// channels.
//
// Forward: one oneDNN binary (jit) with the full input as src0 and the other in the full one's
// layout. When the second input is the full one, sub and div are computed as -(b - a) and
// 1 / (b / a): one more eltwise call (linear -1 / pow -1) over dst in place, in the same op.
// Writes over the full input when the op's backward does not need it (add, sub) and nothing
// else reads it.
//
// Backward, for each input: the elementwise term (add: dy; sub: dy, -dy; mul: dy * b, dy * a;
// div: dy / b, -dy * a / b / b) as binary primitives on a full-shape buffer (workspace when it is
// reduced after; over dy in place for the first input when nothing else reads dy), then, for the
// broadcast input, summed over H x W: average pooling over the whole map times H*W (an eltwise
// post-op), jit in plain and blocked layouts. Saved for backward: both inputs for mul and div
// (as forward read them), nothing for add and sub. add passes dy itself to a full input (no
// copy), like layers/add.h.
// Legend: N batch, C channels, H/W size.
// Usage: g.add(std::make_unique<Binary>("features.1.se.mul", BinaryOp::kMul), {x, scale});
// Not here: other broadcast patterns (see above), both inputs broadcast at once, a constant
// operand, broadcasting over the batch.
#pragma once

#include <optional>

#include "framework/layer.h"

namespace cnnmem {

enum class BinaryOp { kAdd, kSub, kMul, kDiv };

class Binary : public Layer {
 public:
  Binary(std::string name, BinaryOp op) : Layer(std::move(name)), op_(op) {}
  const char* kind() const override;
  BinaryOp op() const { return op_; }

  Dims infer(const std::vector<Dims>& in) const override;
  double flops(const std::vector<Dims>& in, const Dims& out) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;
  bool in_place() const { return in_place_; }
  bool writes_over_input() const override { return in_place_; }

 private:
  // The forward primitive in the first layout of the full input (its own, then blocked by 16,
  // channels-last, plain) where oneDNN has a jit kernel; nullopt when none has.
  std::optional<dnnl::binary::primitive_desc> jit_binary(StepBuilder& b,
                                                         const dnnl::memory::desc& full,
                                                         const dnnl::memory::dims& other,
                                                         bool same) const;
  // The elementwise term of input k's gradient, full-shape (kNoBuffer buffer: dy itself).
  TensorRef plan_term(StepBuilder& b, const TensorRef& dd, int k, bool reduce_after, bool* negate);
  TensorRef plan_reduce(StepBuilder& b, const TensorRef& term, int k, bool negate);

  BinaryOp op_;
  bool swapped_ = false;  // the second input is the full one (src0 of the primitive)
  bool in_place_ = false;
  TensorRef saved_[2];             // the inputs as the forward primitive read them (rank of dst)
  dnnl::memory::dims in_dims_[2];  // each input's own dims (batch included), for its gradient
  dnnl::memory::desc dst_md_;
};

}  // namespace cnnmem
