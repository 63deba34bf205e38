// Built-in models, named like torchvision's, with torchvision's parameter names and layouts (the
// torchvision zoo in models/torchvision.h, segmentation models among it).
//   lenet5    1x28x28, 10 classes: conv1 1->6 5x5 pad 2, relu, max-pool 2, conv2 6->16 5x5,
//             relu, max-pool 2, flatten, fc1 400->120, relu, fc2 120->84, relu, fc3 84->10
//   vgg-mini  1x28x28, 10 classes: features.{0,2,5,7} conv 3x3 pad 1 (32, 32, 64, 64) with relu,
//             max-pool after each pair, flatten, classifier.0 3136->256, relu, classifier.2 256->10
//   vgg16     3x224x224, 1000 classes: torchvision's configuration D (features.0 ... features.28,
//             classifier.0/3/6); dropout acts as identity, the 7x7 adaptive average pool is the
//             identity at 224x224 input
//   unet-small  3x64x64 (or 1x64x64), 2 classes, output 2 x H x W: a small U-Net, two max-pool
//             levels of conv-bn-relu pairs (16, 32, 64 channels), transposed-convolution
//             upsampling with skip concatenations, 1x1 head (structure in models/unet.h)
//   deep-chain-N  3x32x32, 10 classes: features.{0,2,...} N conv 3x3 pad 1 at 32 channels, each
//             with relu (features.{1,3,...}), avgpool (adaptive, to 1x1), flatten, fc 32->10
// Not here: the layers themselves (layers/).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "framework/graph.h"

namespace cnnmem {

// Throws Error naming the known models when `name` is not one of them. `input` (C, H, W)
// replaces the model's standard input where its layers allow it (convolutions and adaptive
// pooling do; a linear layer after a plain flatten fixes the size); otherwise Error says why.
Graph make_model(const std::string& name, const std::optional<Dims>& input = std::nullopt);
// "3x224x224" -> {3, 224, 224}; Error for anything else.
Dims parse_input_dims(const std::string& text);
// The models with fixed names (deep-chain-N takes any depth and is not listed).
std::vector<std::string> model_names();
// "lenet5 | vgg-mini | vgg16 | deep-chain-N", for --help.
std::string model_help();

}  // namespace cnnmem
