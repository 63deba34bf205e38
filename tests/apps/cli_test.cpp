// Tests for apps/cnnmem.cpp from the outside: the built `cnnmem` binary run as a child process.
//
// Checks the contract of DESIGN.md section 4 for what the user gives: every bad flag value and
// every bad input file (IDX data sets, --init-weights safetensors) gives exit status 1 and exactly
// one line on stderr ("cnnmem: error: ..." naming the flag, value or file) with nothing on
// stdout; --help exits 0. Files the tests need (tiny IDX data sets, broken safetensors) are made
// in a per-process temporary directory; nothing is copied from the system.
// Not here: the numbers a good run prints (cli_results_test.cpp), the library's own unit tests
// (tests/framework, tests/io, ...), speed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "tests/apps/cli_helpers.h"
#include "tests/apps/run_process.h"
#include "tests/util/idx_writer.h"
#include "tests/util/temp_dir.h"

namespace cnnmem::test {
namespace {

namespace fs = std::filesystem;

const fs::path kGoldenDir = fs::path(CNNMEM_SOURCE_DIR) / "tests/fixtures/golden";
const fs::path kInitWeights = kGoldenDir / "lenet5_init.safetensors";

// ---------------------------------------------------------------------------------------------
// Bad flag values. Each case is a valid base command plus one bad flag; CliUsage.BaseCommands
// checks that the bases alone succeed, so the error can only come from the flag.

const std::vector<std::string> kTrainBase = {"train",     "--model",   "lenet5", "--data",
                                             "synthetic", "--batch",   "2",      "--max-steps",
                                             "1",         "--no-eval", "--json"};
const std::vector<std::string> kCostBase = {"cost",  "--model", "lenet5", "--mode",
                                            "train", "--batch", "2",      "--json"};

struct BadFlag {
  std::string name;                // test name suffix
  std::vector<std::string> args;   // full argument list
  std::vector<std::string> words;  // the error line must contain each
};

std::vector<BadFlag> bad_flags() {
  // Flags both subcommands take, with the bad value and what the message must say.
  struct Common {
    std::string name;
    std::vector<std::string> extra, words;
  };
  const std::vector<Common> common = {
      {"batch_zero", {"--batch", "0"}, {"--batch", "\"0\"", ">= 1"}},
      {"batch_negative", {"--batch", "-3"}, {"--batch", "\"-3\"", ">= 1"}},
      {"batch_word", {"--batch", "abc"}, {"--batch", "\"abc\""}},
      {"batch_fraction", {"--batch", "1.5"}, {"--batch", "\"1.5\""}},
      {"optimizer_unknown", {"--optimizer", "lion"}, {"--optimizer", "lion", "sgd"}},
      {"lr_negative", {"--lr", "-1"}, {"--lr", "\"-1\"", ">= 0"}},
      {"lr_nan", {"--lr", "nan"}, {"--lr", "\"nan\""}},
      {"momentum_negative", {"--momentum", "-1"}, {"--momentum", "\"-1\""}},
      {"weight_decay_negative", {"--weight-decay", "-1"}, {"--weight-decay", "\"-1\""}},
      {"betas_one_number", {"--optimizer", "adam", "--betas", "0.9"}, {"--betas", "\"0.9\""}},
      {"betas_words", {"--optimizer", "adam", "--betas", "a,b"}, {"--betas", "\"a,b\""}},
      {"betas_three", {"--optimizer", "adam", "--betas", "0.9,0.99,1"}, {"--betas"}},
      {"betas_not_below_one", {"--optimizer", "adam", "--betas", "1.5,0.9"}, {"--betas", "[0, 1)"}},
      {"eps_negative", {"--optimizer", "adam", "--eps", "-1"}, {"--eps", "\"-1\""}},
      {"eps_infinite", {"--optimizer", "adam", "--eps", "inf"}, {"--eps", "\"inf\""}},
      {"checkpoint_unknown",
       {"--checkpoint", "sometimes"},
       {"--checkpoint", "sometimes", "every:K"}},
      {"checkpoint_every_zero", {"--checkpoint", "every:0"}, {"--checkpoint", "every:0"}},
      {"threads_zero", {"--threads", "0"}, {"--threads", "\"0\""}},
      // Used to crash (SIGSEGV inside libgomp when the OS refuses that many threads).
      {"threads_absurd", {"--threads", "100000"}, {"--threads", "\"100000\"", "1024"}},
      {"unknown_flag", {"--frobnicate"}, {"--frobnicate"}},
  };
  std::vector<BadFlag> cases;
  for (const Common& c : common) {
    cases.push_back({"train_" + c.name, with(kTrainBase, c.extra), c.words});
    cases.push_back({"cost_" + c.name, with(kCostBase, c.extra), c.words});
  }
  const std::vector<BadFlag> own = {
      {"train_model_unknown",
       {"train", "--model", "resnet9", "--data", "synthetic", "--max-steps", "1"},
       {"resnet9", "lenet5"}},
      {"cost_model_unknown", {"cost", "--model", "resnet9"}, {"resnet9", "lenet5"}},
      {"train_model_missing", {"train", "--data", "synthetic"}, {"--model"}},
      {"train_data_unknown", with(kTrainBase, {"--data", "imagenet"}), {"--data", "imagenet"}},
      {"train_epochs_zero",
       {"train", "--model", "lenet5", "--data", "synthetic", "--epochs", "0"},
       {"--epochs", "\"0\""}},
      {"train_max_steps_zero", with(kTrainBase, {"--max-steps", "0"}), {"--max-steps", "\"0\""}},
      {"train_epochs_and_max_steps", with(kTrainBase, {"--epochs", "1"}), {"--epochs"}},
      {"train_seed_negative", with(kTrainBase, {"--seed", "-1"}), {"--seed", "\"-1\""}},
      {"train_init_weights_missing",
       with(kTrainBase, {"--init-weights", "/nonexistent/w.safetensors"}),
       {"--init-weights", "/nonexistent/w.safetensors"}},
      {"train_save_dir_missing",
       with(kTrainBase, {"--save", "/nonexistent-dir/w.safetensors"}),
       {"/nonexistent-dir/w.safetensors"}},
      {"train_mode_is_cost_only", with(kTrainBase, {"--mode", "infer"}), {"--mode"}},
      {"cost_mode_unknown", with(kCostBase, {"--mode", "serve"}), {"--mode", "serve"}},
      {"cost_reuse_unknown", with(kCostBase, {"--reuse", "best-fit"}), {"--reuse", "best-fit"}},
      {"no_subcommand", {}, {"no command given", "train", "cost"}},
      {"unknown_subcommand", {"trian", "--model", "lenet5"}, {"\"trian\"", "train"}},
  };
  cases.insert(cases.end(), own.begin(), own.end());
  return cases;
}

// gtest prints a failing parameter with this; the command line is what a reader needs.
void PrintTo(const BadFlag& f, std::ostream* os) { *os << command_line(f.args); }

class CliBadFlagTest : public ::testing::TestWithParam<BadFlag> {};

TEST_P(CliBadFlagTest, ExitsOneWithOneLineNamingIt) {
  expect_user_error(GetParam().args, GetParam().words);
}

INSTANTIATE_TEST_SUITE_P(CliFlags, CliBadFlagTest, ::testing::ValuesIn(bad_flags()),
                         [](const ::testing::TestParamInfo<BadFlag>& param) {
                           return param.param.name;
                         });

TEST(CliUsage, BaseCommandsOfTheBadFlagTableSucceed) {
  const json t = run_json(kTrainBase);
  EXPECT_EQ(losses_of(t).size(), 1u);
  const json c = run_json(kCostBase);
  EXPECT_EQ(c.value("model", ""), "lenet5");
}

TEST(CliUsage, HelpExitsZeroAndListsTheCommands) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--help"}, {"train", "--help"}, {"cost", "--help"}}) {
    SCOPED_TRACE(command_line(args));
    const ProcessResult r = run_cnnmem(args);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.err, "");
    EXPECT_THAT(r.out, HasSubstr("--"));
  }
  const ProcessResult r = run_cnnmem({"--help"});
  EXPECT_THAT(r.out, HasSubstr("train"));
  EXPECT_THAT(r.out, HasSubstr("cost"));
}

