// Training on the user's own data from the outside: small learnable sets (tests/util/
// shape_images.h) written as CIFAR binary batches, an IDX set, NumPy arrays and an image folder,
// each trained to well above chance with predicted == measured; augmentation repeatable bit for
// bit and resumable mid-epoch; the data set's bytes in the report and under --memory-limit; and
// the one-line errors of bad data flags.
// Not here: the readers' rejections of broken files (tests/io/), the splits and shape fit
// (tests/train/datasets_test.cpp), the preprocessing arithmetic (tests/train/preprocess_test.cpp).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/apps/cli_helpers.h"
#include "tests/util/idx_writer.h"
#include "tests/util/image_writer.h"
#include "tests/util/shape_images.h"
#include "tests/util/temp_dir.h"

namespace cnnmem::test {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kCifarTrain = 320, kCifarTest = 96;

class DataCli : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    dir_ = fresh_temp_dir("DataCli");
    write_cifar();
    write_cifar100();
    write_grey_sets();
    write_folder();
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  // CIFAR-10 as distributed: five training batches and a test batch in cifar-10-batches-bin/.
  static void write_cifar() {
    const ShapeSet s = shape_images(kCifarTrain + kCifarTest, 3, 32, 32, 8, 11);
    const fs::path bin = dir_ / "cifar" / "cifar-10-batches-bin";
    fs::create_directories(bin);
    const int64_t per = kCifarTrain / 5;
    for (int64_t b = 0; b < 5; ++b) {
      write_file(bin / ("data_batch_" + std::to_string(b + 1) + ".bin"),
                 cifar_records(s, b * per, (b + 1) * per));
    }
    write_file(bin / "test_batch.bin", cifar_records(s, kCifarTrain, kCifarTrain + kCifarTest));
  }

  // CIFAR-100 as distributed: train.bin and test.bin in cifar-100-binary/ (fine labels < 100).
  static void write_cifar100() {
    const ShapeSet s = shape_images(80, 3, 32, 32, 100, 14);
    const fs::path bin = dir_ / "cifar100" / "cifar-100-binary";
    fs::create_directories(bin);
    write_file(bin / "train.bin", cifar_records(s, 0, 64, /*cifar100=*/true));
    write_file(bin / "test.bin", cifar_records(s, 64, 80, /*cifar100=*/true));
  }

  // The same grey 1x28x28 shapes as an IDX set and as float32 N x H x W x C arrays with int64
  // labels.
  static void write_grey_sets() {
    const ShapeSet s = shape_images(400, 1, 28, 28, 4, 12);
    const auto n = static_cast<uint32_t>(s.count);
    const std::vector<uint8_t> train(s.pixels.begin(), s.pixels.begin() + 300 * 784);
    const std::vector<uint8_t> test(s.pixels.begin() + 300 * 784, s.pixels.end());
    fs::create_directories(dir_ / "idx");
    write_gz(dir_ / "idx" / "train-images-idx3-ubyte.gz",
             idx_bytes(kIdxImages, {300, 28, 28}, train));
    write_gz(dir_ / "idx" / "train-labels-idx1-ubyte.gz",
             idx_bytes(kIdxLabels, {300},
                       std::vector<uint8_t>(s.labels.begin(), s.labels.begin() + 300)));
    write_gz(dir_ / "idx" / "t10k-images-idx3-ubyte.gz",
             idx_bytes(kIdxImages, {n - 300, 28, 28}, test));
    write_gz(dir_ / "idx" / "t10k-labels-idx1-ubyte.gz",
             idx_bytes(kIdxLabels, {n - 300},
                       std::vector<uint8_t>(s.labels.begin() + 300, s.labels.end())));
    std::string values, labels;
    for (uint8_t p : s.pixels) {
      const float v = static_cast<float>(p) / 255.0f;
      values.append(reinterpret_cast<const char*>(&v), sizeof v);
    }
    for (uint8_t l : s.labels) {
      const int64_t v = l;
      labels.append(reinterpret_cast<const char*>(&v), sizeof v);
    }
    write_file(dir_ / "x.npy", npy_file("<f4", "(400, 28, 28, 1)", values));
    write_file(dir_ / "y.npy", npy_file("<i8", "(400,)", labels));
  }

  // Colour PNGs of 40x40, one folder per class, with train/ and val/ splits; and grey 28x28
  // PNGs in class folders without a split.
  static void write_folder() {
    const ShapeSet g = shape_images(400, 1, 28, 28, 4, 15);
    for (int64_t i = 0; i < g.count; ++i) {
      const fs::path d = dir_ / "flat" / ("c" + std::to_string(g.labels[static_cast<size_t>(i)]));
      fs::create_directories(d);
      write_png((d / ("g" + std::to_string(i) + ".png")).string(), 1, 28, 28,
                g.pixels.data() + i * 28 * 28);
    }
    const ShapeSet s = shape_images(240, 3, 40, 40, 4, 13);
    for (int64_t i = 0; i < s.count; ++i) {
      const fs::path d = dir_ / "folder" / (i < 200 ? "train" : "val") /
                         ("class" + std::to_string(s.labels[static_cast<size_t>(i)]));
      fs::create_directories(d);
      write_png((d / ("img" + std::to_string(i) + ".png")).string(), 3, 40, 40,
                s.pixels.data() + i * 3 * 40 * 40);
    }
  }

