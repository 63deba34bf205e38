// Training state: everything a run needs to continue bitwise identically after a crash, in one
// safetensors file, DIR/state.safetensors, written atomically.
//
// The file holds the weights (parameters and BatchNorm running statistics, by PyTorch name), the
// optimizer state (by buffer name, "adam.m.features.0.weight", in the parameter's PyTorch shape)
// and the losses so far ("trainer.losses", one per step). Its metadata holds the counters (steps
// done, the optimizer's and the executor's step numbers), the data position (epoch and step
// within it of the next step), the shuffling generator at the start of that epoch (its order is
// rebuilt from it), the run's configuration ("config.<key>") and a checksum of all of the above.
//
// Writing: DIR/state.safetensors.tmp (itself written to a temporary file, fsynced and renamed),
// then rename over DIR/state.safetensors and fsync DIR: a crash at any point leaves either the
// previous state or the new one, complete. Reading verifies the checksum.
//
// Not here: what the trainer does with it (train/trainer.h), or the executor's layouts.
//
// Usage:
//   write_training_state(dir, state);
//   TrainingState s = read_training_state(dir);   // throws Error if missing or corrupt
//   check_same_config(s, config, dir);            // throws Error naming the first difference
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "io/safetensors.h"

namespace cnnmem {

// Key and value of the settings a resumed run must share with the saved one, e.g.
// {"model", "lenet5"}, {"batch", "64"}.
using TrainingConfig = std::vector<std::pair<std::string, std::string>>;

struct TrainingState {
  std::vector<NamedTensor> weights;          // Executor::weights()
  std::vector<NamedTensor> optimizer_state;  // Executor::optimizer_state()
  std::vector<float> losses;                 // one per step done
  int64_t steps = 0;                         // training steps done
  int64_t epoch = 0;                         // of the next step (0-based)
  int64_t step_in_epoch = 0;                 // of the next step (0-based)
  std::string rng;                           // the shuffling std::mt19937_64 at `epoch`'s start
  int64_t optimizer_step = 0;                // Optimizer::step()
  int64_t executor_steps = 0;                // Executor::steps_run() (dropout masks)
  TrainingConfig config;
};

// DIR/state.safetensors.
std::string training_state_path(const std::string& dir);

// Writes `state` atomically (see the top of this file). Tests can set the environment variable
// CNNMEM_TEST_PAUSE_IN_SAVE_MS to sleep that long between the complete temporary file and the
// rename, so that a kill lands inside a save. Throws Error when the directory is not writable.
void write_training_state(const std::string& dir, const TrainingState& state);

// Reads and verifies DIR/state.safetensors. Throws Error (one line, naming the file) when it is
// missing, malformed, truncated or fails its checksum.
TrainingState read_training_state(const std::string& dir);

// Throws Error naming the first setting whose saved value differs from `config`.
void check_same_config(const TrainingState& saved, const TrainingConfig& config,
                       const std::string& dir);

}  // namespace cnnmem
