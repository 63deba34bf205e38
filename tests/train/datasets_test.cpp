// Tests for train/datasets.h: any IDX set by folder and prefix (gzip and plain, t10k- or test-
// names), the held-out split of a set without a test part (sizes, the same samples for every
// seed, disjoint from training), the fit of a data set to a model (shapes, classes, targets), and
// the errors a user sees for a bad spec.
// Not here: the file formats (tests/io/), training on the formats (tests/apps/data_cli_test.cpp).
#include "train/datasets.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "tests/util/expect_error.h"
#include "tests/util/idx_writer.h"
#include "tests/util/shape_images.h"
#include "tests/util/temp_dir.h"
#include "tests/util/tiny_model.h"

namespace cnnmem::test {
namespace {

class Datasets : public TempDirTest {
 protected:
  // An IDX pair `prefix`{split}-images/labels with n images of 2x2 whose first pixel is i and
  // label i % classes.
  void write_idx(const std::string& prefix, const std::string& split, uint32_t n, int classes,
                 bool gz = true) {
    std::vector<uint8_t> pixels(size_t{n} * 4), labels(n);
    for (uint32_t i = 0; i < n; ++i) {
      pixels[size_t{i} * 4] = static_cast<uint8_t>(i);
      labels[i] = static_cast<uint8_t>(i % static_cast<uint32_t>(classes));
    }
    const std::string ext = gz ? ".gz" : "";
    const auto write = [&](const std::string& name, const std::vector<uint8_t>& bytes) {
      if (gz) {
        write_gz(path(name), bytes);
      } else {
        write_file(path(name), std::string(bytes.begin(), bytes.end()));
      }
    };
    write(prefix + split + "-images-idx3-ubyte" + ext, idx_bytes(kIdxImages, {n, 2, 2}, pixels));
    write(prefix + split + "-labels-idx1-ubyte" + ext, idx_bytes(kIdxLabels, {n}, labels));
  }
  DataSet read(const std::string& spec, double val_fraction = -1) {
    DataOptions o;
    o.spec = spec;
    o.val_fraction = val_fraction;
    return read_data_set(o);
  }
};

TEST_F(Datasets, IdxFolderWithTrainAndT10kPairs) {
  write_idx("", "train", 12, 3);
  write_idx("", "t10k", 5, 3, /*gz=*/false);
  const DataSet set = read("idx:" + dir_.string());
  EXPECT_EQ(set.train.count, 12);
  EXPECT_EQ(set.test.count, 5);
  EXPECT_EQ(set.dims(), (Dims{1, 2, 2}));
  EXPECT_EQ(set.classes(), 3);
  EXPECT_EQ(set.test_from, "the test split");
  EXPECT_EQ(set.train.pixels[4 * 7], 7);
  EXPECT_EQ(set.bytes(), 12 * 5 + 5 * 5);
}

TEST_F(Datasets, IdxPrefixPicksOneSetAmongSeveral) {
  write_idx("emnist-letters-", "train", 6, 2);
  write_idx("emnist-letters-", "test", 4, 2);
  write_idx("emnist-digits-", "train", 8, 4);
  write_idx("emnist-digits-", "test", 2, 4);
  const DataSet set = read("idx:" + (dir_ / "emnist-digits").string());
  EXPECT_EQ(set.train.count, 8);
  EXPECT_EQ(set.test.count, 2);
  expect_error([&] { read("idx:" + dir_.string()); },
               "2 files match *train-images*idx3* in " + dir_.string() +
                   " (emnist-digits-train-images-idx3-ubyte.gz, "
                   "emnist-letters-train-images-idx3-ubyte.gz): name the set's prefix");
}

TEST_F(Datasets, IdxErrorsNameTheMissingFile) {
  write_idx("", "train", 6, 2);
  expect_error([&] { read("idx:" + dir_.string()); },
               "no *test-images*idx3* file in " + dir_.string());
  expect_error([&] { read("idx:" + (dir_ / "nothing" / "x").string()); }, "is not a directory");
}

TEST_F(Datasets, HeldOutSplitIsFixedDisjointAndSized) {
  // 50 grey 1x1 images whose pixel is their index; labels index % 2.
  std::string pixels, labels;
  for (int i = 0; i < 50; ++i) {
    pixels += static_cast<char>(i);
    labels += static_cast<char>(i % 2);
  }
  write_file(path("x.npy"), npy_file("|u1", "(50, 1, 1)", pixels));
  write_file(path("y.npy"), npy_file("|u1", "(50,)", labels));
  const std::string spec = "npy:" + path("x.npy") + "," + path("y.npy");
  const DataSet a = read(spec);
  EXPECT_EQ(a.train.count, 45);
  EXPECT_EQ(a.test.count, 5);
  EXPECT_EQ(a.test_from, "10% held out");
  const DataSet b = read(spec, 0.3);
  EXPECT_EQ(b.test.count, 15);
  EXPECT_EQ(b.test_from, "30% held out");
  std::set<int> seen;
  for (uint8_t p : b.train.pixels) seen.insert(p);
  for (uint8_t p : b.test.pixels) seen.insert(p);
  EXPECT_EQ(seen.size(), 50u);  // disjoint, and together every sample
  for (int64_t i = 0; i < b.test.count; ++i) {
    EXPECT_EQ(b.test.labels[static_cast<size_t>(i)], b.test.pixels[static_cast<size_t>(i)] % 2);
  }
  // The held-out samples do not depend on anything but the data and the fraction.
  EXPECT_EQ(read(spec, 0.3).test.pixels, b.test.pixels);
  expect_error([&] { read(spec, 1.0); }, "val_fraction must be in (0, 1)");
  expect_error([&] { read(spec, 0.0); }, "val_fraction must be in (0, 1)");
  write_idx("", "train", 40, 4);
  write_idx("", "t10k", 3, 4);
  expect_error([&] { read("idx:" + dir_.string(), 0.25); },
               "val_fraction applies to data without a test part");
}

TEST_F(Datasets, FitChecksShapesClassesAndTargets) {
  write_idx("", "train", 10, 3);
  write_idx("", "t10k", 4, 3);
  const std::string spec = "idx:" + dir_.string();
  const Graph tiny = tiny_model(3);  // 1x2x2, 3 classes
  const TrainData d = fit_data_to_model(read(spec), tiny, {TargetKind::kClass, 1, 3});
  EXPECT_EQ(d.dims, (Dims{1, 2, 2}));
  EXPECT_EQ(d.train().count, 10);
  EXPECT_EQ(d.test().count, 4);
  EXPECT_EQ(d.bytes(), 10 * 5 + 4 * 5);
  // Fewer classes in the data than outputs are fine; more are not.
  EXPECT_NO_THROW(fit_data_to_model(read(spec), tiny_model(5), {TargetKind::kClass, 1, 5}));
  EXPECT_EQ(error_of([&] {
              fit_data_to_model(read(spec), tiny_model(2), {TargetKind::kClass, 1, 2});
            }),
            "model tiny has 2 classes; the " + spec +
                " labels go up to 2: give a model with at least 3 outputs");
  expect_error(
      [&] {
        fit_data_to_model(read(spec), tiny, {TargetKind::kDense, 3, 0});
      },
      "has one class label per image; the loss wants dense targets");
  Graph wide("wide", {1, 3, 3}, 3);
  expect_error(
      [&] {
        fit_data_to_model(read(spec), wide, {TargetKind::kClass, 1, 3});
      },
      "model wide takes 1x3x3 input; the " + spec + " images are 1x2x2");
}

TEST_F(Datasets, BadSpecsAreRejected) {
  expect_error([&] { read("cifar"); }, "data set \"cifar\" is unknown: use fashion-mnist");
  expect_error([&] { read("imagenet:/x"); }, "data set \"imagenet:/x\" is unknown");
  expect_error([&] { read("synthetic"); }, "data set \"synthetic\" is unknown");
  expect_error([&] { read("npy:a.npy"); }, "give two files, npy:IMAGES.npy,LABELS.npy");
  expect_error([&] { read("npy:a.npy,b.npy,c.npy"); }, "give two files");
  write_idx("", "train", 6, 2);
  write_idx("", "t10k", 2, 2);
  DataOptions o;
  o.spec = "idx:" + dir_.string();
  o.resize = std::make_pair(int64_t{4}, int64_t{4});
  expect_error([&] { read_data_set(o); }, "resize applies to folder:DIR data");
  EXPECT_EQ(parse_resize("32x48"), std::make_pair(int64_t{32}, int64_t{48}));
  for (const char* bad : {"32", "x32", "0x4", "4x", "4x-1", "1e3x4"}) {
    expect_error([&] { parse_resize(bad); }, "give the height and width in pixels");
  }
}

}  // namespace
}  // namespace cnnmem::test
