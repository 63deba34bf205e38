// The normalisation layers (layers/layer_norm.h, layers/group_norm.h) inside whole training
// steps: with activation checkpointing their forward ops are recomputed (oneDNN calls and the
// group norm's own loops, which read recompute copies through the op's aliases), and the losses,
// gradients and weights stay bitwise those of the step without checkpointing; in every case the
// predicted memory equals the measured, tag by tag.
// Not here: each layer's numerics (tests/layers/layer_norm_test.cpp, group_norm_test.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "framework/graph.h"
#include "layers/conv2d.h"
#include "layers/flatten.h"
#include "layers/group_norm.h"
#include "layers/layer_norm.h"
#include "layers/linear.h"
#include "layers/relu.h"
#include "optimizers/optimizer.h"
#include "tests/framework/memory_expect.h"
#include "tests/layers/layer_net.h"
#include "tests/util/training_run.h"

namespace cnnmem {
namespace {

// conv - group norm - relu - conv - layer norm 2d - conv - instance norm - flatten - linear -
// layer norm - linear: every norm, blocked and plain inputs, affine and not.
Graph norm_net() {
  Graph g("norms", {3, 8, 8}, 10);
  g.add(std::make_unique<Conv2d>("conv1", layer_test::conv_options(3, 16, 3, 1, 1, 1, false)));
  g.add(std::make_unique<GroupNorm>("gn", 4, 16));
  g.add(std::make_unique<Relu>("relu"));
  g.add(std::make_unique<Conv2d>("conv2", layer_test::conv_options(16, 16, 3, 2, 1)));
  g.add(std::make_unique<LayerNorm2d>("ln2d", 16, 1e-6));
  g.add(std::make_unique<Conv2d>("conv3", layer_test::conv_options(16, 8, 1)));
  g.add(std::make_unique<InstanceNorm2d>("in", 8));
  g.add(std::make_unique<Flatten>("flat"));
  g.add(std::make_unique<Linear>("fc1", 8 * 4 * 4, 12));
  g.add(std::make_unique<LayerNorm>("ln", 12));
  g.add(std::make_unique<Linear>("fc2", 12, 10));
  return g;
}

std::unique_ptr<test::TrainingRun> prepare(const Graph& g, const std::string& policy) {
  ExecutorOptions o;
  o.training = true;
  o.batch = 3;
  o.checkpoint = parse_checkpoint_policy(policy);
  OptimizerConfig cfg;
  cfg.name = "adam";
  cfg.lr = 0.01;
  return test::start_run(g, o, make_optimizer(cfg), /*weight_seed=*/5, /*data_seed=*/2);
}

bool bitwise_equal(const std::vector<NamedTensor>& a, const std::vector<NamedTensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].data.size() != b[i].data.size()) return false;
    if (std::memcmp(a[i].data.data(), b[i].data.data(), a[i].data.size() * sizeof(float)) != 0) {
      return false;
    }
  }
  return true;
}

TEST(NormStepTest, CheckpointingIsBitwiseAndPredictedEqualsMeasured) {
  const Graph g = norm_net();
  constexpr int kSteps = 2;
  auto reference = prepare(g, "none");
  std::vector<float> losses;
  for (int s = 0; s < kSteps; ++s) {
    reference->ex->run_step();
    losses.push_back(reference->ex->loss());
    EXPECT_TRUE(std::isfinite(losses.back()));
  }
  expect_same(reference->ex->predicted(), reference->ex->measured());
  for (const char* policy : {"every:1", "every:3", "sqrt"}) {
    SCOPED_TRACE(policy);
    auto r = prepare(g, policy);
    EXPECT_GT(r->ex->checkpoint().recompute_flops, 0);
    for (int s = 0; s < kSteps; ++s) {
      r->ex->run_step();
      EXPECT_EQ(r->ex->loss(), losses[static_cast<size_t>(s)]) << "step " << s;
    }
    EXPECT_TRUE(bitwise_equal(r->ex->weights(), reference->ex->weights()));
    EXPECT_TRUE(bitwise_equal(r->ex->gradients(), reference->ex->gradients()));
    expect_same(r->ex->predicted(), r->ex->measured());
  }
}

}  // namespace
}  // namespace cnnmem
