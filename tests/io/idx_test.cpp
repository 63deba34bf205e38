// Tests for io/idx.h: gzipped and plain IDX round trips, every rejection (from files and from
// memory, as the fuzzer feeds them), the image/label pairing, the real Fashion-MNIST.
//
// Small IDX files are written with zlib into a per-process temporary directory; the real data
// set test is skipped when /usr/share/datasets/fashion-mnist is not installed.
// Not here: data loading into tensors (tests/framework).
#include "io/idx.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include "framework/error.h"
#include "tests/util/expect_error.h"
#include "tests/util/idx_writer.h"
#include "tests/util/temp_dir.h"

namespace cnnmem::test {
namespace {

namespace fs = std::filesystem;

// Bytes that deflate does not shrink much, so cutting the .gz cuts the deflate stream.
std::vector<uint8_t> noise(size_t n) {
  std::vector<uint8_t> v(n);
  uint32_t x = 12345;
  for (auto& b : v) {
    x = x * 1664525u + 1013904223u;  // fixed-seed LCG
    b = static_cast<uint8_t>(x >> 24);
  }
  return v;
}

class IdxTest : public TempDirTest {
 protected:
  // A Fashion-MNIST-like pair for `prefix` ("train" or "t10k").
  void write_set(const std::string& prefix, uint32_t n, uint32_t rows, uint32_t cols,
                 const std::vector<uint8_t>& labels) {
    std::vector<uint8_t> pixels(size_t{n} * rows * cols);
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 7 + 1);
    write_gz(path(prefix + "-images-idx3-ubyte.gz"), idx_bytes(0x803, {n, rows, cols}, pixels));
    write_gz(path(prefix + "-labels-idx1-ubyte.gz"),
             idx_bytes(0x801, {static_cast<uint32_t>(labels.size())}, labels));
  }
};

TEST_F(IdxTest, ReadsGzippedArrayWithBigEndianDims) {
  std::vector<uint8_t> data(2 * 3 * 300);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i % 251);
  write_gz(path("a.gz"), idx_bytes(0x803, {2, 3, 300}, data));
  const IdxArray a = read_idx_gz(path("a.gz"));
  EXPECT_EQ(a.dims, (std::vector<uint32_t>{2, 3, 300}));  // 300 = 0x12C spans two bytes
  EXPECT_EQ(a.data, data);
}

TEST_F(IdxTest, ReadsPlainUncompressedFile) {
  write_file(path("plain"), idx_bytes(0x801, {4}, {9, 0, 255, 3}));
  const IdxArray a = read_idx_gz(path("plain"));
  EXPECT_EQ(a.dims, (std::vector<uint32_t>{4}));
  EXPECT_EQ(a.data, (std::vector<uint8_t>{9, 0, 255, 3}));
}

TEST_F(IdxTest, ReadsFourDimsAndZeroElements) {
  write_gz(path("four.gz"), idx_bytes(0x804, {1, 2, 1, 2}, {1, 2, 3, 4}));
  EXPECT_EQ(read_idx_gz(path("four.gz")).data, (std::vector<uint8_t>{1, 2, 3, 4}));
  write_gz(path("empty.gz"), idx_bytes(0x802, {0, 5}, {}));
  const IdxArray e = read_idx_gz(path("empty.gz"));
  EXPECT_EQ(e.dims, (std::vector<uint32_t>{0, 5}));
  EXPECT_TRUE(e.data.empty());
}

TEST_F(IdxTest, RejectsMissingFileAndDirectory) {
  expect_error([&] { read_idx_gz(path("nope.gz")); }, "not found");
  expect_error([&] { read_idx_gz(dir_.string()); }, "directory");
}

TEST_F(IdxTest, RejectsBadMagic) {
  write_gz(path("empty.gz"), {});
  expect_error([&] { read_idx_gz(path("empty.gz")); }, "shorter than the 4-byte magic");
  write_gz(path("text.gz"), {'h', 'e', 'l', 'l', 'o', '!', '!', '!'});
  expect_error([&] { read_idx_gz(path("text.gz")); }, "bad magic 0x68656C6C");
  write_gz(path("float.gz"), idx_bytes(0x0D01, {1}, {0, 0, 0, 0}));
  expect_error([&] { read_idx_gz(path("float.gz")); }, "type 0x0D in its magic; only type 0x08");
  write_gz(path("zero.gz"), idx_bytes(0x800, {}, {}));
  expect_error([&] { read_idx_gz(path("zero.gz")); }, "0 dimensions");
  write_gz(path("five.gz"), idx_bytes(0x805, {1, 1, 1, 1, 1}, {7}));
  expect_error([&] { read_idx_gz(path("five.gz")); }, "5 dimensions");
}

