#include "models/zoo.h"

#include <memory>

#include "framework/error.h"
#include "layers/conv2d.h"
#include "layers/flatten.h"
#include "layers/linear.h"
#include "layers/pool2d.h"
#include "layers/relu.h"

namespace cnnmem {
namespace {

Conv2dOptions conv(int64_t in, int64_t out, int64_t kernel, int64_t padding) {
  Conv2dOptions o;
  o.in_channels = in;
  o.out_channels = out;
  o.kernel = kernel;
  o.padding = padding;
  return o;
}

Graph lenet5() {
  Graph g("lenet5", {1, 28, 28}, 10);
  g.add(std::make_unique<Conv2d>("conv1", conv(1, 6, 5, 2)));
  g.add(std::make_unique<Relu>("relu1"));
  g.add(std::make_unique<Pool2d>("pool1", PoolKind::kMax, 2));
  g.add(std::make_unique<Conv2d>("conv2", conv(6, 16, 5, 0)));
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
      g.add(std::make_unique<Conv2d>("features." + std::to_string(index++), conv(in, v, 3, 1)));
      g.add(std::make_unique<Relu>("features." + std::to_string(index++)));
      in = v;
    }
  }
}

Graph vgg_mini() {
  Graph g("vgg-mini", {1, 28, 28}, 10);
  vgg_features(g, 1, {32, 32, 0, 64, 64, 0});
  g.add(std::make_unique<Flatten>("flatten"));
  g.add(std::make_unique<Linear>("classifier.0", 64 * 7 * 7, 256));
  g.add(std::make_unique<Relu>("classifier.1"));
  g.add(std::make_unique<Linear>("classifier.2", 256, 10));
  return g;
}

Graph vgg16() {
  Graph g("vgg16", {3, 224, 224}, 1000);
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

}  // namespace

std::vector<std::string> model_names() { return {"lenet5", "vgg-mini", "vgg16"}; }

Graph make_model(const std::string& name) {
  if (name == "lenet5") return lenet5();
  if (name == "vgg-mini") return vgg_mini();
  if (name == "vgg16") return vgg16();
  throw Error("unknown model \"" + name + "\": use lenet5, vgg-mini or vgg16");
}

}  // namespace cnnmem
