// Tests for apps/cnnmem.cpp from the outside: what a good run prints, from the built `cnnmem`
// binary run as a child process.
//
// `--json` prints exactly one JSON object whose numbers are checked (parameter counts, predicted
// == measured bytes, tag sums, optimizer state per optimizer); --save then --init-weights round
// trips; training losses match PyTorch's golden fixture step by step and are bitwise reproducible
// for a fixed seed and thread count.
// Not here: bad flags and bad input files (cli_test.cpp), the library's own unit tests, speed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "tests/apps/cli_helpers.h"
#include "tests/util/temp_dir.h"

namespace cnnmem::test {
namespace {

namespace fs = std::filesystem;

const fs::path kGoldenDir = fs::path(CNNMEM_SOURCE_DIR) / "tests/fixtures/golden";
const fs::path kFashionMnist = "/usr/share/datasets/fashion-mnist";

// ---------------------------------------------------------------------------------------------
// cnnmem cost --json: checked numbers.

void expect_tags_consistent(const json& part, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_TRUE(part.is_object()) << what << " missing";
  ASSERT_TRUE(part.contains("by_tag") && part["by_tag"].is_object());
  std::set<std::string> keys;
  int64_t sum = 0;
  for (const auto& [tag, bytes] : part["by_tag"].items()) {
    keys.insert(tag);
    EXPECT_GE(bytes.get<int64_t>(), 0) << tag;
    sum += bytes.get<int64_t>();
  }
  EXPECT_EQ(keys, std::set<std::string>(kTags.begin(), kTags.end()));
  EXPECT_EQ(sum, part.value("peak_bytes", int64_t{-1}));
  EXPECT_GE(part.value("arena_bytes", int64_t{-1}), part.value("peak_bytes", int64_t{-1}));
  EXPECT_GT(part.value("peak_bytes", int64_t{0}), 0);
}

int64_t tag_bytes(const json& j, const std::string& part, const std::string& tag) {
  return j.contains(part) && j[part].contains("by_tag") ? j[part]["by_tag"].value(tag, int64_t{-1})
                                                        : -1;
}

TEST(CliCost, LenetAdamMeasuredEqualsPredicted) {
  const json j = run_json({"cost", "--model", "lenet5", "--mode", "train", "--batch", "4",
                           "--optimizer", "adam", "--measure", "--json"});
  EXPECT_EQ(j.value("params", int64_t{-1}), 61706);
  EXPECT_EQ(j.value("mode", ""), "train");
  EXPECT_EQ(j.value("model", ""), "lenet5");
  EXPECT_EQ(j.value("optimizer", ""), "adam");
  EXPECT_EQ(j.value("batch", -1), 4);
  expect_tags_consistent(j["predicted"], "predicted");
  expect_tags_consistent(j["measured"], "measured");
  EXPECT_EQ(j["predicted"].value("peak_bytes", int64_t{-1}),
            j["measured"].value("peak_bytes", int64_t{-2}));
  for (const std::string& tag : kTags) {
    EXPECT_EQ(tag_bytes(j, "predicted", tag), tag_bytes(j, "measured", tag)) << tag;
  }
  // Adam keeps m and v for every parameter: twice the gradient bytes.
  EXPECT_GT(tag_bytes(j, "predicted", "grad"), 0);
  EXPECT_EQ(tag_bytes(j, "predicted", "optimizer_state"), 2 * tag_bytes(j, "predicted", "grad"));
  // Weights and grads are the same 61706 floats, each tensor padded to 64 bytes.
  EXPECT_EQ(tag_bytes(j, "predicted", "weight"), tag_bytes(j, "predicted", "grad"));
  EXPECT_GE(tag_bytes(j, "predicted", "weight"), 61706 * 4);
}

TEST(CliCost, SgdStateIsZeroPlainAndOneGradWithMomentum) {
  const json plain = run_json({"cost", "--model", "lenet5", "--mode", "train", "--batch", "4",
                               "--optimizer", "sgd", "--json"});
  expect_tags_consistent(plain["predicted"], "plain sgd");
  EXPECT_EQ(tag_bytes(plain, "predicted", "optimizer_state"), 0);
  EXPECT_GT(tag_bytes(plain, "predicted", "grad"), 0);
  EXPECT_FALSE(plain.contains("measured")) << "no --measure, yet measured is present";

  const json momentum = run_json({"cost", "--model", "lenet5", "--mode", "train", "--batch", "4",
                                  "--optimizer", "sgd", "--momentum", "0.9", "--json"});
  EXPECT_EQ(tag_bytes(momentum, "predicted", "optimizer_state"),
            tag_bytes(momentum, "predicted", "grad"));
}

TEST(CliCost, Vgg16ParamsMatchTorchvision) {
  const json j = run_json({"cost", "--model", "vgg16", "--mode", "train", "--batch", "2",
                           "--optimizer", "adam", "--json"});
  EXPECT_EQ(j.value("params", int64_t{-1}), 138357544);
  expect_tags_consistent(j["predicted"], "predicted");
  EXPECT_EQ(tag_bytes(j, "predicted", "optimizer_state"), 2 * tag_bytes(j, "predicted", "grad"));
}

TEST(CliCost, InferHasNoGradOrOptimizerState) {
  const json j = run_json(
      {"cost", "--model", "lenet5", "--mode", "infer", "--batch", "4", "--measure", "--json"});
  EXPECT_EQ(j.value("mode", ""), "infer");
  EXPECT_EQ(j.value("params", int64_t{-1}), 61706);
  expect_tags_consistent(j["predicted"], "predicted");
  expect_tags_consistent(j["measured"], "measured");
  for (const std::string part : {"predicted", "measured"}) {
    EXPECT_EQ(tag_bytes(j, part, "grad"), 0) << part;
    EXPECT_EQ(tag_bytes(j, part, "optimizer_state"), 0) << part;
    EXPECT_EQ(tag_bytes(j, part, "activation_grad"), 0) << part;
    EXPECT_GT(tag_bytes(j, part, "weight"), 0) << part;
  }
  EXPECT_EQ(j["predicted"].value("peak_bytes", int64_t{-1}),
            j["measured"].value("peak_bytes", int64_t{-2}));
}

TEST(CliCost, NoReusePlanIsAtLeastTheGreedyPlan) {
  const std::vector<std::string> base = {"cost",  "--model", "lenet5", "--mode",
                                         "train", "--batch", "4",      "--json"};
  const json greedy = run_json(with(base, {"--reuse", "greedy-by-size"}));
  const json none = run_json(with(base, {"--reuse", "none"}));
  EXPECT_EQ(none.value("reuse", ""), "none");
  // Same live bytes at the peak; without reuse the arena holds every buffer side by side.
  EXPECT_EQ(none["predicted"].value("peak_bytes", int64_t{-1}),
            greedy["predicted"].value("peak_bytes", int64_t{-2}));
  EXPECT_GT(none["predicted"].value("arena_bytes", int64_t{-1}),
            greedy["predicted"].value("arena_bytes", int64_t{-2}));
}

// ---------------------------------------------------------------------------------------------
// cnnmem train --json

TEST(CliTrain, SyntheticThreeStepsJson) {
  const json j = run_json({"train", "--model", "lenet5", "--data", "synthetic", "--max-steps", "3",
                           "--batch", "8", "--json", "--no-eval"});
  const std::vector<double> losses = losses_of(j);
  ASSERT_EQ(losses.size(), 3u) << j.dump();
  for (double l : losses) {
    EXPECT_TRUE(std::isfinite(l));
    EXPECT_GT(l, 0.0);
  }
  EXPECT_EQ(j.value("steps", -1), 3);
  ASSERT_TRUE(j.contains("test_accuracy"));
  EXPECT_TRUE(j["test_accuracy"].is_null());
  EXPECT_EQ(j.value("mode", ""), "train");
  EXPECT_EQ(j.value("params", int64_t{-1}), 61706);
  expect_tags_consistent(j["predicted"], "predicted");
  expect_tags_consistent(j["measured"], "measured");
  EXPECT_EQ(j["predicted"].value("peak_bytes", int64_t{-1}),
            j["measured"].value("peak_bytes", int64_t{-2}));
}

// --arena-guard (framework/arena.h) changes neither the losses nor the bytes.
TEST(CliTrain, ArenaGuardGivesTheSameLossesAndBytes) {
  const std::vector<std::string> args = {"train",     "--model",     "vgg-mini", "--data",
                                         "synthetic", "--max-steps", "2",        "--batch",
                                         "4",         "--json",      "--no-eval"};
  std::vector<std::string> guarded = args;
  guarded.push_back("--arena-guard");
  const json plain = run_json(args), with = run_json(guarded);
  EXPECT_EQ(losses_of(plain), losses_of(with));
  EXPECT_EQ(plain["measured"], with["measured"]);
  EXPECT_EQ(with["predicted"].value("peak_bytes", int64_t{-1}),
            with["measured"].value("peak_bytes", int64_t{-2}));
}

using CliTrainFiles = TempDirTest;

TEST_F(CliTrainFiles, SaveThenInitWeightsRoundTrips) {
  const fs::path first = dir_ / "first.safetensors";
  const json j = run_json({"train", "--model", "lenet5", "--data", "synthetic", "--max-steps", "3",
                           "--batch", "8", "--json", "--no-eval", "--save", first.string()});
  ASSERT_TRUE(fs::exists(first));
  const SafetensorsFile saved = read_safetensors(first);
  EXPECT_EQ(saved.tensors.size(), 10u);
  const NamedTensor* conv1 = find_tensor(saved, "conv1.weight");
  ASSERT_NE(conv1, nullptr);
  EXPECT_EQ(conv1->shape, (std::vector<int64_t>{6, 1, 5, 5}));
  const NamedTensor* fc1 = find_tensor(saved, "fc1.weight");
  ASSERT_NE(fc1, nullptr);
  EXPECT_EQ(fc1->shape, (std::vector<int64_t>{120, 400}));
  EXPECT_EQ(saved.metadata.count("model") ? saved.metadata.at("model") : "", "lenet5");

  int64_t params = 0;
  for (const NamedTensor& t : saved.tensors) params += static_cast<int64_t>(t.data.size());
  EXPECT_EQ(params, 61706);

  // Load them, take one step with lr 0 (an exact no-op for plain SGD), save again: the two files
  // must hold the same values, which proves --init-weights loaded what --save wrote.
  const fs::path second = dir_ / "second.safetensors";
  const json k = run_json({"train", "--model", "lenet5", "--data", "synthetic", "--max-steps", "1",
                           "--batch", "8", "--json", "--no-eval", "--lr", "0", "--init-weights",
                           first.string(), "--save", second.string()});
  EXPECT_EQ(losses_of(k).size(), 1u);
  const SafetensorsFile again = read_safetensors(second);
  ASSERT_EQ(again.tensors.size(), saved.tensors.size());
  for (const NamedTensor& t : saved.tensors) {
    const NamedTensor* u = find_tensor(again, t.name);
    ASSERT_NE(u, nullptr) << t.name;
    EXPECT_EQ(u->shape, t.shape) << t.name;
    EXPECT_EQ(u->data, t.data) << t.name;
  }
}

// ---------------------------------------------------------------------------------------------
// Golden losses from PyTorch (scripts/make_golden.py): same initial weights, same batches.

constexpr double kFirstRel = 1e-5, kAllRel = 1e-3, kAllAbs = 2e-5;
// The golden losses were made on an AVX-512 host. PyTorch 1.13 itself, rerun on an AVX2 host
// (scripts/make_golden.py, 2026-12-02), gives the same losses within 1.5e-5 for three configs
// but up to 2.0e-4 apart for adam-wd from step 14 on (Adam divides by sqrt(v), which magnifies
// the kernels' rounding in near-zero gradients); cnnmem on that host matched PyTorch there
// (final loss 2.2170987 both). That config is held to the spread PyTorch shows across hosts.
constexpr double kAdamWdAbs = 5e-4;

json golden() {
  std::ifstream f(kGoldenDir / "lenet5_losses.json");
  return json::parse(f);
}

std::string number(const json& v) { return v.dump(); }  // shortest round-trip form

TEST(CliGolden, ConfigsDifferByMoreThanTheTolerance) {
  // Otherwise the golden test could not tell one optimizer configuration from another.
  const json g = golden();
  const json& configs = g["configs"];
  ASSERT_GE(configs.size(), 2u);
  for (size_t a = 0; a < configs.size(); ++a) {
    for (size_t b = a + 1; b < configs.size(); ++b) {
      double most = 0;
      for (size_t s = 0; s < configs[a]["losses"].size(); ++s) {
        most = std::max(most, std::abs(configs[a]["losses"][s].get<double>() -
                                       configs[b]["losses"][s].get<double>()));
      }
      EXPECT_GT(most, 2 * kAllAbs) << configs[a]["name"] << " vs " << configs[b]["name"];
    }
  }
}

TEST(CliGolden, LenetLossesMatchPyTorch) {
  if (!fs::exists(kFashionMnist / "train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << kFashionMnist << " is missing; apt-get install dataset-fashion-mnist";
  }
  const json g = golden();
  ASSERT_EQ(g.value("model", ""), "lenet5");
  const int batch = g.value("batch", 0);
  const int steps = g.value("steps", 0);
  ASSERT_GT(steps, 0);
  ASSERT_FALSE(g["configs"].empty());
  for (const json& c : g["configs"]) {
    const std::string name = c.value("name", "?");
    std::vector<std::string> args = {"train",
                                     "--model",
                                     "lenet5",
                                     "--data",
                                     "fashion-mnist",
                                     "--no-shuffle",
                                     "--init-weights",
                                     (kGoldenDir / g.value("init_weights", "")).string(),
                                     "--batch",
                                     std::to_string(batch),
                                     "--max-steps",
                                     std::to_string(steps),
                                     "--optimizer",
                                     c.value("optimizer", ""),
                                     "--lr",
                                     number(c["lr"]),
                                     "--json",
                                     "--threads",
                                     "1",
                                     "--no-eval"};
    if (c.contains("momentum")) args = with(args, {"--momentum", number(c["momentum"])});
    if (c.value("nesterov", false)) args.push_back("--nesterov");
    if (c.contains("weight_decay")) {
      args = with(args, {"--weight-decay", number(c["weight_decay"])});
    }
    if (c.contains("betas")) {
      args = with(args, {"--betas", number(c["betas"][0]) + "," + number(c["betas"][1])});
    }
    if (c.contains("eps")) args = with(args, {"--eps", number(c["eps"])});
    SCOPED_TRACE(name + ": " + command_line(args));

    const std::vector<double> got = losses_of(run_json(args));
    const json& want = c["losses"];
    ASSERT_EQ(want.size(), static_cast<size_t>(steps));
    ASSERT_EQ(got.size(), want.size());
    const double first = want[0].get<double>();
    EXPECT_LE(std::abs(got[0] - first), kFirstRel * std::abs(first))
        << "step 0: cnnmem " << got[0] << ", PyTorch " << first;
    for (size_t s = 0; s < got.size(); ++s) {
      const double w = want[s].get<double>();
      EXPECT_LE(std::abs(got[s] - w), kAllRel * std::abs(w))
          << "step " << s << ": cnnmem " << got[s] << ", PyTorch " << w;
      EXPECT_LE(std::abs(got[s] - w), name == "adam-wd" ? kAdamWdAbs : kAllAbs)
          << "step " << s << ": cnnmem " << got[s] << ", PyTorch " << w;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Determinism: same seed and thread count give bitwise identical losses.

std::vector<double> synthetic_losses(const std::string& seed) {
  return losses_of(
      run_json({"train", "--model", "lenet5", "--data", "synthetic", "--max-steps", "5", "--batch",
                "16", "--threads", "2", "--seed", seed, "--json", "--no-eval"}));
}

TEST(CliDeterminism, SameSeedGivesBitwiseIdenticalLosses) {
  const std::vector<double> a = synthetic_losses("7");
  const std::vector<double> b = synthetic_losses("7");
  ASSERT_EQ(a.size(), 5u);
  // JSON numbers round-trip, so equal doubles mean equal float bits.
  EXPECT_EQ(a, b);
}

TEST(CliDeterminism, DifferentSeedGivesDifferentLosses) {
  const std::vector<double> a = synthetic_losses("7");
  const std::vector<double> b = synthetic_losses("8");
  ASSERT_EQ(a.size(), 5u);
  ASSERT_EQ(b.size(), 5u);
  EXPECT_NE(a, b);
  EXPECT_NE(a[0], b[0]) << "the seed should change the initial weights, so the first loss";
}

}  // namespace
}  // namespace cnnmem::test
