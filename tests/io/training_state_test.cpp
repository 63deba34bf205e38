#include "io/training_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <sstream>

#include "framework/error.h"
#include "tests/util/temp_dir.h"

namespace cnnmem::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class TrainingStateTest : public TempDirTest {
 public:
  static TrainingState sample() {
    TrainingState s;
    s.weights = {{"conv1.weight", {2, 1, 1, 1}, {0.5f, -1.25f}},
                 {"bn.num_batches_tracked", {}, {7}}};
    s.optimizer_state = {{"adam.m.conv1.weight", {2, 1, 1, 1}, {1e-3f, 2e-3f}},
                         {"adam.v.conv1.weight", {2, 1, 1, 1}, {3e-6f, 4e-6f}}};
    s.losses = {2.5f, 2.25f, 2.0f};
    s.steps = 3;
    s.epoch = 1;
    s.step_in_epoch = 1;
    std::mt19937_64 rng(42);
    rng();
    std::ostringstream text;
    text << rng;
    s.rng = text.str();
    s.optimizer_step = 3;
    s.executor_steps = 3;
    s.config = {{"model", "lenet5"}, {"batch", "64"}};
    return s;
  }

  std::string file() const { return training_state_path(dir_.string()); }
  std::string bytes() const { return read_file(file()); }
  void overwrite(const std::string& b) const { write_file(file(), b); }

  // The Error message of reading the state, or "" when it reads.
  std::string read_error() const {
    try {
      read_training_state(dir_.string());
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
};

TEST_F(TrainingStateTest, RoundTripsEveryField) {
  const TrainingState s = sample();
  write_training_state(dir_.string(), s);
  EXPECT_FALSE(fs::exists(file() + ".tmp"));
  const TrainingState r = read_training_state(dir_.string());
  ASSERT_EQ(r.weights.size(), 2U);
  EXPECT_EQ(r.weights[0].name, "bn.num_batches_tracked");  // name order
  EXPECT_EQ(r.weights[1].data, s.weights[0].data);
  ASSERT_EQ(r.optimizer_state.size(), 2U);
  EXPECT_EQ(r.optimizer_state[1].name, "adam.v.conv1.weight");
  EXPECT_EQ(r.optimizer_state[1].data, s.optimizer_state[1].data);
  EXPECT_EQ(r.losses, s.losses);
  EXPECT_EQ(r.steps, 3);
  EXPECT_EQ(r.epoch, 1);
  EXPECT_EQ(r.step_in_epoch, 1);
  EXPECT_EQ(r.rng, s.rng);
  EXPECT_EQ(r.optimizer_step, 3);
  EXPECT_EQ(r.executor_steps, 3);
  check_same_config(r, s.config, dir_.string());  // same: no throw
}

TEST_F(TrainingStateTest, SecondWriteReplacesTheFirst) {
  TrainingState s = sample();
  write_training_state(dir_.string(), s);
  s.losses.push_back(1.5f);
  s.steps = 4;
  write_training_state(dir_.string(), s);
  EXPECT_EQ(read_training_state(dir_.string()).steps, 4);
}

TEST_F(TrainingStateTest, FlippedDataBitFailsTheChecksum) {
  write_training_state(dir_.string(), sample());
  std::string b = bytes();
  b[b.size() - 5] = static_cast<char>(b[b.size() - 5] ^ 1);  // inside the last tensor's data
  overwrite(b);
  EXPECT_THAT(read_error(), HasSubstr("fails its checksum"));
}

TEST_F(TrainingStateTest, ChangedMetadataFailsTheChecksum) {
  write_training_state(dir_.string(), sample());
  std::string b = bytes();
  const size_t at = b.find("\"steps\":\"3\"");
  ASSERT_NE(at, std::string::npos);
  b[at + 9] = '2';  // same length: only the checksum can tell
  overwrite(b);
  EXPECT_THAT(read_error(), HasSubstr("fails its checksum"));
}

TEST_F(TrainingStateTest, TruncatedOrMissingFileIsAnError) {
  EXPECT_THAT(read_error(), HasSubstr("no training state"));
  write_training_state(dir_.string(), sample());
  const std::string b = bytes();
  for (const size_t keep : {size_t{0}, size_t{7}, size_t{40}, b.size() - 1}) {
    overwrite(b.substr(0, keep));
    const std::string e = read_error();
    EXPECT_THAT(e, HasSubstr("corrupt or truncated")) << keep;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
}

TEST_F(TrainingStateTest, ConfigMismatchNamesTheSetting) {
  const TrainingState s = sample();
  try {
    check_same_config(s, {{"model", "lenet5"}, {"batch", "32"}}, "D");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("saved with batch 64, this run has batch 32"));
  }
  EXPECT_THROW(check_same_config(s, {{"model", "lenet5"}}, "D"), Error);
  EXPECT_THROW(check_same_config(s, {{"model", "lenet5"}, {"batch", "64"}, {"seed", "1"}}, "D"),
               Error);
}

}  // namespace
}  // namespace cnnmem::test