  static fs::path dir_;
};

fs::path DataCli::dir_;

std::string cifar() { return "cifar10:" + (DataCli::dir_ / "cifar").string(); }

std::vector<std::string> cifar_run(const std::vector<std::string>& extra,
                                   const std::string& normalize = "auto") {
  return with(
      {"train", "--model", "deep-chain-4", "--data",    cifar(), "--batch", "16", "--optimizer",
       "adam",  "--lr",    "0.01",         "--threads", "1",     "--seed",  "5",  "--random-crop",
       "4",     "--hflip", "--normalize",  normalize,   "--json"},
      extra);
}

void expect_exact_bill(const json& j) {
  EXPECT_EQ(j["predicted"]["peak_bytes"], j["measured"]["peak_bytes"]);
  EXPECT_EQ(j["predicted"]["by_tag"], j["measured"]["by_tag"]);
}

TEST_F(DataCli, CifarTrainsAboveChanceWithCropAndFlipRepeatably) {
  const json j = run_json(cifar_run({"--epochs", "6"}));
  EXPECT_GT(j.value("test_accuracy", 0.0), 0.6);  // 8 classes: chance is 0.125
  expect_exact_bill(j);
  // 3 x 32 x 32 pixels and one label byte per image, all in memory.
  EXPECT_EQ(j["outside_arena"]["dataset_bytes"], (kCifarTrain + kCifarTest) * 3073);
  const json again = run_json(cifar_run({"--epochs", "6"}));
  EXPECT_EQ(again["losses"], j["losses"]);
  const json plain = run_json(cifar_run({"--max-steps", "6"}, "0.1,0.2"));
  EXPECT_NE(losses_of(plain)[5], losses_of(j)[5]);  // the flags reach the pipeline
}

TEST_F(DataCli, Resnet18TrainsOnCifarWithCropAndFlip) {
  // ResNet-18 at the data's 3x32x32 (its adaptive pooling allows it); 30 steps of Adam.
  const json j = run_json(
      {"train", "--model",     "resnet18",    "--data", cifar(), "--batch",   "32", "--epochs",
       "3",     "--optimizer", "adam",        "--lr",   "0.001", "--threads", "2",  "--random-crop",
       "4",     "--hflip",     "--normalize", "auto",   "--json"});
  EXPECT_GT(j.value("test_accuracy", 0.0), 0.4);  // seen: 0.66; chance is 0.125
  expect_exact_bill(j);
  EXPECT_EQ(j["predicted"]["by_tag"]["input"], j["measured"]["by_tag"]["input"]);
}

TEST_F(DataCli, CifarResumedMidEpochMatchesTheUninterruptedRun) {
  const fs::path state = dir_ / "cifar_state";
  const json whole = run_json(cifar_run({"--max-steps", "30", "--no-eval", "--save-every", "27",
                                         "--state-dir", (dir_ / "whole_state").string(), "--save",
                                         (dir_ / "whole.safetensors").string()}));
  // 20 steps an epoch: 27 is inside the second.
  run_json(cifar_run(
      {"--max-steps", "27", "--no-eval", "--save-every", "27", "--state-dir", state.string()}));
  const json resumed =
      run_json(cifar_run({"--max-steps", "30", "--no-eval", "--save-every", "27", "--resume",
                          state.string(), "--save", (dir_ / "resumed.safetensors").string()}));
  EXPECT_EQ(resumed["losses"], whole["losses"]);
  EXPECT_TRUE(read_file(dir_ / "whole.safetensors") == read_file(dir_ / "resumed.safetensors"));
  // Other preprocessing is another run.
  expect_user_error(
      cifar_run({"--max-steps", "30", "--save-every", "27", "--resume", state.string()}, "0.5,0.5"),
      {"normalize"});
}

TEST_F(DataCli, IdxAndNpyTrainLenet5) {
  const json idx = run_json({"train", "--model", "lenet5", "--data",
                             "idx:" + (dir_ / "idx").string(), "--batch", "20", "--epochs", "10",
                             "--optimizer", "adam", "--lr", "0.003", "--threads", "1", "--json"});
  EXPECT_GT(idx.value("test_accuracy", 0.0), 0.7);  // 4 classes: chance is 0.25
  expect_exact_bill(idx);
  const std::string npy = "npy:" + (dir_ / "x.npy").string() + "," + (dir_ / "y.npy").string();
  const json j =
      run_json({"train", "--model", "lenet5", "--data", npy, "--batch", "20", "--epochs", "10",
                "--optimizer", "adam", "--lr", "0.003", "--threads", "1", "--json"});
  EXPECT_GT(j.value("test_accuracy", 0.0), 0.7);
  expect_exact_bill(j);
  // float32 images: 4 bytes a pixel, one byte a label, 10% held out but still in memory.
  EXPECT_EQ(j["outside_arena"]["dataset_bytes"], 400 * (784 * 4 + 1));
}

