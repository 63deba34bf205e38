// The input pipeline: assembles the next batch (uint8 pixels -> float value/255, or float values,
// preprocessed and augmented by train/preprocess.h; labels -> int32 class indices or float
// value/255) into the executor's staging buffers on a TBB worker while
// the current step runs. One TBB slot only, so it takes no compute threads from oneDNN's OpenMP
// team beyond the brief copy. The first batch of an epoch is assembled before the epoch starts, so
// a batch never crosses an epoch boundary (or an evaluation pass).
//
// Not here: reading files (io/idx.h), shuffling policy (train/trainer.cpp).
#pragma once

#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "framework/executor.h"
#include "train/preprocess.h"

namespace cnnmem {

// A labelled data set in memory: `count` samples of `sample_size` bytes (C*H*W pixels), each
// with target.elements label bytes: class indices (one per sample or per pixel), or dense
// targets stored as value * 255.
struct Samples {
  int64_t count = 0;
  int64_t sample_size = 0;
  const uint8_t* images = nullptr;  // 8-bit images; null for a float data set
  const uint8_t* labels = nullptr;
  TargetShape target;
  const float* values = nullptr;           // float images (a float data set)
  Dims dims;                               // of a sample (C, H, W); empty: sample_size values
  const Preprocess* preprocess = nullptr;  // null: value/255 (or the float) as it is
};

class BatchPipeline : public BatchSource {
 public:
  BatchPipeline(Executor& executor, Samples data, int64_t batch);
  ~BatchPipeline() override;

  // Samples in `order` (indices into the data), `batch` at a time; with `drop_last` a final
  // partial batch is skipped, otherwise it is padded with zeros and its valid rows reported.
  // With `augment`, samples are augmented as data.preprocess says, drawn for `epoch`.
  void start_epoch(std::vector<int64_t> order, bool drop_last, bool augment = false,
                   int64_t epoch = 0);
  int64_t batches() const { return batches_; }
  // Valid rows of the batch the executor loads next.
  int64_t valid_rows() const { return valid_[static_cast<size_t>(current_ & 1)]; }

  void wait_ready() override;
  void prefetch_next() override;

 private:
  void assemble(int64_t k);
  void assemble_targets(int64_t begin, int64_t rows);

  Executor& ex_;
  Samples data_;
  int64_t batch_;
  Dims dims_;  // of a sample (C, H, W); copied once, so that assembling a batch allocates nothing
  std::vector<int64_t> order_;
  int64_t batches_ = 0;
  bool augment_ = false;
  int64_t epoch_ = 0;
  int64_t current_ = 0;  // index of the batch in the staging buffers (or being assembled)
  int64_t valid_[2] = {0, 0};
  tbb::task_arena arena_{1, 0};
  std::unique_ptr<tbb::task_group> group_ = std::make_unique<tbb::task_group>();
  bool in_flight_ = false;
};

}  // namespace cnnmem
