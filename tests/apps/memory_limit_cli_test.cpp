// --memory-limit from the outside: a run that does not fit is refused before anything is
// allocated, with the prediction by tag and what would fit; a run that fits is unchanged.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

#include "tests/apps/cli_helpers.h"

namespace cnnmem::test {
namespace {

TEST(MemoryLimitCli, RefusesWithThePredictionAndASuggestionThatFits) {
  expect_user_error(
      {"cost", "--model", "deep-chain-8", "--batch", "16", "--memory-limit", "15M"},
      {"--memory-limit 15M", "needs", "activation", "--checkpoint budget:", "--batch"});
  // Each suggestion, taken, fits.
  const ProcessResult r =
      run_cnnmem({"cost", "--model", "deep-chain-8", "--batch", "16", "--memory-limit", "15M"});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.err, m, std::regex("--checkpoint (budget:[0-9]+)"))) << r.err;
  const json ck = run_json({"cost", "--model", "deep-chain-8", "--batch", "16", "--checkpoint",
                            m[1].str(), "--memory-limit", "15M", "--json"});
  EXPECT_LE(ck["predicted"]["arena_bytes"].get<int64_t>(), 15000000);
  ASSERT_TRUE(std::regex_search(r.err, m, std::regex("--batch ([0-9]+) fits"))) << r.err;
  const json b = run_json({"cost", "--model", "deep-chain-8", "--batch", m[1].str(),
                           "--memory-limit", "15M", "--json"});
  EXPECT_LE(b["predicted"]["arena_bytes"].get<int64_t>(), 15000000);
  ProcessResult bigger =
      run_cnnmem({"cost", "--model", "deep-chain-8", "--batch",
                  std::to_string(std::stoi(m[1].str()) + 1), "--memory-limit", "15M", "--json"});
  EXPECT_EQ(bigger.exit_code, 1);
}

TEST(MemoryLimitCli, TrainAndInferRefuseBeforeRunning) {
  // The data set counts too: synthetic data at batch 64 is 640 images and labels (490.6 KiB).
  expect_user_error({"train", "--model", "lenet5", "--data", "synthetic", "--max-steps", "1",
                     "--memory-limit", "100K"},
                    {"the data set alone holds 490.6 KiB", "lenet5 training at batch 64 needs"});
  expect_user_error({"train", "--model", "lenet5", "--data", "synthetic", "--max-steps", "1",
                     "--memory-limit", "600K"},
                    {"lenet5 training at batch 64", "besides the data set's 490.6 KiB",
                     "nothing fits at batch 1"});
  expect_user_error({"infer", "--model", "lenet5", "--batch", "4096", "--memory-limit", "4MiB"},
                    {"inference", "--batch"});
  expect_user_error({"cost", "--model", "lenet5", "--memory-limit", "lots"}, {"not a size"});
  const json j = run_json({"train", "--model", "lenet5", "--data", "synthetic", "--max-steps", "1",
                           "--no-eval", "--memory-limit", "1G", "--json"});
  EXPECT_EQ(j["steps"], 1);
}

}  // namespace
}  // namespace cnnmem::test
