// Tests for train/trainer.h on the tiny model (tests/util/tiny_model.h) and synthetic data
// (16 training images, 4 test images for batch 2): one loss per step, step budgets and epochs,
// the progress callback, stop_requested ending the run after the step it was asked at (with
// `interrupted` set and no evaluation), the batches fed in order without shuffling, and the
// errors a user sees.
// Not here: training state files and resuming (tests/io/training_state_test.cpp,
// tests/apps/resume_cli_test.cpp), the step itself (tests/framework/executor_test.cpp).
#include "train/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "framework/error.h"
#include "layers/softmax_cross_entropy.h"
#include "optimizers/optimizer.h"
#include "tests/util/expect_error.h"
#include "tests/util/tiny_model.h"
#include "tests/util/training_run.h"
#include "train/datasets.h"

namespace cnnmem {
namespace {

using test::error_of;
constexpr int64_t kBatch = 2;

// A bound executor of the tiny model with SGD, weights from seed 1, and its data (seed 1).
struct Setup {
  Graph graph = test::tiny_model();
  std::unique_ptr<Optimizer> opt;
  std::unique_ptr<Executor> ex;
  TrainData data;
};

std::unique_ptr<Setup> setup(int64_t batch = kBatch) {
  auto s = std::make_unique<Setup>();
  OptimizerConfig cfg;
  cfg.name = "sgd";
  s->opt = make_optimizer(cfg);
  ExecutorOptions o;
  o.batch = batch;
  s->ex = std::make_unique<Executor>(s->graph, o, s->opt.get(),
                                     std::make_unique<SoftmaxCrossEntropy>());
  s->ex->bind();
  s->ex->init_weights(1);
  s->data = load_train_data("synthetic", "", s->graph, kBatch, 1);
  return s;
}

TEST(Trainer, SyntheticDataIsEightBatchesToTrainAndTwoToTest) {
  const auto s = setup();
  EXPECT_EQ(s->data.name, "synthetic");
  EXPECT_EQ(s->data.sample_size, 4);  // (1, 2, 2)
  EXPECT_EQ(s->data.train().count, 8 * kBatch);
  EXPECT_EQ(s->data.test().count, 2 * kBatch);
  for (uint8_t label : s->data.train_labels) EXPECT_LT(label, 3);  // the model's classes
}

TEST(Trainer, MaxStepsGivesOneLossPerStepAndSkipsEvaluationWhenAsked) {
  const auto s = setup();
  TrainOptions o;
  o.max_steps = 5;
  o.eval = false;
  const TrainResult r = train(*s->ex, s->data, o);
  ASSERT_EQ(r.losses.size(), 5u);
  for (float loss : r.losses) {
    EXPECT_TRUE(std::isfinite(loss));
    EXPECT_GT(loss, 0.0f);  // cross-entropy of a softmax is never 0 for finite logits
  }
  EXPECT_EQ(r.steps, 5);
  EXPECT_EQ(r.total_steps, 5);
  EXPECT_DOUBLE_EQ(r.epochs, 5.0 / 8.0);
  EXPECT_EQ(r.test_accuracy, -1);
  EXPECT_FALSE(r.interrupted);
  EXPECT_FALSE(r.saved);
}

TEST(Trainer, EpochsRunEveryBatchReportEachStepAndEvaluate) {
  const auto s = setup();
  TrainOptions o;
  o.epochs = 2;
  std::vector<TrainStep> seen;
  o.on_step = [&](const TrainStep& step) { seen.push_back(step); };
  const TrainResult r = train(*s->ex, s->data, o);
  ASSERT_EQ(r.losses.size(), 16u);  // 2 epochs of 16 / 2 batches
  EXPECT_EQ(r.steps, 16);
  EXPECT_DOUBLE_EQ(r.epochs, 2.0);
  ASSERT_EQ(seen.size(), 16u);
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].step, static_cast<int64_t>(i));
    EXPECT_EQ(seen[i].steps, 16);
    EXPECT_EQ(seen[i].epoch, static_cast<int64_t>(i / 8));
    EXPECT_EQ(seen[i].epochs, 2);
    EXPECT_EQ(seen[i].batch, kBatch);
    EXPECT_EQ(seen[i].loss, r.losses[i]);
  }
  // Accuracy over the 4 test images: a multiple of 1/4.
  ASSERT_GE(r.test_accuracy, 0.0);
  ASSERT_LE(r.test_accuracy, 1.0);
  EXPECT_DOUBLE_EQ(r.test_accuracy * 4, std::round(r.test_accuracy * 4));
}

