// concat: channel concatenation of N >= 2 inputs of equal H and W (torch.cat(xs, dim=1), ONNX
// Concat on axis 1); output channels are the sum of the inputs'.
// Forward: oneDNN's concat primitive into a buffer of its own (when its inputs' layouts differ,
// where that primitive is `ref`, one jit reorder per input into its slice instead); or, in place
// (at batch 1, see framework/concat_views.h), the output is a view of a buffer this layer owns or
// shares with an outer concatenation, the producers that could wrote their channels straight into
// it, and the inputs of the others are reordered into their slices. Backward: each input's gradient
// is its channel slice of diff_dst, reordered from a submemory desc into a buffer of the input's
// own layout (diff_dst goes through nchw first when a slice does not start on a channel block).
// Legend: N batch, C channels, H/W size.
// Not here: concatenation along other axes, a zero-copy backward (every consumer's backward
// primitive asks for a dense layout of its own, so a view of diff_dst would be reordered anyway).
#pragma once

#include "framework/layer.h"

namespace cnnmem {

class Concat : public Layer {
 public:
  explicit Concat(std::string name) : Layer(std::move(name)) {}
  const char* kind() const override { return "concat"; }

  Dims infer(const std::vector<Dims>& in) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;
  bool concatenates_channels() const override { return true; }
  bool writes_into_view() const override { return true; }
  // As planned: how many inputs their producers wrote in place (0 for a plain concat).
  int inputs_in_place() const { return inputs_in_place_; }
  // As planned: the output is a view into a buffer shared with its inputs or an outer concat.
  bool in_place() const { return in_place_; }

 private:
  // Not in place: the concat primitive, or one reorder per input where that is oneDNN's `ref`.
  TensorRef plan_copy(StepBuilder& b, const std::vector<TensorRef>& in, double flops);

  std::vector<dnnl::memory::desc> in_md_;  // each input's layout
  std::vector<int64_t> offsets_;           // each input's first channel
  int inputs_in_place_ = 0;
  bool in_place_ = false;
};

}  // namespace cnnmem
