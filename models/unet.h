// unet-small: cnnmem's own small U-Net for segmentation (not a torchvision model), input
// 3x64x64 by default or 1x64x64 (any C x H x W with H and W multiples of 4), output K x H x W
// logits (K = 2 classes; train with pixel-cross-entropy). Every "pair" is conv 3x3 pad 1
// (no bias) -> BatchNorm -> ReLU -> conv 3x3 pad 1 (no bias) -> BatchNorm -> ReLU, its modules
// "<pair>.0" ... "<pair>.5":
//   enc1        pair C -> 16                                   (H x W)
//   pool1       max-pool 2
//   enc2        pair 16 -> 32                                  (H/2 x W/2)
//   pool2       max-pool 2
//   bottleneck  pair 32 -> 64                                  (H/4 x W/4)
//   up2         conv_transpose 2x2 stride 2, 64 -> 32 (bias)   (H/2 x W/2)
//   cat2        concat [up2, enc2] -> 64 channels
//   dec2        pair 64 -> 32
//   up1         conv_transpose 2x2 stride 2, 32 -> 16 (bias)   (H x W)
//   cat1        concat [up1, enc1] -> 32 channels
//   dec1        pair 32 -> 16
//   head        conv 1x1 16 -> K (bias)
// 117,378 parameters at C = 3 (117,090 at C = 1).
// Usage: Graph g = make_unet_small(Dims{1, 64, 64});   (or make_model("unet-small", ...))
// Not here: the model list (models/zoo.h), the loss (layers/losses.h).
#pragma once

#include <optional>

#include "framework/graph.h"

namespace cnnmem {

constexpr int kUnetSmallClasses = 2;

// Throws Error (from the layers' shape checks) when H or W is not a multiple of 4.
Graph make_unet_small(const std::optional<Dims>& input = std::nullopt);

}  // namespace cnnmem
