#include "models/unet.h"

#include <memory>
#include <string>

#include "layers/batch_norm2d.h"
#include "layers/concat.h"
#include "layers/conv2d.h"
#include "layers/conv_transpose2d.h"
#include "layers/pool2d.h"
#include "layers/relu.h"

namespace cnnmem {
namespace {

// conv-bn-relu twice, "<p>.0" ... "<p>.5"; returns the last ReLU's node.
int pair(Graph& g, int x, const std::string& p, int64_t in, int64_t out) {
  for (int k = 0; k < 2; ++k) {
    const std::string i = p + "." + std::to_string(3 * k);
    x = g.add(std::make_unique<Conv2d>(i, Conv2dOptions(k == 0 ? in : out, out, 3, 1, 1, 1, false)),
              {x});
    x = g.add(std::make_unique<BatchNorm2d>(p + "." + std::to_string(3 * k + 1), out), {x});
    x = g.add(std::make_unique<Relu>(p + "." + std::to_string(3 * k + 2)), {x});
  }
  return x;
}

int up(Graph& g, int x, const std::string& name, int64_t in, int64_t out) {
  return g.add(std::make_unique<ConvTranspose2d>(name, ConvTranspose2dOptions(in, out, 2, 2)), {x});
}

}  // namespace

Graph make_unet_small(const std::optional<Dims>& input) {
  const Dims dims = input.value_or(Dims{3, 64, 64});
  Graph g("unet-small", dims, kUnetSmallClasses);
  const int enc1 = pair(g, 0, "enc1", dims.at(0), 16);
  int x = g.add(std::make_unique<Pool2d>("pool1", PoolKind::kMax, 2), {enc1});
  const int enc2 = pair(g, x, "enc2", 16, 32);
  x = g.add(std::make_unique<Pool2d>("pool2", PoolKind::kMax, 2), {enc2});
  x = pair(g, x, "bottleneck", 32, 64);
  x = up(g, x, "up2", 64, 32);
  x = g.add(std::make_unique<Concat>("cat2"), {x, enc2});
  x = pair(g, x, "dec2", 64, 32);
  x = up(g, x, "up1", 32, 16);
  x = g.add(std::make_unique<Concat>("cat1"), {x, enc1});
  x = pair(g, x, "dec1", 32, 16);
  g.add(std::make_unique<Conv2d>("head", Conv2dOptions(16, kUnetSmallClasses, 1)), {x});
  return g;
}

}  // namespace cnnmem
