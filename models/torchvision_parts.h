// Internal to models/torchvision*.cpp: the builders of the newer torchvision families (one file
// per family) and the pieces they share: torchvision's Conv2dNormActivation and
// SqueezeExcitation as graph fragments, and the resnet and mobilenet_v3 trunks that the
// segmentation models (models/torchvision_segmentation.cpp) reuse as dilated backbones.
// Usage: make_torchvision_model (models/torchvision.cpp) calls the builders.
// Not here: the model list (models/torchvision.cpp).
#pragma once

#include <string>
#include <vector>

#include "framework/graph.h"
#include "layers/conv2d.h"

namespace cnnmem::tv {

constexpr int kClasses = 1000;

enum class Act { kNone, kRelu, kRelu6, kHardSwish, kHardSigmoid, kSilu, kSigmoid };

// A layer of activation `act` named `name` reading node `x`; returns its node (x for kNone).
int add_act(Graph& g, int x, Act act, const std::string& name);

struct BnOptions {
  double eps = 1e-5;
  double momentum = 0.1;
};

// torchvision's Conv2dNormActivation: "<p>0" conv (no bias), "<p>1" BatchNorm, "<p>2" act.
int conv_bn_act(Graph& g, int x, const std::string& p, const Conv2dOptions& o, Act act,
                const BnOptions& bn = {});

// torchvision's SqueezeExcitation on node x (C channels): "<p>avgpool", "<p>fc1",
// "<p>activation", "<p>fc2", "<p>scale_activation", then "<p>mul" (the input times the scale).
int squeeze_excitation(Graph& g, int x, const std::string& p, int64_t channels, int64_t squeeze,
                       Act act, Act scale_act);

// A Bottleneck's 3x3 convolution has `groups` groups of planes * width / 64 channels each
// (torchvision's groups and width_per_group: resnext 32 x 4, wide_resnet 1 x 128).
struct ResnetWidth {
  int64_t groups = 1;
  int64_t width_per_group = 64;
};

// torchvision's ResNet up to layer4 (conv1, bn1, relu, maxpool, layer1..4), its modules named
// "<prefix>conv1", "<prefix>layer1.0.conv1", ...; returns layer4's node. `dilated`: layer3 and
// layer4 trade their stride 2 for dilation 2 and 4 (replace_stride_with_dilation
// [False, True, True]; each layer's first block keeps the previous dilation), output stride 8.
int resnet_trunk(Graph& g, const std::string& prefix, const std::vector<int>& blocks,
                 bool bottleneck, const ResnetWidth& width, bool dilated);

// torchvision's MobileNetV3 `features` ("<prefix>0" ... "<prefix>16" for large); returns the
// node of every feature block in order. `dilated`: the last three inverted residuals use
// dilation 2 and stride 1 (torchvision's dilated=True), output stride 16.
std::vector<int> mobilenet_v3_features(Graph& g, bool large, const std::string& prefix,
                                       bool dilated);

// The families, each taking the input dims (C, H, W).
Graph efficientnet_b0(const Dims& input);
Graph mobilenet_v3(bool large, const Dims& input);
Graph mnasnet1_0(const Dims& input);
Graph regnet_y_400mf(const Dims& input);
Graph convnext_tiny(const Dims& input);
Graph fcn_resnet50(const Dims& input);
Graph lraspp_mobilenet_v3_large(const Dims& input);
Graph densenet121(const Dims& input);
Graph squeezenet1_1(const Dims& input);
Graph shufflenet_v2_x1_0(const Dims& input);
Graph googlenet(const Dims& input);
Graph inception_v3(const Dims& input);

}  // namespace cnnmem::tv
