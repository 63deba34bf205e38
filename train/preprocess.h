// Preprocessing of one sample on its way into the staging buffer: 8-bit pixels become value/255
// (float data sets pass as they are), training samples are augmented (random crop after zero
// padding, horizontal flip), then every channel is normalised, (x - mean[c]) / std[c].
//
// The order is torchvision's usual `RandomCrop(size, padding), RandomHorizontalFlip(), ToTensor(),
// Normalize(mean, std)`: padding is a raw 0, so after normalisation it reads -mean[c] / std[c].
// Augmentation is drawn from (seed, epoch, sample index) alone, so a run is reproducible bit for
// bit and a run resumed mid-epoch draws what the uninterrupted run drew.
//
// Not here: batching and overlap with the step (train/batch_pipeline.h), reading data sets (io/).
//
// Usage:
//   Preprocess p;
//   p.normalize = parse_normalize("0.4914,0.4822,0.4465,0.2470,0.2435,0.2616", 3);
//   p.crop_padding = 4; p.flip = true; p.seed = 1;
//   prepare_sample(images, sample_index, dims, epoch, /*augment=*/true, p, dst);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "framework/graph.h"

namespace cnnmem {

struct Normalize {
  std::vector<float> mean, std;  // one per channel; empty: no normalisation
  bool empty() const { return mean.empty(); }
};

struct Preprocess {
  Normalize normalize;
  int64_t crop_padding = -1;  // >= 0: random crop of the sample's size after zero padding
  bool flip = false;          // random horizontal flip, probability 1/2
  uint64_t seed = 1;
  bool augments() const { return crop_padding >= 0 || flip; }
};

// A sample's source: 8-bit pixels or float values, (C, H, W) each.
struct SampleSource {
  const uint8_t* pixels = nullptr;
  const float* values = nullptr;
};

// Writes sample `index` of `src` (dims = C, H, W) preprocessed into dst (C*H*W floats); with
// `augment`, the crop offset and flip of (p.seed, epoch, index) are applied.
void prepare_sample(const SampleSource& src, int64_t index, const Dims& dims, int64_t epoch,
                    bool augment, const Preprocess& p, float* dst);

// "m1,...,mC,s1,...,sC" (or "m,s" for any C: the same for every channel) -> Normalize; Error
// for anything else (wrong count, a std <= 0, not a number). Values are in the value/255 scale.
Normalize parse_normalize(const std::string& text, int64_t channels);

// Per-channel mean and standard deviation (population) of a data set's model-scale values.
Normalize normalize_from_data(const SampleSource& src, int64_t count, const Dims& dims);

// "0.4914,0.4822,0.4465,0.2470,0.2435,0.2616" (for reports and the resume fingerprint).
std::string normalize_text(const Normalize& n);

}  // namespace cnnmem
