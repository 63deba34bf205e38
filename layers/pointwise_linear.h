// pointwise_linear: PyTorch's nn.Linear(in, out) applied at every pixel of an NHWC tensor (what
// ConvNeXt's blocks do between two permutes), planned as the equivalent 1x1 convolution of a
// C x H x W input (layers/conv2d.h: oneDNN picks the layouts). The parameters keep the Linear's
// names and shapes, "<name>.weight" [out, in] and "<name>.bias" [out]: the same values in the
// same order as the convolution's [out, in, 1, 1], so safetensors I/O of torchvision's
// state_dict works unchanged.
// Usage: g.add(std::make_unique<PointwiseLinear>("features.1.0.block.3", 96, 384));
// Not here: a Linear on a flattened (N, F) input (layers/linear.h).
#pragma once

#include <string>
#include <vector>

#include "layers/conv2d.h"

namespace cnnmem {

class PointwiseLinear : public Conv2d {
 public:
  PointwiseLinear(std::string name, int64_t in_features, int64_t out_features, bool bias = true)
      : Conv2d(std::move(name), Conv2dOptions(in_features, out_features, 1, 1, 0, 1, bias)) {}
  const char* kind() const override { return "pointwise_linear"; }
  std::vector<ParamDecl> params(const std::vector<Dims>& in) const override {
    std::vector<ParamDecl> p = Conv2d::params(in);
    p[0].shape = {options().out_channels, options().in_channels};
    return p;
  }
};

}  // namespace cnnmem
