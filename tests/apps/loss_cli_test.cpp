// `--loss` on the command line: each loss's bill with predicted == measured and its targets'
// bytes in the input tag, training on synthetic data with a dense loss (no test accuracy), and
// a segmentation model's default loss, the one-line refusals (a loss that does not fit the
// model's output, Fashion-MNIST with dense targets, an unknown loss).
// Not here: the losses' math (tests/layers/losses_test.cpp).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/apps/cli_helpers.h"

namespace cnnmem::test {
namespace {

int64_t by_tag(const json& j, const std::string& part, const std::string& tag) {
  return j[part]["by_tag"].value(tag, int64_t{-1});
}

TEST(LossCli, EveryLossIsBilledExactly) {
  int64_t input_ce = 0;
  for (const std::string loss : {"cross-entropy", "mse", "bce-with-logits"}) {
    SCOPED_TRACE(loss);
    const json j = run_json({"cost", "--model", "lenet5", "--mode", "train", "--batch", "8",
                             "--optimizer", "adam", "--loss", loss, "--measure", "--json"});
    for (const std::string& tag : kTags) {
      EXPECT_EQ(by_tag(j, "predicted", tag), by_tag(j, "measured", tag)) << tag;
    }
    EXPECT_EQ(j["predicted"].value("peak_bytes", int64_t{-1}),
              j["measured"].value("peak_bytes", int64_t{-2}));
    const int64_t input = j["predicted"]["tag_peaks"].value("input", int64_t{-1});
    if (loss == "cross-entropy") {
      input_ce = input;
    } else {
      // Ten float targets per image instead of one class index, staged and loaded: 2 x 8 x 36
      // more bytes, rounded up to the 64-byte alignment of each of the two buffers.
      EXPECT_EQ(input - input_ce, 2 * (8 * 40 - 64)) << "input tag peak " << input;
    }
  }
}

TEST(LossCli, TrainsOnSyntheticTargetsWithoutAccuracyForDenseLosses) {
  const json j = run_json({"train", "--model", "lenet5", "--data", "synthetic", "--max-steps", "4",
                           "--batch", "8", "--optimizer", "adam", "--loss", "mse", "--json"});
  ASSERT_TRUE(j.contains("losses"));
  EXPECT_EQ(j["losses"].size(), 4u);
  EXPECT_TRUE(j["test_accuracy"].is_null());
}

TEST(LossCli, LossesThatDoNotFitAreRefusedInOneLine) {
  expect_user_error({"cost", "--model", "lenet5", "--mode", "train", "--batch", "2", "--loss",
                     "pixel-cross-entropy"},
                    {"pixel-cross-entropy", "K x H x W", "the model's is 10"});
  expect_user_error({"train", "--model", "lenet5", "--data", "fashion-mnist", "--max-steps", "1",
                     "--loss", "bce-with-logits"},
                    {"fashion-mnist", "dense targets", "cross-entropy"});
  expect_user_error({"cost", "--model", "lenet5", "--mode", "train", "--loss", "hinge"},
                    {"--loss", "hinge"});
}

// A segmentation model (K x H x W output) trains with pixel-cross-entropy unless told otherwise;
// cross-entropy asked for by name is refused in one line that names the fitting loss.
TEST(LossCli, SegmentationModelsDefaultToPixelCrossEntropy) {
  const json by_default = run_json({"cost", "--model", "unet-small", "--mode", "train", "--batch",
                                    "2", "--optimizer", "adam", "--json"});
  const json named = run_json({"cost", "--model", "unet-small", "--mode", "train", "--batch", "2",
                               "--optimizer", "adam", "--loss", "pixel-cross-entropy", "--json"});
  EXPECT_EQ(by_default["predicted"], named["predicted"]);
  // One int32 class per pixel, staged and loaded: at least 2 x 2 x 64 x 64 x 4 bytes.
  EXPECT_GE(by_tag(by_default, "predicted", "input"), 2 * 2 * 64 * 64 * 4);
  expect_user_error({"cost", "--model", "unet-small", "--mode", "train", "--batch", "2", "--loss",
                     "cross-entropy"},
                    {"cross-entropy", "2x64x64", "pixel-cross-entropy"});
}

}  // namespace
}  // namespace cnnmem::test
