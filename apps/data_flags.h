// The data flags of `train`: --data, --data-dir, --resize, --val-fraction, --normalize,
// --random-crop and --hflip; reading the data set before the model exists (its input size
// follows the data), fitting it to the model, and its part in the resume fingerprint.
//
// Not here: the readers (io/), the data sets' specs and splits (train/datasets.h), the per-sample
// preprocessing (train/preprocess.h).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "apps/cli_common.h"
#include "train/datasets.h"

namespace cnnmem {

struct DataFlags {
  std::string data = "fashion-mnist", data_dir = "/usr/share/datasets/fashion-mnist";
  std::string resize;    // --resize HxW
  int64_t channels = 0;  // --channels 1|3 (0: as the images are)
  double val_fraction = -1;
  std::string normalize;  // --normalize m..,s.. | auto
  int64_t random_crop = -1;
  bool hflip = false;
};

void add_data_flags(CLI::App* app, DataFlags& f);

// Reads the data set of --data (none for synthetic) and, for a built-in model without --input,
// sets f.input to the data's image size when the model's own differs. Throws Error.
std::optional<DataSet> read_data_for(const DataFlags& d, CommonFlags& f);

// The trainer's data: `set` fitted to the model, or synthetic data; with the preprocessing of
// the flags (the normalisation computed from the training set for --normalize auto).
TrainData train_data_for(const DataFlags& d, std::optional<DataSet> set, const Graph& graph,
                         int64_t batch, uint64_t seed, const TargetShape& target);

// (name, value) pairs a resumed run must share with the saved one.
std::vector<std::pair<std::string, std::string>> data_config(const DataFlags& d);

}  // namespace cnnmem
