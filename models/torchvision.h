// The torchvision models of the zoo, with torchvision's structure, module names (hence parameter
// and state names) and parameter counts, input 3x224x224 and 1000 classes:
//   alexnet, vgg11, vgg19, vgg11_bn, vgg16_bn, vgg19_bn, resnet18, resnet34, resnet50,
//   resnext50_32x4d, wide_resnet50_2, mobilenet_v2 (here), mobilenet_v3_small/large,
//   efficientnet_b0, mnasnet1_0, regnet_y_400mf (models/torchvision_mobile.cpp), convnext_tiny
//   (models/torchvision_convnext.cpp), densenet121 (models/torchvision_densenet.cpp),
//   squeezenet1_1, shufflenet_v2_x1_0 (models/torchvision_small.cpp), googlenet and
//   inception_v3 (input 3x299x299, models/torchvision_inception.cpp)
// and the segmentation models fcn_resnet50 and lraspp_mobilenet_v3_large
// (models/torchvision_segmentation.cpp: 21 classes, output 21 x H x W at the input's size, any
// input size; torchvision.models.segmentation's with weights=None, weights_backbone=None, so no
// auxiliary classifier; they train with pixel-cross-entropy, the CLI's default for them)
// (vgg16 itself lives in models/zoo.cpp). Modules that PyTorch calls functionally get names of
// their own: "flatten", "<block>.add", the repeated ReLU of a residual block
// "<block>.relu1/2/3", a squeeze-and-excitation's product "<se>.mul", mnasnet's and shufflenet's
// "mean", the concatenations "<block>.cat", shufflenet's "<block>.chunk.0/1" and
// "<block>.shuffle", densenet's final "relu".
// Dropout and stochastic depth act in training as torchvision's (stochastic depth with its own
// random draws, layers/stochastic_depth.h).
// googlenet and inception_v3 are torchvision's googlenet(aux_logits=False) (6,624,904
// parameters, the count torchvision publishes for its pretrained googlenet, which drops the aux
// heads) and inception_v3(aux_logits=False) (23,834,568): without weights both constructors
// default to aux_logits=True (13,004,888 and 27,161,264 parameters), whose auxiliary classifiers
// only act in training, where torchvision returns their logits beside the main ones for a loss
// of the caller's making. cnnmem's loss reads one output, so aux heads would be parameters and
// memory no loss reaches; leaving them out keeps the bill honest. transform_input is False, as
// both constructors set it without weights; eval-mode logits equal torchvision's either way.
// Not here: pretrained weights, or torchvision's weight initialisation (cnnmem initialises with
// PyTorch's per-layer defaults).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "framework/graph.h"

namespace cnnmem {

// The model called `name`, or nullopt when it is not one of torchvision_model_names(). `input`
// replaces the default input (the layers' shape checks say when the model cannot take it).
std::optional<Graph> make_torchvision_model(const std::string& name,
                                            const std::optional<Dims>& input = std::nullopt);
std::vector<std::string> torchvision_model_names();

}  // namespace cnnmem
