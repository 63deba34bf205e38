// A labelled image set as a reader hands it over: N images of C x H x W, either 8-bit pixels or
// float values, and one class label per image. Every reader of a data set format (IDX, CIFAR
// binary, NumPy arrays, an image folder) returns one of these.
//
// Not here: splitting, shuffling, normalisation, augmentation or batching (train/), nor any
// reading of files (the readers in io/).
//
// Usage:
//   cnnmem::ImageData d = cnnmem::read_cifar("/data/cifar-10-batches-bin", 10, "train");
//   // d.pixels[((i * d.channels + c) * d.height + y) * d.width + x], d.labels[i] < d.classes
#pragma once

#include <cstdint>
#include <vector>

namespace cnnmem {

struct ImageData {
  int64_t count = 0, channels = 0, height = 0, width = 0;
  // Exactly one of the two holds the images, (N, C, H, W) row-major: 8-bit pixels (the model
  // sees value / 255) or float values (the model sees them as they are).
  std::vector<uint8_t> pixels;
  std::vector<float> values;
  std::vector<uint8_t> labels;  // (N), each < classes; labels are kept in one byte
  int64_t classes = 0;          // the format's class count (CIFAR-10: 10), 0 when it says none

  int64_t sample_size() const { return channels * height * width; }
  bool is_float() const { return !values.empty(); }
  // Bytes the images and labels hold in memory.
  int64_t bytes() const {
    return static_cast<int64_t>(pixels.size() + values.size() * sizeof(float) + labels.size());
  }
};

}  // namespace cnnmem
