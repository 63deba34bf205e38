// --onnx from the outside: an exported model runs inference with its own weights and gives
// PyTorch's output, trains and reports its memory like a built-in model; one-line errors when
// both or neither of --model and --onnx are given; a warning when an eval-mode export (BatchNorm
// folded into the convolutions) is used for a training bill.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "io/safetensors.h"
#include "tests/apps/cli_helpers.h"
#include "tests/models/onnx_test_util.h"

namespace cnnmem::test {
namespace {

const std::string kDir = std::string(CNNMEM_SOURCE_DIR) + "/tests/fixtures/onnx/";

TEST(OnnxCli, InferenceWithTheFilesWeightsGivesPyTorchsOutput) {
  const SafetensorsFile io = read_safetensors(kDir + "vgg_mini_io.safetensors");
  const NamedTensor* input = find_tensor(io, "input");
  const NamedTensor* expected = find_tensor(io, "output");
  ASSERT_NE(input, nullptr);
  ASSERT_NE(expected, nullptr);
  const std::string dir = ::testing::TempDir() + "/onnx_cli";
  std::filesystem::create_directories(dir);
  write_safetensors(dir + "/input.safetensors", {*input}, {});
  const std::string batch = std::to_string(input->shape[0]);
  const json j =
      run_json({"infer", "--onnx", kDir + "vgg_mini.onnx", "--batch", batch, "--input-tensor",
                dir + "/input.safetensors", "--output-tensor", dir + "/output.safetensors",
                "--repeat", "1", "--threads", "1", "--json"});
  EXPECT_EQ(j["params"], 870634);
  const SafetensorsFile out = read_safetensors(dir + "/output.safetensors");
  const NamedTensor* got = find_tensor(out, "output");
  ASSERT_NE(got, nullptr);
  ASSERT_EQ(got->data.size(), expected->data.size());
  double worst = 0;
  for (size_t i = 0; i < got->data.size(); ++i) {
    worst = std::max(worst, static_cast<double>(std::abs(got->data[i] - expected->data[i])));
  }
  EXPECT_LT(worst, 1e-4);
}

TEST(OnnxCli, TrainsAndCostsLikeABuiltInModel) {
  const json t =
      run_json({"train", "--onnx", kDir + "small_resnet.onnx", "--data", "synthetic", "--max-steps",
                "2", "--batch", "4", "--no-eval", "--threads", "1", "--json"});
  EXPECT_EQ(t["predicted"], t["measured"]);
  EXPECT_EQ(t["steps"], 2);
  const json c = run_json({"cost", "--onnx", kDir + "small_resnet.onnx", "--batch", "2",
                           "--checkpoint", "sqrt", "--json"});
  EXPECT_EQ(c["params"], t["params"]);
  expect_user_error({"cost", "--batch", "2"}, {"--model", "--onnx", "neither"});
  expect_user_error({"cost", "--model", "lenet5", "--onnx", kDir + "vgg_mini.onnx"},
                    {"--model", "--onnx", "both"});
  expect_user_error({"infer", "--onnx", kDir + "vgg_mini.onnx", "--input", "1x32x32"},
                    {"--input", "ONNX"});
}

// torch.onnx.export in eval mode folds BatchNorm into the convolution: an anonymous
// "onnx::Conv_*" weight with a bias. Training that file bills another network than the user's, so
// cost --mode train and train say so on stderr (and still run); inference does not.
TEST(OnnxCli, WarnsWhenTrainingAnExportWithFoldedBatchNorm) {
  onnx::ModelProto m = onnx_test::model({1, 2, 4, 4}, "y");
  onnx_test::initializer(m, "onnx::Conv_7", {3, 2, 1, 1}, std::vector<float>(6, 0.1F));
  onnx_test::initializer(m, "onnx::Conv_8", {3}, {0, 0, 0});
  onnx_test::node(m, "/conv/Conv", "Conv", {"x", "onnx::Conv_7", "onnx::Conv_8"}, {"y"});
  const std::string path = ::testing::TempDir() + "/folded_bn.onnx";
  {
    std::ofstream out(path, std::ios::binary);
    out << onnx_test::bytes(m);
  }
  const ProcessResult train =
      run_cnnmem({"cost", "--onnx", path, "--mode", "train", "--batch", "2", "--loss", "mse"});
  EXPECT_EQ(train.exit_code, 0) << train.err;
  EXPECT_THAT(train.err, StartsWith("cnnmem: warning: " + path +
                                    ": 1 convolutions have a "
                                    "BatchNorm folded in"));
  EXPECT_THAT(train.err, HasSubstr("TrainingMode.PRESERVE"));
  EXPECT_EQ(train.err.find('\n'), train.err.size() - 1) << "one line: " << train.err;
  const ProcessResult infer =
      run_cnnmem({"cost", "--onnx", path, "--mode", "infer", "--batch", "2"});
  EXPECT_EQ(infer.exit_code, 0) << infer.err;
  EXPECT_EQ(infer.err, "");
}

}  // namespace
}  // namespace cnnmem::test
