// Bad input to every command, from the outside: zero and negative sizes, unknown names, and
// corrupt files for each reader (safetensors weights and tensors, IDX data sets, planner CSV).
// Each must end in exit status 1 with one line on stderr that names the problem, never a crash
// or an internal error (DESIGN.md §4).
//
// Corrupt files are written to a per-test temporary directory. Every case fails before a step
// runs, so the whole suite takes well under a second.
// Not here: the readers' own rejection tests (tests/io/), flags that do work (cli_test.cpp).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <vector>

#include "tests/apps/cli_helpers.h"
#include "tests/util/idx_writer.h"
#include "tests/util/temp_dir.h"

namespace cnnmem::test {
namespace {

namespace fs = std::filesystem;

// Every command that takes --model and --batch, with the other flags it needs to get that far.
struct CommandBase {
  std::string name;
  std::vector<std::string> args;  // without --model and --batch
};

const std::vector<CommandBase>& model_commands() {
  static const std::vector<CommandBase> commands = {
      {"train", {"train", "--data", "synthetic", "--max-steps", "1", "--no-eval"}},
      {"infer", {"infer"}},
      {"cost", {"cost", "--mode", "train"}},
      {"compare_optimizers", {"compare-optimizers"}},
      {"compare_reuse", {"compare-reuse"}},
      {"sweep_checkpoint", {"sweep-checkpoint", "--no-measure"}},
  };
  return commands;
}

std::vector<std::string> with(std::vector<std::string> base,
                              const std::vector<std::string>& extra) {
  base.insert(base.end(), extra.begin(), extra.end());
  return base;
}

TEST(BadInputCli, EveryModelCommandRejectsZeroAndNegativeBatch) {
  for (const CommandBase& c : model_commands()) {
    SCOPED_TRACE(c.name);
    for (const std::string batch : {"0", "-1", "-9223372036854775808", "1.5", "two"}) {
      expect_user_error(with(c.args, {"--model", "lenet5", "--batch", batch}), {"--batch", batch});
    }
  }
}

TEST(BadInputCli, EveryModelCommandRejectsABatchWhoseSizesOverflow) {
  for (const CommandBase& c : model_commands()) {
    SCOPED_TRACE(c.name);
    for (const std::string batch : {"9223372036854775807", "100000000000"}) {
      expect_user_error(with(c.args, {"--model", "vgg16", "--batch", batch}),
                        {"--batch", batch, "use a batch below"});
    }
  }
}

TEST(BadInputCli, EveryModelCommandRejectsUnknownModel) {
  for (const CommandBase& c : model_commands()) {
    SCOPED_TRACE(c.name);
    expect_user_error(with(c.args, {"--model", "no-such-net", "--batch", "1"}),
                      {"no-such-net", "lenet5"});
    expect_user_error(with(c.args, {"--model", "", "--batch", "1"}), {"model", "lenet5"});
  }
}

TEST(BadInputCli, EveryModelCommandRejectsZeroThreads) {
  for (const CommandBase& c : model_commands()) {
    SCOPED_TRACE(c.name);
    expect_user_error(with(c.args, {"--model", "lenet5", "--batch", "1", "--threads", "0"}),
                      {"--threads", "0"});
    expect_user_error(with(c.args, {"--model", "lenet5", "--batch", "1", "--threads", "-2"}),
                      {"--threads", "-2"});
  }
}

TEST(BadInputCli, UnknownNamesOfOptimizerReuseModeDataAndCommand) {
  const std::vector<std::string> train = {"train",  "--model",   "lenet5",      "--batch", "1",
                                          "--data", "synthetic", "--max-steps", "1"};
  expect_user_error(with(train, {"--optimizer", "adamax"}), {"--optimizer", "adamax", "adam"});
  expect_user_error(with(train, {"--checkpoint", "everything"}), {"--checkpoint", "everything"});
  expect_user_error({"train", "--model", "lenet5", "--batch", "1", "--data", "cifar10"},
                    {"--data cifar10 is unknown", "cifar10:DIR", "fashion-mnist"});
  const std::vector<std::string> cost = {"cost", "--model", "lenet5", "--batch", "1"};
  expect_user_error(with(cost, {"--mode", "eval"}), {"--mode", "eval"});
  expect_user_error(with(cost, {"--mode", "train", "--optimizer", "lbfgs"}),
                    {"--optimizer", "lbfgs"});
  expect_user_error(with(cost, {"--mode", "infer", "--reuse", "best-fit"}),
                    {"\"best-fit\"", "greedy-by-size"});
  expect_user_error({"infer", "--model", "lenet5", "--batch", "1", "--reuse", "lru"},
                    {"\"lru\"", "greedy-by-size"});
  expect_user_error({"infer", "--model", "lenet5", "--batch", "1", "--keep", "conv9"},
                    {"--keep", "conv9"});
  expect_user_error({"plan", "--intervals", "/dev/null", "--strategy", "first-fit"},
                    {"\"first-fit\"", "greedy-by-size"});
  expect_user_error({"trian", "--model", "lenet5"}, {"\"trian\"", "train"});
}

TEST(BadInputCli, RepeatCountsOutOfRange) {
  expect_user_error({"infer", "--model", "lenet5", "--batch", "1", "--repeat", "-1"},
                    {"--repeat", "-1"});
  expect_user_error({"compare-reuse", "--model", "lenet5", "--batch", "1", "--repeat", "0"},
                    {"--repeat", "0"});
  expect_user_error(
      {"compare-optimizers", "--model", "lenet5", "--batch", "1", "--measure", "--repeat", "0"},
      {"--repeat", "0"});
}

// Corrupt files handed to the readers through the command line.
class BadFileCli : public TempDirTest {
 public:
  std::string write(const std::string& name, const std::string& bytes) const {
    write_file(path(name), bytes);
    return path(name);
  }