TEST_F(DataCli, ImageFolderTrainsAtTheResizedSize) {
  const std::string folder = "folder:" + (dir_ / "folder").string();
  const json j = run_json({"train",     "--model",     "deep-chain-4", "--data", folder,
                           "--resize",  "32x32",       "--batch",      "20",     "--epochs",
                           "6",         "--optimizer", "adam",         "--lr",   "0.01",
                           "--threads", "1",           "--normalize",  "auto",   "--json"});
  EXPECT_GT(j.value("test_accuracy", 0.0), 0.6);
  expect_exact_bill(j);
  EXPECT_EQ(j["predicted"]["by_tag"]["input"].get<int64_t>() > 0, true);
  EXPECT_EQ(j["outside_arena"]["dataset_bytes"], 240 * (3 * 32 * 32 + 1));
}

TEST_F(DataCli, GreyFolderWithoutSplitHoldsOutTenPercent) {
  const std::string flat = "folder:" + (dir_ / "flat").string();
  const json j =
      run_json({"train", "--model", "lenet5", "--data", flat, "--batch", "20", "--epochs", "10",
                "--optimizer", "adam", "--lr", "0.003", "--threads", "1", "--json"});
  EXPECT_GT(j.value("test_accuracy", 0.0), 0.7);  // on the 40 held-out images; chance 0.25
  EXPECT_EQ(j.value("steps", 0), 10 * 18);        // 360 training images, 18 batches of 20
  expect_exact_bill(j);
  // As colour images for a 3-channel model: each grey value in all three channels.
  const json c = run_json({"train", "--model", "deep-chain-2", "--data", flat, "--channels", "3",
                           "--batch", "20", "--max-steps", "2", "--threads", "1", "--json"});
  EXPECT_EQ(c["outside_arena"]["dataset_bytes"], 400 * (3 * 28 * 28 + 1));
  expect_exact_bill(c);
}

TEST_F(DataCli, Cifar100NeedsAModelWithAHundredOutputs) {
  const std::string spec = "cifar100:" + (dir_ / "cifar100").string();
  expect_user_error({"train", "--model", "deep-chain-2", "--data", spec, "--max-steps", "1"},
                    {"model deep-chain-2 has 10 classes", "labels go up to", "at least"});
  const json j = run_json({"train", "--model", "resnet18", "--data", spec, "--batch", "16",
                           "--max-steps", "2", "--threads", "2", "--json"});
  EXPECT_EQ(j.value("steps", 0), 2);
  EXPECT_EQ(j["outside_arena"]["dataset_bytes"], 80 * 3073);  // the fine label only
  expect_exact_bill(j);
}

TEST_F(DataCli, BadDataFlagsAreOneLineErrors) {
  const std::string folder = "folder:" + (dir_ / "folder").string();
  expect_user_error({"train", "--model", "lenet5", "--data", folder, "--max-steps", "1"},
                    {"model lenet5 cannot take the " + folder + " images (3x40x40)"});
  expect_user_error(
      {"train", "--model", "lenet5", "--data", "cifar10:/nonexistent", "--max-steps", "1"},
      {"/nonexistent"});
  expect_user_error({"train", "--model", "deep-chain-4", "--data", cifar(), "--resize", "16x16",
                     "--max-steps", "1"},
                    {"--resize", "folder:DIR"});
  expect_user_error(cifar_run({"--max-steps", "1"}, "1,2,3"),
                    {"--normalize 1,2,3", "3 numbers for 3-channel images"});
  expect_user_error({"train", "--model", "deep-chain-4", "--data", cifar(), "--val-fraction", "0.2",
                     "--max-steps", "1"},
                    {"--val-fraction", "has one"});
  expect_user_error({"train", "--model", "lenet5", "--data", "mnist", "--max-steps", "1"},
                    {"--data mnist is unknown", "idx:DIR"});
  expect_user_error(
      {"train", "--model", "lenet5", "--data", "synthetic", "--resize", "8x8", "--max-steps", "1"},
      {"--resize", "synthetic"});
}

TEST_F(DataCli, MemoryLimitCountsTheDataSet) {
  const json j = run_json(cifar_run({"--max-steps", "1", "--no-eval"}));
  const int64_t arena = j["predicted"]["arena_bytes"].get<int64_t>();
  const int64_t data = j["outside_arena"]["dataset_bytes"].get<int64_t>();
  // Room for the arena but not for the arena and the data set.
  expect_user_error(
      cifar_run({"--max-steps", "1", "--memory-limit", std::to_string(arena + data / 2)}),
      {"--memory-limit", "besides the data set's"});
  expect_user_error(cifar_run({"--max-steps", "1", "--memory-limit", std::to_string(data / 2)}),
                    {"the data set alone holds"});
  run_json(
      cifar_run({"--max-steps", "1", "--no-eval", "--memory-limit", std::to_string(arena + data)}));
}

}  // namespace
}  // namespace cnnmem::test
