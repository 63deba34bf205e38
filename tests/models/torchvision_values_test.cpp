// The built-in torchvision models compute what torchvision 0.14 computes: a randomly
// initialised model (BatchNorm statistics and affines and ConvNeXt's layer_scale randomised) is
// exported by tests/models/torchvision_values.py to a temporary directory with a fixed 2x3x64x64
// input and PyTorch's eval-mode output (2x21x64x64 for the segmentation models), loaded with
// Executor::load_weights, and run for inference: the logits match within 1e-4 of their largest
// magnitude. inception_v3 runs at 2x3x75x75 instead, its smallest input. Skipped (GTEST_SKIP)
// where /usr/bin/python3 cannot import torchvision. Not here: training values (the layers' own
// tests check gradients), names (torchvision_names).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "framework/executor.h"
#include "io/safetensors.h"
#include "models/zoo.h"

namespace cnnmem {
namespace {

constexpr int64_t kSize = 64;
constexpr int64_t kBatch = 2;

bool have_torchvision() {
  static const bool have =
      std::system("/usr/bin/python3 -c 'import torchvision' >/dev/null 2>&1") == 0;
  return have;
}

class TorchvisionValues : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchvisionValues, InferenceMatchesPyTorch) {
  if (!have_torchvision()) GTEST_SKIP() << "/usr/bin/python3 cannot import torchvision";
  const std::string& model = GetParam();
  const int64_t size = model == "inception_v3" ? 75 : kSize;  // 75: its smallest input
  std::string dir_template = (std::filesystem::temp_directory_path() / "cnnmem_tv_XXXXXX").string();
  ASSERT_NE(mkdtemp(dir_template.data()), nullptr);
  const std::filesystem::path dir(dir_template);
  const std::string cmd = "/usr/bin/python3 " + std::string(CNNMEM_SOURCE_DIR) +
                          "/tests/models/torchvision_values.py " + model + " " + dir.string() +
                          " " + std::to_string(size);
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const SafetensorsFile weights = read_safetensors((dir / (model + ".safetensors")).string());
  const SafetensorsFile io = read_safetensors((dir / (model + ".io.safetensors")).string());
  std::filesystem::remove_all(dir);
  const NamedTensor* input = find_tensor(io, "input");
  const NamedTensor* output = find_tensor(io, "output");
  ASSERT_NE(input, nullptr);
  ASSERT_NE(output, nullptr);

  const Graph g = make_model(model, Dims{3, size, size});
  ExecutorOptions o;
  o.training = false;
  o.batch = kBatch;
  Executor ex(g, o, nullptr);
  ex.bind();
  ex.load_weights(weights.tensors, model);
  std::copy(input->data.begin(), input->data.end(), ex.staging_images());
  ex.run_forward();
  const float* got = ex.logits();
  // (N, classes) logits, or (N, classes, H, W) for a segmentation model.
  ASSERT_EQ(output->data.size(), static_cast<size_t>(kBatch * dims_product(g.nodes().back().dims)));
  double largest = 0, worst = 0;
  for (size_t i = 0; i < output->data.size(); ++i) {
    largest = std::max(largest, std::abs(static_cast<double>(output->data[i])));
    worst = std::max(worst, std::abs(static_cast<double>(got[i]) - output->data[i]));
  }
  EXPECT_LE(worst, 1e-4 * largest) << "largest |output| " << largest;
}

INSTANTIATE_TEST_SUITE_P(Issue16, TorchvisionValues,
                         ::testing::Values("efficientnet_b0", "mobilenet_v3_small",
                                           "mobilenet_v3_large", "regnet_y_400mf", "mnasnet1_0",
                                           "resnext50_32x4d", "convnext_tiny", "fcn_resnet50",
                                           "lraspp_mobilenet_v3_large",  //
                                           "densenet121", "squeezenet1_1", "shufflenet_v2_x1_0",
                                           "googlenet", "inception_v3"));

}  // namespace
}  // namespace cnnmem
