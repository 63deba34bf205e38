// channel_slice: channels [start, end) of a CxHxW input (ONNX Slice on axis 1 with step 1, one
// output of ONNX Split / torch.split; a Split with several outputs is several ChannelSlice
// layers reading the same input).
// Forward: a jit reorder from a submemory desc of the input into a buffer of the slice's own
// (the input's blocked layout when the slice starts on a block, nchw otherwise).
// Backward: diff_src is a zeroed buffer in the input's layout with diff_dst reordered into its
// slice (the other channels get no gradient); several slices of one input are summed by the
// step compiler like any tensor read by several layers.
// Legend: N batch, C channels, H/W size.
// Not here: steps other than 1, negative indices (an importer resolves them), a zero-copy view.
#pragma once

#include "framework/layer.h"

namespace cnnmem {

class ChannelSlice : public Layer {
 public:
  ChannelSlice(std::string name, int64_t start, int64_t end);
  const char* kind() const override { return "channel_slice"; }

  Dims infer(const std::vector<Dims>& in) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;

 private:
  int64_t start_, end_;
  dnnl::memory::desc src_md_;  // the input as planned
};

}  // namespace cnnmem
