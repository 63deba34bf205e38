// The channel layers of the layer tests (concat, channel_slice, channel_shuffle) as Net::custom
// layers with naive double references, and a DenseNet-style network built from them: a dense
// block (BN-ReLU-conv1x1-BN-ReLU-conv3x3 layers, each concatenating its output onto all previous
// features as the chain y_k = concat(y_{k-1}, f_k)) followed by a transition.
//
// Usage:
//   Net net({3, 6, 6});
//   net.conv("a", conv_options(3, 5, 3, 1, 1)).from("input").conv("b", conv_options(3, 7, 1));
//   net.custom("cat", {"a", "b"}, concat_layer("cat")).flatten("flat");
//   Net dense = dense_net({.growth = 16});
// Not here: the checks (tests/layers/layer_harness.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "layers/channel_shuffle.h"
#include "layers/channel_slice.h"
#include "layers/concat.h"
#include "tests/layers/layer_net.h"

namespace cnnmem::layer_test {

inline RefTensor ref_concat(const std::vector<const RefTensor*>& in) {
  RefTensor y{in[0]->n, in[0]->dims, {}};
  y.dims[0] = 0;
  for (const RefTensor* x : in) y.dims[0] += x->dims[0];
  const int64_t hw = in[0]->dims[1] * in[0]->dims[2];
  for (int64_t n = 0; n < y.n; ++n) {
    for (const RefTensor* x : in) {
      const auto begin = x->v.begin() + n * x->dims[0] * hw;
      y.v.insert(y.v.end(), begin, begin + x->dims[0] * hw);
    }
  }
  return y;
}

// Channels [start, end) of x.
inline RefTensor ref_channel_slice(const RefTensor& x, int64_t start, int64_t end) {
  RefTensor y{x.n, {end - start, x.dims[1], x.dims[2]}, {}};
  const int64_t hw = x.dims[1] * x.dims[2];
  for (int64_t n = 0; n < x.n; ++n) {
    const auto begin = x.v.begin() + (n * x.dims[0] + start) * hw;
    y.v.insert(y.v.end(), begin, begin + (end - start) * hw);
  }
  return y;
}

// PyTorch's channel_shuffle: view (N, g, C/g, H, W), transpose(1, 2), view back.
inline RefTensor ref_channel_shuffle(const RefTensor& x, int64_t groups) {
  RefTensor y = x;
  const int64_t c = x.dims[0], per = c / groups, hw = x.dims[1] * x.dims[2];
  for (int64_t n = 0; n < x.n; ++n) {
    for (int64_t j = 0; j < groups; ++j) {
      for (int64_t i = 0; i < per; ++i) {
        for (int64_t k = 0; k < hw; ++k) {
          y.v[static_cast<size_t>((n * c + i * groups + j) * hw + k)] =
              x.v[static_cast<size_t>((n * c + j * per + i) * hw + k)];
        }
      }
    }
  }
  return y;
}

inline CustomLayer concat_layer(const std::string& name) {
  return {[name] { return std::make_unique<Concat>(name); },
          [](const std::vector<const RefTensor*>& in, const RefParams&, bool) {
            return ref_concat(in);
          },
          {}};
}

inline CustomLayer channel_slice_layer(const std::string& name, int64_t start, int64_t end) {
  return {[=] { return std::make_unique<ChannelSlice>(name, start, end); },
          [=](const std::vector<const RefTensor*>& in, const RefParams&, bool) {
            return ref_channel_slice(*in[0], start, end);
          },
          {}};
}

inline CustomLayer channel_shuffle_layer(const std::string& name, int64_t groups) {
  return {[=] { return std::make_unique<ChannelShuffle>(name, groups); },
          [=](const std::vector<const RefTensor*>& in, const RefParams&, bool) {
            return ref_channel_shuffle(*in[0], groups);
          },
          {}};
}

struct DenseNetShape {
  int64_t input = 3;        // image channels
  int64_t size = 6;         // image height and width
  int64_t stem = 32;        // channels of the stem conv (the block's input)
  int64_t growth = 16;      // channels each dense layer adds
  int64_t bottleneck = 32;  // channels of each layer's conv1x1
  int layers = 3;
  int64_t classes = 4;
};

// stem conv 3x3 -> dense block -> transition (BN, ReLU, conv1x1 halving the channels, 2x2
// average pool) -> flatten -> linear.
inline Net dense_net(const DenseNetShape& s) {
  Net net({s.input, s.size, s.size});
  // No bias: a per-channel bias before batch norms gets a gradient of exactly zero.
  net.conv("stem", conv_options(s.input, s.stem, 3, 1, 1, 1, false));
  std::string features = "stem";
  int64_t channels = s.stem;
  for (int k = 1; k <= s.layers; ++k) {
    const std::string l = "block.layer" + std::to_string(k);
    net.from(features)
        .batch_norm(l + ".norm1", channels)
        .relu(l + ".relu1")
        .conv(l + ".conv1", conv_options(channels, s.bottleneck, 1, 1, 0, 1, false))
        .batch_norm(l + ".norm2", s.bottleneck)
        .relu(l + ".relu2")
        .conv(l + ".conv2", conv_options(s.bottleneck, s.growth, 3, 1, 1, 1, false));
    net.custom(l + ".cat", {features, l + ".conv2"}, concat_layer(l + ".cat"));
    features = l + ".cat";
    channels += s.growth;
  }
  net.batch_norm("transition.norm", channels)
      .relu("transition.relu")
      .conv("transition.conv", conv_options(channels, channels / 2, 1, 1, 0, 1, false))
      .pool("transition.pool", PoolKind::kAvg, 2)
      .flatten("flat")
      .linear("classifier", channels / 2 * (s.size / 2) * (s.size / 2), s.classes);
  return net;
}

}  // namespace cnnmem::layer_test