// ---------------------------------------------------------------------------------------------
// Files made by the tests live in a per-process temporary directory.

using CliFiles = TempDirTest;

// A Fashion-MNIST-shaped data set of `count` random 28x28 images per split.
void write_tiny_dataset(const fs::path& dir, uint32_t count) {
  std::mt19937 rng(1);
  for (const std::string split : {"train", "t10k"}) {
    std::vector<uint8_t> pixels(count * 28 * 28), labels(count);
    for (uint8_t& p : pixels) p = static_cast<uint8_t>(rng() & 0xff);
    for (uint8_t& l : labels) l = static_cast<uint8_t>(rng() % 10);
    write_gz(dir / (split + "-images-idx3-ubyte.gz"),
             idx_bytes(kIdxImages, {count, 28, 28}, pixels));
    write_gz(dir / (split + "-labels-idx1-ubyte.gz"), idx_bytes(kIdxLabels, {count}, labels));
  }
}

std::vector<std::string> train_on_dir(const fs::path& dir) {
  return {"train",      "--model",    "lenet5",  "--data", "fashion-mnist",
          "--data-dir", dir.string(), "--batch", "8",      "--max-steps",
          "2",          "--json"};
}

using CliData = CliFiles;

TEST_F(CliData, EmptyDirectoryNamesTheDebianPackage) {
  expect_user_error(train_on_dir(dir_), {"dataset-fashion-mnist", dir_.string()});
}

