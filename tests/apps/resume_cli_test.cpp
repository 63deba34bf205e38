// Crash-safe training from the outside: a run killed with SIGKILL (during training, and inside a
// save) and resumed with --resume ends with the same losses and bit-identical weights as an
// uninterrupted run; corrupt states and changed flags are refused with one-line errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "io/training_state.h"
#include "tests/apps/cli_helpers.h"
#include "tests/apps/kill_helpers.h"
#include "tests/util/temp_dir.h"

namespace cnnmem::test {
namespace {

namespace fs = std::filesystem;

// The run of the brief: 40 steps of LeNet-5 (5 epochs of 8 batches), a state every 5 steps.
std::vector<std::string> lenet_run(const fs::path& state_dir, const fs::path& save,
                                   const std::vector<std::string>& extra = {}) {
  std::vector<std::string> a = {
      "train", "--model",      "lenet5", "--data",    "synthetic",  "--max-steps",
      "40",    "--save-every", "5",      "--threads", "1",          "--seed",
      "3",     "--no-eval",    "--json", "--save",    save.string()};
  if (!state_dir.empty()) a.insert(a.end(), {"--state-dir", state_dir.string()});
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

class ResumeCli : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    suite_dir_ = fresh_temp_dir("ResumeCli");
    // The uninterrupted reference run.
    const json j = run_json(lenet_run(suite_dir_ / "ref_state", suite_dir_ / "ref.safetensors"));
    reference_losses_ = j.value("losses", json::array());
    reference_weights_ = read_file(suite_dir_ / "ref.safetensors");
  }
  static void TearDownTestSuite() { fs::remove_all(suite_dir_); }

  void SetUp() override {
    dir_ = suite_dir_ / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(dir_);
  }

  // Resumes `state_dir` to the end and checks the losses and weights against the reference.
  void resume_and_compare(const fs::path& state_dir) const {
    const fs::path out = dir_ / "resumed.safetensors";
    const json j = run_json(lenet_run({}, out, {"--resume", state_dir.string()}));
    EXPECT_EQ(j.value("losses", json::array()), reference_losses_);
    EXPECT_EQ(j.value("steps", 0), 40);
    ASSERT_FALSE(reference_weights_.empty());
    EXPECT_TRUE(read_file(out) == reference_weights_)
        << "the resumed run's final weights differ from the uninterrupted run's";
    // The final state is that of the whole run.
    EXPECT_EQ(read_training_state(state_dir.string()).steps, 40);
  }