TEST_F(IdxTest, RejectsTruncatedHeader) {
  std::vector<uint8_t> bytes = idx_bytes(0x803, {1, 2, 3}, {});
  bytes.resize(4 + 4 + 2);  // magic, one dim, half of the second
  write_gz(path("hdr.gz"), bytes);
  expect_error([&] { read_idx_gz(path("hdr.gz")); }, "truncated inside its header");
}

TEST_F(IdxTest, RejectsMoreThanTwoToThe31Elements) {
  write_gz(path("huge.gz"), idx_bytes(0x803, {65536, 32768, 2}, {}));
  expect_error([&] { read_idx_gz(path("huge.gz")); }, "more than 2^31 elements");
  // Overflow of 32-bit products must not wrap around to a small count.
  write_gz(path("wrap.gz"), idx_bytes(0x804, {65536, 65536, 65536, 65536}, {}));
  expect_error([&] { read_idx_gz(path("wrap.gz")); }, "more than 2^31 elements");
  // Exactly 2^31 passes the limit and fails as truncated, without allocating 2 GB first.
  write_file(path("limit"), idx_bytes(0x802, {65536, 32768}, {1, 2, 3}));
  expect_error([&] { read_idx_gz(path("limit")); }, "need 2147483648 data bytes, found 3");
}

TEST_F(IdxTest, RejectsTruncatedAndOverlongData) {
  write_gz(path("short.gz"), idx_bytes(0x802, {2, 3}, {1, 2, 3, 4, 5}));
  expect_error([&] { read_idx_gz(path("short.gz")); }, "truncated: dims 2x3 need 6 data bytes");
  write_file(path("short"), idx_bytes(0x802, {2, 3}, {1, 2, 3, 4, 5}));
  expect_error([&] { read_idx_gz(path("short")); }, "found 5");
  write_gz(path("long.gz"), idx_bytes(0x801, {2}, {1, 2, 3}));
  expect_error([&] { read_idx_gz(path("long.gz")); }, "extra bytes");
}

TEST_F(IdxTest, RejectsGzipCorruption) {
  write_gz(path("ok.gz"), idx_bytes(0x801, {4000}, noise(4000)));
  const std::vector<uint8_t> good = read_file_bytes(path("ok.gz"));
  ASSERT_GT(good.size(), 1000u);
  ASSERT_EQ(read_idx_gz(path("ok.gz")).data, noise(4000));

  std::vector<uint8_t> bad_crc = good;  // trailer: CRC32 then ISIZE, little-endian
  bad_crc[good.size() - 8] ^= 0xFF;
  write_file(path("crc.gz"), bad_crc);
  expect_error([&] { read_idx_gz(path("crc.gz")); },
               "corrupt gzip file (zlib: incorrect data check)");

  std::vector<uint8_t> bad_block = good;  // first deflate byte after the 10-byte gzip header
  bad_block[10] = 0x07;                   // BFINAL=1, BTYPE=11: reserved, invalid
  write_file(path("block.gz"), bad_block);
  expect_error([&] { read_idx_gz(path("block.gz")); },
               "corrupt gzip file (zlib: invalid block type)");

  const std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<long>(good.size() / 2));
  write_file(path("cut.gz"), cut);
  expect_error([&] { read_idx_gz(path("cut.gz")); },
               "corrupt gzip file (zlib: unexpected end of file)");
}

