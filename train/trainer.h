// Training: epochs over a data set with the executor's step, shuffling, the input pipeline,
// evaluation on the test split and throughput.
//
// Usage:
//   TrainData data = load_train_data("fashion-mnist", dir, graph, batch, seed);  // datasets.h
//   TrainResult r = train(executor, data, options);
// Not here: the step itself (framework/executor.h), reports (report/report.h).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "framework/executor.h"
#include "framework/process_memory.h"
#include "io/training_state.h"
#include "train/batch_pipeline.h"
#include "train/preprocess.h"

namespace cnnmem {

// A data set as the trainer uses it (train/datasets.h reads and fits one): 8-bit images, or
// float images in the *_values vectors, and the preprocessing every sample goes through.
struct TrainData {
  std::string name;  // the --data spec
  int64_t sample_size = 0;
  Dims dims;           // of a sample, (C, H, W)
  TargetShape target;  // a sample's label is target.elements bytes (see Samples)
  std::vector<uint8_t> train_images, train_labels, test_images, test_labels;
  std::vector<float> train_values, test_values;  // float data sets instead of *_images
  Preprocess preprocess;
  std::string test_from;  // where the test samples come from ("the test split", ...)
  Samples train() const;
  Samples test() const;
  // Bytes the data set holds in memory, outside the arena.
  int64_t bytes() const;
};

// One finished training step, for progress reports (report/progress.h).
struct TrainStep {
  int64_t step = 0;    // 0-based
  int64_t steps = 0;   // of the whole run
  int64_t epoch = 0;   // 0-based
  int64_t epochs = 0;  // that the run touches (the last may be partial with --max-steps)
  int64_t batch = 0;
  float loss = 0;
};

struct TrainOptions {
  int64_t epochs = 1;
  int64_t max_steps = -1;  // > 0: stop after this many steps (epochs then only bound it)
  uint64_t seed = 1;
  bool shuffle = true;
  bool eval = true;
  // Called after every step; for progress lines.
  std::function<void(const TrainStep&)> on_step;
  // Asked after every step (after its periodic save): true ends the run there, with the training
  // state saved when there is a state_dir, and no evaluation (TrainResult::interrupted).
  std::function<bool()> stop_requested;
  // Crash-safe training state (io/training_state.h): with a state_dir, written every
  // `save_every` steps (0: only at the end) and after the last step, with `config` as the
  // fingerprint a resumed run must match. A state is never written after a diverged step.
  std::string state_dir;
  int64_t save_every = 0;
  TrainingConfig config;
  // Continue this saved run (weights, optimizer, data position, losses) instead of starting at
  // step 0; the executor must be bound. Not owned.
  const TrainingState* resume = nullptr;
};

struct TrainResult {
  std::vector<float> losses;  // one per step
  double test_accuracy = -1;  // -1 when not evaluated
  double images_per_sec = 0;  // training steps after the first
  int64_t steps = 0;          // done, the resumed ones included
  int64_t total_steps = 0;    // the run's whole length
  double epochs = 0;
  bool interrupted = false;  // stop_requested ended the run after `steps` steps
  bool saved = false;        // a training state for `steps` steps is in state_dir
  OutsideArena outside;
};

// Throws Error naming the step and epoch when the loss (or, before a state is saved, a weight)
// is NaN or infinite.
TrainResult train(Executor& executor, const TrainData& data, const TrainOptions& options);

// Accuracy of the executor's model on `samples` (forward passes, no accounting).
double evaluate(Executor& executor, const Samples& samples);

}  // namespace cnnmem
