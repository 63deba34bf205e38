// Internal to models/torchvision*.cpp: the builders of the newer torchvision families (one file
// per family) and the pieces they share: torchvision's Conv2dNormActivation and
// SqueezeExcitation as graph fragments.
// Usage: make_torchvision_model (models/torchvision.cpp) calls the builders.
// Not here: the model list (models/torchvision.cpp).
#pragma once

#include <string>

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

// The families, each taking the input dims (C, H, W).
Graph efficientnet_b0(const Dims& input);
Graph mobilenet_v3(bool large, const Dims& input);
Graph mnasnet1_0(const Dims& input);
Graph regnet_y_400mf(const Dims& input);
Graph convnext_tiny(const Dims& input);
Graph googlenet(const Dims& input);
Graph inception_v3(const Dims& input);

}  // namespace cnnmem::tv
