// Interrupting `cnnmem train` from the outside, with real signals: SIGINT or SIGTERM at a random
// step finishes that step, saves the training state, says where it stopped and how to resume,
// and exits 130 / 143; --resume then ends bitwise where an uninterrupted run ends. A second
// interrupt exits at once. A state directory is locked by the live run that uses it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "io/training_state.h"
#include "tests/apps/cli_helpers.h"
#include "tests/apps/kill_helpers.h"
#include "tests/util/temp_dir.h"

namespace cnnmem::test {
namespace {

namespace fs = std::filesystem;

constexpr int kSteps = 300;

// LeNet-5 on synthetic data, one thread, a state only at the end (as a user would start it).
std::vector<std::string> lenet_run(const std::vector<std::string>& extra) {
  std::vector<std::string> a = {"train",
                                "--model",
                                "lenet5",
                                "--data",
                                "synthetic",
                                "--max-steps",
                                std::to_string(kSteps),
                                "--save-every",
                                "100000",
                                "--threads",
                                "1",
                                "--seed",
                                "7",
                                "--no-eval",
                                "--json"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

class InterruptCli : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    suite_dir_ = fresh_temp_dir("InterruptCli");
    const json j = run_json(lenet_run({"--state-dir", (suite_dir_ / "ref_state").string(), "--save",
                                       (suite_dir_ / "ref.safetensors").string()}));
    reference_losses_ = j.value("losses", json::array());
    reference_weights_ = read_file(suite_dir_ / "ref.safetensors");
  }
  static void TearDownTestSuite() { fs::remove_all(suite_dir_); }

  void SetUp() override {
    dir_ = suite_dir_ / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(dir_);
  }

  // True once the run's progress lines (on stderr, in `err`) show `step` steps done.
  static std::function<bool()> reached(const fs::path& err, int step) {
    const std::string line = " step " + std::to_string(step) + "/";
    return [err, line] { return read_file(err).find(line) != std::string::npos; };
  }

  // Interrupts a run with `signal` at a random step, checks what it says and saves, resumes it
  // and compares with the uninterrupted run.
  void interrupt_and_resume(int signal, const std::string& name) {
    std::random_device seed;
    const int at = std::uniform_int_distribution<int>(2, kSteps / 2)(seed);
    SCOPED_TRACE(name + " after step " + std::to_string(at));
    const fs::path state = dir_ / "state", err = dir_ / "stderr.txt";
    SignalOptions o;
    o.signal = signal;
    o.stderr_path = err.string();
    const KillResult k = run_and_signal_when(
        with_binary(lenet_run({"--state-dir", state.string(), "--progress-every", "1"})),
        reached(err, at), o);
    const std::string text = read_file(err);
    ASSERT_TRUE(k.killed) << "the run ended (exit " << k.exit_code << ") first: " << text;
    ASSERT_TRUE(k.ended_on_its_own) << "did not stop after the step: " << text;
    EXPECT_EQ(k.exit_code, 128 + signal) << text;
    std::smatch m;
    const std::regex said("cnnmem: interrupted by " + name +
                          " after step ([0-9]+) of 300; the training state is saved in " +
                          state.string() + ": to continue, run the same command with --resume " +
                          state.string() + "\n");
    ASSERT_TRUE(std::regex_search(text, m, said)) << text;
    const int stopped = std::stoi(m[1].str());
    EXPECT_GE(stopped, at);
    ASSERT_LT(stopped, kSteps) << "stopped at the end: not a test of resuming";
    EXPECT_EQ(read_training_state(state.string()).steps, stopped);

    const fs::path out = dir_ / "resumed.safetensors";
    const json j = run_json(lenet_run(
        {"--state-dir", state.string(), "--resume", state.string(), "--save", out.string()}));
    EXPECT_EQ(j.value("losses", json::array()), reference_losses_);
    ASSERT_FALSE(reference_weights_.empty());
    EXPECT_TRUE(read_file(out) == reference_weights_)
        << "the resumed run's final weights differ from the uninterrupted run's";
  }

  static fs::path suite_dir_;
  static json reference_losses_;
  static std::string reference_weights_;
  fs::path dir_;
};

fs::path InterruptCli::suite_dir_;
json InterruptCli::reference_losses_;
std::string InterruptCli::reference_weights_;

TEST_F(InterruptCli, SigintSavesAndResumesBitwiseIdentically) {
  interrupt_and_resume(SIGINT, "SIGINT");
}

TEST_F(InterruptCli, SigtermSavesAndResumesBitwiseIdentically) {
  interrupt_and_resume(SIGTERM, "SIGTERM");
}

TEST_F(InterruptCli, WithoutAStateDirectoryItSaysNothingWasSaved) {
  const fs::path err = dir_ / "stderr.txt", save = dir_ / "w.safetensors";
  SignalOptions o;
  o.signal = SIGINT;
  o.stderr_path = err.string();
  const std::vector<std::string> args = {
      "train",       "--model",          "lenet5",    "--data", "synthetic",
      "--max-steps", "100000",           "--threads", "1",      "--no-eval",
      "--json",      "--progress-every", "1",         "--save", save.string()};
  const KillResult k = run_and_signal_when(with_binary(args), reached(err, 3), o);
  const std::string text = read_file(err);
  ASSERT_TRUE(k.killed && k.ended_on_its_own) << text;
  EXPECT_EQ(k.exit_code, 130);
  EXPECT_THAT(text, ::testing::HasSubstr(
                        "of 100000; nothing was saved (give --state-dir DIR to be able to resume "
                        "an interrupted run); --save " +
                        save.string() + " was not written\n"));
  EXPECT_FALSE(fs::exists(save));
}

// A second interrupt during a long step does not wait for it.
TEST_F(InterruptCli, ASecondInterruptExitsAtOnce) {
  const fs::path state = dir_ / "state", err = dir_ / "stderr.txt";
  SignalOptions o;
  o.signal = SIGINT;
  o.stderr_path = err.string();
  bool signalled_twice = false;
  pid_t child = 0;
  const std::vector<std::string> args = {"train", "--model",     "vgg-mini",    "--batch",
                                         "512",   "--data",      "synthetic",   "--max-steps",
                                         "1000",  "--no-eval",   "--json",      "--progress-every",
                                         "1",     "--state-dir", state.string()};
  // The condition sends the first SIGINT itself (to the child found by its stderr), then the
  // helper sends the second.
  const KillResult k = run_and_signal_when(
      with_binary(args),
      [&] {
        if (!reached(err, 1)()) return false;
        if (!signalled_twice) {
          // The newest cnnmem child of this process.
          for (const auto& e : fs::directory_iterator("/proc")) {
            const std::string pid = e.path().filename().string();
            if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
            std::ifstream stat(e.path() / "stat");
            std::string ignored, state_char;
            pid_t ppid = 0;
            stat >> ignored >> ignored >> state_char >> ppid;
            if (ppid == getpid()) child = std::stoi(pid);
          }
          if (child == 0) return false;
          kill(child, SIGINT);
          signalled_twice = true;
          usleep(20000);
        }
        return true;
      },
      o);
  const std::string text = read_file(err);
  ASSERT_TRUE(k.killed && k.ended_on_its_own) << text;
  EXPECT_EQ(k.exit_code, 130);
  EXPECT_THAT(text, ::testing::HasSubstr("interrupted again: exiting now, without saving"));
  EXPECT_FALSE(fs::exists(training_state_path(state.string())));
}

// While a run lives, a second run on its state directory is refused with the holder's pid; when
// it has ended, its lock file is taken over.
TEST_F(InterruptCli, AStateDirectoryTakesOneLiveRun) {
  const fs::path state = dir_ / "state", err = dir_ / "stderr.txt";
  SignalOptions o;
  o.signal = SIGINT;
  o.stderr_path = err.string();
  ProcessResult fresh, resumed;
  std::string holder;
  const KillResult k = run_and_signal_when(
      with_binary({"train", "--model", "lenet5", "--data", "synthetic", "--max-steps", "100000",
                   "--threads", "1", "--no-eval", "--json", "--progress-every", "1", "--state-dir",
                   state.string()}),
      [&] {
        if (!reached(err, 2)()) return false;
        holder = read_file(state / "lock");
        fresh = run_cnnmem({"train", "--model", "lenet5", "--data", "synthetic", "--max-steps", "1",
                            "--no-eval", "--state-dir", state.string()});
        resumed = run_cnnmem({"train", "--model", "lenet5", "--data", "synthetic", "--max-steps",
                              "1", "--no-eval", "--resume", state.string()});
        return true;
      },
      o);
  ASSERT_TRUE(k.killed && k.ended_on_its_own) << read_file(err);
  EXPECT_EQ(k.exit_code, 130);
  ASSERT_FALSE(holder.empty());
  holder.pop_back();  // the newline
  const std::string said = "cnnmem: error: " + state.string() +
                           " is in use by another cnnmem run (pid " + holder +
                           "); wait for it to end, or use another directory\n";
  EXPECT_EQ(fresh.exit_code, 1);
  EXPECT_EQ(fresh.err, said);
  EXPECT_EQ(resumed.exit_code, 1);
  EXPECT_EQ(resumed.err, said);
  // The holder is gone and its lock file is left behind: the next run takes it over.
  ASSERT_TRUE(fs::exists(state / "lock"));
  const int64_t saved = read_training_state(state.string()).steps;
  const json j = run_json({"train", "--model", "lenet5", "--data", "synthetic", "--max-steps",
                           std::to_string(saved + 2), "--threads", "1", "--no-eval", "--json",
                           "--resume", state.string()});
  EXPECT_EQ(j.value("steps", 0), saved + 2);
}

}  // namespace
}  // namespace cnnmem::test
