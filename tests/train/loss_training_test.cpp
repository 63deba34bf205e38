// Training with every loss of layers/losses.h through train/trainer.h on synthetic data: the
// targets the data set makes for each loss, losses that fall as the model fits 16 samples, the
// test accuracy (per pixel for pixel-cross-entropy, none for dense targets), predicted ==
// measured bytes with each loss's targets in the bill, and fashion-mnist refusing dense targets.
// Not here: the losses' values and gradients (tests/layers/losses_test.cpp).
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "framework/memory_stats.h"
#include "layers/conv2d.h"
#include "layers/losses.h"
#include "optimizers/optimizer.h"
#include "tests/util/expect_error.h"
#include "train/datasets.h"

namespace cnnmem {
namespace {

// (2, 4, 4) images -> conv 3x3 (pad 1) -> 3 x 4 x 4 scores per image.
Graph segmenter() {
  Graph g("segmenter", {2, 4, 4}, 3);
  g.add(std::make_unique<Conv2d>("conv", Conv2dOptions(2, 3, 3, 1, 1)));
  return g;
}

struct LossRun {
  TrainData data;
  TrainResult result;
  MemoryStats predicted, measured;
};

LossRun train_with(const std::string& loss, int64_t steps) {
  const Graph g = segmenter();
  OptimizerConfig cfg;
  cfg.name = "adam";
  cfg.lr = 0.05;
  const std::unique_ptr<Optimizer> opt = make_optimizer(cfg);
  ExecutorOptions o;
  o.batch = 4;
  Executor ex(g, o, opt.get(), make_loss(loss));
  ex.bind();
  ex.init_weights(1);
  LossRun r;
  r.data = load_train_data("synthetic", "", g, o.batch, 1, ex.target());
  TrainOptions t;
  t.max_steps = steps;
  t.epochs = steps;
  r.result = train(ex, r.data, t);
  r.predicted = ex.predicted();
  r.measured = ex.measured();
  return r;
}

TEST(LossTraining, EveryLossTrainsWithItsOwnTargets) {
  for (const std::string loss : {"mse", "bce-with-logits", "pixel-cross-entropy"}) {
    SCOPED_TRACE(loss);
    const LossRun r = train_with(loss, 40);
    const TargetShape& target = r.data.target;
    EXPECT_EQ(target.elements, loss == "pixel-cross-entropy" ? 16 : 48);
    EXPECT_EQ(r.data.train_labels.size(), static_cast<size_t>(32 * target.elements));
    if (loss == "pixel-cross-entropy") {
      for (uint8_t label : r.data.train_labels) EXPECT_LT(label, 3);
      EXPECT_GE(r.result.test_accuracy, 0.0);
      EXPECT_LE(r.result.test_accuracy, 1.0);
    } else {
      EXPECT_EQ(r.result.test_accuracy, -1);  // no accuracy for dense targets
    }
    ASSERT_EQ(r.result.losses.size(), 40u);
    // The eight batches repeat every epoch: the last epoch's mean loss is below the first's.
    double first = 0, last = 0;
    for (size_t i = 0; i < 8; ++i) first += r.result.losses[i], last += r.result.losses[32 + i];
    EXPECT_LT(last, first);
    EXPECT_TRUE(agrees(r.predicted, r.measured));
    // The targets are in the bill: images and targets, staged and loaded, plus the loss result.
    EXPECT_GE(r.predicted.tag_peaks[static_cast<size_t>(tag_index(Tag::kInput))],
              2 * 4 * target.bytes());
  }
}

TEST(LossTraining, FashionMnistHasNoDenseTargets) {
  const Graph g("fm", {1, 28, 28}, 10);
  const std::string e = test::error_of([&] {
    load_train_data("fashion-mnist", "/nonexistent", g, 2, 1,
                    TargetShape{TargetKind::kDense, 10, 0});
  });
  EXPECT_EQ(e,
            "fashion-mnist has one class label per image; the loss wants dense targets: train "
            "with the cross-entropy loss, or on synthetic data");
}

}  // namespace
}  // namespace cnnmem
