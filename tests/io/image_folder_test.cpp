// Tests for io/image_folder.h: the one- and two-split layouts, class and file order, skipped
// entries, the resize and channel options, the parallel decode against decode_one, and every
// rejection with its message.
//
// Each test builds its data set in its own temporary directory with tests/util/image_writer.h.
// Not here: the decoders' pixel-level behaviour (tests/io/image_decode_test.cpp).
#include "io/image_folder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/util/expect_error.h"
#include "tests/util/image_writer.h"
#include "tests/util/temp_dir.h"

namespace cnnmem::test {
namespace {

namespace fs = std::filesystem;

class ImageFolderTest : public TempDirTest {
 protected:
  // A PNG at `rel` (directories made) whose every pixel is `value`; returns its pixels.
  std::vector<uint8_t> png(const std::string& rel, int channels, int h, int w, uint8_t value) {
    fs::create_directories((dir_ / rel).parent_path());
    std::vector<uint8_t> px(static_cast<size_t>(channels * h * w));
    for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(value + i);
    write_png(path(rel), channels, h, w, px.data());
    return px;
  }
  std::string root() const { return dir_.string(); }
};

TEST_F(ImageFolderTest, OneSplitSortsClassesAndFilesAndSkipsOthers) {
  const std::vector<uint8_t> b = png("cat/b.png", 3, 2, 2, 50);
  const std::vector<uint8_t> a = png("cat/a.PNG", 3, 2, 2, 10);
  std::vector<uint8_t> c(12, 90);
  fs::create_directories(dir_ / "dog");
  write_jpeg(path("dog/c.jpeg"), 3, 2, 2, c.data(), 100);
  write_file(dir_ / "cat" / "notes.txt", "not an image");
  write_file(dir_ / "cat" / ".DS_Store", "hidden");
  png(".hidden_class/x.png", 3, 2, 2, 0);
  png("cat/nested/y.png", 3, 2, 2, 0);
  write_file(dir_ / "README", "top-level files are no classes");

  const ImageFolderListing l = list_image_folder(root());
  EXPECT_EQ(l.class_names, (std::vector<std::string>{"cat", "dog"}));
  ASSERT_EQ(l.train.size(), 3u);
  EXPECT_EQ(fs::path(l.train[0].path).filename(), "a.PNG");
  EXPECT_EQ(fs::path(l.train[1].path).filename(), "b.png");
  EXPECT_EQ(l.train[2].label, 1);
  EXPECT_FALSE(l.has_split);
  EXPECT_TRUE(l.test.empty());
  EXPECT_EQ(l.skipped, (std::vector<std::string>{path("cat/nested"), path("cat/notes.txt")}));

  const ImageFolder f = read_image_folder(root());
  EXPECT_EQ(f.class_names, l.class_names);
  EXPECT_FALSE(f.has_split);
  EXPECT_EQ(f.train.count, 3);
  EXPECT_EQ(f.train.channels, 3);
  EXPECT_EQ(f.train.height, 2);
  EXPECT_EQ(f.train.width, 2);
  EXPECT_EQ(f.train.classes, 2);
  EXPECT_EQ(f.train.labels, (std::vector<uint8_t>{0, 0, 1}));
  EXPECT_EQ(std::vector<uint8_t>(f.train.pixels.begin(), f.train.pixels.begin() + 12), a);
  EXPECT_EQ(std::vector<uint8_t>(f.train.pixels.begin() + 12, f.train.pixels.begin() + 24), b);
  for (size_t i = 24; i < 36; ++i) EXPECT_NEAR(f.train.pixels[i], 90, 2) << i;
  EXPECT_EQ(f.test.count, 0);
  EXPECT_TRUE(f.test.pixels.empty());
}

TEST_F(ImageFolderTest, TwoSplitsWithValOrTest) {
  png("train/a/1.png", 1, 3, 3, 1);
  png("train/b/1.png", 1, 3, 3, 2);
  png("train/b/2.png", 1, 3, 3, 3);
  const std::vector<uint8_t> v = png("val/b/9.png", 1, 3, 3, 200);
  png("val/a/8.png", 1, 3, 3, 100);
  ImageFolder f = read_image_folder(root());
  EXPECT_TRUE(f.has_split);
  EXPECT_EQ(f.test_split, "val");
  EXPECT_EQ(f.train.count, 3);
  EXPECT_EQ(f.train.labels, (std::vector<uint8_t>{0, 1, 1}));
  EXPECT_EQ(f.test.count, 2);
  EXPECT_EQ(f.test.classes, 2);
  EXPECT_EQ(f.test.labels, (std::vector<uint8_t>{0, 1}));
  EXPECT_EQ(std::vector<uint8_t>(f.test.pixels.begin() + 9, f.test.pixels.end()), v);

  fs::rename(dir_ / "val", dir_ / "test");
  f = read_image_folder(root());
  EXPECT_TRUE(f.has_split);
  EXPECT_EQ(f.test_split, "test");
  EXPECT_EQ(f.test.count, 2);

  fs::remove_all(dir_ / "test");  // train/ alone: one split
  f = read_image_folder(root());
  EXPECT_FALSE(f.has_split);
  EXPECT_EQ(f.train.count, 3);
  EXPECT_EQ(f.class_names, (std::vector<std::string>{"a", "b"}));
}

TEST_F(ImageFolderTest, ResizeAndChannelOptionsGiveOneShape) {
  png("a/1.png", 1, 2, 2, 100);  // grey 2x2
  png("a/2.png", 3, 4, 6, 0);    // RGB 4x6
  ImageFolderOptions o;
  o.resize = {{3, 5}};
  o.channels = 3;
  const ImageFolder f = read_image_folder(root(), o);
  EXPECT_EQ(f.train.channels, 3);
  EXPECT_EQ(f.train.height, 3);
  EXPECT_EQ(f.train.width, 5);
  ASSERT_EQ(f.train.pixels.size(), 2u * 3 * 3 * 5);
  // The grey image is replicated into the three planes.
  for (size_t i = 0; i < 15; ++i) {
    EXPECT_EQ(f.train.pixels[i], f.train.pixels[15 + i]);
    EXPECT_EQ(f.train.pixels[i], f.train.pixels[30 + i]);
  }
  const DecodedImage second = decode_one(path("a/2.png"), o);
  EXPECT_EQ(std::vector<uint8_t>(f.train.pixels.begin() + 45, f.train.pixels.end()), second.pixels);

  o.channels = 1;
  const ImageFolder g = read_image_folder(root(), o);
  EXPECT_EQ(g.train.channels, 1);
  EXPECT_EQ(g.train.pixels.size(), 2u * 15);
}

TEST_F(ImageFolderTest, ParallelDecodeMatchesDecodeOneInOrder) {
  for (int i = 0; i < 40; ++i) {
    png("c" + std::to_string(i % 3) + "/img" + std::to_string(100 + i) + ".png", 3, 5, 7,
        static_cast<uint8_t>(i * 5));
  }
  const ImageFolderListing l = list_image_folder(root());
  const ImageFolder f = read_image_folder(root());
  ASSERT_EQ(f.train.count, 40);
  for (size_t i = 0; i < l.train.size(); ++i) {
    const DecodedImage d = decode_one(l.train[i].path, {});
    EXPECT_EQ(std::vector<uint8_t>(f.train.pixels.begin() + static_cast<ptrdiff_t>(i * 105),
                                   f.train.pixels.begin() + static_cast<ptrdiff_t>(i * 105 + 105)),
              d.pixels)
        << i;
    EXPECT_EQ(f.train.labels[i], l.train[i].label);
  }
}

TEST_F(ImageFolderTest, RejectsMissingOrEmptyFolders) {
  expect_error([&] { read_image_folder(path("nope")); }, "nope not found; check the path");
  write_file(dir_ / "file", "x");
  expect_error([&] { read_image_folder(path("file")); }, "file is not a directory");
  fs::remove(dir_ / "file");
  EXPECT_EQ(error_of([&] { read_image_folder(root()); }),
            "image folder: " + root() + " has no class sub-folders; put each class's images in " +
                path("<class>") + "/");
  png("a/1.png", 1, 2, 2, 0);
  fs::create_directories(dir_ / "b");
  write_file(dir_ / "b" / "x.gif", "GIF89a");
  EXPECT_EQ(error_of([&] { read_image_folder(root()); }),
            "image folder: class folder " + path("b") +
                " has no .png, .jpg or .jpeg images; add images or remove the folder");
}

TEST_F(ImageFolderTest, RejectsMoreThan256Classes) {
  for (int i = 0; i < 257; ++i) fs::create_directories(dir_ / ("c" + std::to_string(i)));
  expect_error([&] { list_image_folder(root()); },
               "has 257 class folders, more than the 256 supported (labels are one byte)");
}

TEST_F(ImageFolderTest, RejectsSplitsWithDifferentClasses) {
  png("train/a/1.png", 1, 2, 2, 0);
  png("train/bird/1.png", 1, 2, 2, 0);
  png("val/a/1.png", 1, 2, 2, 0);
  png("val/fish/1.png", 1, 2, 2, 0);
  png("val/goat/1.png", 1, 2, 2, 0);
  EXPECT_EQ(error_of([&] { list_image_folder(root()); }),
            "image folder: " + path("val") + " and " + path("train") +
                " have different class folders (only in train: bird; only in val: fish, goat); "
                "both splits need the same classes");
}

TEST_F(ImageFolderTest, RejectsValWithoutTrain) {
  png("val/a/1.png", 1, 2, 2, 0);
  expect_error([&] { list_image_folder(root()); }, root() + " has val/ but no train/");
}

TEST_F(ImageFolderTest, RejectsMixedSizesAndChannelsNamingTheFix) {
  png("a/1.png", 3, 2, 2, 0);
  png("a/2.png", 3, 3, 4, 0);
  EXPECT_EQ(error_of([&] { read_image_folder(root()); }),
            "image folder: " + path("a/2.png") + " is 3x4 (HxW), the first image " +
                path("a/1.png") + " is 2x2; resize them all to one size with resize HxW");
  try {
    read_image_folder(root());
  } catch (const Error& e) {
    EXPECT_THAT(e.text([](const std::string& key) { return "--" + key; }),
                ::testing::EndsWith("with --resize HxW"));
  }
  png("a/2.png", 1, 2, 2, 0);
  EXPECT_EQ(error_of([&] { read_image_folder(root()); }),
            "image folder: " + path("a/2.png") + " has 1 channel(s), the first image " +
                path("a/1.png") + " has 3; convert them all with channels 1 or 3");
}

TEST_F(ImageFolderTest, RejectsBadImagesReportingTheFirstInOrder) {
  png("a/1.png", 1, 2, 2, 0);
  write_file(dir_ / "a" / "2.png", "not a png at all");
  png("a/3.png", 1, 2, 2, 0);
  write_file(dir_ / "a" / "4.jpg", "\xFF\xD8\xFF garbage");
  for (int i = 0; i < 5; ++i) {  // whatever the scheduling, 2.png is reported
    expect_error([&] { read_image_folder(root()); },
                 path("a/2.png") + " is neither a PNG nor a JPEG file");
  }
  fs::remove(dir_ / "a" / "2.png");
  expect_error([&] { read_image_folder(root()); }, path("a/4.jpg") + " is a corrupt JPEG file");
}

TEST_F(ImageFolderTest, RejectsBadOptions) {
  png("a/1.png", 1, 2, 2, 0);
  ImageFolderOptions o;
  o.channels = 2;
  expect_error([&] { read_image_folder(root(), o); }, "channels 2 is not supported");
  o.channels.reset();
  o.resize = {{0, 3}};
  expect_error([&] { read_image_folder(root(), o); }, "resize 0x3 is out of range");
}

}  // namespace
}  // namespace cnnmem::test