  static fs::path suite_dir_;
  static json reference_losses_;
  static std::string reference_weights_;
  fs::path dir_;
};

fs::path ResumeCli::suite_dir_;
json ResumeCli::reference_losses_;
std::string ResumeCli::reference_weights_;

TEST_F(ResumeCli, ReferenceRunLeavesItsFinalState) {
  ASSERT_EQ(reference_losses_.size(), 40U);
  const TrainingState s = read_training_state((suite_dir_ / "ref_state").string());
  EXPECT_EQ(s.steps, 40);
  EXPECT_EQ(s.epoch, 5);
  EXPECT_EQ(s.step_in_epoch, 0);
  EXPECT_EQ(s.optimizer_step, 40);
  ASSERT_EQ(s.losses.size(), 40U);
  EXPECT_EQ(static_cast<double>(s.losses[39]), reference_losses_[39].get<double>());
}

TEST_F(ResumeCli, KilledDuringTrainingResumesBitwiseIdentically) {
  const fs::path state = dir_ / "state";
  const fs::path state_file = state / "state.safetensors";
  const KillResult k = run_and_kill_when(with_binary(lenet_run(state, dir_ / "killed.safetensors")),
                                         [&] { return fs::exists(state_file); });
  ASSERT_TRUE(k.killed) << "the run ended (exit " << k.exit_code << ") before its first state";
  EXPECT_EQ(k.term_signal, SIGKILL);
  const TrainingState s = read_training_state(state.string());
  EXPECT_LT(s.steps, 40) << "killed after training had finished: not a test of resuming";
  EXPECT_EQ(s.steps % 5, 0);
  resume_and_compare(state);
}

TEST_F(ResumeCli, KilledInsideASaveKeepsThePreviousStateAndResumes) {
  const fs::path state = dir_ / "state";
  const fs::path state_file = state / "state.safetensors";
  const fs::path tmp_file = state / "state.safetensors.tmp";
  // Every save sleeps between its complete temporary file and the rename: the second save is
  // caught with its temporary file written and the first state still in place.
  const KillResult k =
      run_and_kill_when(with_binary(lenet_run(state, dir_ / "killed.safetensors")),
                        [&] { return fs::exists(state_file) && fs::exists(tmp_file); },
                        {"CNNMEM_TEST_PAUSE_IN_SAVE_MS=300"});
  ASSERT_TRUE(k.killed) << "exit " << k.exit_code;
  EXPECT_TRUE(fs::exists(tmp_file));
  EXPECT_EQ(read_training_state(state.string()).steps, 5);  // the previous state, intact
  resume_and_compare(state);
  EXPECT_FALSE(fs::exists(tmp_file)) << "the resumed run's saves replace the temporary file";
}

TEST_F(ResumeCli, CorruptOrTruncatedStateIsRefused) {
  const fs::path ref = suite_dir_ / "ref_state" / "state.safetensors";
  const std::string bytes = read_file(ref);
  ASSERT_GT(bytes.size(), 1000U);
  const fs::path out = dir_ / "out.safetensors";

  const fs::path flipped = dir_ / "flipped";
  fs::create_directories(flipped);
  std::string changed = bytes;
  changed[changed.size() - 100] = static_cast<char>(changed[changed.size() - 100] ^ 0x10);
  std::ofstream(flipped / "state.safetensors", std::ios::binary) << changed;
  expect_user_error(lenet_run({}, out, {"--resume", flipped.string()}), {"checksum", "corrupt"});

  const fs::path truncated = dir_ / "truncated";
  fs::create_directories(truncated);
  std::ofstream(truncated / "state.safetensors", std::ios::binary)
      << bytes.substr(0, bytes.size() / 2);
  expect_user_error(lenet_run({}, out, {"--resume", truncated.string()}), {"corrupt", "truncated"});

  expect_user_error(lenet_run({}, out, {"--resume", (dir_ / "none").string()}),
                    {"no training state", "--state-dir"});
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(ResumeCli, ChangedConfigurationIsRefused) {
  const fs::path state = dir_ / "state";
  fs::create_directories(state);
  fs::copy_file(suite_dir_ / "ref_state" / "state.safetensors", state / "state.safetensors");
  const fs::path out = dir_ / "out.safetensors";
  expect_user_error(lenet_run({}, out, {"--resume", state.string(), "--batch", "32"}),
                    {"batch 64", "batch 32", "--resume"});
  expect_user_error(lenet_run({}, out, {"--resume", state.string(), "--lr", "0.1"}),
                    {"optimizer", "lr=0.1"});
  // A fresh run refuses to overwrite a state it was not asked to resume.
  expect_user_error(lenet_run(state, out), {"already holds a training state", "--resume"});
  expect_user_error(lenet_run({}, out), {"--save-every needs --state-dir"});
}

TEST_F(ResumeCli, DivergedRunStopsAndKeepsTheLastGoodState) {
  const fs::path state = dir_ / "state";
  const std::vector<std::string> args = {
      "train",       "--model",      "lenet5",
      "--data",      "synthetic",    "--max-steps",
      "40",          "--save-every", "1",
      "--state-dir", state.string(), "--threads",
      "1",           "--seed",       "3",
      "--lr",        "1e4",          "--no-eval",
      "--json",      "--save",       (dir_ / "out.safetensors").string()};
  SCOPED_TRACE(command_line(args));
  const ProcessResult r = run_cnnmem(args);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "");
  const std::string prefix = "cnnmem: error: training diverged at step ";
  ASSERT_THAT(r.err, StartsWith(prefix));
  EXPECT_THAT(r.err, HasSubstr("lower --lr"));
  EXPECT_THAT(r.err, HasSubstr("the last good training state stays in"));
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "out.safetensors"));
  const int64_t diverged_at = std::stoll(r.err.substr(prefix.size()));  // 1-based
  // A state was saved after every good step; the one on disk is the last good one.
  const TrainingState s = read_training_state(state.string());
  EXPECT_EQ(s.steps, diverged_at - 1);
  for (const NamedTensor& t : s.weights) {
    for (float v : t.data) ASSERT_TRUE(std::isfinite(v)) << t.name;
  }
}

// BatchNorm running statistics, dropout masks (they follow the step number) and Adam's state
// and bias correction (its step counter) all survive a kill.
TEST_F(ResumeCli, AdamWithBatchNormAndDropoutResumesBitwiseIdentically) {
  const auto run = [this](const fs::path& state, const fs::path& save,
                          const std::vector<std::string>& extra) {
    std::vector<std::string> a = {"train",
                                  "--model",
                                  "mobilenet_v2",
                                  "--input",
                                  "3x32x32",
                                  "--batch",
                                  "4",
                                  "--optimizer",
                                  "adam",
                                  "--data",
                                  "synthetic",
                                  "--max-steps",
                                  "12",
                                  "--save-every",
                                  "4",
                                  "--threads",
                                  "1",
                                  "--seed",
                                  "5",
                                  "--no-eval",
                                  "--json",
                                  "--save",
                                  save.string()};
    if (!state.empty()) a.insert(a.end(), {"--state-dir", state.string()});
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  const json ref = run_json(run(dir_ / "ref_state", dir_ / "ref.safetensors", {}));
  const fs::path state = dir_ / "state";
  const fs::path state_file = state / "state.safetensors";
  const KillResult k = run_and_kill_when(with_binary(run(state, dir_ / "killed.safetensors", {})),
                                         [&] { return fs::exists(state_file); });
  ASSERT_TRUE(k.killed) << "exit " << k.exit_code;
  const TrainingState s = read_training_state(state.string());
  EXPECT_LT(s.steps, 12);
  EXPECT_FALSE(s.optimizer_state.empty());
  const json resumed =
      run_json(run({}, dir_ / "resumed.safetensors", {"--resume", state.string()}));
  EXPECT_EQ(resumed.value("losses", json::array()), ref.value("losses", json::array()));
  const std::string want = read_file(dir_ / "ref.safetensors");
  ASSERT_FALSE(want.empty());
  EXPECT_TRUE(read_file(dir_ / "resumed.safetensors") == want)
      << "the resumed run's final weights differ from the uninterrupted run's";
}

}  // namespace
}  // namespace cnnmem::test