TEST_F(IdxTest, LoadsSyntheticTrainAndTestSplits) {
  write_set("train", 3, 2, 4, {0, 9, 3});
  write_set("t10k", 1, 5, 1, {7});
  const ImageSet train = load_fashion_mnist(dir_.string(), "train");
  EXPECT_EQ(train.count, 3);
  EXPECT_EQ(train.rows, 2);
  EXPECT_EQ(train.cols, 4);
  ASSERT_EQ(train.images.size(), 24u);
  EXPECT_EQ(train.images[0], 1);
  EXPECT_EQ(train.images[23], static_cast<uint8_t>(23 * 7 + 1));
  EXPECT_EQ(train.labels, (std::vector<uint8_t>{0, 9, 3}));
  const ImageSet test = load_fashion_mnist(dir_.string(), "test");
  EXPECT_EQ(test.count, 1);
  EXPECT_EQ(test.rows, 5);
  EXPECT_EQ(test.cols, 1);
  EXPECT_EQ(test.labels, (std::vector<uint8_t>{7}));
}

TEST_F(IdxTest, FashionRejectsBadArguments) {
  expect_error([&] { load_fashion_mnist(path("absent"), "train"); },
               "install the Debian package dataset-fashion-mnist (apt-get install "
               "dataset-fashion-mnist) or pass the directory that holds them");
  write_set("train", 1, 1, 1, {0});
  expect_error([&] { load_fashion_mnist(dir_.string(), "validation"); }, "unknown split");
  expect_error([&] { load_fashion_mnist(dir_.string(), "train", 0); }, "classes = 0");
  expect_error([&] { load_fashion_mnist(dir_.string(), "train", 257); }, "classes = 257");
  fs::remove(path("train-labels-idx1-ubyte.gz"));
  expect_error([&] { load_fashion_mnist(dir_.string(), "train"); },
               "train-labels-idx1-ubyte.gz not found");
}

TEST_F(IdxTest, FashionRejectsInconsistentFiles) {
  write_set("train", 3, 2, 2, {0, 1});
  expect_error([&] { load_fashion_mnist(dir_.string(), "train"); },
               "image count 3 in " + path("train-images-idx3-ubyte.gz") + " != label count 2");

  write_set("train", 3, 2, 2, {0, 1, 2});
  const fs::path images = path("train-images-idx3-ubyte.gz");
  const fs::path labels = path("train-labels-idx1-ubyte.gz");
  fs::copy_file(labels, images, fs::copy_options::overwrite_existing);
  expect_error([&] { load_fashion_mnist(dir_.string(), "train"); },
               "has magic 0x00000801, expected 0x00000803");

  write_set("train", 3, 2, 2, {0, 1, 2});
  fs::copy_file(images, labels, fs::copy_options::overwrite_existing);
  expect_error([&] { load_fashion_mnist(dir_.string(), "train"); },
               "has magic 0x00000803, expected 0x00000801");

  write_set("train", 2, 0, 3, {0, 1});
  expect_error([&] { load_fashion_mnist(dir_.string(), "train"); }, "empty images (0x3)");
}

TEST_F(IdxTest, FashionRejectsLabelOutOfRange) {
  write_set("train", 4, 1, 1, {0, 9, 10, 2});
  expect_error([&] { load_fashion_mnist(dir_.string(), "train"); }, "label at index 2 is 10");
  write_set("train", 2, 1, 1, {4, 5});
  EXPECT_EQ(load_fashion_mnist(dir_.string(), "train", 6).labels, (std::vector<uint8_t>{4, 5}));
  expect_error([&] { load_fashion_mnist(dir_.string(), "train", 5); }, "label at index 1 is 5");
}

// The bytes of a gzip file holding `bytes`, made by zlib in memory (no file).
std::vector<uint8_t> gzip_bytes(const std::vector<uint8_t>& bytes) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::vector<uint8_t> out(deflateBound(&z, bytes.size()));
  z.next_in = const_cast<Bytef*>(bytes.data());
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// Expects parse_idx on `bytes` to throw an Error containing `word` and naming "mem.idx".
void expect_parse_error(const std::vector<uint8_t>& bytes, const std::string& word) {
  expect_error([&] { parse_idx(bytes, "mem.idx"); }, word);
  expect_error([&] { parse_idx(bytes, "mem.idx"); }, "mem.idx");
}

