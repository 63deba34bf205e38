// unet-small (models/unet.h): its output shape, its parameter count worked out by hand, its
// parameter names and shapes at the skip concatenations, and one training step with
// pixel-cross-entropy whose memory bill predicted before allocation equals what the arena
// measured.
// Not here: the layers' own values (tests/layers/), the other zoo models (zoo_memory_test.cpp).
#include "models/unet.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>

#include "framework/error.h"
#include "framework/executor.h"
#include "layers/losses.h"
#include "models/zoo.h"
#include "optimizers/optimizer.h"
#include "tests/framework/memory_expect.h"

namespace cnnmem {
namespace {

// A pair: two 3x3 convolutions without bias, each followed by a BatchNorm (weight and bias).
int64_t pair_params(int64_t in, int64_t out) { return in * out * 9 + out * 9 * out + 2 * 2 * out; }

TEST(UnetSmall, OutputIsTwoClassesPerPixel) {
  EXPECT_EQ(make_model("unet-small").nodes().back().dims, (Dims{2, 64, 64}));
  EXPECT_EQ(make_model("unet-small", Dims{1, 64, 64}).nodes().back().dims, (Dims{2, 64, 64}));
  EXPECT_EQ(make_model("unet-small", Dims{3, 32, 48}).nodes().back().dims, (Dims{2, 32, 48}));
  // 62 -> 31 -> 15 -> 30: the upsampled map no longer fits its skip connection.
  EXPECT_THROW(make_model("unet-small", Dims{3, 62, 62}), Error);
}

TEST(UnetSmall, ParameterCountByHand) {
  for (const int64_t c : {3, 1}) {
    const int64_t encoder = pair_params(c, 16) + pair_params(16, 32) + pair_params(32, 64);
    const int64_t up = (64 * 32 * 4 + 32) + (32 * 16 * 4 + 16);  // 2x2 transposed, with bias
    const int64_t decoder = pair_params(64, 32) + pair_params(32, 16);
    const int64_t head = 16 * 2 + 2;
    EXPECT_EQ(make_unet_small(Dims{c, 64, 64}).param_count(), encoder + up + decoder + head);
  }
  EXPECT_EQ(make_unet_small().param_count(), 117378);  // as models/unet.h says
}

TEST(UnetSmall, DecoderReadsUpsampledThenSkipChannels) {
  const Graph g = make_unet_small();
  ExecutorOptions o;
  o.training = false;
  o.batch = 1;
  const Executor ex(g, o, nullptr);
  std::map<std::string, Dims> shapes;
  for (const ParamBinding& p : ex.params()) shapes[p.name] = p.torch_shape;
  EXPECT_EQ(shapes.at("up2.weight"), (Dims{64, 32, 2, 2}));  // PyTorch's (IC, OC, KH, KW)
  EXPECT_EQ(shapes.at("dec2.0.weight"), (Dims{32, 64, 3, 3}));
  EXPECT_EQ(shapes.at("dec1.0.weight"), (Dims{16, 32, 3, 3}));
  EXPECT_EQ(shapes.at("head.weight"), (Dims{2, 16, 1, 1}));
  EXPECT_EQ(shapes.size(), 36u);  // 5 pairs x 6, 2 transposed x 2 (weight, bias), head 2
}

TEST(UnetSmall, TrainingStepWithPixelCrossEntropyIsBilledExactly) {
  const Graph g = make_model("unet-small", Dims{1, 64, 64});
  EXPECT_EQ(default_loss_name(g.nodes().back().dims), "pixel-cross-entropy");
  OptimizerConfig cfg;
  cfg.name = "adam";
  const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
  ExecutorOptions o;
  o.batch = 2;
  Executor ex(g, o, opt.get(), make_loss("pixel-cross-entropy"));
  EXPECT_EQ(ex.target().kind, TargetKind::kPixelClass);
  EXPECT_EQ(ex.target().elements, 64 * 64);
  const MemoryStats predicted = ex.predicted();
  ex.bind();
  ex.init_weights(3);
  float* images = ex.staging_images();
  for (int64_t i = 0; i < 2 * 64 * 64; ++i) images[i] = std::sin(0.11F * static_cast<float>(i));
  int32_t* labels = ex.staging_labels();
  for (int64_t i = 0; i < 2 * 64 * 64; ++i) labels[i] = images[i] > 0 ? 1 : 0;
  ex.run_step();
  expect_same(predicted, ex.measured());
  // Two classes and small initial logits: the mean loss starts near log 2.
  EXPECT_TRUE(std::isfinite(ex.loss()));
  EXPECT_NEAR(ex.loss(), std::log(2.0), 0.5);
}

}  // namespace
}  // namespace cnnmem