  // A safetensors file: u64 little-endian header length, header, data.
  std::string write_safetensors_raw(const std::string& name, const std::string& header,
                                    const std::string& data) const {
    std::string out;
    for (int i = 0; i < 8; ++i)
      out.push_back(static_cast<char>(uint64_t{header.size()} >> (8 * i)));
    return write(name, out + header + data);
  }

  // A gzip IDX file of type ubyte with `dims` and `data`.
  std::string write_idx_gz(const std::string& name, uint32_t magic,
                           const std::vector<uint32_t>& dims, const std::string& data) const {
    write_gz(path(name), idx_bytes(magic, dims, {data.begin(), data.end()}));
    return path(name);
  }

  // A Fashion-MNIST directory of 2 training and 2 test images of 28x28 with these train labels.
  void write_data_set(const std::string& train_labels) const {
    for (const std::string prefix : {"train", "t10k"}) {
      write_idx_gz(prefix + "-images-idx3-ubyte.gz", 0x803, {2, 28, 28},
                   std::string(2 * 28 * 28, '\x10'));
      write_idx_gz(prefix + "-labels-idx1-ubyte.gz", 0x801, {2},
                   prefix == "train" ? train_labels : std::string("\x01\x02", 2));
    }
  }

  std::vector<std::string> train_on_dir() const {
    return {"train",         "--model",    "lenet5",      "--batch",     "2", "--data",
            "fashion-mnist", "--data-dir", dir_.string(), "--max-steps", "1"};
  }
};

// Corrupt safetensors files and words of the message each must give.
std::vector<std::pair<std::string, std::vector<std::string>>> corrupt_safetensors(
    const BadFileCli& t) {
  const std::string f32 = R"("dtype":"F32","shape":[1])";
  return {
      {t.write_safetensors_raw("trailing.safetensors",
                               R"({"a":{)" + f32 + R"(,"data_offsets":[0,4]}})",
                               std::string(8, '\0')),
       {"4 bytes after the end of its last tensor"}},
      {t.write_safetensors_raw("overlap.safetensors",
                               R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{)" +
                                   f32 + R"(,"data_offsets":[4,8]}})",
                               std::string(8, '\0')),
       {"\"a\" and \"b\" overlap"}},
      {t.write_safetensors_raw("f64.safetensors",
                               R"({"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})",
                               std::string(8, '\0')),
       {"dtype F64", "F32"}},
      {t.write_safetensors_raw("json.safetensors", "{\"a\":", ""), {"not valid JSON"}},
      {t.write("absurd.safetensors", std::string("\xff\xff\xff\x7f\0\0\0\0{}", 10)),
       {"header length 2147483647 is absurd"}},
  };
}

// Runs `args` + the file for each corrupt file: exit 1, the file and the reason named.
void expect_each_rejected(const BadFileCli& t, const std::vector<std::string>& args) {
  for (const auto& [path, words] : corrupt_safetensors(t)) {
    std::vector<std::string> want = words;
    want.push_back(path);
    std::vector<std::string> argv = args;
    argv.push_back(path);
    expect_user_error(argv, want);
  }
}

