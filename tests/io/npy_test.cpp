// Tests for io/npy.h, the parser: .npy files written byte by byte here (versions 1.0, 2.0 and
// 3.0, C and Fortran order, every dtype), the header dialects np.save has written, and every
// rejection with its message, from memory (as the fuzzer feeds them) and from files.
// Not here: the image loader (tests/io/npy_images_test.cpp).
#include "io/npy.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tests/util/expect_error.h"
#include "tests/util/npy_writer.h"
#include "tests/util/temp_dir.h"

namespace cnnmem::test {
namespace {

NpyArray parse(const std::vector<uint8_t>& bytes) { return parse_npy(bytes, "a.npy"); }

TEST(NpyTest, ReadsUint8Version1) {
  const NpyArray a = parse(npy_file(npy_dict("|u1", "(2, 3)"), {0, 1, 2, 3, 4, 250}));
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.dtype, NpyDtype::kU1);
  EXPECT_EQ(a.element_count(), 6);
  EXPECT_EQ(npy_shape_text(a.shape), "(2, 3)");
  EXPECT_EQ(npy_shape_text({5}), "(5,)");
  EXPECT_EQ(npy_shape_text({}), "()");
  EXPECT_EQ(a.data, (std::vector<uint8_t>{0, 1, 2, 3, 4, 250}));
}

TEST(NpyTest, ReadsFloat32Version2AndInt64Version3) {
  const std::vector<float> f = {1.5f, -2.25f, 3e8f};
  const NpyArray a = parse(npy_file(npy_dict("<f4", "(3,)"), bytes_of(f), 2));
  EXPECT_EQ(a.shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(a.dtype, NpyDtype::kF4);
  EXPECT_EQ(a.data, bytes_of(f));

  const std::vector<int64_t> i = {-1, int64_t{1} << 40, 7, 0};
  const NpyArray b = parse(npy_file(npy_dict("<i8", "(2, 2)"), bytes_of(i), 3));
  EXPECT_EQ(b.dtype, NpyDtype::kI8);
  std::vector<int64_t> got(4);
  std::memcpy(got.data(), b.data.data(), 32);
  EXPECT_EQ(got, i);
}

TEST(NpyTest, EveryDtypeHasItsNameAndSize) {
  const std::vector<std::pair<std::string, int>> dtypes = {
      {"|u1", 1}, {"|i1", 1}, {"<u2", 2}, {"<i2", 2}, {"<u4", 4},
      {"<i4", 4}, {"<u8", 8}, {"<i8", 8}, {"<f4", 4}, {"<f8", 8}};
  for (const auto& [descr, size] : dtypes) {
    const NpyArray a = parse(
        npy_file(npy_dict(descr, "(2,)"), std::vector<uint8_t>(static_cast<size_t>(2 * size), 9)));
    EXPECT_EQ(std::string(npy_dtype_name(a.dtype)), descr.substr(1));
    EXPECT_EQ(npy_dtype_size(a.dtype), size) << descr;
    EXPECT_EQ(a.data.size(), static_cast<size_t>(2 * size)) << descr;
  }
  // One-byte types need no byte order mark, or may carry any.
  EXPECT_EQ(parse(npy_file(npy_dict("<u1", "(1,)"), {5})).dtype, NpyDtype::kU1);
  EXPECT_EQ(parse(npy_file(npy_dict("i1", "(1,)"), {5})).dtype, NpyDtype::kI1);
}

TEST(NpyTest, TransposesFortranOrderToCOrder) {
  // [[0, 1, 2], [3, 4, 5]] stored column by column.
  const std::vector<float> column_major = {0, 3, 1, 4, 2, 5};
  const NpyArray a = parse(npy_file(npy_dict("<f4", "(2, 3)", true), bytes_of(column_major)));
  EXPECT_EQ(a.data, bytes_of(std::vector<float>{0, 1, 2, 3, 4, 5}));

  // (2, 3, 4) u1: element (i, j, k) has value 100 * i + 10 * j + k, stored at i + 2 * (j + 3 * k).
  std::vector<uint8_t> fortran(24), c_order(24);
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) {
      for (int k = 0; k < 4; ++k) {
        const auto v = static_cast<uint8_t>(100 * i + 10 * j + k);
        fortran[static_cast<size_t>(i + 2 * (j + 3 * k))] = v;
        c_order[static_cast<size_t>((i * 3 + j) * 4 + k)] = v;
      }
    }
  }
  const NpyArray b = parse(npy_file(npy_dict("|u1", "(2, 3, 4)", true), fortran));
  EXPECT_EQ(b.shape, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(b.data, c_order);
  // 1-d and 0-d Fortran arrays are the same bytes as C ones.
  EXPECT_EQ(parse(npy_file(npy_dict("|u1", "(3,)", true), {1, 2, 3})).data,
            (std::vector<uint8_t>{1, 2, 3}));
}

TEST(NpyTest, ReadsScalarsEmptyArraysAndHeaderDialects) {
  const NpyArray scalar = parse(npy_file(npy_dict("<i4", "()"), {7, 0, 0, 0}));
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(scalar.element_count(), 1);
  const NpyArray empty = parse(npy_file(npy_dict("<f8", "(0, 3)"), {}));
  EXPECT_EQ(empty.shape, (std::vector<int64_t>{0, 3}));
  EXPECT_TRUE(empty.data.empty());
  // Keys in any order, double quotes, no spaces, no trailing comma, Python 2's 3L, a trailing
  // comma inside the shape.
  for (const std::string& dict :
       {std::string("{'shape': (2, 3), 'fortran_order': False, 'descr': '|u1'}"),
        std::string("{\"descr\":\"|u1\",\"fortran_order\":False,\"shape\":(2,3,),}"),
        std::string("{ 'descr' : '|u1' , 'fortran_order' : False , 'shape' : ( 2L , 3L ) , }")}) {
    const NpyArray a = parse(npy_file(dict, {1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3})) << dict;
  }
}

// Expects a version 1.0 file of header `dict` and data `data` to be rejected with `word`.
void expect_rejected(const std::string& dict, const std::vector<uint8_t>& data,
                     const std::string& word) {
  expect_error([&] { parse(npy_file(dict, data)); }, word);
}

TEST(NpyTest, RejectsBadMagicVersionAndHeaderLength) {
  std::vector<uint8_t> good = npy_file(npy_dict("|u1", "(1,)"), {1});
  std::vector<uint8_t> bad = good;
  bad[1] = 'n';
  expect_error([&] { parse(bad); }, "a.npy does not start with the .npy magic");
  expect_error([&] { parse({0x93, 'N', 'U'}); }, "does not start with the .npy magic");
  expect_error(
      [&] {
        parse({0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
      },
      "a.npy is truncated: 8 bytes, shorter than the .npy preamble; re-save the file");
  bad = good;
  bad[6] = 4;
  expect_error([&] { parse(bad); }, "a.npy has format version 4.0; cnnmem reads versions 1.0");
  bad = good;
  bad[7] = 1;
  expect_error([&] { parse(bad); }, "format version 1.1");
  bad = good;
  bad[8] = 0xff;  // header length 0xff.. past the end
  expect_error([&] { parse(bad); },
               "a.npy declares a 255-byte header, but 119 bytes follow; the file is truncated");
  std::vector<uint8_t> v2 = npy_file(npy_dict("|u1", "(1,)"), {1}, 2);
  v2.resize(11);
  expect_error([&] { parse(v2); }, "a.npy is truncated inside its header length");
  v2 = npy_file(npy_dict("|u1", "(1,)"), {1}, 2);
  v2[11] = 0x10;  // a 256 MiB header
  expect_error([&] { parse(v2); }, "more than the 1 MiB cnnmem reads");
}

TEST(NpyTest, RejectsMalformedHeaders) {
  expect_rejected("['descr']", {}, "a.npy: the header lacks the dict's '{'; the file is corrupt");
  expect_rejected("{'descr': '|u1', 'shape': (1,)}", {1},
                  "the header lacks the key 'fortran_order'");
  expect_rejected("{'descr': '|u1', 'fortran_order': False}", {1}, "lacks the key 'shape'");
  expect_rejected("{'fortran_order': False, 'shape': (1,)}", {1}, "lacks the key 'descr'");
  expect_rejected("{'descr': '|u1', 'descr': '|u1', 'fortran_order': False, 'shape': (1,)}", {1},
                  "has the key 'descr' twice");
  expect_rejected("{'descr': '|u1', 'fortran_order': False, 'shape': (1,), 'x': 1}", {1},
                  "has the unknown key 'x'");
  expect_rejected(npy_dict("|u1", "(1,)") + " x", {1}, "has text after the dict's '}'");
  expect_rejected("{'descr': '|u1' 'fortran_order': False, 'shape': (1,)}", {1},
                  "lacks a ',' or '}' after the value of 'descr'");
  expect_rejected("{'descr' '|u1'}", {1}, "lacks ':' after 'descr'");
  expect_rejected("{descr: '|u1'}", {1}, "lacks a key (a quoted string)");
  expect_rejected("{'descr: '|u1'}", {1}, "lacks ':' after 'descr: '");
  expect_rejected("{'descr", {1}, "has an unterminated string");
  expect_rejected("{'descr': |u1}", {1}, "lacks the 'descr' string");
  expect_rejected("{'descr': '|u1', 'fortran_order': 0, 'shape': (1,)}", {1},
                  "has a 'fortran_order' that is not True or False");
  expect_rejected(npy_dict("|u1", "1"), {1}, "lacks the '(' of 'shape' (a tuple)");
  expect_rejected(npy_dict("|u1", "(1)"), {1}, "has shape (1), not a tuple (a 1-d shape is (1,))");
  expect_rejected(npy_dict("|u1", "(-1,)"), {1}, "a 'shape' with something other than non-neg");
  expect_rejected(npy_dict("|u1", "(1 1)"), {1}, "whose values are not separated by ','");
  expect_rejected(npy_dict("|u1", "(1,,)"), {1}, "something other than non-negative integers");
  expect_rejected(npy_dict("|u1", "(99999999999999999999,)"), {1}, "too large for any file");
  expect_rejected("{'descr': '|u1\n'}", {1}, "has dtype '|u1?'");  // one-line message
}

TEST(NpyTest, RejectsUnsupportedDtypesSayingHowToConvert) {
  expect_rejected(npy_dict(">f4", "(1,)"), {0, 0, 0, 0},
                  "a.npy has dtype '>f4' (big-endian); cnnmem reads little-endian arrays only: "
                  "np.save(f, a.astype('<f4'))");
  expect_rejected(npy_dict("|f4", "(1,)"), {0, 0, 0, 0}, "without a little-endian mark '<'");
  expect_rejected(npy_dict("=i8", "(1,)"), std::vector<uint8_t>(8), "np.save(f, a.astype('<i8'))");
  expect_rejected(npy_dict("|O", "(1,)"), std::vector<uint8_t>(8),
                  "has dtype '|O' (Python objects, stored pickled), which cnnmem cannot read");
  expect_rejected("{'descr': [('x', '<f4'), ('y', '<i4')], 'fortran_order': False, 'shape': (1,)}",
                  {}, "a.npy has a structured dtype (a list of fields); cnnmem reads plain arrays");
  expect_rejected(npy_dict("<f2", "(1,)"), {0, 0},
                  "has dtype '<f2', which cnnmem does not read; supported: u1 i1 u2 i2 u4 i4 u8 i8 "
                  "f4 f8 (little-endian); convert it, e.g. np.save(f, a.astype(np.float32))");
  expect_rejected(npy_dict("|b1", "(1,)"), {1}, "np.save(f, a.astype(np.uint8))");
  expect_rejected(npy_dict("<U3", "(1,)"), std::vector<uint8_t>(12), "has dtype '<U3'");
}

TEST(NpyTest, RejectsDataOfTheWrongSize) {
  expect_rejected(npy_dict("<f4", "(2, 3)"), std::vector<uint8_t>(23),
                  "a.npy has 23 data bytes, but shape (2, 3) of f4 needs 24; the file is "
                  "truncated, re-save it");
  expect_rejected(npy_dict("<f4", "(2,)"), std::vector<uint8_t>(9),
                  "has 9 data bytes, but shape (2,) of f4 needs 8; the file is followed by extra");
  expect_rejected(npy_dict("|u1", "()"), {}, "has 0 data bytes, but shape () of u1 needs 1");
  expect_rejected(npy_dict("<f8", "(1048576, 1048576, 1048576)"), {},
                  "has shape (1048576, 1048576, 1048576), more elements than any file can hold");
  expect_rejected(npy_dict("<f8", "(1048576, 1048576, 32)"), {},
                  "of f8, more bytes than any file can hold");
  // A zero dimension makes the count zero however large the others are.
  EXPECT_EQ(parse(npy_file(npy_dict("<f8", "(0, 1125899906842624, 1125899906842624)"), {}))
                .element_count(),
            0);
}

// The fuzzer's seeds were written by numpy 1.24 (np.save, np.lib.format.write_array): real files.
TEST(NpyTest, ReadsFilesWrittenByNumpy) {
  const std::string seeds = std::string(CNNMEM_SOURCE_DIR) + "/fuzz/corpus/npy/";
  const NpyArray fortran = read_npy(seeds + "images_nhw_fortran_u1.npy");
  EXPECT_EQ(fortran.shape, (std::vector<int64_t>{2, 3, 4}));
  for (size_t i = 0; i < 24; ++i) EXPECT_EQ(fortran.data[i], i);
  const NpyArray labels = read_npy(seeds + "labels_i8.npy");
  EXPECT_EQ(labels.dtype, NpyDtype::kI8);
  EXPECT_EQ(labels.data, bytes_of<int64_t>({0, 3, 9}));
  EXPECT_EQ(read_npy(seeds + "labels_i4_v2.npy").data, bytes_of<int32_t>({1, 2}));
  const NpyArray scalar = read_npy(seeds + "scalar_f8_v3.npy");
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(scalar.data, bytes_of<double>({2.5}));

  // (2, 2, 2, 3) float32 of arange / 7, channels last.
  const ImageData d = load_npy_images(seeds + "images_nhwc_f4.npy", seeds + "labels_i4_v2.npy");
  EXPECT_EQ(d.count, 2);
  EXPECT_EQ(d.channels, 3);
  EXPECT_EQ(d.height, 2);
  EXPECT_EQ(d.width, 2);
  EXPECT_EQ(d.classes, 3);
  // (n=1, c=2, y=1, x=0) was element ((1 * 2 + 1) * 2 + 0) * 3 + 2 = 20.
  EXPECT_FLOAT_EQ(d.values[static_cast<size_t>(((1 * 3 + 2) * 2 + 1) * 2 + 0)], 20.0f / 7);
}

class NpyFileTest : public TempDirTest {};

TEST_F(NpyFileTest, ReadsFilesAndRejectsMissingOnes) {
  write_file(path("a.npy"), npy_file(npy_dict("<i4", "(2,)", false), bytes_of<int32_t>({3, -4})));
  const NpyArray a = read_npy(path("a.npy"));
  EXPECT_EQ(a.data, bytes_of<int32_t>({3, -4}));
  write_file(path("f.npy"), npy_file(npy_dict("|u1", "(2, 2)", true), {1, 3, 2, 4}, 2));
  EXPECT_EQ(read_npy(path("f.npy")).data, (std::vector<uint8_t>{1, 2, 3, 4}));

  expect_error([&] { read_npy(path("none.npy")); }, "npy: " + path("none.npy") + " not found");
  expect_error([&] { read_npy(dir_.string()); }, "is a directory, not a file");
  write_file(path("cut.npy"), npy_file(npy_dict("<i4", "(2,)"), {1, 0, 0}));
  expect_error([&] { read_npy(path("cut.npy")); },
               path("cut.npy") + " has 3 data bytes, but shape (2,) of i4 needs 8");
}

}  // namespace
}  // namespace cnnmem::test