TEST_F(CliData, TinyDataSetTrainsAndEvaluates) {
  write_tiny_dataset(dir_, 16);
  const json j = run_json(train_on_dir(dir_));
  EXPECT_EQ(j.value("steps", -1), 2);
  EXPECT_EQ(j.value("data", ""), "fashion-mnist");
  ASSERT_TRUE(j.contains("test_accuracy") && j["test_accuracy"].is_number()) << j.dump();
  EXPECT_GE(j["test_accuracy"].get<double>(), 0.0);
  EXPECT_LE(j["test_accuracy"].get<double>(), 1.0);
}

TEST_F(CliData, TruncatedGzipStreamIsOneLineError) {
  write_tiny_dataset(dir_, 16);
  const fs::path images = dir_ / "train-images-idx3-ubyte.gz";
  fs::resize_file(images, fs::file_size(images) / 2);  // cut inside the deflate stream
  expect_user_error(train_on_dir(dir_), {images.string()});
}

TEST_F(CliData, TruncatedIdxDataIsOneLineError) {
  write_tiny_dataset(dir_, 16);
  // A well-formed gzip whose header promises 16 images but holds 10.
  const fs::path images = dir_ / "train-images-idx3-ubyte.gz";
  write_gz(images, idx_bytes(kIdxImages, {16, 28, 28}, std::vector<uint8_t>(10 * 28 * 28, 7)));
  expect_user_error(train_on_dir(dir_), {images.string(), "truncated"});
}

TEST_F(CliData, WrongMagicIsOneLineError) {
  write_tiny_dataset(dir_, 16);
  const fs::path images = dir_ / "train-images-idx3-ubyte.gz";
  write_gz(images, idx_bytes(0xdeadbeef, {16, 28, 28}, std::vector<uint8_t>(16 * 28 * 28, 7)));
  expect_user_error(train_on_dir(dir_), {images.string(), "magic"});
}

TEST_F(CliData, LabelsFileInPlaceOfImagesIsOneLineError) {
  write_tiny_dataset(dir_, 16);
  const fs::path images = dir_ / "train-images-idx3-ubyte.gz";
  write_gz(images, idx_bytes(kIdxLabels, {16}, std::vector<uint8_t>(16, 1)));
  expect_user_error(train_on_dir(dir_), {images.string(), "magic"});
}