TEST_F(BadFileCli, CorruptSafetensorsAsInferWeights) {
  expect_each_rejected(*this, {"infer", "--model", "lenet5", "--batch", "1", "--weights"});
}

TEST_F(BadFileCli, CorruptSafetensorsAsInferInputTensor) {
  expect_each_rejected(*this, {"infer", "--model", "lenet5", "--batch", "1", "--input-tensor"});
}

TEST_F(BadFileCli, CorruptSafetensorsAsTrainInitWeights) {
  expect_each_rejected(*this, {"train", "--model", "lenet5", "--batch", "1", "--data", "synthetic",
                               "--max-steps", "1", "--init-weights"});
}

TEST_F(BadFileCli, CorruptIdxDataSets) {
  write_data_set(std::string("\x03\x0a", 2));  // label 10 with 10 classes
  expect_user_error(train_on_dir(), {"label at index 1 is 10", "train-labels-idx1-ubyte.gz"});

  write_data_set(std::string("\x01\x02", 2));
  write_idx_gz("train-labels-idx1-ubyte.gz", 0x801, {3}, "\x01\x02\x03");
  expect_user_error(train_on_dir(), {"image count 2", "label count 3"});

  write_data_set(std::string("\x01\x02", 2));
  const std::string images = (dir_ / "train-images-idx3-ubyte.gz").string();
  std::ofstream(images, std::ios::binary | std::ios::app) << "trailing garbage";
  expect_user_error(train_on_dir(), {"garbage after its gzip data", images});

  write_data_set(std::string("\x01\x02", 2));
  write("t10k-images-idx3-ubyte.gz", std::string("\x1f\x8b\x08\x00", 4));  // cut gzip header
  expect_user_error(train_on_dir(), {"corrupt gzip file", "t10k-images-idx3-ubyte.gz"});

  write_data_set(std::string("\x01\x02", 2));
  write_idx_gz("train-images-idx3-ubyte.gz", 0x803, {4294967295u, 28, 28}, "");
  expect_user_error(train_on_dir(), {"more than 2^31 elements"});

  write_data_set(std::string("\x01\x02", 2));
  write_idx_gz("train-images-idx3-ubyte.gz", 0x803, {2, 28, 28}, "short");
  expect_user_error(train_on_dir(), {"truncated", "need 1568 data bytes, found 5"});
}

TEST_F(BadFileCli, PlannerCsvWithZeroOrNegativeSizes) {
  for (const auto& [text, word] : std::vector<std::pair<std::string, std::string>>{
           {"64,0,1\n0,1,2\n", "line 2: size is 0"},
           {"-64,0,1\n", "line 1: size -64 is negative"},
           {"64,3,1\n", "line 1: first op 3 is after last op 1"},
           {"64;0;1\n", "line 1: expected 3 fields, got 1"},
       }) {
    const std::string path = write("bad.csv", text);
    expect_user_error({"plan", "--intervals", path, "--strategy", "greedy-by-size"}, {path, word});
  }
}

// The command line's own mistakes are said in cnnmem's words, not the parser's.
TEST(BadInputCli, CommandLineMistakesAreSaidInPlainWords) {
  const std::vector<std::string> train = {"train",  "--model",   "lenet5",
                                          "--data", "synthetic", "--no-eval"};
  expect_user_error(
      with(train, {"--max-steps", "5", "--max-steps=7"}),
      {"--max-steps was given twice (5 and 7): give it once, with the value to keep"});
  expect_user_error(with(train, {"--threads", "1", "--threads", "2", "--threads", "1"}),
                    {"--threads was given 3 times (1, 2 and 1)"});
  expect_user_error(with(train, {"--epochs", "1", "--max-steps", "2"}),
                    {"--epochs and --max-steps cannot be used together: give one of them"});
  expect_user_error(with(train, {"--batch"}), {"--batch needs a value", "cnnmem train --help"});
  expect_user_error(with(train, {"--bogus"}),
                    {"unknown argument --bogus for cnnmem train", "cnnmem train --help"});
  expect_user_error({"train", "--data", "cifar"},
                    {"--data cifar is unknown: use fashion-mnist, synthetic"});
  expect_user_error({}, {"no command given: use one of train, cost, infer"});
  for (const std::vector<std::string>& args :
       {with(train, {"--max-steps", "5", "--max-steps", "7"}), with(train, {"--batch"}),
        with(train, {"--bogus"}), std::vector<std::string>{}}) {
    const ProcessResult r = run_cnnmem(args);
    EXPECT_EQ(r.err.find("At Most"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("required"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("The following"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("A subcommand"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace cnnmem::test
