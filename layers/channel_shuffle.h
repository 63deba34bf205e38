// channel_shuffle: ShuffleNet's channel shuffle with G groups: view (N, G, C/G, H, W),
// transpose(1, 2), view back to (N, C, H, W); output channel i*G + j is input channel
// j*(C/G) + i.
// Forward: the input in nchw (a reorder when its producer chose a blocked layout), then one jit
// reorder between two 5-D descs of the same values: (N, G, C/G, H, W) dense, and the same dims
// with the strides of the shuffled order. Backward: the inverse reorder of diff_dst (in nchw).
// Legend: N batch, C channels, G groups, H/W size.
// Not here: a blocked output layout (the next layer's primitive reorders to what it wants).
#pragma once

#include "framework/layer.h"

namespace cnnmem {

class ChannelShuffle : public Layer {
 public:
  ChannelShuffle(std::string name, int64_t groups);
  const char* kind() const override { return "channel_shuffle"; }

  Dims infer(const std::vector<Dims>& in) const override;
  TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) override;
  std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                       const std::vector<bool>& need) override;

 private:
  // (N, G, C/G, H, W) descs of the plain (nchw) and the shuffled order of an (N, C, H, W) tensor.
  dnnl::memory::desc grouped(bool shuffled) const;

  int64_t groups_;
  dnnl::memory::dims dims_;  // (N, C, H, W) as planned
};

}  // namespace cnnmem
