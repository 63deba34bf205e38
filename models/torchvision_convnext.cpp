// convnext_tiny of the torchvision zoo, with torchvision 0.14's module names. A CNBlock is
// "<b>block.0" depthwise 7x7 conv, "<b>block.2" LayerNorm over channels (LayerNorm2d: the
// permute to NHWC, nn.LayerNorm and the permute back of torchvision in one layer),
// "<b>block.3" / "<b>block.5" the two Linear layers as 1x1 convolutions with the Linear's
// parameter shapes (PointwiseLinear), "<b>block.4" GELU, "<b>layer_scale" (ChannelScale, the
// parameter itself), "<b>stochastic_depth" and "<b>add" (the residual add).
// Stochastic depth grows linearly from 0 to 0.1 over the 18 blocks, as torchvision's default.
// Usage: tv::convnext_tiny({3, 224, 224}) (through make_torchvision_model).
// Not here: the other ConvNeXt sizes.
#include <memory>

#include "layers/adaptive_avg_pool2d.h"
#include "layers/add.h"
#include "layers/channel_scale.h"
#include "layers/flatten.h"
#include "layers/gelu.h"
#include "layers/layer_norm.h"
#include "layers/linear.h"
#include "layers/pointwise_linear.h"
#include "layers/stochastic_depth.h"
#include "models/torchvision_parts.h"

namespace cnnmem::tv {

Graph convnext_tiny(const Dims& input) {
  Graph g("convnext_tiny", input, kClasses);
  constexpr double kEps = 1e-6;
  constexpr float kLayerScale = 1e-6f;
  constexpr double kStochasticDepth = 0.1;
  struct Stage {
    int64_t channels, out;  // out 0: no downsampling after the stage
    int blocks;
  };
  const Stage stages[] = {{96, 192, 3}, {192, 384, 3}, {384, 768, 9}, {768, 0, 3}};
  const int total = 18;
  int x = g.add(std::make_unique<Conv2d>("features.0.0", Conv2dOptions(3, 96, 4, 4, 0, 1, true)));
  x = g.add(std::make_unique<LayerNorm2d>("features.0.1", 96, kEps), {x});
  int index = 1;
  int block_id = 0;
  for (const Stage& st : stages) {
    const int64_t c = st.channels;
    for (int k = 0; k < st.blocks; ++k, ++block_id) {
      const std::string p = "features." + std::to_string(index) + "." + std::to_string(k) + ".";
      int y = g.add(
          std::make_unique<Conv2d>(p + "block.0", Conv2dOptions(c, c, 7, 1, 3, 1, true, c)), {x});
      y = g.add(std::make_unique<LayerNorm2d>(p + "block.2", c, kEps), {y});
      y = g.add(std::make_unique<PointwiseLinear>(p + "block.3", c, 4 * c), {y});
      y = g.add(std::make_unique<Gelu>(p + "block.4"), {y});
      y = g.add(std::make_unique<PointwiseLinear>(p + "block.5", 4 * c, c), {y});
      y = g.add(std::make_unique<ChannelScale>(p + "layer_scale", c, kLayerScale), {y});
      const double sd = kStochasticDepth * block_id / (total - 1.0);
      y = g.add(std::make_unique<StochasticDepth>(p + "stochastic_depth", sd), {y});
      x = g.add(std::make_unique<Add>(p + "add"), {y, x});
    }
    ++index;
    if (st.out != 0) {
      const std::string p = "features." + std::to_string(index++) + ".";
      x = g.add(std::make_unique<LayerNorm2d>(p + "0", c, kEps), {x});
      x = g.add(std::make_unique<Conv2d>(p + "1", Conv2dOptions(c, st.out, 2, 2, 0, 1, true)), {x});
    }
  }
  g.add(std::make_unique<AdaptiveAvgPool2d>("avgpool", 1, 1), {x});
  g.add(std::make_unique<LayerNorm2d>("classifier.0", 768, kEps));
  g.add(std::make_unique<Flatten>("classifier.1"));
  g.add(std::make_unique<Linear>("classifier.2", 768, kClasses));
  return g;
}

}  // namespace cnnmem::tv
