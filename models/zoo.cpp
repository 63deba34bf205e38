#include "models/zoo.h"

#include <memory>
#include <optional>

#include "framework/error.h"
#include "layers/adaptive_avg_pool2d.h"
#include "layers/conv2d.h"
#include "layers/flatten.h"
#include "layers/linear.h"
#include "layers/pool2d.h"
#include "layers/relu.h"
#include "models/torchvision.h"
#include "models/unet.h"

namespace cnnmem {
namespace {

Graph lenet5(const std::optional<Dims>& input) {
  Graph g("lenet5", input.value_or(Dims{1, 28, 28}), 10);
  g.add(std::make_unique<Conv2d>("conv1", Conv2dOptions(1, 6, 5, 1, 2)));
  g.add(std::make_unique<Relu>("relu1"));
  g.add(std::make_unique<Pool2d>("pool1", PoolKind::kMax, 2));
  g.add(std::make_unique<Conv2d>("conv2", Conv2dOptions(6, 16, 5, 1, 0)));
  g.add(std::make_unique<Relu>("relu2"));
  g.add(std::make_unique<Pool2d>("pool2", PoolKind::kMax, 2));
  g.add(std::make_unique<Flatten>("flatten"));
  g.add(std::make_unique<Linear>("fc1", 400, 120));
  g.add(std::make_unique<Relu>("relu3"));
  g.add(std::make_unique<Linear>("fc2", 120, 84));
  g.add(std::make_unique<Relu>("relu4"));
  g.add(std::make_unique<Linear>("fc3", 84, 10));
  return g;
}

// An nn.Sequential of 3x3 convolutions (numbers) and 2x2 max-pools (0), indexed like
// torchvision's `features`.
void vgg_features(Graph& g, int64_t in, const std::vector<int64_t>& cfg) {
  int index = 0;
  for (int64_t v : cfg) {
    if (v == 0) {
      g.add(std::make_unique<Pool2d>("features." + std::to_string(index++), PoolKind::kMax, 2));
    } else {
      g.add(std::make_unique<Conv2d>("features." + std::to_string(index++),
                                     Conv2dOptions(in, v, 3, 1, 1)));
      g.add(std::make_unique<Relu>("features." + std::to_string(index++)));
      in = v;
    }
  }
}

Graph vgg_mini(const std::optional<Dims>& input) {
  Graph g("vgg-mini", input.value_or(Dims{1, 28, 28}), 10);
  vgg_features(g, 1, {32, 32, 0, 64, 64, 0});
  g.add(std::make_unique<Flatten>("flatten"));
  g.add(std::make_unique<Linear>("classifier.0", 64 * 7 * 7, 256));
  g.add(std::make_unique<Relu>("classifier.1"));
  g.add(std::make_unique<Linear>("classifier.2", 256, 10));
  return g;
}

Graph vgg16(const std::optional<Dims>& input) {
  Graph g("vgg16", input.value_or(Dims{3, 224, 224}), 1000);
  vgg_features(g, 3,
               {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0});
  g.add(std::make_unique<Flatten>("flatten"));
  g.add(std::make_unique<Linear>("classifier.0", 512 * 7 * 7, 4096));
  g.add(std::make_unique<Relu>("classifier.1"));
  g.add(std::make_unique<Linear>("classifier.3", 4096, 4096));
  g.add(std::make_unique<Relu>("classifier.4"));
  g.add(std::make_unique<Linear>("classifier.6", 4096, 1000));
  return g;
}

// deep-chain-N: N conv 3x3 + ReLU layers at a constant 32 channels on 32x32 maps (the first
// one from the 3 input channels), a global average pool and a linear classifier. A long chain
// of equal layers, for checkpointing experiments.
Graph deep_chain(int64_t depth, const std::optional<Dims>& input) {
  constexpr int64_t kWidth = 32, kSize = 32;
  Graph g("deep-chain-" + std::to_string(depth), input.value_or(Dims{3, kSize, kSize}), 10);
  int64_t in = 3;
  for (int64_t i = 0; i < depth; ++i) {
    g.add(std::make_unique<Conv2d>("features." + std::to_string(2 * i),
                                   Conv2dOptions(in, kWidth, 3, 1, 1)));
    g.add(std::make_unique<Relu>("features." + std::to_string(2 * i + 1)));
    in = kWidth;
  }
  g.add(std::make_unique<AdaptiveAvgPool2d>("avgpool", 1, 1));
  g.add(std::make_unique<Flatten>("flatten"));
  g.add(std::make_unique<Linear>("fc", kWidth, 10));
  return g;
}

// The N of "deep-chain-N", or 0 when `name` is not of that form.
int64_t deep_chain_depth(const std::string& name) {
  const std::string prefix = "deep-chain-";
  if (name.rfind(prefix, 0) != 0) return 0;
  const std::string digits = name.substr(prefix.size());
  if (digits.empty() || digits.size() > 4 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    throw Error("model \"" + name +
                "\": deep-chain-N needs N between 1 and 1000, e.g. deep-chain-64");
  }
  const int64_t depth = std::stoll(digits);
  if (depth < 1 || depth > 1000) {
    throw Error("model \"" + name +
                "\": deep-chain-N needs N between 1 and 1000, e.g. deep-chain-64");
  }
  return depth;
}

}  // namespace

std::vector<std::string> model_names() {
  std::vector<std::string> names = {"lenet5", "vgg-mini", "vgg16", "unet-small"};
  for (std::string& n : torchvision_model_names()) names.push_back(std::move(n));
  return names;
}

std::string model_help() {
  std::string s;
  for (const std::string& name : model_names()) s += name + " | ";
  return s + "deep-chain-N";
}

namespace {

Graph build(const std::string& name, const std::optional<Dims>& input) {
  if (name == "lenet5") return lenet5(input);
  if (name == "vgg-mini") return vgg_mini(input);
  if (name == "vgg16") return vgg16(input);
  if (name == "unet-small") return make_unet_small(input);
  if (std::optional<Graph> g = make_torchvision_model(name, input)) return std::move(*g);
  if (const int64_t depth = deep_chain_depth(name); depth > 0) return deep_chain(depth, input);
  throw Error("unknown model \"" + name + "\": use one of " + model_help());
}

}  // namespace

Graph make_model(const std::string& name, const std::optional<Dims>& input) {
  if (!input) return build(name, input);
  const Graph standard = build(name, std::nullopt);  // unknown names fail here, as without
  try {
    return build(name, input);
  } catch (const Error& e) {
    throw Error(setting("input") + " " + dims_str(*input) + ": model " + name +
                " cannot take it (" + e.marked() + "); its standard input is " +
                dims_str(standard.input_dims()));
  }
}

Dims parse_input_dims(const std::string& text) {
  Dims dims;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t x = std::min(text.find('x', start), text.size());
    const std::string part = text.substr(start, x - start);
    if (part.empty() || part.size() > 6 ||
        part.find_first_not_of("0123456789") != std::string::npos || std::stoll(part) <= 0) {
      dims.clear();
      break;
    }
    dims.push_back(std::stoll(part));
    start = x + 1;
  }
  if (dims.size() != 3) {
    throw Error(setting("input") + " \"" + text +
                "\": write channels x height x width as positive numbers, e.g. 3x224x224");
  }
  return dims;
}

}  // namespace cnnmem
