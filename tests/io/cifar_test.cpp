// Tests for io/cifar.h: CIFAR-10 and CIFAR-100 batches written record by record, fine and coarse
// labels, the split's files concatenated in order, the distributed sub-folder, and every
// rejection with its message, in memory (as the fuzzer feeds them) and from files.
// Not here: the real data sets (not installed on the build machines).
#include "io/cifar.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/util/expect_error.h"
#include "tests/util/temp_dir.h"

namespace cnnmem::test {
namespace {

namespace fs = std::filesystem;

// One record: the label bytes, then 3072 pixels whose byte i is (seed + i) mod 256.
std::vector<uint8_t> record(const std::vector<uint8_t>& label_bytes, int seed) {
  std::vector<uint8_t> r = label_bytes;
  for (int i = 0; i < 3072; ++i) r.push_back(static_cast<uint8_t>(seed + i));
  return r;
}

std::vector<uint8_t> concat(const std::vector<std::vector<uint8_t>>& parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(CifarTest, ParsesCifar10Records) {
  const ImageData d = parse_cifar(concat({record({3}, 0), record({9}, 7)}), "data_batch_1.bin", 10);
  EXPECT_EQ(d.count, 2);
  EXPECT_EQ(d.channels, 3);
  EXPECT_EQ(d.height, 32);
  EXPECT_EQ(d.width, 32);
  EXPECT_EQ(d.classes, 10);
  EXPECT_EQ(d.labels, (std::vector<uint8_t>{3, 9}));
  ASSERT_EQ(d.pixels.size(), 2u * 3072);
  EXPECT_EQ(d.pixels[0], 0);
  EXPECT_EQ(d.pixels[1024], 0);    // G plane of image 0: 1024 mod 256
  EXPECT_EQ(d.pixels[3071], 255);  // last B pixel of image 0
  EXPECT_EQ(d.pixels[3072], 7);    // image 1 starts right after its label
  EXPECT_EQ(d.pixels[3072 + 5], 12);
  EXPECT_FALSE(d.is_float());
}

TEST(CifarTest, ParsesCifar100FineOrCoarseLabels) {
  const std::vector<uint8_t> bytes = concat({record({19, 99}, 1), record({0, 42}, 2)});
  const ImageData fine = parse_cifar(bytes, "train.bin", 100);
  EXPECT_EQ(fine.classes, 100);
  EXPECT_EQ(fine.labels, (std::vector<uint8_t>{99, 42}));
  EXPECT_EQ(fine.pixels[0], 1);
  EXPECT_EQ(fine.pixels[3072], 2);
  const ImageData coarse = parse_cifar(bytes, "train.bin", 100, true);
  EXPECT_EQ(coarse.classes, 20);
  EXPECT_EQ(coarse.labels, (std::vector<uint8_t>{19, 0}));
  EXPECT_EQ(coarse.pixels, fine.pixels);
}

TEST(CifarTest, RejectsMalformedBatches) {
  const std::vector<uint8_t> one = record({1}, 0);
  expect_error([&] { parse_cifar({}, "b.bin", 10); },
               "cifar10: b.bin is empty; re-extract or re-download the data set");
  std::vector<uint8_t> cut = concat({one, one});
  cut.pop_back();
  expect_error([&] { parse_cifar(cut, "b.bin", 10); },
               "cifar10: b.bin is 6145 bytes, not a whole number of 3073-byte records (1 records "
               "+ 3072 bytes); the file is truncated or not this data set, re-download it");
  expect_error([&] { parse_cifar(one, "train.bin", 100); },
               "cifar100: train.bin is 3073 bytes, "
               "not a whole number of 3074-byte");
  expect_error(
      [&] {
        parse_cifar(concat({one, record({10}, 0)}), "b.bin", 10);
      },
      "cifar10: b.bin: record 1 has label 10, not below 10 classes; the file is corrupt "
      "or not this data set");
  expect_error(
      [&] {
        parse_cifar(record({1, 100}, 0), "t.bin", 100);
      },
      "cifar100: t.bin: record 0 has label 100, not below 100 classes");
  expect_error(
      [&] {
        parse_cifar(record({20, 1}, 0), "t.bin", 100, true);
      },
      "record 0 has label 20, not below 20 classes");
  expect_error([&] { parse_cifar(one, "b.bin", 7); },
               "cifar: classes = 7 names no CIFAR version; use 10 (CIFAR-10) or 100 (CIFAR-100)");
  expect_error([&] { parse_cifar(one, "b.bin", 10, true); },
               "cifar10: coarse labels exist only in CIFAR-100; use classes = 100 or drop coarse");
}

class CifarFileTest : public TempDirTest {
 protected:
  // CIFAR-10's six batch files in `dir`, batch b holding b records labelled b (test: label 0).
  void write_cifar10(const fs::path& dir) {
    fs::create_directories(dir);
    for (int b = 1; b <= 5; ++b) {
      std::vector<std::vector<uint8_t>> records;
      for (int r = 0; r < b; ++r) records.push_back(record({static_cast<uint8_t>(b)}, 10 * b + r));
      write_file(dir / ("data_batch_" + std::to_string(b) + ".bin"), concat(records));
    }
    write_file(dir / "test_batch.bin", record({0}, 99));
  }
};

TEST_F(CifarFileTest, ConcatenatesTheTrainBatchesInOrder) {
  write_cifar10(dir_);
  const ImageData train = read_cifar(dir_.string(), 10, "train");
  ASSERT_EQ(train.count, 15);
  EXPECT_EQ(train.labels, (std::vector<uint8_t>{1, 2, 2, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 5}));
  EXPECT_EQ(train.pixels.size(), 15u * 3072);
  EXPECT_EQ(train.pixels[0], 10);
  EXPECT_EQ(train.pixels[2 * 3072], 21);   // batch 2, record 1
  EXPECT_EQ(train.pixels[14 * 3072], 54);  // batch 5, record 4
  const ImageData test = read_cifar(dir_.string(), 10, "test");
  EXPECT_EQ(test.count, 1);
  EXPECT_EQ(test.pixels[0], 99);
}

TEST_F(CifarFileTest, DescendsIntoTheDistributedFolder) {
  write_cifar10(dir_ / "cifar-10-batches-bin");
  EXPECT_EQ(read_cifar(dir_.string(), 10, "test").count, 1);
  fs::create_directories(dir_ / "cifar-100-binary");
  write_file(dir_ / "cifar-100-binary" / "test.bin",
             concat({record({4, 44}, 0), record({5, 55}, 0)}));
  write_file(dir_ / "cifar-100-binary" / "train.bin", record({4, 44}, 0));
  const ImageData coarse = read_cifar(dir_.string(), 100, "test", true);
  EXPECT_EQ(coarse.labels, (std::vector<uint8_t>{4, 5}));
  EXPECT_EQ(read_cifar(dir_.string(), 100, "train").labels, (std::vector<uint8_t>{44}));
}

TEST_F(CifarFileTest, RejectsMissingAndBrokenFiles) {
  expect_error([&] { read_cifar(dir_.string(), 10, "train"); },
               "cifar10: " + (dir_ / "data_batch_1.bin").string() +
                   " not found; the directory must hold data_batch_1.bin, data_batch_2.bin, "
                   "data_batch_3.bin, data_batch_4.bin, data_batch_5.bin and test_batch.bin (the "
                   "binary version's cifar-10-batches-bin folder), or that folder");
  expect_error([&] { read_cifar(dir_.string(), 100, "test"); },
               "cifar100: " + (dir_ / "test.bin").string() +
                   " not found; the directory must hold train.bin and test.bin");
  write_cifar10(dir_);
  fs::remove(dir_ / "data_batch_4.bin");
  expect_error([&] { read_cifar(dir_.string(), 10, "train"); },
               (dir_ / "data_batch_4.bin").string() + " not found");
  write_file(dir_ / "data_batch_4.bin", std::vector<uint8_t>(100, 1));
  expect_error([&] { read_cifar(dir_.string(), 10, "train"); },
               "cifar10: " + (dir_ / "data_batch_4.bin").string() + " is 100 bytes, not a whole");
  write_file(dir_ / "test_batch.bin", std::vector<uint8_t>());
  expect_error([&] { read_cifar(dir_.string(), 10, "test"); },
               (dir_ / "test_batch.bin").string() + " is empty");
  expect_error([&] { read_cifar(dir_.string(), 10, "valid"); },
               "cifar10: unknown split \"valid\"; use \"train\" or \"test\"");
}

}  // namespace
}  // namespace cnnmem::test