TEST(IdxParseTest, ParsesPlainAndGzipBytesLikeFiles) {
  const std::vector<uint8_t> plain = idx_bytes(0x803, {2, 1, 3}, {1, 2, 3, 4, 5, 6});
  for (const auto& bytes : {plain, gzip_bytes(plain)}) {
    const IdxArray a = parse_idx(bytes, "mem.idx");
    EXPECT_EQ(a.dims, (std::vector<uint32_t>{2, 1, 3}));
    EXPECT_EQ(a.data, (std::vector<uint8_t>{1, 2, 3, 4, 5, 6}));
  }
  // A file may be split into several gzip members (gzip's own format allows it; zcat reads it).
  std::vector<uint8_t> two = gzip_bytes({plain.begin(), plain.begin() + 9});
  const std::vector<uint8_t> rest = gzip_bytes({plain.begin() + 9, plain.end()});
  two.insert(two.end(), rest.begin(), rest.end());
  EXPECT_EQ(parse_idx(two, "mem.idx").data, (std::vector<uint8_t>{1, 2, 3, 4, 5, 6}));
}

TEST(IdxParseTest, RejectsEmptyAndBadMagicInMemory) {
  expect_parse_error({}, "truncated: 0 bytes, shorter than the 4-byte magic");
  expect_parse_error({0, 0, 8}, "truncated: 3 bytes");
  expect_parse_error(idx_bytes(0x01000803, {1}, {0}), "bad magic 0x01000803");
  expect_parse_error(idx_bytes(0x0903, {1, 1, 1}, {0}), "element type 0x09");
  expect_parse_error(gzip_bytes({}), "shorter than the 4-byte magic");
}

TEST(IdxParseTest, RejectsDimsThatTheInputCannotHold) {
  // Plain: 1000 declared elements in a file that has 3 bytes after its header, rejected before
  // any allocation.
  expect_parse_error(idx_bytes(0x801, {1000}, {1, 2, 3}), "need 1000 data bytes, found 3");
  // Gzip: 2^30 elements cannot come out of a 40-byte gzip file (deflate's limit is 1032:1).
  const std::vector<uint8_t> liar = gzip_bytes(idx_bytes(0x802, {32768, 32768}, {1, 2, 3}));
  ASSERT_LT(liar.size(), 100u);
  expect_parse_error(liar, "need 1073741824 data bytes, more than its");
  expect_parse_error(liar, "deflate expands at most 1032x");
  // A product that overflows 32 bits must not wrap around to something small.
  expect_parse_error(idx_bytes(0x803, {65536, 65536, 1}, {}), "more than 2^31 elements");
  expect_parse_error(idx_bytes(0x804, {4294967295u, 4294967295u, 2, 2}, {}),
                     "has dims 4294967295... with more than 2^31 elements");
}

TEST(IdxParseTest, HighlyCompressedDataWithinTheRatioIsRead) {
  // 1 MiB of zeros compresses about 1000:1, inside deflate's limit; the reader must accept it.
  const std::vector<uint8_t> zeros = idx_bytes(0x802, {1024, 1024}, std::vector<uint8_t>(1 << 20));
  const std::vector<uint8_t> gz = gzip_bytes(zeros);
  ASSERT_LT(gz.size(), 2000u);
  EXPECT_EQ(parse_idx(gz, "mem.idx").data.size(), size_t{1} << 20);
}

TEST(IdxParseTest, RejectsGzipGarbageLengthAndCutHeader) {
  const std::vector<uint8_t> good = gzip_bytes(idx_bytes(0x801, {3}, {1, 2, 3}));
  std::vector<uint8_t> garbage = good;
  garbage.insert(garbage.end(), {'j', 'u', 'n', 'k'});
  expect_parse_error(garbage, "has 4 bytes of garbage after its gzip data");

  std::vector<uint8_t> bad_length = good;  // ISIZE, the last 4 bytes, little-endian
  bad_length[good.size() - 4] ^= 0x01;
  expect_parse_error(bad_length, "corrupt gzip file (zlib: incorrect length check)");

  const std::vector<uint8_t> cut_header(good.begin(), good.begin() + 5);  // inside the header
  expect_parse_error(cut_header, "corrupt gzip file (zlib: unexpected end of file)");

  std::vector<uint8_t> bad_method = good;  // CM must be 8 (deflate)
  bad_method[2] = 7;
  expect_parse_error(bad_method, "corrupt gzip file (zlib: unknown compression method)");
}

