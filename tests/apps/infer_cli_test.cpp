// Tests for `cnnmem infer` (apps/infer_command.cpp) from the outside: the built binary run as a
// child process, with safetensors inputs and outputs in a per-test temporary directory.
//
// Checks the JSON report (predicted == measured, the speed, the output shape), that
// --output-tensor writes the output and --input-tensor drives it (same input, same bits; another
// input, other bits), that the output is bitwise identical across --reuse strategies, that every
// bad flag value or input file gives exit status 1 and one line on stderr, and the vgg16 report:
// with greedy-by-size and in-place ReLU the arena is the lower bound and the activations at the
// peak are exactly the two largest feature maps.
// Not here: the library's side of buffer reuse (tests/framework/reuse_test.cpp).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "tests/apps/cli_helpers.h"
#include "tests/apps/run_process.h"
#include "tests/util/temp_dir.h"

namespace cnnmem::test {
namespace {

namespace fs = std::filesystem;

// `cnnmem infer --model lenet5 --batch 2 --repeat 1` plus `extra`.
std::vector<std::string> lenet5(const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"infer",    "--model", "lenet5",    "--batch", "2",
                                   "--repeat", "1",       "--threads", "2"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

void expect_predicted_equals_measured(const json& j) {
  ASSERT_TRUE(j.contains("predicted") && j.contains("measured")) << j.dump();
  const json& p = j["predicted"];
  const json& m = j["measured"];
  for (const char* key :
       {"peak_bytes", "arena_bytes", "lower_bound_bytes", "by_tag", "tag_peaks", "peak_at"}) {
    EXPECT_EQ(p[key], m[key]) << key;
  }
  int64_t sum = 0;
  for (const std::string& t : kTags) sum += p["by_tag"].value(t, int64_t{-1});
  EXPECT_EQ(sum, p.value("peak_bytes", int64_t{0})) << "by_tag does not add up to the peak";
  EXPECT_GT(p.value("peak_bytes", int64_t{0}), 0);
  EXPECT_GE(p.value("arena_bytes", int64_t{0}), p.value("lower_bound_bytes", int64_t{0}));
}

std::vector<uint32_t> bits(const NamedTensor& t) {
  std::vector<uint32_t> out;
  for (float v : t.data) out.push_back(std::bit_cast<uint32_t>(v));
  return out;
}

class InferCli : public TempDirTest {
 protected:
  // A file with one tensor `name` of `shape`, uniform [0, 1) values from `seed`.
  std::string write_input(const std::string& file, const std::vector<int64_t>& shape, uint32_t seed,
                          const std::string& name = "input") const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
    std::vector<float> data(static_cast<size_t>(n));
    for (float& v : data) v = pixel(rng);
    write_safetensors(path(file), {{name, shape, data}});
    return path(file);
  }

  // Runs lenet5 with `extra` and --output-tensor, and returns the tensor "output".
  NamedTensor output_of(const std::vector<std::string>& extra, const std::string& file) const {
    std::vector<std::string> args = extra;
    args.insert(args.end(), {"--output-tensor", path(file), "--json"});
    const json j = run_json(lenet5(args));
    EXPECT_TRUE(fs::exists(path(file))) << command_line(lenet5(args));
    if (!fs::exists(path(file))) return {};
    const SafetensorsFile f = read_safetensors(path(file));
    const NamedTensor* t = find_tensor(f, "output");
    EXPECT_NE(t, nullptr) << file << " has no tensor \"output\"";
    return t == nullptr ? NamedTensor{} : *t;
  }
};

TEST_F(InferCli, JsonHasPredictedEqualsMeasuredSpeedAndOutputShape) {
  const json j = run_json({"infer", "--model", "lenet5", "--batch", "2", "--json"});
  EXPECT_EQ(j.value("model", ""), "lenet5");
  EXPECT_EQ(j.value("mode", ""), "infer");
  EXPECT_EQ(j.value("batch", 0), 2);
  EXPECT_EQ(j.value("reuse", ""), "greedy-by-size");
  EXPECT_EQ(j.value("in_place", false), true);
  EXPECT_EQ(j.value("params", 0), 61706);
  expect_predicted_equals_measured(j);
  EXPECT_GT(j.value("ms_per_image", 0.0), 0.0);
  EXPECT_EQ(j["output_shape"], json::array({2, 10}));
  // An inference pass has no gradients, optimizer state or activation gradients.
  for (const char* t : {"grad", "optimizer_state", "activation_grad"}) {
    EXPECT_EQ(j["predicted"]["by_tag"].value(t, -1), 0) << t;
  }
  // greedy-by-size reaches the lower bound on lenet5 (a chain).
  EXPECT_EQ(j["predicted"]["arena_bytes"], j["predicted"]["lower_bound_bytes"]);
}

TEST_F(InferCli, OutputTensorWritesTheOutput) {
  const NamedTensor out = output_of({}, "out.safetensors");
  ASSERT_EQ(out.shape, (std::vector<int64_t>{2, 10}));
  for (float v : out.data) EXPECT_TRUE(std::isfinite(v));
  EXPECT_NE(out.data[0], out.data[1]) << "a constant output proves nothing";
  EXPECT_FALSE(fs::exists(path("out.safetensors.tmp." + std::to_string(getpid()))));
}

TEST_F(InferCli, InputTensorDrivesTheOutputDeterministically) {
  const std::string a = write_input("a.safetensors", {2, 1, 28, 28}, 1);
  const std::string b = write_input("b.safetensors", {2, 1, 28, 28}, 2);
  const NamedTensor a1 = output_of({"--input-tensor", a}, "a1.safetensors");
  const NamedTensor a2 = output_of({"--input-tensor", a}, "a2.safetensors");
  const NamedTensor b1 = output_of({"--input-tensor", b}, "b1.safetensors");
  const NamedTensor random = output_of({}, "random.safetensors");
  ASSERT_EQ(a1.shape, (std::vector<int64_t>{2, 10}));
  EXPECT_EQ(bits(a1), bits(a2)) << "the same input gave different outputs";
  EXPECT_NE(bits(a1), bits(b1)) << "another input gave the same output";
  EXPECT_NE(bits(a1), bits(random)) << "--input-tensor was ignored";
  // Each image of the batch is its own row: the rows of a1 differ.
  EXPECT_NE(std::vector<float>(a1.data.begin(), a1.data.begin() + 10),
            std::vector<float>(a1.data.begin() + 10, a1.data.end()));
}

TEST_F(InferCli, BadInputTensorIsAUserError) {
  const std::string narrow = write_input("narrow.safetensors", {2, 1, 28, 27}, 1);
  expect_user_error(lenet5({"--input-tensor", narrow}), {narrow, "2x1x28x27", "needs 2x1x28x28"});
  const std::string batch3 = write_input("batch3.safetensors", {3, 1, 28, 28}, 1);
  expect_user_error(lenet5({"--input-tensor", batch3}), {batch3, "--batch 2"});
  const std::string unnamed = write_input("unnamed.safetensors", {2, 1, 28, 28}, 1, "images");
  expect_user_error(lenet5({"--input-tensor", unnamed}), {unnamed, "\"input\""});
  const std::string missing = path("missing.safetensors");
  expect_user_error(lenet5({"--input-tensor", missing}), {"--input-tensor", missing});
  const std::string text = path("text.safetensors");
  write_file(text, "not a safetensors file\n");
  expect_user_error(lenet5({"--input-tensor", text}), {text});
}

TEST_F(InferCli, BadFlagValuesAreUserErrors) {
  expect_user_error(lenet5({"--keep", "nosuchlayer"}), {"--keep", "nosuchlayer"});
  expect_user_error(lenet5({"--reuse", "bogus"}),
                    {"--reuse", "bogus", "none", "free-after-use", "pingpong", "greedy-by-size"});
  // A kept map is a third live buffer: not a chain any more.
  expect_user_error(lenet5({"--reuse", "pingpong", "--keep", "conv1"}),
                    {"pingpong", "--keep", "greedy-by-size"});
  expect_user_error(lenet5({"--batch", "0"}), {"--batch", "\"0\""});
  expect_user_error(lenet5({"--repeat", "-1"}), {"--repeat", "\"-1\""});
  expect_user_error(lenet5({"--threads", "0"}), {"--threads", "\"0\""});
  expect_user_error({"infer", "--batch", "2"}, {"--model"});
}

TEST_F(InferCli, OutputTensorInAMissingDirectoryFailsBeforeRunning) {
  // Were the passes run first, a hundred million of them would outlast the deadline.
  const std::vector<std::string> args = {
      "infer",    "--model",   "lenet5",          "--batch",           "2",
      "--repeat", "100000000", "--output-tensor", "/nonexistent/dir/x"};
  SCOPED_TRACE(command_line(args));
  const ProcessResult r = run_cnnmem(args, std::chrono::seconds(20));
  ASSERT_FALSE(r.timed_out) << "the passes ran before the path was checked";
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, StartsWith("cnnmem: error: --output-tensor /nonexistent/dir/x"));
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "more than one line: " << r.err;
  EXPECT_FALSE(fs::exists("/nonexistent/dir"));
}

TEST_F(InferCli, OutputBitwiseIdenticalAcrossReuseStrategies) {
  const std::string in = write_input("in.safetensors", {2, 1, 28, 28}, 3);
  NamedTensor first;
  for (const std::string& s :
       std::vector<std::string>{"none", "greedy-by-size", "free-after-use", "pingpong"}) {
    SCOPED_TRACE(s);
    const NamedTensor out = output_of({"--reuse", s, "--input-tensor", in}, s + ".safetensors");
    ASSERT_EQ(out.shape, (std::vector<int64_t>{2, 10}));
    if (first.data.empty()) first = out;
    EXPECT_EQ(bits(out), bits(first));
  }
  // --no-inplace changes where tensors live, not what they hold.
  const NamedTensor off = output_of({"--no-inplace", "--input-tensor", in}, "off.safetensors");
  EXPECT_EQ(bits(off), bits(first));
}

TEST_F(InferCli, PoisonWithACorrectPlanChangesNoOutputBit) {
  const std::string in = write_input("in.safetensors", {2, 1, 28, 28}, 4);
  const NamedTensor plain = output_of({"--input-tensor", in}, "plain.safetensors");
  const NamedTensor poisoned =
      output_of({"--poison", "--input-tensor", in}, "poisoned.safetensors");
  ASSERT_EQ(plain.shape, (std::vector<int64_t>{2, 10}));
  for (float v : plain.data) ASSERT_TRUE(std::isfinite(v));
  EXPECT_EQ(bits(poisoned), bits(plain))
      << "--poison changed the output (NaN: " << (std::isnan(poisoned.data.at(0)) ? "yes" : "no")
      << ")";
}

TEST_F(InferCli, PingPongRunsOnLeNet5NearTheLowerBound) {
  const json j = run_json(lenet5({"--reuse", "pingpong", "--json"}));
  EXPECT_EQ(j.value("reuse", ""), "pingpong");
  expect_predicted_equals_measured(j);
  // The two slabs hold the largest even and the largest odd buffer of the chain: the bound when
  // those two are live together (with AVX-512's layouts: 316,224 bytes both), a little above
  // when the CPU's layouts add reorders between them (AVX2: 325,632 bytes, 3% above).
  const auto arena = j["predicted"]["arena_bytes"].get<int64_t>();
  const auto bound = j["predicted"]["lower_bound_bytes"].get<int64_t>();
  EXPECT_GE(arena, bound);
  EXPECT_LE(arena * 100, bound * 105);
  EXPECT_EQ(j["output_shape"], json::array({2, 10}));
}

TEST_F(InferCli, KeptTensorsAreWrittenBesideTheOutput) {
  const std::string out = path("kept.safetensors");
  // A name given twice is kept once (the file cannot hold two tensors of one name).
  const json j = run_json(lenet5({"--keep", "conv1,fc3,conv1", "--output-tensor", out, "--json"}));
  EXPECT_EQ(j["kept"], json::array({"conv1", "fc3"}));
  expect_predicted_equals_measured(j);
  const SafetensorsFile f = read_safetensors(out);
  const NamedTensor* conv1 = find_tensor(f, "conv1");
  const NamedTensor* fc3 = find_tensor(f, "fc3");
  const NamedTensor* output = find_tensor(f, "output");
  ASSERT_TRUE(conv1 != nullptr && fc3 != nullptr && output != nullptr);
  EXPECT_EQ(conv1->shape, (std::vector<int64_t>{2, 6, 28, 28}));
  // conv1's output before relu1: in-place ReLU would have zeroed its negative values.
  EXPECT_TRUE(std::any_of(conv1->data.begin(), conv1->data.end(), [](float v) { return v < 0; }));
  EXPECT_EQ(bits(*fc3), bits(*output)) << "fc3 is the last layer: its output is the output";
}

TEST_F(InferCli, Vgg16GreedyBySizeActivationsAtThePeakAreTheLowerBound) {
  // The one executed vgg16 pass of this suite (batch 1, no timed repeats).
  const json j = run_json({"infer", "--model", "vgg16", "--batch", "1", "--repeat", "0", "--reuse",
                           "greedy-by-size", "--json"});
  expect_predicted_equals_measured(j);
  const json& p = j["predicted"];
  EXPECT_EQ(p["arena_bytes"], p["lower_bound_bytes"]);
  // features.0's output (ReLU'd in place) and features.2's: 2 x 64 x 224 x 224 floats.
  EXPECT_EQ(p["by_tag"].value("activation", int64_t{0}), int64_t{2} * 64 * 224 * 224 * 4);
  EXPECT_EQ(p["tag_peaks"]["activation"], p["by_tag"]["activation"]);
  EXPECT_EQ(p["peak_at"].value("op", ""), "features.2.forward");
  EXPECT_EQ(j["output_shape"], json::array({1, 1000}));
}

}  // namespace
}  // namespace cnnmem::test
