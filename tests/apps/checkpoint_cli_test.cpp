// `--checkpoint` on `cost` and `train`, and `cnnmem sweep-checkpoint`, from the outside: the
// JSON contract, measured == predicted in every sweep row, and one-line errors for bad policies.
// Not here: the rewrite and the search themselves (tests/framework/checkpoint_test.cpp).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/apps/cli_helpers.h"

namespace cnnmem::test {
namespace {

TEST(CheckpointCli, CostReportsTheKeptLayersAndTheRecomputeFlops) {
  const json plain = run_json({"cost", "--model", "deep-chain-9", "--batch", "2", "--json"});
  const json sqrt = run_json(
      {"cost", "--model", "deep-chain-9", "--batch", "2", "--checkpoint", "sqrt", "--json"});
  EXPECT_EQ(sqrt["checkpoint"], "sqrt");
  EXPECT_EQ(plain["checkpoint_kept"].size(), 0u);
  EXPECT_EQ(plain["recompute_flops"], 0.0);
  // 12 units (9 convolutions, avgpool, flatten, fc): k = 3, kept from the end: units 9, 6, 3.
  EXPECT_EQ(sqrt["checkpoint_kept"], json::array({"features.6", "features.12", "avgpool"}));
  EXPECT_GT(sqrt["recompute_flops"].get<double>(), 0.0);
  EXPECT_LT(sqrt["recompute_flops"].get<double>(), sqrt["forward_flops"].get<double>());
  EXPECT_LT(sqrt["predicted"]["by_tag"]["activation"].get<int64_t>(),
            plain["predicted"]["by_tag"]["activation"].get<int64_t>());
}

TEST(CheckpointCli, CostMeasuresTheStepTimeAgainstNoCheckpointing) {
  const json j = run_json({"cost", "--model", "lenet5", "--batch", "4", "--checkpoint", "every:2",
                           "--measure", "--threads", "1", "--json"});
  EXPECT_EQ(j["predicted"], j["measured"]);
  EXPECT_GT(j["step_seconds"].get<double>(), 0.0);
  EXPECT_GT(j["step_seconds_no_checkpoint"].get<double>(), 0.0);
}

TEST(CheckpointCli, BudgetThatNothingFitsSaysTheSmallestPeak) {
  expect_user_error({"cost", "--model", "lenet5", "--batch", "4", "--checkpoint", "budget:10K"},
                    {"budget", "smallest achievable peak"});
  expect_user_error({"cost", "--model", "lenet5", "--checkpoint", "sometimes"},
                    {"--checkpoint", "every:K", "sqrt"});
  expect_user_error({"cost", "--model", "lenet5", "--checkpoint", "layers:relu1"}, {"relu1"});
  expect_user_error({"cost", "--model", "lenet5", "--mode", "infer", "--checkpoint", "sqrt"},
                    {"training"});
}

TEST(CheckpointCli, TrainWithCheckpointingGivesTheLossesOfTrainingWithout) {
  const std::vector<std::string> common = {
      "train", "--model",   "lenet5",    "--data", "synthetic", "--max-steps", "4",     "--batch",
      "8",     "--no-eval", "--threads", "1",      "--seed",    "3",           "--json"};
  std::vector<std::string> with = common;
  with.insert(with.end(), {"--checkpoint", "every:2"});
  const json a = run_json(common);
  const json b = run_json(with);
  EXPECT_EQ(a["losses"], b["losses"]);
  EXPECT_EQ(b["checkpoint"], "every:2");
  EXPECT_EQ(b["predicted"], b["measured"]);
}

TEST(CheckpointCli, SweepMeasuresEveryRowAndEveryRowMatchesItsPrediction) {
  const json j = run_json({"sweep-checkpoint", "--model", "deep-chain-6", "--batch", "2",
                           "--points", "3", "--steps", "1", "--threads", "1", "--json"});
  ASSERT_EQ(j["rows"].size(), 4u + 3u);
  EXPECT_EQ(j["rows"][0]["policy"], "none");
  const int64_t none_peak = j["rows"][0]["predicted"]["peak_bytes"];
  for (const json& row : j["rows"]) {
    SCOPED_TRACE(row["policy"].get<std::string>());
    EXPECT_TRUE(row["measured_equals_predicted"].get<bool>());
    EXPECT_EQ(row["predicted"], row["measured"]);
    EXPECT_GT(row["step_seconds"].get<double>(), 0.0);
    const std::string policy = row["policy"];
    if (policy.starts_with("budget:")) {
      EXPECT_LE(row["predicted"]["peak_bytes"].get<int64_t>(), std::stoll(policy.substr(7)));
      EXPECT_LT(row["predicted"]["peak_bytes"].get<int64_t>(), none_peak);
    }
  }
}

}  // namespace
}  // namespace cnnmem::test
