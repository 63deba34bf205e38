// squeezenet1_1 and shufflenet_v2_x1_0 of the torchvision zoo, with torchvision 0.14's module
// names. A Fire module "features.N" is "squeeze", "squeeze_activation", then "expand1x1" and
// "expand3x3" with their activations, concatenated as "<fire>.cat"; the classifier is
// "classifier.0" dropout, "classifier.1" 1x1 conv, "classifier.2" ReLU, "classifier.3" average
// pool, then "flatten". A ShuffleNet V2 block "stageS.K." is "branch1.*" (stride 2 only) and
// "branch2.*" as torchvision's, with "<block>chunk.0" / "<block>chunk.1" the two halves of
// x.chunk(2, dim=1) (stride 1), "<block>cat" and "<block>shuffle" (channel shuffle, 2 groups);
// the head is "conv5.*", "mean" (x.mean([2, 3])) and "fc".
// Usage: tv::squeezenet1_1({3, 224, 224}), tv::shufflenet_v2_x1_0(...) (through
// make_torchvision_model).
// Not here: squeezenet1_0, the other ShuffleNet widths.
#include <memory>

#include "layers/adaptive_avg_pool2d.h"
#include "layers/batch_norm2d.h"
#include "layers/channel_shuffle.h"
#include "layers/channel_slice.h"
#include "layers/concat.h"
#include "layers/dropout.h"
#include "layers/flatten.h"
#include "layers/linear.h"
#include "layers/pool2d.h"
#include "layers/reduce_spatial.h"
#include "layers/relu.h"
#include "models/torchvision_parts.h"

namespace cnnmem::tv {
namespace {

// ---- squeezenet1_1 ------------------------------------------------------------------------

int conv_relu(Graph& g, int x, const std::string& conv, const std::string& relu,
              const Conv2dOptions& o) {
  x = g.add(std::make_unique<Conv2d>(conv, o), {x});
  return g.add(std::make_unique<Relu>(relu), {x});
}

int fire(Graph& g, int x, int index, int64_t in, int64_t squeeze, int64_t expand) {
  const std::string p = "features." + std::to_string(index) + ".";
  x = conv_relu(g, x, p + "squeeze", p + "squeeze_activation", Conv2dOptions(in, squeeze, 1));
  const int a = conv_relu(g, x, p + "expand1x1", p + "expand1x1_activation",
                          Conv2dOptions(squeeze, expand, 1));
  const int b = conv_relu(g, x, p + "expand3x3", p + "expand3x3_activation",
                          Conv2dOptions(squeeze, expand, 3, 1, 1));
  return g.add(std::make_unique<Concat>(p + "cat"), {a, b});
}

int ceil_max_pool(Graph& g, int x, int index) {
  Pool2dOptions o = Pool2dOptions::square(3, 2);
  o.ceil_mode = true;
  return g.add(std::make_unique<Pool2d>("features." + std::to_string(index), PoolKind::kMax, o),
               {x});
}

// ---- shufflenet_v2_x1_0 -------------------------------------------------------------------

Conv2dOptions pointwise(int64_t in, int64_t out) {
  return Conv2dOptions(in, out, 1, 1, 0, 1, false);
}

Conv2dOptions depthwise(int64_t channels, int64_t stride) {
  return Conv2dOptions(channels, channels, 3, stride, 1, 1, false, channels);
}

// Conv then BatchNorm named "<p><i>", "<p><i + 1>", then ReLU "<p><i + 2>" when `relu`.
int conv_bn(Graph& g, int x, const std::string& p, int i, const Conv2dOptions& o, bool relu) {
  x = g.add(std::make_unique<Conv2d>(p + std::to_string(i), o), {x});
  x = g.add(std::make_unique<BatchNorm2d>(p + std::to_string(i + 1), o.out_channels), {x});
  return relu ? g.add(std::make_unique<Relu>(p + std::to_string(i + 2)), {x}) : x;
}

// torchvision's InvertedResidual (ShuffleNet V2 unit) from `in` to `out` channels.
int shuffle_unit(Graph& g, int x, const std::string& p, int64_t in, int64_t out, int64_t stride) {
  const int64_t half = out / 2;
  int left = x, right = x;
  if (stride == 1) {
    left = g.add(std::make_unique<ChannelSlice>(p + "chunk.0", 0, in / 2), {x});
    right = g.add(std::make_unique<ChannelSlice>(p + "chunk.1", in / 2, in), {x});
  } else {
    left = conv_bn(g, x, p + "branch1.", 0, depthwise(in, stride), false);
    left = conv_bn(g, left, p + "branch1.", 2, pointwise(in, half), true);
  }
  const int64_t right_in = stride == 1 ? in / 2 : in;
  right = conv_bn(g, right, p + "branch2.", 0, pointwise(right_in, half), true);
  right = conv_bn(g, right, p + "branch2.", 3, depthwise(half, stride), false);
  right = conv_bn(g, right, p + "branch2.", 5, pointwise(half, half), true);
  const int y = g.add(std::make_unique<Concat>(p + "cat"), {left, right});
  return g.add(std::make_unique<ChannelShuffle>(p + "shuffle", 2), {y});
}

}  // namespace

Graph squeezenet1_1(const Dims& input) {
  Graph g("squeezenet1_1", input, kClasses);
  int x = conv_relu(g, 0, "features.0", "features.1", Conv2dOptions(3, 64, 3, 2));
  x = ceil_max_pool(g, x, 2);
  x = fire(g, x, 3, 64, 16, 64);
  x = fire(g, x, 4, 128, 16, 64);
  x = ceil_max_pool(g, x, 5);
  x = fire(g, x, 6, 128, 32, 128);
  x = fire(g, x, 7, 256, 32, 128);
  x = ceil_max_pool(g, x, 8);
  x = fire(g, x, 9, 256, 48, 192);
  x = fire(g, x, 10, 384, 48, 192);
  x = fire(g, x, 11, 384, 64, 256);
  x = fire(g, x, 12, 512, 64, 256);
  x = g.add(std::make_unique<Dropout>("classifier.0", 0.5), {x});
  x = conv_relu(g, x, "classifier.1", "classifier.2", Conv2dOptions(512, kClasses, 1));
  g.add(std::make_unique<AdaptiveAvgPool2d>("classifier.3", 1, 1), {x});
  g.add(std::make_unique<Flatten>("flatten"));
  return g;
}

Graph shufflenet_v2_x1_0(const Dims& input) {
  Graph g("shufflenet_v2_x1_0", input, kClasses);
  int x = conv_bn(g, 0, "conv1.", 0, Conv2dOptions(3, 24, 3, 2, 1, 1, false), true);
  x = g.add(std::make_unique<Pool2d>("maxpool", PoolKind::kMax, 3, 2, 1), {x});
  const int64_t widths[] = {24, 116, 232, 464};
  const int repeats[] = {4, 8, 4};
  for (int s = 0; s < 3; ++s) {
    for (int k = 0; k < repeats[s]; ++k) {
      const std::string p = "stage" + std::to_string(s + 2) + "." + std::to_string(k) + ".";
      const int64_t in = k == 0 ? widths[s] : widths[s + 1];
      x = shuffle_unit(g, x, p, in, widths[s + 1], k == 0 ? 2 : 1);
    }
  }
  x = conv_bn(g, x, "conv5.", 0, pointwise(464, 1024), true);
  g.add(std::make_unique<ReduceSpatial>("mean", ReduceKind::kMean, false), {x});
  g.add(std::make_unique<Linear>("fc", 1024, kClasses));
  return g;
}

}  // namespace cnnmem::tv