// --init-weights: each broken file is made from the committed PyTorch-initialised fixture.
using CliInitWeights = CliFiles;

std::vector<std::string> train_from(const fs::path& weights) {
  return with(kTrainBase, {"--init-weights", weights.string()});
}

TEST_F(CliInitWeights, FixtureLoads) {
  EXPECT_EQ(losses_of(run_json(train_from(kInitWeights))).size(), 1u);
}

TEST_F(CliInitWeights, RandomBytesAreOneLineError) {
  std::mt19937 rng(3);
  std::vector<uint8_t> bytes(4096);
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng() & 0xff);
  const fs::path f = dir_ / "random.safetensors";
  write_file(f, bytes);
  expect_user_error(train_from(f), {f.string()});
}

TEST_F(CliInitWeights, TruncatedFileIsOneLineError) {
  std::vector<uint8_t> bytes = read_file_bytes(kInitWeights);
  ASSERT_GT(bytes.size(), 1000u);
  bytes.resize(bytes.size() / 2);
  const fs::path f = dir_ / "truncated.safetensors";
  write_file(f, bytes);
  expect_user_error(train_from(f), {f.string()});
}

TEST_F(CliInitWeights, WrongTensorNameIsOneLineError) {
  SafetensorsFile file = read_safetensors(kInitWeights);
  bool renamed = false;
  for (NamedTensor& t : file.tensors) {
    if (t.name == "fc3.bias") {
      t.name = "fc3.biases";
      renamed = true;
    }
  }
  ASSERT_TRUE(renamed);
  const fs::path f = dir_ / "renamed.safetensors";
  write_safetensors(f, file.tensors);
  expect_user_error(train_from(f), {f.string(), "fc3.bias"});
}

TEST_F(CliInitWeights, ExtraTensorIsOneLineError) {
  SafetensorsFile file = read_safetensors(kInitWeights);
  file.tensors.push_back({"fc4.weight", {2, 2}, {1, 2, 3, 4}});
  const fs::path f = dir_ / "extra.safetensors";
  write_safetensors(f, file.tensors);
  expect_user_error(train_from(f), {f.string(), "fc4.weight"});
}

TEST_F(CliInitWeights, WrongShapeIsOneLineError) {
  SafetensorsFile file = read_safetensors(kInitWeights);
  bool reshaped = false;
  for (NamedTensor& t : file.tensors) {
    if (t.name == "conv1.weight") {
      ASSERT_EQ(t.shape, (std::vector<int64_t>{6, 1, 5, 5}));
      t.shape = {6, 1, 3, 3};
      t.data.resize(6 * 9);
      reshaped = true;
    }
  }
  ASSERT_TRUE(reshaped);
  const fs::path f = dir_ / "reshaped.safetensors";
  write_safetensors(f, file.tensors);
  expect_user_error(train_from(f), {f.string(), "conv1.weight", "6x1x5x5"});
}

TEST_F(CliInitWeights, DtypeF64IsOneLineError) {
  // The same tensors stored as F64, laid out by hand (write_safetensors only writes F32).
  const SafetensorsFile file = read_safetensors(kInitWeights);
  json header = json::object();
  std::vector<uint8_t> data;
  for (const NamedTensor& t : file.tensors) {
    const size_t begin = data.size();
    for (float v : t.data) {
      const double d = v;
      uint8_t b[8];
      std::memcpy(b, &d, 8);
      data.insert(data.end(), b, b + 8);
    }
    header[t.name] = {{"dtype", "F64"}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  std::vector<uint8_t> bytes(8);
  const uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(n >> (8 * i));
  bytes.insert(bytes.end(), h.begin(), h.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  const fs::path f = dir_ / "f64.safetensors";
  write_file(f, bytes);
  expect_user_error(train_from(f), {f.string(), "F64"});
}

}  // namespace
}  // namespace cnnmem::test
