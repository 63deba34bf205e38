// Tests for io/npy.h's image loader: (N, C, H, W), (N, H, W, C) and (N, H, W) arrays of uint8 and
// float32 with integer labels, the layout rule and its override, and every rejection with its
// message, in memory and from files written byte by byte.
// Not here: the .npy parser itself (tests/io/npy_test.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "io/npy.h"
#include "tests/util/expect_error.h"
#include "tests/util/npy_writer.h"
#include "tests/util/temp_dir.h"

namespace cnnmem::test {
namespace {

// A C-order array of `shape` whose element i is `value(i)` (as T), written as `descr`.
template <typename T>
NpyArray array_of(const std::string& descr, const std::vector<int64_t>& shape,
                  T (*value)(int64_t)) {
  std::string shape_text = "(";
  int64_t n = 1;
  for (int64_t d : shape) {
    shape_text += std::to_string(d) + ",";
    n *= d;
  }
  std::vector<T> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) values[static_cast<size_t>(i)] = value(i);
  return parse_npy(npy_file(npy_dict(descr, shape_text + ")"), bytes_of(values)), "x.npy");
}

uint8_t index_byte(int64_t i) { return static_cast<uint8_t>(i); }
float index_float(int64_t i) { return static_cast<float>(i) * 0.5f; }

template <typename T>
NpyArray labels_of(const std::string& descr, const std::vector<T>& labels) {
  return parse_npy(
      npy_file(npy_dict(descr, "(" + std::to_string(labels.size()) + ",)"), bytes_of(labels)),
      "y.npy");
}

ImageData pair(const NpyArray& images, const NpyArray& labels,
               std::optional<bool> channels_last = std::nullopt) {
  return npy_image_data(images, "x.npy", labels, "y.npy", channels_last);
}

TEST(NpyImagesTest, KeepsNchwUint8AsItIs) {
  const ImageData d =
      pair(array_of<uint8_t>("|u1", {2, 3, 2, 2}, index_byte), labels_of<int64_t>("<i8", {4, 0}));
  EXPECT_EQ(d.count, 2);
  EXPECT_EQ(d.channels, 3);
  EXPECT_EQ(d.height, 2);
  EXPECT_EQ(d.width, 2);
  EXPECT_FALSE(d.is_float());
  ASSERT_EQ(d.pixels.size(), 24u);
  for (size_t i = 0; i < 24; ++i) EXPECT_EQ(d.pixels[i], i);
  EXPECT_EQ(d.labels, (std::vector<uint8_t>{4, 0}));
  EXPECT_EQ(d.classes, 5);
}

TEST(NpyImagesTest, TransposesNhwcToNchw) {
  // (N=2, H=2, W=2, C=3): element (n, y, x, c) is at ((n * 2 + y) * 2 + x) * 3 + c.
  const ImageData d =
      pair(array_of<uint8_t>("|u1", {2, 2, 2, 3}, index_byte), labels_of<uint8_t>("|u1", {1, 2}));
  ASSERT_EQ(d.channels, 3);
  ASSERT_EQ(d.height, 2);
  ASSERT_EQ(d.width, 2);
  for (int n = 0; n < 2; ++n) {
    for (int c = 0; c < 3; ++c) {
      for (int y = 0; y < 2; ++y) {
        for (int x = 0; x < 2; ++x) {
          EXPECT_EQ(d.pixels[static_cast<size_t>(((n * 3 + c) * 2 + y) * 2 + x)],
                    ((n * 2 + y) * 2 + x) * 3 + c);
        }
      }
    }
  }
  EXPECT_EQ(d.classes, 3);
}

TEST(NpyImagesTest, ReadsFloatImagesInEveryLayout) {
  const ImageData grey =
      pair(array_of<float>("<f4", {2, 3, 4}, index_float), labels_of<int32_t>("<i4", {0, 9}));
  EXPECT_EQ(grey.channels, 1);
  EXPECT_EQ(grey.height, 3);
  EXPECT_EQ(grey.width, 4);
  ASSERT_TRUE(grey.is_float());
  EXPECT_TRUE(grey.pixels.empty());
  EXPECT_EQ(grey.values[23], 11.5f);
  EXPECT_EQ(grey.classes, 10);

  const ImageData hwc =
      pair(array_of<float>("<f4", {1, 5, 6, 4}, index_float), labels_of<uint16_t>("<u2", {255}));
  EXPECT_EQ(hwc.channels, 4);
  EXPECT_EQ(hwc.height, 5);
  EXPECT_EQ(hwc.width, 6);
  // (c=1, y=2, x=3) was element (2 * 6 + 3) * 4 + 1 = 61.
  EXPECT_EQ(hwc.values[static_cast<size_t>((1 * 5 + 2) * 6 + 3)], 30.5f);
  EXPECT_EQ(hwc.classes, 256);
}

TEST(NpyImagesTest, DecidesAmbiguousLayoutsByTheRuleOrTheOverride) {
  const auto images = [](std::vector<int64_t> shape) {
    return array_of<uint8_t>("|u1", shape, index_byte);
  };
  const NpyArray one = labels_of<int8_t>("|i1", {0});
  // Both dimension 1 and 3 could be channels: (N, C, H, W).
  EXPECT_EQ(pair(images({1, 3, 5, 3}), one).channels, 3);
  EXPECT_EQ(pair(images({1, 3, 5, 3}), one).width, 3);
  // Neither could: (N, C, H, W) while shape[1] <= 4, else (N, H, W, C) while shape[3] <= 4.
  EXPECT_EQ(pair(images({1, 2, 6, 7}), one).channels, 2);
  const ImageData last = pair(images({1, 6, 7, 2}), one);
  EXPECT_EQ(last.channels, 2);
  EXPECT_EQ(last.height, 6);
  EXPECT_EQ(last.width, 7);
  // The override decides, even where the rule would not have.
  const ImageData told = pair(images({1, 3, 5, 3}), one, true);
  EXPECT_EQ(told.channels, 3);
  EXPECT_EQ(told.height, 3);
  EXPECT_EQ(told.width, 5);
  const ImageData wide = pair(images({1, 6, 6, 6}), one, false);
  EXPECT_EQ(wide.channels, 6);
  expect_error(
      [&] {
        pair(images({1, 6, 6, 6}), one);
      },
      "npy: x.npy has shape (1, 6, 6, 6), where neither dimension 1 nor 3 looks like a "
      "channel count (1, 3 or 4); pass channels_last (true: N, H, W, C)");
}

TEST(NpyImagesTest, ReadsEveryIntegerLabelType) {
  const NpyArray images = array_of<uint8_t>("|u1", {3, 2, 2}, index_byte);
  const std::vector<uint8_t> want = {7, 0, 255};
  EXPECT_EQ(pair(images, labels_of<uint8_t>("|u1", {7, 0, 255})).labels, want);
  EXPECT_EQ(pair(images, labels_of<int16_t>("<i2", {7, 0, 255})).labels, want);
  EXPECT_EQ(pair(images, labels_of<uint32_t>("<u4", {7, 0, 255})).labels, want);
  EXPECT_EQ(pair(images, labels_of<uint64_t>("<u8", {7, 0, 255})).labels, want);
}

TEST(NpyImagesTest, RejectsLabelsThatDoNotFitOneByteOrTheImages) {
  const NpyArray images = array_of<uint8_t>("|u1", {3, 2, 2}, index_byte);
  expect_error(
      [&] {
        pair(images, labels_of<int64_t>("<i8", {1, 256, 0}));
      },
      "npy: y.npy: label 1 is 256, outside [0, 255]; cnnmem keeps a label in one byte");
  expect_error([&] { pair(images, labels_of<int32_t>("<i4", {1, 2, -1})); }, "label 2 is -1");
  expect_error(
      [&] {
        pair(images, labels_of<uint64_t>("<u8", {std::numeric_limits<uint64_t>::max(), 1, 1}));
      },
      "label 0 is 18446744073709551615, outside");
  expect_error(
      [&] {
        pair(images, labels_of<float>("<f4", {1, 2, 3}));
      },
      "npy: y.npy has dtype f4; labels must be integers: np.save(f, y.astype(np.int64))");
  expect_error(
      [&] {
        pair(images, array_of<uint8_t>("|u1", {3, 1}, index_byte));
      },
      "npy: y.npy has shape (3, 1); labels must be 1-d (N): np.save(f, y.reshape(-1))");
  expect_error(
      [&] {
        pair(images, labels_of<uint8_t>("|u1", {1, 2}));
      },
      "npy: x.npy holds 3 images but y.npy holds 2 labels; the files do not belong");
}

TEST(NpyImagesTest, RejectsImagesOfOtherTypesShapesOrValues) {
  const NpyArray one = labels_of<uint8_t>("|u1", {0});
  const NpyArray f8 =
      parse_npy(npy_file(npy_dict("<f8", "(1, 2, 2)"), std::vector<uint8_t>(32)), "x.npy");
  expect_error([&] { pair(f8, one); },
               "npy: x.npy has dtype f8; images must be uint8 (pixels 0..255) or float32: "
               "np.save(f, x.astype(np.float32))");
  const NpyArray i4 =
      parse_npy(npy_file(npy_dict("<i4", "(1, 2, 2)"), std::vector<uint8_t>(16)), "x.npy");
  expect_error([&] { pair(i4, one); },
               "has dtype i4; images must be uint8 (pixels 0..255) or "
               "float32: np.save(f, x.astype(np.uint8))");
  expect_error(
      [&] {
        pair(array_of<uint8_t>("|u1", {1, 4}, index_byte), one);
      },
      "npy: x.npy has shape (1, 4); images must be (N, H, W), (N, C, H, W) or (N, H, W, C)");
  expect_error(
      [&] {
        pair(array_of<uint8_t>("|u1", {1, 1, 2, 2, 1}, index_byte), one);
      },
      "has shape (1, 1, 2, 2, 1); images must be");
  expect_error(
      [&] {
        pair(array_of<uint8_t>("|u1", {0, 2, 2}, index_byte), one);
      },
      "npy: x.npy has shape (0, 2, 2): no images");
  expect_error(
      [&] {
        pair(array_of<uint8_t>("|u1", {1, 3, 0, 2}, index_byte), one);
      },
      "npy: x.npy has shape (1, 3, 0, 2): its images are empty");

  const auto with = [](float bad) {
    std::vector<float> v(12, 0.25f);
    v[9] = bad;  // element 9: image 2 of (3, 2, 2)
    return parse_npy(npy_file(npy_dict("<f4", "(3, 2, 2)"), bytes_of(v)), "x.npy");
  };
  const NpyArray three = labels_of<uint8_t>("|u1", {0, 0, 0});
  expect_error([&] { pair(with(std::nanf("")), three); },
               "npy: x.npy: element 9 (image 2) is NaN; clean the images first, e.g. "
               "np.nan_to_num(x)");
  expect_error([&] { pair(with(-std::numeric_limits<float>::infinity()), three); },
               "element 9 (image 2) is inf");
}

class NpyImagesFileTest : public TempDirTest {};

TEST_F(NpyImagesFileTest, LoadsAPairOfFiles) {
  write_file(path("x.npy"),
             npy_file(npy_dict("|u1", "(2, 2, 1, 3)"), {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 2));
  write_file(path("y.npy"), npy_file(npy_dict("<i8", "(2,)"), bytes_of<int64_t>({1, 0})));
  const ImageData d = load_npy_images(path("x.npy"), path("y.npy"));
  EXPECT_EQ(d.channels, 3);  // (N, H, W, C): only the last dimension is a channel count
  EXPECT_EQ(d.height, 2);
  EXPECT_EQ(d.width, 1);
  EXPECT_EQ(d.pixels, (std::vector<uint8_t>{1, 4, 2, 5, 3, 6, 7, 10, 8, 11, 9, 12}));
  EXPECT_EQ(d.labels, (std::vector<uint8_t>{1, 0}));
  EXPECT_EQ(d.classes, 2);
  EXPECT_EQ(load_npy_images(path("x.npy"), path("y.npy"), false).channels, 2);

  write_file(path("z.npy"), npy_file(npy_dict("<i8", "(3,)"), bytes_of<int64_t>({1, 0, 1})));
  expect_error(
      [&] { load_npy_images(path("x.npy"), path("z.npy")); },
      "npy: " + path("x.npy") + " holds 2 images but " + path("z.npy") + " holds 3 labels");
  expect_error([&] { load_npy_images(path("x.npy"), path("none.npy")); },
               path("none.npy") + " not found");
}

}  // namespace
}  // namespace cnnmem::test
