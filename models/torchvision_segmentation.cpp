// The segmentation models of the torchvision zoo: fcn_resnet50 and lraspp_mobilenet_v3_large as
// torchvision 0.14 builds them with weights=None, weights_backbone=None (num_classes 21, no
// auxiliary classifier), with its module names ("backbone.*", "classifier.*"). The output is
// 21 x H x W logits at the input's size (out["out"]); train with pixel-cross-entropy.
//   fcn_resnet50: resnet50 to layer4 with replace_stride_with_dilation [False, True, True]
//     (output stride 8), FCNHead "classifier.0" conv 3x3 2048->512, ".1" BatchNorm, ".2" ReLU,
//     ".3" dropout 0.1, ".4" conv 1x1 512->21, then "upsample": bilinear, align_corners=False,
//     to the input's H x W.
//   lraspp_mobilenet_v3_large: mobilenet_v3_large features with its last three blocks dilated
//     (output stride 16); "low" is backbone.4 (40 channels, stride 8), "high" backbone.16 (960).
//     LRASPPHead: "classifier.cbr" conv 1x1 960->128 + BatchNorm + ReLU, times
//     "classifier.scale" (average pool to 1x1, conv 1x1 960->128, sigmoid) as "classifier.mul",
//     "classifier.upsample" bilinear to low's size, then "classifier.low_classifier" (40->21)
//     of low plus "classifier.high_classifier" (128->21) as "classifier.add", and "upsample"
//     bilinear to the input's size.
// Usage: tv::fcn_resnet50({3, 520, 520}) (through make_torchvision_model).
// Not here: the trunks (models/torchvision.cpp, models/torchvision_mobile.cpp), the auxiliary
// classifier (aux_loss=True), deeplabv3.
#include <memory>

#include "layers/adaptive_avg_pool2d.h"
#include "layers/add.h"
#include "layers/batch_norm2d.h"
#include "layers/binary.h"
#include "layers/dropout.h"
#include "layers/relu.h"
#include "layers/resize.h"
#include "layers/sigmoid.h"
#include "models/torchvision_parts.h"

namespace cnnmem::tv {
namespace {

constexpr int kSegmentationClasses = 21;  // torchvision's default num_classes (Pascal VOC)

// Bilinear (align_corners=False) resize of node x to h x w, as F.interpolate(size=...).
int upsample(Graph& g, int x, const std::string& name, int64_t h, int64_t w) {
  return g.add(
      std::make_unique<Resize>(name, ResizeOptions::size(ResizeMode::kBilinear, h, w, false)), {x});
}

}  // namespace

Graph fcn_resnet50(const Dims& input) {
  Graph g("fcn_resnet50", input, kSegmentationClasses);
  int x = resnet_trunk(g, "backbone.", {3, 4, 6, 3}, true, ResnetWidth{}, true);
  x = conv_bn_act(g, x, "classifier.", Conv2dOptions(2048, 512, 3, 1, 1, 1, false), Act::kRelu);
  x = g.add(std::make_unique<Dropout>("classifier.3", 0.1), {x});
  x = g.add(std::make_unique<Conv2d>("classifier.4", Conv2dOptions(512, kSegmentationClasses, 1)),
            {x});
  upsample(g, x, "upsample", input.at(1), input.at(2));
  return g;
}

Graph lraspp_mobilenet_v3_large(const Dims& input) {
  Graph g("lraspp_mobilenet_v3_large", input, kSegmentationClasses);
  const std::vector<int> features = mobilenet_v3_features(g, true, "backbone.", true);
  const int low = features.at(4);
  const int high = features.back();
  const std::string p = "classifier.";
  int x = conv_bn_act(g, high, p + "cbr.", Conv2dOptions(960, 128, 1, 1, 0, 1, false), Act::kRelu);
  int s = g.add(std::make_unique<AdaptiveAvgPool2d>(p + "scale.0", 1, 1), {high});
  s = g.add(std::make_unique<Conv2d>(p + "scale.1", Conv2dOptions(960, 128, 1, 1, 0, 1, false)),
            {s});
  s = g.add(std::make_unique<Sigmoid>(p + "scale.2"), {s});
  x = g.add(std::make_unique<Binary>(p + "mul", BinaryOp::kMul), {x, s});
  const Dims& low_dims = g.nodes().at(static_cast<size_t>(low)).dims;
  x = upsample(g, x, p + "upsample", low_dims.at(1), low_dims.at(2));
  const int lo = g.add(
      std::make_unique<Conv2d>(p + "low_classifier", Conv2dOptions(40, kSegmentationClasses, 1)),
      {low});
  const int hi = g.add(
      std::make_unique<Conv2d>(p + "high_classifier", Conv2dOptions(128, kSegmentationClasses, 1)),
      {x});
  x = g.add(std::make_unique<Add>(p + "add"), {lo, hi});
  upsample(g, x, "upsample", input.at(1), input.at(2));
  return g;
}

}  // namespace cnnmem::tv
