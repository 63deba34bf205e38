// The mobile families of the torchvision zoo: efficientnet_b0, mobilenet_v3_small/large,
// mnasnet1_0 and regnet_y_400mf, with torchvision 0.14's module names (see models/torchvision.h
// for the names given to what PyTorch calls functionally: "<block>.add", "<se>.mul", "mean").
// Usage: tv::efficientnet_b0({3, 224, 224}) (through make_torchvision_model).
// Not here: the shared pieces' declarations (models/torchvision_parts.h), convnext.
#include <memory>

#include "layers/adaptive_avg_pool2d.h"
#include "layers/add.h"
#include "layers/batch_norm2d.h"
#include "layers/binary.h"
#include "layers/dropout.h"
#include "layers/flatten.h"
#include "layers/hardsigmoid.h"
#include "layers/hardswish.h"
#include "layers/linear.h"
#include "layers/reduce_spatial.h"
#include "layers/relu.h"
#include "layers/relu6.h"
#include "layers/sigmoid.h"
#include "layers/silu.h"
#include "layers/stochastic_depth.h"
#include "models/torchvision_parts.h"

namespace cnnmem::tv {
namespace {

std::string at(const std::string& prefix, int index) { return prefix + std::to_string(index); }

// Depthwise k x k convolution options (torchvision pads (k - 1) / 2).
Conv2dOptions depthwise(int64_t channels, int64_t kernel, int64_t stride) {
  return Conv2dOptions(channels, channels, kernel, stride, (kernel - 1) / 2, 1, false, channels);
}

Conv2dOptions pointwise(int64_t in, int64_t out) {
  return Conv2dOptions(in, out, 1, 1, 0, 1, false);
}

// avgpool, flatten, classifier.0 dropout, classifier.1 linear.
void simple_head(Graph& g, int x, int64_t channels, double dropout) {
  g.add(std::make_unique<AdaptiveAvgPool2d>("avgpool", 1, 1), {x});
  g.add(std::make_unique<Flatten>("flatten"));
  g.add(std::make_unique<Dropout>("classifier.0", dropout));
  g.add(std::make_unique<Linear>("classifier.1", channels, kClasses));
}

// torchvision's _make_divisible(v, 8) of a whole number.
int64_t make_divisible(int64_t whole) {
  const auto v = static_cast<double>(whole);
  auto out = std::max<int64_t>(8, static_cast<int64_t>(v + 4) / 8 * 8);
  if (static_cast<double>(out) < 0.9 * v) out += 8;
  return out;
}

}  // namespace

int add_act(Graph& g, int x, Act act, const std::string& name) {
  switch (act) {
    case Act::kNone:
      return x;
    case Act::kRelu:
      return g.add(std::make_unique<Relu>(name), {x});
    case Act::kRelu6:
      return g.add(std::make_unique<Relu6>(name), {x});
    case Act::kHardSwish:
      return g.add(std::make_unique<HardSwish>(name), {x});
    case Act::kHardSigmoid:
      return g.add(std::make_unique<HardSigmoid>(name), {x});
    case Act::kSilu:
      return g.add(std::make_unique<Silu>(name), {x});
    case Act::kSigmoid:
      return g.add(std::make_unique<Sigmoid>(name), {x});
  }
  return x;
}

int conv_bn_act(Graph& g, int x, const std::string& p, const Conv2dOptions& o, Act act,
                const BnOptions& bn) {
  x = g.add(std::make_unique<Conv2d>(p + "0", o), {x});
  x = g.add(std::make_unique<BatchNorm2d>(p + "1", o.out_channels, bn.eps, bn.momentum), {x});
  return add_act(g, x, act, p + "2");
}

int squeeze_excitation(Graph& g, int x, const std::string& p, int64_t channels, int64_t squeeze,
                       Act act, Act scale_act) {
  int s = g.add(std::make_unique<AdaptiveAvgPool2d>(p + "avgpool", 1, 1), {x});
  s = g.add(std::make_unique<Conv2d>(p + "fc1", Conv2dOptions(channels, squeeze, 1)), {s});
  s = add_act(g, s, act, p + "activation");
  s = g.add(std::make_unique<Conv2d>(p + "fc2", Conv2dOptions(squeeze, channels, 1)), {s});
  s = add_act(g, s, scale_act, p + "scale_activation");
  return g.add(std::make_unique<Binary>(p + "mul", BinaryOp::kMul), {x, s});
}

// ---- efficientnet_b0 ----------------------------------------------------------------------

Graph efficientnet_b0(const Dims& input) {
  Graph g("efficientnet_b0", input, kClasses);
  struct Stage {
    int64_t expand, kernel, stride, in, out;
    int layers;
  };
  const Stage stages[] = {{1, 3, 1, 32, 16, 1},  {6, 3, 2, 16, 24, 2},  {6, 5, 2, 24, 40, 2},
                          {6, 3, 2, 40, 80, 3},  {6, 5, 1, 80, 112, 3}, {6, 5, 2, 112, 192, 4},
                          {6, 3, 1, 192, 320, 1}};
  constexpr double kStochasticDepth = 0.2;
  constexpr int kBlocks = 16;
  int x = conv_bn_act(g, 0, "features.0.", Conv2dOptions(3, 32, 3, 2, 1, 1, false), Act::kSilu);
  int block_id = 0;
  for (int s = 0; s < 7; ++s) {
    const Stage& st = stages[s];
    for (int k = 0; k < st.layers; ++k, ++block_id) {
      const int64_t in = k == 0 ? st.in : st.out;
      const int64_t stride = k == 0 ? st.stride : 1;
      const int64_t hidden = in * st.expand;
      const std::string p = at("features.", s + 1) + "." + std::to_string(k) + ".";
      int i = 0;
      int y = x;
      if (hidden != in) {
        y = conv_bn_act(g, y, at(p + "block.", i++) + ".", pointwise(in, hidden), Act::kSilu);
      }
      y = conv_bn_act(g, y, at(p + "block.", i++) + ".", depthwise(hidden, st.kernel, stride),
                      Act::kSilu);
      y = squeeze_excitation(g, y, at(p + "block.", i++) + ".", hidden,
                             std::max<int64_t>(1, in / 4), Act::kSilu, Act::kSigmoid);
      y = conv_bn_act(g, y, at(p + "block.", i) + ".", pointwise(hidden, st.out), Act::kNone);
      if (stride == 1 && in == st.out) {
        const double sd = kStochasticDepth * block_id / kBlocks;
        y = g.add(std::make_unique<StochasticDepth>(p + "stochastic_depth", sd), {y});
        y = g.add(std::make_unique<Add>(p + "add"), {y, x});
      }
      x = y;
    }
  }
  x = conv_bn_act(g, x, "features.8.", pointwise(320, 1280), Act::kSilu);
  simple_head(g, x, 1280, 0.2);
  return g;
}

// ---- mobilenet_v3 -------------------------------------------------------------------------

std::vector<int> mobilenet_v3_features(Graph& g, bool large, const std::string& prefix,
                                       bool dilated) {
  struct Block {
    int64_t in, kernel, expanded, out;
    bool se, hs;
    int64_t stride;
  };
  const std::vector<Block> small = {
      {16, 3, 16, 16, true, false, 2},  {16, 3, 72, 24, false, false, 2},
      {24, 3, 88, 24, false, false, 1}, {24, 5, 96, 40, true, true, 2},
      {40, 5, 240, 40, true, true, 1},  {40, 5, 240, 40, true, true, 1},
      {40, 5, 120, 48, true, true, 1},  {48, 5, 144, 48, true, true, 1},
      {48, 5, 288, 96, true, true, 2},  {96, 5, 576, 96, true, true, 1},
      {96, 5, 576, 96, true, true, 1}};
  const std::vector<Block> big = {
      {16, 3, 16, 16, false, false, 1},  {16, 3, 64, 24, false, false, 2},
      {24, 3, 72, 24, false, false, 1},  {24, 5, 72, 40, true, false, 2},
      {40, 5, 120, 40, true, false, 1},  {40, 5, 120, 40, true, false, 1},
      {40, 3, 240, 80, false, true, 2},  {80, 3, 200, 80, false, true, 1},
      {80, 3, 184, 80, false, true, 1},  {80, 3, 184, 80, false, true, 1},
      {80, 3, 480, 112, true, true, 1},  {112, 3, 672, 112, true, true, 1},
      {112, 5, 672, 160, true, true, 2}, {160, 5, 960, 160, true, true, 1},
      {160, 5, 960, 160, true, true, 1}};
  const std::vector<Block>& blocks = large ? big : small;
  const BnOptions bn{0.001, 0.01};
  std::vector<int> outputs = {conv_bn_act(
      g, 0, prefix + "0.", Conv2dOptions(3, 16, 3, 2, 1, 1, false), Act::kHardSwish, bn)};
  for (size_t b = 0; b < blocks.size(); ++b) {
    const Block& c = blocks[b];
    const std::string block = at(prefix, static_cast<int>(outputs.size()));
    const std::string p = block + ".block.";
    const Act act = c.hs ? Act::kHardSwish : Act::kRelu;
    const int64_t dilation = dilated && b + 3 >= blocks.size() ? 2 : 1;
    const int64_t stride = dilation > 1 ? 1 : c.stride;
    int i = 0;
    int y = outputs.back();
    if (c.expanded != c.in) {
      y = conv_bn_act(g, y, at(p, i++) + ".", pointwise(c.in, c.expanded), act, bn);
    }
    y = conv_bn_act(g, y, at(p, i++) + ".",
                    Conv2dOptions(c.expanded, c.expanded, c.kernel, stride,
                                  (c.kernel - 1) / 2 * dilation, dilation, false, c.expanded),
                    act, bn);
    if (c.se) {
      y = squeeze_excitation(g, y, at(p, i++) + ".", c.expanded, make_divisible(c.expanded / 4),
                             Act::kRelu, Act::kHardSigmoid);
    }
    y = conv_bn_act(g, y, at(p, i) + ".", pointwise(c.expanded, c.out), Act::kNone, bn);
    if (c.stride == 1 && c.in == c.out) {
      y = g.add(std::make_unique<Add>(block + ".add"), {y, outputs.back()});
    }
    outputs.push_back(y);
  }
  const int64_t last_in = large ? 160 : 96;
  outputs.push_back(conv_bn_act(g, outputs.back(),
                                at(prefix, static_cast<int>(outputs.size())) + ".",
                                pointwise(last_in, 6 * last_in), Act::kHardSwish, bn));
  return outputs;
}

Graph mobilenet_v3(bool large, const Dims& input) {
  Graph g(large ? "mobilenet_v3_large" : "mobilenet_v3_small", input, kClasses);
  const int x = mobilenet_v3_features(g, large, "features.", false).back();
  const int64_t last_conv = large ? 960 : 576;
  const int64_t hidden = large ? 1280 : 1024;
  g.add(std::make_unique<AdaptiveAvgPool2d>("avgpool", 1, 1), {x});
  g.add(std::make_unique<Flatten>("flatten"));
  g.add(std::make_unique<Linear>("classifier.0", last_conv, hidden));
  g.add(std::make_unique<HardSwish>("classifier.1"));
  g.add(std::make_unique<Dropout>("classifier.2", 0.2));
  g.add(std::make_unique<Linear>("classifier.3", hidden, kClasses));
  return g;
}

// ---- mnasnet1_0 ---------------------------------------------------------------------------

Graph mnasnet1_0(const Dims& input) {
  Graph g("mnasnet1_0", input, kClasses);
  const BnOptions bn{1e-5, 1 - 0.9997};
  const auto conv_bn = [&](int x, int index, const Conv2dOptions& o, bool relu,
                           const std::string& p) {
    x = g.add(std::make_unique<Conv2d>(at(p, index), o), {x});
    x = g.add(std::make_unique<BatchNorm2d>(at(p, index + 1), o.out_channels, bn.eps, bn.momentum),
              {x});
    return relu ? g.add(std::make_unique<Relu>(at(p, index + 2)), {x}) : x;
  };
  int x = conv_bn(0, 0, Conv2dOptions(3, 32, 3, 2, 1, 1, false), true, "layers.");
  x = conv_bn(x, 3, depthwise(32, 3, 1), true, "layers.");
  x = conv_bn(x, 6, pointwise(32, 16), false, "layers.");
  struct Stack {
    int64_t out, kernel, stride, expand;
    int repeats;
  };
  const Stack stacks[] = {{24, 3, 2, 3, 3}, {40, 5, 2, 3, 3},  {80, 5, 2, 6, 3},
                          {96, 3, 1, 6, 2}, {192, 5, 2, 6, 4}, {320, 3, 1, 6, 1}};
  int64_t in = 16;
  for (int s = 0; s < 6; ++s) {
    const Stack& st = stacks[s];
    for (int k = 0; k < st.repeats; ++k) {
      const std::string p = at("layers.", 8 + s) + "." + std::to_string(k) + ".";
      const int64_t stride = k == 0 ? st.stride : 1;
      const int64_t mid = in * st.expand;
      int y = conv_bn(x, 0, pointwise(in, mid), true, p + "layers.");
      y = conv_bn(y, 3, depthwise(mid, st.kernel, stride), true, p + "layers.");
      y = conv_bn(y, 6, pointwise(mid, st.out), false, p + "layers.");
      if (stride == 1 && in == st.out) y = g.add(std::make_unique<Add>(p + "add"), {y, x});
      x = y;
      in = st.out;
    }
  }
  x = conv_bn(x, 14, pointwise(320, 1280), true, "layers.");
  g.add(std::make_unique<ReduceSpatial>("mean", ReduceKind::kMean, false), {x});
  g.add(std::make_unique<Dropout>("classifier.0", 0.2));
  g.add(std::make_unique<Linear>("classifier.1", 1280, kClasses));
  return g;
}

// ---- regnet_y_400mf -----------------------------------------------------------------------

Graph regnet_y_400mf(const Dims& input) {
  Graph g("regnet_y_400mf", input, kClasses);
  struct Stage {
    int64_t out;
    int depth;
  };
  // torchvision's BlockParams.from_init_params(depth 16, w_0 48, w_a 27.89, w_m 2.09,
  // group_width 8, se_ratio 0.25), worked out: every stage strides 2, bottleneck multiplier 1.
  const Stage stages[] = {{48, 1}, {104, 3}, {208, 6}, {440, 6}};
  constexpr int64_t kGroupWidth = 8;
  int x = conv_bn_act(g, 0, "stem.", Conv2dOptions(3, 32, 3, 2, 1, 1, false), Act::kRelu);
  int64_t in = 32;
  for (int s = 0; s < 4; ++s) {
    const Stage& st = stages[s];
    const std::string stage = "trunk_output.block" + std::to_string(s + 1) + ".";
    for (int k = 0; k < st.depth; ++k) {
      const std::string p = stage + "block" + std::to_string(s + 1) + "-" + std::to_string(k) + ".";
      const int64_t stride = k == 0 ? 2 : 1;
      int identity = x;
      if (in != st.out || stride != 1) {
        identity = conv_bn_act(g, x, p + "proj.", Conv2dOptions(in, st.out, 1, stride, 0, 1, false),
                               Act::kNone);
      }
      int y = conv_bn_act(g, x, p + "f.a.", pointwise(in, st.out), Act::kRelu);
      y = conv_bn_act(g, y, p + "f.b.",
                      Conv2dOptions(st.out, st.out, 3, stride, 1, 1, false, st.out / kGroupWidth),
                      Act::kRelu);
      // int(round(0.25 * width_in)): width_in is a multiple of 8 here, so exact.
      y = squeeze_excitation(g, y, p + "f.se.", st.out, in / 4, Act::kRelu, Act::kSigmoid);
      y = conv_bn_act(g, y, p + "f.c.", pointwise(st.out, st.out), Act::kNone);
      y = g.add(std::make_unique<Add>(p + "add"), {identity, y});
      x = g.add(std::make_unique<Relu>(p + "activation"), {y});
      in = st.out;
    }
  }
  g.add(std::make_unique<AdaptiveAvgPool2d>("avgpool", 1, 1), {x});
  g.add(std::make_unique<Flatten>("flatten"));
  g.add(std::make_unique<Linear>("fc", in, kClasses));
  return g;
}

}  // namespace cnnmem::tv