TEST(Trainer, StopRequestedEndsTheRunAfterThatStepWithoutEvaluation) {
  const auto s = setup();
  TrainOptions o;
  o.epochs = 1;
  o.eval = true;  // a stopped run is not evaluated even so
  int asked = 0;
  o.stop_requested = [&] { return ++asked == 3; };
  const TrainResult r = train(*s->ex, s->data, o);
  EXPECT_EQ(asked, 3);  // once after each step, and no step after the third
  EXPECT_EQ(r.losses.size(), 3u);
  EXPECT_EQ(r.steps, 3);
  EXPECT_EQ(r.total_steps, 8);
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(r.test_accuracy, -1);
  EXPECT_FALSE(r.saved);  // no state_dir
}

TEST(Trainer, WithoutShuffleFeedsTheBatchesInOrderLikeStepsByHand) {
  std::vector<float> by_hand;
  {
    const Graph g = test::tiny_model();
    OptimizerConfig cfg;
    cfg.name = "sgd";
    ExecutorOptions eo;
    eo.batch = kBatch;
    const auto run = test::start_run(g, eo, make_optimizer(cfg), 1, 1);
    for (int i = 0; i < 4; ++i) {
      run->ex->run_step();
      by_hand.push_back(run->ex->loss());
    }
  }
  const auto s = setup();
  TrainOptions o;
  o.max_steps = 4;
  o.shuffle = false;
  o.eval = false;
  EXPECT_EQ(train(*s->ex, s->data, o).losses, by_hand);
}

TEST(Trainer, RejectsABatchLargerThanTheDataAndNoLength) {
  const auto s = setup(/*batch=*/32);  // the data was made for batch 2: 16 images
  TrainOptions o;
  EXPECT_EQ(error_of([&] { train(*s->ex, s->data, o); }),
            "the synthetic training set has 16 images, fewer than batch 32: use a smaller batch");
  const auto t = setup();
  o.epochs = 0;
  EXPECT_EQ(error_of([&] { train(*t->ex, t->data, o); }),
            "epochs must be positive (or give max_steps)");
}

TEST(Trainer, UnknownDataSetIsRejected) {
  const Graph g = test::tiny_model();
  EXPECT_EQ(error_of([&] { load_train_data("cifar", "", g, 2, 1); }),
            "data set \"cifar\" is unknown: use fashion-mnist, synthetic, idx:DIR, cifar10:DIR, "
            "cifar100:DIR, folder:DIR or npy:IMAGES.npy,LABELS.npy");
  EXPECT_EQ(error_of([&] { load_train_data("idx:", "", g, 2, 1); }),
            "data set \"idx:\" is unknown: use fashion-mnist, synthetic, idx:DIR, cifar10:DIR, "
            "cifar100:DIR, folder:DIR or npy:IMAGES.npy,LABELS.npy");
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) return;
  EXPECT_EQ(error_of([&] {
              load_train_data("fashion-mnist", "/usr/share/datasets/fashion-mnist", g, 2, 1);
            }),
            "model tiny takes 1x2x2 input; the fashion-mnist images are 1x28x28: give a model "
            "of that input size (an input size of 1x28x28 where its layers allow it)");
}

}  // namespace
}  // namespace cnnmem
