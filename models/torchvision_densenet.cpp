// densenet121 of the torchvision zoo, with torchvision 0.14's module names: the stem
// "features.conv0/norm0/relu0/pool0", dense layers
// "features.denseblockK.denselayerJ.{norm1,relu1,conv1,norm2,relu2,conv2}", transitions
// "features.transitionK.{norm,relu,conv,pool}", "features.norm5", then the functional ReLU
// "relu", "avgpool", "flatten" and "classifier".
// torchvision concatenates the list of all earlier features before each dense layer; here the
// same values come from one growing chain of concatenations, "<denselayerJ>.cat" = the features
// entering layer J with layer J's new ones, so that in-place concatenation
// (framework/concat_views.h) turns a whole dense block into one buffer.
// Usage: tv::densenet121({3, 224, 224}) (through make_torchvision_model).
// Not here: densenet161/169/201, torchvision's memory_efficient flag (cnnmem's answer to the same
// problem is in-place concatenation and --checkpoint).
#include <memory>

#include "layers/adaptive_avg_pool2d.h"
#include "layers/batch_norm2d.h"
#include "layers/concat.h"
#include "layers/flatten.h"
#include "layers/linear.h"
#include "layers/pool2d.h"
#include "layers/relu.h"
#include "models/torchvision_parts.h"

namespace cnnmem::tv {
namespace {

constexpr int64_t kGrowth = 32;
constexpr int64_t kBottleneck = 4 * kGrowth;  // bn_size 4

// norm, relu, conv (no bias) named "<p><norm>", "<p><relu>", "<p><conv>"; returns the conv.
int bn_relu_conv(Graph& g, int x, const std::string& p, const std::string& index,
                 const Conv2dOptions& o) {
  x = g.add(std::make_unique<BatchNorm2d>(p + "norm" + index, o.in_channels), {x});
  x = g.add(std::make_unique<Relu>(p + "relu" + index), {x});
  return g.add(std::make_unique<Conv2d>(p + "conv" + index, o), {x});
}

// Dense block `block` of `layers` layers on node x of `channels` channels; returns the node of
// its output and adds the growth to `channels`.
int dense_block(Graph& g, int x, int block, int layers, int64_t& channels) {
  const std::string b = "features.denseblock" + std::to_string(block) + ".";
  for (int j = 1; j <= layers; ++j) {
    const std::string p = b + "denselayer" + std::to_string(j) + ".";
    int y = bn_relu_conv(g, x, p, "1", Conv2dOptions(channels, kBottleneck, 1, 1, 0, 1, false));
    y = bn_relu_conv(g, y, p, "2", Conv2dOptions(kBottleneck, kGrowth, 3, 1, 1, 1, false));
    x = g.add(std::make_unique<Concat>(p + "cat"), {x, y});
    channels += kGrowth;
  }
  return x;
}

}  // namespace

Graph densenet121(const Dims& input) {
  Graph g("densenet121", input, kClasses);
  int x =
      g.add(std::make_unique<Conv2d>("features.conv0", Conv2dOptions(3, 64, 7, 2, 3, 1, false)));
  x = g.add(std::make_unique<BatchNorm2d>("features.norm0", 64), {x});
  x = g.add(std::make_unique<Relu>("features.relu0"), {x});
  x = g.add(std::make_unique<Pool2d>("features.pool0", PoolKind::kMax, 3, 2, 1), {x});
  int64_t channels = 64;
  const int blocks[] = {6, 12, 24, 16};
  for (int k = 1; k <= 4; ++k) {
    x = dense_block(g, x, k, blocks[k - 1], channels);
    if (k == 4) break;
    const std::string t = "features.transition" + std::to_string(k) + ".";
    x = g.add(std::make_unique<BatchNorm2d>(t + "norm", channels), {x});
    x = g.add(std::make_unique<Relu>(t + "relu"), {x});
    x = g.add(std::make_unique<Conv2d>(t + "conv",
                                       Conv2dOptions(channels, channels / 2, 1, 1, 0, 1, false)),
              {x});
    x = g.add(std::make_unique<Pool2d>(t + "pool", PoolKind::kAvg, 2, 2), {x});
    channels /= 2;
  }
  x = g.add(std::make_unique<BatchNorm2d>("features.norm5", channels), {x});
  x = g.add(std::make_unique<Relu>("relu"), {x});
  g.add(std::make_unique<AdaptiveAvgPool2d>("avgpool", 1, 1), {x});
  g.add(std::make_unique<Flatten>("flatten"));
  g.add(std::make_unique<Linear>("classifier", channels, kClasses));
  return g;
}

}  // namespace cnnmem::tv
