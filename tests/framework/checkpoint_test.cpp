// Activation checkpointing: every policy gives bitwise the losses, gradients and weights of the
// step without it; predicted == measured under every policy; the budget search finds the
// cheapest set that fits (checked against every subset on small chains); policy parsing and the
// errors a user sees.
#include "framework/checkpoint.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>

#include "framework/error.h"
#include "framework/executor.h"
#include "layers/adaptive_avg_pool2d.h"
#include "layers/add.h"
#include "layers/batch_norm2d.h"
#include "layers/conv2d.h"
#include "layers/dropout.h"
#include "layers/flatten.h"
#include "layers/linear.h"
#include "layers/relu.h"
#include "layers/softmax_cross_entropy.h"
#include "models/zoo.h"
#include "optimizers/optimizer.h"
#include "tests/framework/memory_expect.h"
#include "tests/util/training_run.h"
#include "train/trainer.h"

namespace cnnmem {
namespace {

OptimizerConfig config(const std::string& name) {
  OptimizerConfig c;
  c.name = name;
  c.lr = 0.01;
  if (name == "sgd") c.momentum = 0.9;
  return c;
}

ExecutorOptions train_options(int64_t batch, const std::string& policy, bool fuse = false) {
  ExecutorOptions o;
  o.training = true;
  o.batch = batch;
  o.fuse_update = fuse;
  o.checkpoint = parse_checkpoint_policy(policy);
  return o;
}

std::unique_ptr<test::TrainingRun> prepare(const Graph& g, const ExecutorOptions& o,
                                           const std::string& opt) {
  return test::start_run(g, o, make_optimizer(config(opt)), /*weight_seed=*/7, /*data_seed=*/3);
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

// Policy parsing.

TEST(CheckpointPolicy, ParsesEveryForm) {
  EXPECT_EQ(parse_checkpoint_policy("none").kind, CheckpointPolicy::Kind::kNone);
  EXPECT_EQ(parse_checkpoint_policy("sqrt").kind, CheckpointPolicy::Kind::kSqrt);
  EXPECT_EQ(parse_checkpoint_policy("every:3").every, 3);
  EXPECT_EQ(parse_checkpoint_policy("budget:1500").budget_bytes, 1500);
  EXPECT_EQ(parse_checkpoint_policy("budget:2G").budget_bytes, 2000000000);
  EXPECT_EQ(parse_checkpoint_policy("budget:1.5GiB").budget_bytes, 1610612736);
  EXPECT_EQ(parse_checkpoint_policy("budget:512MiB").budget_bytes, 512 << 20);
  const CheckpointPolicy l = parse_checkpoint_policy("layers:conv2,fc1");
  EXPECT_EQ(l.layers, (std::vector<std::string>{"conv2", "fc1"}));
}

TEST(CheckpointPolicy, RejectsMalformedPoliciesWithTheAcceptedForms) {
  for (const char* bad : {"", "every", "every:", "every:0", "every:-2", "every:x", "sqrt:2",
                          "budget:", "budget:12Q", "budget:0", "budget:-5",
                          "layers:", "layers:a,,b", "none:1", "segments:4", "budget:1.2.3G"}) {
    EXPECT_THROW(parse_checkpoint_policy(bad), Error) << bad;
  }
  try {
    parse_checkpoint_policy("fancy");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("every:K"), std::string::npos) << e.what();
  }
}

// Units.

TEST(CheckpointUnits, FusedAndInPlaceLayersJoinTheLayerWhoseOutputTheyOverwrite) {
  const Graph g = make_model("lenet5");
  const Executor ex(g, train_options(2, "none"), make_optimizer(config("sgd")).get(),
                    std::make_unique<SoftmaxCrossEntropy>());
  std::vector<std::string> names;
  for (const CheckpointUnit& u : ex.checkpoint_units()) names.push_back(u.name);
  // relu1/relu2 are fused into the convolutions, relu3/relu4 run in place after fc1/fc2.
  EXPECT_EQ(names, (std::vector<std::string>{"conv1", "pool1", "conv2", "pool2", "flatten", "fc1",
                                             "fc2", "fc3"}));
  EXPECT_GT(ex.checkpoint_units()[0].flops, 0);
}

TEST(CheckpointUnits, LayersPolicyNamesTheProblem) {
  const Graph g = make_model("lenet5");
  auto opt = make_optimizer(config("sgd"));
  const auto message = [&](const std::string& policy) {
    try {
      Executor ex(g, train_options(2, policy), opt.get(), std::make_unique<SoftmaxCrossEntropy>());
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("layers:relu1").find("in place"), std::string::npos);
  EXPECT_NE(message("layers:conv9").find("no layer"), std::string::npos);
  EXPECT_NE(message("layers:conv1").find("always kept"), std::string::npos);
  ExecutorOptions infer;
  infer.training = false;
  infer.checkpoint = parse_checkpoint_policy("sqrt");
  EXPECT_THROW(Executor(g, infer, nullptr), Error);
}

// Bitwise identity and predicted == measured.

struct Case {
  std::string model;
  std::string opt;
  bool fuse;
};

class CheckpointBitwise : public ::testing::TestWithParam<Case> {};

TEST_P(CheckpointBitwise, EveryPolicyGivesTheLossesGradientsAndWeightsOfNoCheckpointing) {
  const Case& c = GetParam();
  const Graph g = make_model(c.model);
  constexpr int kSteps = 3;
  auto reference = prepare(g, train_options(2, "none", c.fuse), c.opt);
  std::vector<float> losses;
  for (int s = 0; s < kSteps; ++s) {
    reference->ex->run_step();
    losses.push_back(reference->ex->loss());
  }
  const int64_t plain_activation = reference->ex->predicted().by_tag[tag_index(Tag::kActivation)];
  const std::vector<NamedTensor> weights = reference->ex->weights();
  const std::vector<NamedTensor> grads =
      c.fuse ? std::vector<NamedTensor>{} : reference->ex->gradients();
  const int64_t budget = reference->ex->predicted().peak_bytes - 1;
  for (const std::string& policy : {std::string("every:1"), std::string("every:2"),
                                    std::string("sqrt"), "budget:" + std::to_string(budget)}) {
    SCOPED_TRACE(c.model + " " + c.opt + " " + policy);
    auto r = prepare(g, train_options(2, policy, c.fuse), c.opt);
    EXPECT_FALSE(r->ex->checkpoint().kept.empty());
    EXPECT_GT(r->ex->checkpoint().recompute_flops, 0);
    for (int s = 0; s < kSteps; ++s) {
      r->ex->run_step();
      EXPECT_EQ(r->ex->loss(), losses[static_cast<size_t>(s)]) << "step " << s;
    }
    EXPECT_TRUE(bitwise_equal(r->ex->weights(), weights));
    if (!c.fuse) {
      EXPECT_TRUE(bitwise_equal(r->ex->gradients(), grads));
    }
    expect_same(r->ex->predicted(), r->ex->measured());
    // A fixed policy can cost more than it saves on a small model (every:1 keeps every input
    // and still recomputes); the budget policy never does.
    if (policy.starts_with("budget:")) {
      EXPECT_LE(r->ex->predicted().peak_bytes, budget);
      EXPECT_LT(r->ex->predicted().by_tag[tag_index(Tag::kActivation)], plain_activation);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Models, CheckpointBitwise,
    ::testing::Values(Case{"lenet5", "sgd", false}, Case{"lenet5", "adam", true},
                      Case{"vgg-mini", "adam", false}, Case{"deep-chain-6", "sgd", false}),
    [](const ::testing::TestParamInfo<Case>& p) {
      std::string n = p.param.model + "_" + p.param.opt + (p.param.fuse ? "_fused" : "");
      for (char& ch : n) ch = std::isalnum(ch) != 0 ? ch : '_';
      return n;
    });

// A small residual network with BatchNorm and dropout: two basic blocks on 8x8 maps.
Graph residual_net() {
  Graph g("residual", {3, 8, 8}, 5);
  const auto conv = [](int64_t in, int64_t out) {
    Conv2dOptions o;
    o.in_channels = in;
    o.out_channels = out;
    o.kernel = 3;
    o.padding = 1;
    o.bias = false;
    return o;
  };
  g.add(std::make_unique<Conv2d>("conv1", conv(3, 8)));
  g.add(std::make_unique<BatchNorm2d>("bn1", 8));
  int x = g.add(std::make_unique<Relu>("relu"));
  for (int block = 0; block < 2; ++block) {
    const std::string p = "layer" + std::to_string(block) + ".";
    g.add(std::make_unique<Conv2d>(p + "conv1", conv(8, 8)), {x});
    g.add(std::make_unique<BatchNorm2d>(p + "bn1", 8));
    g.add(std::make_unique<Relu>(p + "relu1"));
    g.add(std::make_unique<Conv2d>(p + "conv2", conv(8, 8)));
    const int y = g.add(std::make_unique<BatchNorm2d>(p + "bn2", 8));
    g.add(std::make_unique<Add>(p + "add"), {y, x});
    x = g.add(std::make_unique<Relu>(p + "relu2"));
  }
  g.add(std::make_unique<Dropout>("dropout", 0.3));
  g.add(std::make_unique<AdaptiveAvgPool2d>("avgpool", 1, 1));
  g.add(std::make_unique<Flatten>("flatten"));
  g.add(std::make_unique<Linear>("fc", 8, 5));
  return g;
}

TEST(CheckpointResidual, BlocksAreUnitsAndEveryPolicyIsBitwiseWithBatchNormAndDropout) {
  const Graph g = residual_net();
  auto reference = prepare(g, train_options(4, "none"), "adam");
  std::vector<std::string> names;
  for (const CheckpointUnit& u : reference->ex->checkpoint_units()) names.push_back(u.name);
  // Inside a block the skip tensor is live beside the branch: no cut there.
  EXPECT_EQ(names, (std::vector<std::string>{"conv1", "bn1", "layer0.conv1", "layer1.conv1",
                                             "dropout", "avgpool", "fc"}));
  std::vector<float> losses;
  for (int s = 0; s < 3; ++s) {
    reference->ex->run_step();
    losses.push_back(reference->ex->loss());
  }
  // weights() holds the running statistics too: updated once per step, not per recompute.
  const std::vector<NamedTensor> weights = reference->ex->weights();
  const std::vector<NamedTensor> grads = reference->ex->gradients();
  for (const std::string policy : {"every:1", "every:2", "sqrt", "layers:layer1.conv1,avgpool"}) {
    SCOPED_TRACE(policy);
    auto r = prepare(g, train_options(4, policy), "adam");
    for (int s = 0; s < 3; ++s) {
      r->ex->run_step();
      EXPECT_EQ(r->ex->loss(), losses[static_cast<size_t>(s)]) << "step " << s;
    }
    EXPECT_TRUE(bitwise_equal(r->ex->weights(), weights));
    EXPECT_TRUE(bitwise_equal(r->ex->gradients(), grads));
    expect_same(r->ex->predicted(), r->ex->measured());
  }
}

// The search.

// Every subset of kept inputs, as bit masks over units 1 .. n-1.
std::vector<int> subset(uint32_t mask, int n) {
  std::vector<int> kept;
  for (int u = 1; u < n; ++u) {
    if ((mask >> (u - 1)) & 1U) kept.push_back(u);
  }
  return kept;
}

double recompute_flops(const std::vector<CheckpointUnit>& units, const std::vector<int>& kept) {
  double f = 0;
  if (kept.empty()) return 0;
  for (int u = 0; u < kept.back(); ++u) f += units[static_cast<size_t>(u)].flops;
  return f;
}

TEST(CheckpointSearch, PeakOfARewriteIsThePredictorsPeak) {
  for (const std::string model : {"lenet5", "deep-chain-4"}) {
    const Graph g = make_model(model);
    auto opt = make_optimizer(config("adam"));
    const Executor plain(g, train_options(2, "none"), opt.get(),
                         std::make_unique<SoftmaxCrossEntropy>());
    const CheckpointSearch search(plain.schedule(), plain.checkpoint_units(),
                                  plain.checkpoint_shared());
    const int n = static_cast<int>(plain.checkpoint_units().size());
    EXPECT_EQ(search.peak({}), plain.predicted().peak_bytes);
    for (uint32_t mask = 1; mask < (1U << (n - 1)); mask += 5) {
      const std::vector<int> kept = subset(mask, n);
      std::string names;
      for (int u : kept) {
        names += (names.empty() ? "" : ",") + plain.checkpoint_units()[static_cast<size_t>(u)].name;
      }
      auto opt2 = make_optimizer(config("adam"));
      const Executor ex(g, train_options(2, "layers:" + names), opt2.get(),
                        std::make_unique<SoftmaxCrossEntropy>());
      EXPECT_EQ(search.peak(kept), ex.predicted().peak_bytes) << model << " " << names;
    }
  }
}

TEST(CheckpointSearch, BudgetFindsTheCheapestFittingSetLikeBruteForce) {
  for (const std::string model : {"lenet5", "vgg-mini", "deep-chain-5"}) {
    for (int64_t batch : {1, 4}) {
      SCOPED_TRACE(model + " batch " + std::to_string(batch));
      const Graph g = make_model(model);
      auto opt = make_optimizer(config("sgd"));
      const Executor plain(g, train_options(batch, "none"), opt.get(),
                           std::make_unique<SoftmaxCrossEntropy>());
      const auto& units = plain.checkpoint_units();
      const CheckpointSearch search(plain.schedule(), units, plain.checkpoint_shared());
      const int n = static_cast<int>(units.size());
      ASSERT_LE(n, 14);
      std::vector<std::pair<int64_t, double>> all;  // (peak, flops) of every subset
      for (uint32_t mask = 0; mask < (1U << (n - 1)); ++mask) {
        const std::vector<int> kept = subset(mask, n);
        all.emplace_back(search.peak(kept), recompute_flops(units, kept));
      }
      std::vector<int64_t> budgets;
      for (const auto& [peak, flops] : all) budgets.insert(budgets.end(), {peak, peak - 1});
      int64_t smallest = INT64_MAX;
      for (const auto& [peak, flops] : all) smallest = std::min(smallest, peak);
      for (int64_t budget : budgets) {
        double best = -1;
        for (const auto& [peak, flops] : all) {
          if (peak <= budget && (best < 0 || flops < best)) best = flops;
        }
        if (best < 0) {
          EXPECT_LT(budget, smallest);
          EXPECT_THROW(search.fit(budget), Error);
          continue;
        }
        const CheckpointSearch::Choice c = search.fit(budget);
        EXPECT_EQ(c.recompute_flops, best) << "budget " << budget;
        EXPECT_LE(c.peak_bytes, budget);
        EXPECT_EQ(c.peak_bytes, search.peak(c.kept));
      }
    }
  }
}

TEST(CheckpointSearch, NothingFitsNamesTheSmallestPeak) {
  const Graph g = make_model("deep-chain-4");
  auto opt = make_optimizer(config("sgd"));
  try {
    Executor ex(g, train_options(2, "budget:1000"), opt.get(),
                std::make_unique<SoftmaxCrossEntropy>());
    FAIL() << "a 1000-byte budget fitted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("smallest achievable peak"), std::string::npos);
  }
}

TEST(CheckpointSearch, SqrtOnALongChainKeepsFewMapsAndRecomputesMostOfTheForwardPass) {
  const Graph g = make_model("deep-chain-16");
  auto opt = make_optimizer(config("sgd"));
  const Executor plain(g, train_options(4, "none"), opt.get(),
                       std::make_unique<SoftmaxCrossEntropy>());
  const Executor checkpointed(g, train_options(4, "sqrt"), opt.get(),
                              std::make_unique<SoftmaxCrossEntropy>());
  const auto act = [](const Executor& e) {
    return e.predicted().by_tag[tag_index(Tag::kActivation)];
  };
  // 19 units: keeps 4, 8, 12, 16; each of 16 conv outputs is 4x32x32x32 floats.
  EXPECT_EQ(checkpointed.checkpoint().kept.size(), 4u);
  EXPECT_LT(act(checkpointed) * 2, act(plain));
  EXPECT_GT(checkpointed.checkpoint().recompute_flops,
            0.7 * checkpointed.checkpoint().forward_flops);
  EXPECT_LT(checkpointed.checkpoint().recompute_flops, checkpointed.checkpoint().forward_flops);
}

}  // namespace
}  // namespace cnnmem
