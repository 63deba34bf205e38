// --input CxHxW from the outside: models whose layers allow another input size plan and run at
// it with the same parameters; models that fix their size say why, in one line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/apps/cli_helpers.h"

namespace cnnmem::test {
namespace {

TEST(InputCli, ConvolutionalModelsTakeOtherSizesWithTheSameParameters) {
  const json standard = run_json({"cost", "--model", "resnet18", "--batch", "1", "--json"});
  const json small =
      run_json({"cost", "--model", "resnet18", "--batch", "1", "--input", "3x64x64", "--json"});
  EXPECT_EQ(small["params"], standard["params"]);
  EXPECT_LT(small["predicted"]["by_tag"]["activation"].get<int64_t>(),
            standard["predicted"]["by_tag"]["activation"].get<int64_t>());
  const json chain = run_json({"cost", "--model", "deep-chain-4", "--batch", "2", "--input",
                               "3x48x40", "--measure", "--threads", "1", "--json"});
  EXPECT_EQ(chain["predicted"], chain["measured"]);
  const json infer = run_json({"infer", "--model", "mobilenet_v2", "--input", "3x64x64", "--repeat",
                               "1", "--threads", "1", "--json"});
  EXPECT_EQ(infer["output_shape"], json::array({1, 1000}));
}

TEST(InputCli, ModelsThatFixTheirSizeAndMalformedSizesAreOneLineErrors) {
  expect_user_error({"cost", "--model", "lenet5", "--input", "1x32x32"},
                    {"--input 1x32x32", "lenet5", "fc1", "1x28x28"});
  expect_user_error({"cost", "--model", "vgg16", "--input", "1x224x224"},
                    {"--input 1x224x224", "channels", "3x224x224"});
  for (const std::string bad : {"3x", "3x224", "0x224x224", "3x224x224x1", "axbxc", "-3x4x4"}) {
    expect_user_error({"cost", "--model", "resnet18", "--input", bad}, {"--input", "3x224x224"});
  }
}

}  // namespace
}  // namespace cnnmem::test

namespace cnnmem::test {
namespace {

TEST(CostRowsCli, ABatchListGivesARowPerBatchEqualToItsOwnPrediction) {
  const json rows = run_json(
      {"cost", "--model", "resnet18", "--batch", "1,2,8", "--optimizer", "adam", "--json"});
  ASSERT_EQ(rows["rows"].size(), 3u);
  const json two =
      run_json({"cost", "--model", "resnet18", "--batch", "2", "--optimizer", "adam", "--json"});
  EXPECT_EQ(rows["rows"][1]["batch"], 2);
  EXPECT_EQ(rows["rows"][1]["predicted"], two["predicted"]);
  EXPECT_LT(rows["rows"][0]["predicted"]["peak_bytes"].get<int64_t>(),
            rows["rows"][2]["predicted"]["peak_bytes"].get<int64_t>());
  expect_user_error({"cost", "--model", "lenet5", "--batch", "1,,2"}, {"--batch", "1,,2"});
  expect_user_error({"cost", "--model", "lenet5", "--batch", "1,2", "--measure"},
                    {"--batch 1,2", "predicted only"});
}

}  // namespace
}  // namespace cnnmem::test
