#include "models/torchvision.h"

#include <memory>

#include "layers/adaptive_avg_pool2d.h"
#include "layers/add.h"
#include "layers/batch_norm2d.h"
#include "layers/conv2d.h"
#include "layers/dropout.h"
#include "layers/flatten.h"
#include "layers/linear.h"
#include "layers/pool2d.h"
#include "layers/relu.h"
#include "layers/relu6.h"
#include "models/torchvision_parts.h"

namespace cnnmem {
namespace {

constexpr int kClasses = 1000;
constexpr int64_t kImageSize = 224;

Graph image_model(const std::string& name, const Dims& input) {
  return Graph(name, input, kClasses);
}

std::string at(const std::string& prefix, int index) { return prefix + std::to_string(index); }

// ---- alexnet and vgg ----------------------------------------------------------------------

Graph alexnet(const Dims& input) {
  Graph g = image_model("alexnet", input);
  g.add(std::make_unique<Conv2d>("features.0", Conv2dOptions(3, 64, 11, 4, 2, 1, true)));
  g.add(std::make_unique<Relu>("features.1"));
  g.add(std::make_unique<Pool2d>("features.2", PoolKind::kMax, 3, 2));
  g.add(std::make_unique<Conv2d>("features.3", Conv2dOptions(64, 192, 5, 1, 2, 1, true)));
  g.add(std::make_unique<Relu>("features.4"));
  g.add(std::make_unique<Pool2d>("features.5", PoolKind::kMax, 3, 2));
  g.add(std::make_unique<Conv2d>("features.6", Conv2dOptions(192, 384, 3, 1, 1, 1, true)));
  g.add(std::make_unique<Relu>("features.7"));
  g.add(std::make_unique<Conv2d>("features.8", Conv2dOptions(384, 256, 3, 1, 1, 1, true)));
  g.add(std::make_unique<Relu>("features.9"));
  g.add(std::make_unique<Conv2d>("features.10", Conv2dOptions(256, 256, 3, 1, 1, 1, true)));
  g.add(std::make_unique<Relu>("features.11"));
  g.add(std::make_unique<Pool2d>("features.12", PoolKind::kMax, 3, 2));
  g.add(std::make_unique<AdaptiveAvgPool2d>("avgpool", 6, 6));
  g.add(std::make_unique<Flatten>("flatten"));
  g.add(std::make_unique<Dropout>("classifier.0", 0.5));
  g.add(std::make_unique<Linear>("classifier.1", 256 * 6 * 6, 4096));
  g.add(std::make_unique<Relu>("classifier.2"));
  g.add(std::make_unique<Dropout>("classifier.3", 0.5));
  g.add(std::make_unique<Linear>("classifier.4", 4096, 4096));
  g.add(std::make_unique<Relu>("classifier.5"));
  g.add(std::make_unique<Linear>("classifier.6", 4096, kClasses));
  return g;
}

// torchvision's make_layers: 3x3 convolutions (numbers; with BatchNorm when `bn`) and 2x2
// max-pools (0), indexed as one nn.Sequential.
Graph vgg(const std::string& name, const std::vector<int64_t>& cfg, bool bn, const Dims& input) {
  Graph g = image_model(name, input);
  int i = 0;
  int64_t in = 3;
  for (const int64_t v : cfg) {
    if (v == 0) {
      g.add(std::make_unique<Pool2d>(at("features.", i++), PoolKind::kMax, 2));
      continue;
    }
    g.add(std::make_unique<Conv2d>(at("features.", i++), Conv2dOptions(in, v, 3, 1, 1, 1, true)));
    if (bn) g.add(std::make_unique<BatchNorm2d>(at("features.", i++), v));
    g.add(std::make_unique<Relu>(at("features.", i++)));
    in = v;
  }
  g.add(std::make_unique<AdaptiveAvgPool2d>("avgpool", 7, 7));
  g.add(std::make_unique<Flatten>("flatten"));
  g.add(std::make_unique<Linear>("classifier.0", 512 * 7 * 7, 4096));
  g.add(std::make_unique<Relu>("classifier.1"));
  g.add(std::make_unique<Dropout>("classifier.2", 0.5));
  g.add(std::make_unique<Linear>("classifier.3", 4096, 4096));
  g.add(std::make_unique<Relu>("classifier.4"));
  g.add(std::make_unique<Dropout>("classifier.5", 0.5));
  g.add(std::make_unique<Linear>("classifier.6", 4096, kClasses));
  return g;
}

// torchvision's configurations A (vgg11), D (vgg16) and E (vgg19).
std::vector<int64_t> vgg_a() { return {64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0}; }
std::vector<int64_t> vgg_d() {
  return {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0};
}
std::vector<int64_t> vgg_e() {
  return {64,  64,  0,   128, 128, 0,   256, 256, 256, 256, 0,
          512, 512, 512, 512, 0,   512, 512, 512, 512, 0};
}

// ---- resnet -------------------------------------------------------------------------------

// conv (no bias) then BatchNorm, named "<conv>" and "<bn>"; returns the BatchNorm's node.
int conv_bn(Graph& g, int from, const std::string& conv_name, const std::string& bn_name,
            const Conv2dOptions& o) {
  const int c = g.add(std::make_unique<Conv2d>(conv_name, o), {from});
  return g.add(std::make_unique<BatchNorm2d>(bn_name, o.out_channels), {c});
}

// One residual block (BasicBlock, or Bottleneck when `bottleneck`) reading node `x`; returns
// the node of its output. A Bottleneck's 3x3 convolution has `dilation` (and as much padding).
int resnet_block(Graph& g, int x, const std::string& p, int64_t in, int64_t planes, int64_t stride,
                 bool bottleneck, const tv::ResnetWidth& w, int64_t dilation) {
  const int64_t out = bottleneck ? planes * 4 : planes;
  int y = 0;
  if (bottleneck) {
    const int64_t width = planes * w.width_per_group / 64 * w.groups;
    y = conv_bn(g, x, p + "conv1", p + "bn1", Conv2dOptions(in, width, 1, 1, 0, 1, false));
    y = g.add(std::make_unique<Relu>(p + "relu1"), {y});
    y = conv_bn(g, y, p + "conv2", p + "bn2",
                Conv2dOptions(width, width, 3, stride, dilation, dilation, false, w.groups));
    y = g.add(std::make_unique<Relu>(p + "relu2"), {y});
    y = conv_bn(g, y, p + "conv3", p + "bn3", Conv2dOptions(width, out, 1, 1, 0, 1, false));
  } else {
    y = conv_bn(g, x, p + "conv1", p + "bn1", Conv2dOptions(in, planes, 3, stride, 1, 1, false));
    y = g.add(std::make_unique<Relu>(p + "relu1"), {y});
    y = conv_bn(g, y, p + "conv2", p + "bn2", Conv2dOptions(planes, planes, 3, 1, 1, 1, false));
  }
  int identity = x;
  if (stride != 1 || in != out) {
    identity = conv_bn(g, x, p + "downsample.0", p + "downsample.1",
                       Conv2dOptions(in, out, 1, stride, 0, 1, false));
  }
  y = g.add(std::make_unique<Add>(p + "add"), {y, identity});
  return g.add(std::make_unique<Relu>(p + (bottleneck ? "relu3" : "relu2")), {y});
}

Graph resnet(const std::string& name, const std::vector<int>& blocks, bool bottleneck,
             const Dims& input, const tv::ResnetWidth& width = {}) {
  Graph g = image_model(name, input);
  const int x = tv::resnet_trunk(g, "", blocks, bottleneck, width, false);
  g.add(std::make_unique<AdaptiveAvgPool2d>("avgpool", 1, 1), {x});
  g.add(std::make_unique<Flatten>("flatten"));
  g.add(std::make_unique<Linear>("fc", bottleneck ? 2048 : 512, kClasses));
  return g;
}

// ---- mobilenet_v2 -------------------------------------------------------------------------

// torchvision's ConvBNActivation (Conv2dNormActivation) with ReLU6: "<p>0", "<p>1", "<p>2".
int conv_bn_relu6(Graph& g, int x, const std::string& p, int64_t in, int64_t out, int64_t kernel,
                  int64_t stride, int64_t groups) {
  x = conv_bn(g, x, p + "0", p + "1",
              Conv2dOptions(in, out, kernel, stride, (kernel - 1) / 2, 1, false, groups));
  return g.add(std::make_unique<Relu6>(p + "2"), {x});
}

Graph mobilenet_v2(const Dims& input) {
  Graph g = image_model("mobilenet_v2", input);
  struct Stage {
    int64_t expand, channels;
    int repeats;
    int64_t stride;
  };
  const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                          {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  int x = conv_bn_relu6(g, 0, "features.0.", 3, 32, 3, 2, 1);
  int64_t in = 32;
  int index = 1;
  for (const Stage& s : stages) {
    for (int k = 0; k < s.repeats; ++k) {
      const int64_t stride = k == 0 ? s.stride : 1;
      const int64_t hidden = in * s.expand;
      const std::string p = at("features.", index++) + ".conv.";
      int y = x;
      int i = 0;
      if (s.expand != 1) y = conv_bn_relu6(g, y, at(p, i++) + ".", in, hidden, 1, 1, 1);
      y = conv_bn_relu6(g, y, at(p, i++) + ".", hidden, hidden, 3, stride, hidden);
      y = g.add(
          std::make_unique<Conv2d>(at(p, i), Conv2dOptions(hidden, s.channels, 1, 1, 0, 1, false)),
          {y});
      y = g.add(std::make_unique<BatchNorm2d>(at(p, i + 1), s.channels), {y});
      if (stride == 1 && in == s.channels) {
        y = g.add(std::make_unique<Add>(at("features.", index - 1) + ".add"), {y, x});
      }
      x = y;
      in = s.channels;
    }
  }
  x = conv_bn_relu6(g, x, at("features.", index) + ".", in, 1280, 1, 1, 1);
  g.add(std::make_unique<AdaptiveAvgPool2d>("avgpool", 1, 1), {x});
  g.add(std::make_unique<Flatten>("flatten"));
  g.add(std::make_unique<Dropout>("classifier.0", 0.2));
  g.add(std::make_unique<Linear>("classifier.1", 1280, kClasses));
  return g;
}

}  // namespace

int tv::resnet_trunk(Graph& g, const std::string& prefix, const std::vector<int>& blocks,
                     bool bottleneck, const ResnetWidth& width, bool dilated) {
  int x = conv_bn(g, 0, prefix + "conv1", prefix + "bn1", Conv2dOptions(3, 64, 7, 2, 3, 1, false));
  x = g.add(std::make_unique<Relu>(prefix + "relu"), {x});
  x = g.add(std::make_unique<Pool2d>(prefix + "maxpool", PoolKind::kMax, 3, 2, 1), {x});
  int64_t in = 64;
  int64_t dilation = 1;
  for (int layer = 0; layer < 4; ++layer) {
    const int64_t planes = int64_t{64} << layer;
    int64_t stride = layer > 0 ? 2 : 1;
    const int64_t first_dilation = dilation;
    if (dilated && layer >= 2) {  // torchvision's replace_stride_with_dilation [F, T, T]
      dilation *= stride;
      stride = 1;
    }
    for (int k = 0; k < blocks[static_cast<size_t>(layer)]; ++k) {
      const std::string p =
          prefix + "layer" + std::to_string(layer + 1) + "." + std::to_string(k) + ".";
      x = resnet_block(g, x, p, in, planes, k == 0 ? stride : 1, bottleneck, width,
                       k == 0 ? first_dilation : dilation);
      in = bottleneck ? planes * 4 : planes;
    }
  }
  return x;
}

std::vector<std::string> torchvision_model_names() {
  return {"alexnet",
          "vgg11",
          "vgg19",
          "vgg11_bn",
          "vgg16_bn",
          "vgg19_bn",
          "resnet18",
          "resnet34",
          "resnet50",
          "resnext50_32x4d",
          "wide_resnet50_2",
          "fcn_resnet50",
          "mobilenet_v2",
          "mobilenet_v3_small",
          "mobilenet_v3_large",
          "lraspp_mobilenet_v3_large",
          "efficientnet_b0",
          "mnasnet1_0",
          "regnet_y_400mf",
          "convnext_tiny",
          "densenet121",
          "squeezenet1_1",
          "shufflenet_v2_x1_0",
          "googlenet",
          "inception_v3"};
}

std::optional<Graph> make_torchvision_model(const std::string& name,
                                            const std::optional<Dims>& input_dims) {
  const Dims input = input_dims.value_or(Dims{3, kImageSize, kImageSize});
  if (name == "alexnet") return alexnet(input);
  if (name == "vgg11") return vgg(name, vgg_a(), false, input);
  if (name == "vgg19") return vgg(name, vgg_e(), false, input);
  if (name == "vgg11_bn") return vgg(name, vgg_a(), true, input);
  if (name == "vgg16_bn") return vgg(name, vgg_d(), true, input);
  if (name == "vgg19_bn") return vgg(name, vgg_e(), true, input);
  if (name == "resnet18") return resnet(name, {2, 2, 2, 2}, false, input);
  if (name == "resnet34") return resnet(name, {3, 4, 6, 3}, false, input);
  if (name == "resnet50") return resnet(name, {3, 4, 6, 3}, true, input);
  if (name == "resnext50_32x4d") return resnet(name, {3, 4, 6, 3}, true, input, {32, 4});
  if (name == "wide_resnet50_2") return resnet(name, {3, 4, 6, 3}, true, input, {1, 128});
  if (name == "fcn_resnet50") return tv::fcn_resnet50(input);
  if (name == "mobilenet_v2") return mobilenet_v2(input);
  if (name == "mobilenet_v3_small") return tv::mobilenet_v3(false, input);
  if (name == "mobilenet_v3_large") return tv::mobilenet_v3(true, input);
  if (name == "lraspp_mobilenet_v3_large") return tv::lraspp_mobilenet_v3_large(input);
  if (name == "efficientnet_b0") return tv::efficientnet_b0(input);
  if (name == "mnasnet1_0") return tv::mnasnet1_0(input);
  if (name == "regnet_y_400mf") return tv::regnet_y_400mf(input);
  if (name == "convnext_tiny") return tv::convnext_tiny(input);
  if (name == "densenet121") return tv::densenet121(input);
  if (name == "squeezenet1_1") return tv::squeezenet1_1(input);
  if (name == "shufflenet_v2_x1_0") return tv::shufflenet_v2_x1_0(input);
  if (name == "googlenet") return tv::googlenet(input);
  if (name == "inception_v3") return tv::inception_v3(input_dims.value_or(Dims{3, 299, 299}));
  return std::nullopt;
}

}  // namespace cnnmem
