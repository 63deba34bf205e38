// Data sets for training: the `--data` specs, the readers behind them, the held-out split for
// sets without a test part, and the fit of a data set to a model (shapes, classes, targets).
//
//   fashion-mnist          the Debian package's IDX files (DIR: --data-dir)
//   synthetic              deterministic random data of the model's input shape and targets
//   idx:DIR[/PREFIX]       any MNIST-style IDX set, gzip or plain: *train-images*idx3*,
//                          *train-labels*idx1*, and the t10k-/test- pair (PREFIX picks one set
//                          among several in DIR, e.g. idx:gzip/emnist-balanced)
//   cifar10:DIR, cifar100:DIR   the binary versions as distributed (CIFAR-100: fine labels)
//   folder:DIR             one sub-folder per class (PNG, JPEG), or DIR/train + DIR/val|test
//   npy:IMAGES.npy,LABELS.npy   NumPy arrays: uint8 or float32 images, integer labels
//
// A set without a test part (folder without a split, npy) holds out the last `val_fraction` of a
// fixed permutation of its samples (the same for every --seed, so runs compare on one set).
//
// Not here: preprocessing and augmentation (train/preprocess.h), batching (train/batch_pipeline.h),
// the file formats (io/).
//
// Usage:
//   DataOptions o; o.spec = "cifar10:/data/cifar-10-batches-bin";
//   DataSet set = read_data_set(o);              // before the model: its shape follows the data
//   Graph g = make_model("resnet18", set.dims());
//   TrainData data = fit_data_to_model(std::move(set), g, target);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "framework/graph.h"
#include "framework/loss.h"
#include "io/image_data.h"
#include "train/trainer.h"

namespace cnnmem {

struct DataOptions {
  std::string spec = "fashion-mnist";                     // --data
  std::string dir = "/usr/share/datasets/fashion-mnist";  // --data-dir, for fashion-mnist
  std::optional<std::pair<int64_t, int64_t>> resize;      // --resize HxW (folder)
  std::optional<int64_t> channels;  // --channels 1|3 (folder): every image converted to it
  double val_fraction = -1;         // --val-fraction; < 0: 0.1 where the data has no test part
};

// A data set as read, before it meets a model.
struct DataSet {
  std::string name;       // the spec
  ImageData train, test;  // test.count == 0: none
  std::string test_from;  // "the test split", "10% held out", ...
  Dims dims() const { return {train.channels, train.height, train.width}; }
  int64_t classes() const;  // the format's count, or the largest label + 1
  int64_t bytes() const { return train.bytes() + test.bytes(); }
};

// True for specs that need a model to exist first (synthetic).
bool is_synthetic(const std::string& spec);

// Reads the data set of `o.spec` (not synthetic). Throws Error naming the file or spec.
DataSet read_data_set(const DataOptions& o);

// Checks `set` against the model (input dims, classes, the loss's targets) and makes it the
// trainer's data. Throws Error naming both shapes, or the classes, and the fix.
TrainData fit_data_to_model(DataSet set, const Graph& graph, const TargetShape& target);

// Reads the data set `name` (a --data spec; Fashion-MNIST from `dir`) and fits it to the model, or
// makes deterministic random data of the model's input shape and the loss's targets ("synthetic",
// `batch` * 8 training and `batch` * 2 test samples from `seed`; default target: one class index
// in [0, graph.classes())). Throws Error when the data does not fit the model or the loss.
TrainData load_train_data(const std::string& name, const std::string& dir, const Graph& graph,
                          int64_t batch, uint64_t seed,
                          const std::optional<TargetShape>& target = std::nullopt);

// "HxW" -> (H, W); Error otherwise.
std::pair<int64_t, int64_t> parse_resize(const std::string& text);

}  // namespace cnnmem