TEST_F(IdxTest, RejectsAFileLargerThanAnyIdxFile) {
  // A sparse file, so it costs no disk: 3 GiB is more than 2^31 elements plus any overhead.
  write_file(path("big"), idx_bytes(0x801, {1}, {1}));
  fs::resize_file(path("big"), uint64_t{3} << 30);
  expect_error([&] { read_idx_gz(path("big")); }, "larger than any IDX file");
}

TEST(MakeImageSetTest, PairsImagesWithLabelsAndChecksThem) {
  const auto array = [](std::vector<uint32_t> dims, std::vector<uint8_t> data) {
    return IdxArray{std::move(dims), std::move(data)};
  };
  const ImageSet ok =
      make_image_set(array({2, 1, 2}, {1, 2, 3, 4}), "im", array({2}, {0, 9}), "lb", 10);
  EXPECT_EQ(ok.count, 2);
  EXPECT_EQ(ok.rows, 1);
  EXPECT_EQ(ok.cols, 2);
  EXPECT_EQ(ok.images, (std::vector<uint8_t>{1, 2, 3, 4}));
  EXPECT_EQ(ok.labels, (std::vector<uint8_t>{0, 9}));

  expect_error(
      [&] {
        make_image_set(array({2, 1, 2}, {1, 2, 3, 4}), "im", array({3}, {0, 1, 2}), "lb", 10);
      },
      "image count 2 in im != label count 3 in lb");
  expect_error(
      [&] {
        make_image_set(array({2, 1, 2}, {1, 2, 3, 4}), "im", array({2}, {0, 10}), "lb", 10);
      },
      "lb: label at index 1 is 10, not below 10 classes");
  expect_error(
      [&] {
        make_image_set(array({2, 1, 2}, {1, 2, 3, 4}), "im", array({2}, {0, 0}), "lb", 0);
      },
      "classes = 0");
  expect_error(
      [&] {
        make_image_set(array({4}, {1, 2, 3, 4}), "im", array({4}, {0, 0, 0, 0}), "lb", 10);
      },
      "im has magic 0x00000801, expected 0x00000803");
  expect_error(
      [&] {
        make_image_set(array({1, 1, 1}, {1}), "im", array({1, 1, 1}, {0}), "lb", 10);
      },
      "lb has magic 0x00000803, expected 0x00000801");
  expect_error(
      [&] {
        make_image_set(array({2, 0, 5}, {}), "im", array({2}, {0, 0}), "lb", 10);
      },
      "im has empty images (0x5)");
  // Every byte value is a label when there are 256 classes.
  EXPECT_EQ(make_image_set(array({2, 1, 1}, {7, 8}), "im", array({2}, {255, 0}), "lb", 256).labels,
            (std::vector<uint8_t>{255, 0}));
}

TEST(FashionMnistRealTest, LoadsInstalledTrainAndTestSplits) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(fs::path(dir) / "train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << dir << " not installed (apt-get install dataset-fashion-mnist)";
  }
  const ImageSet train = load_fashion_mnist(dir, "train");
  EXPECT_EQ(train.count, 60000);
  EXPECT_EQ(train.rows, 28);
  EXPECT_EQ(train.cols, 28);
  ASSERT_EQ(train.images.size(), 60000u * 28 * 28);
  ASSERT_EQ(train.labels.size(), 60000u);
  EXPECT_EQ(train.labels[0], 9);  // ankle boot
  EXPECT_EQ(train.labels[1], 0);  // t-shirt/top
  std::array<int, 10> per_class{};
  for (uint8_t label : train.labels) {
    ASSERT_LT(label, 10);
    ++per_class[label];
  }
  for (int n : per_class) EXPECT_EQ(n, 6000);  // the data set is balanced
  int64_t first_image_sum = 0;
  for (int i = 0; i < 28 * 28; ++i) first_image_sum += train.images[i];
  EXPECT_EQ(first_image_sum, 76247);

  const ImageSet test = load_fashion_mnist(dir, "test");
  EXPECT_EQ(test.count, 10000);
  EXPECT_EQ(test.labels[0], 9);
  EXPECT_EQ(test.labels[1], 2);
}

}  // namespace
}  // namespace cnnmem::test
