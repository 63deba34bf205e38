// Tests for io/safetensors.h: round trips, exact bytes, a hand-built Python-style file, every
// rejection of the reader (from files and from memory, as the fuzzer feeds it) and the writer,
// and the atomic-write guarantees.
//
// Files live in a per-process temporary directory removed after each test.
// Not here: checkpoint logic that maps tensor names to parameters.
#include "io/safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "framework/error.h"
#include "tests/util/expect_error.h"
#include "tests/util/temp_dir.h"

namespace cnnmem::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

uint32_t float_bits(float f) {
  uint32_t u = 0;
  std::memcpy(&u, &f, 4);
  return u;
}

// A safetensors file: u64 little-endian header length, header, data.
std::string st_bytes(std::string header, const std::string& data, bool pad = true) {
  if (pad) header.append((8 - header.size() % 8) % 8, ' ');
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(uint64_t{header.size()} >> (8 * i)));
  return out + header + data;
}

class SafetensorsTest : public TempDirTest {
 protected:
  // Reads a file whose header is `header` and whose data buffer is `data`.
  void expect_rejected(const std::string& header, const std::string& data,
                       const std::string& word) {
    write_file(path("bad.safetensors"), st_bytes(header, data));
    expect_error([&] { read_safetensors(path("bad.safetensors")); }, word);
  }
};

TEST_F(SafetensorsTest, RoundTripPreservesShapesValuesAndMetadata) {
  const std::vector<NamedTensor> in = {
      {"z.bias", {3}, {0.5f, -0.0f, std::numeric_limits<float>::infinity()}},
      {"a.weights", {2, 3, 1}, {1.0f, -2.5f, 3.25f, 1e-40f, 65504.0f, -7.0f}},
      {"scalar", {}, {42.0f}},
      {"empty", {0, 4}, {}},
  };
  write_safetensors(path("m.safetensors"), in, {{"step", "12"}, {"format", "pt"}});

  const SafetensorsFile out = read_safetensors(path("m.safetensors"));
  EXPECT_EQ(out.metadata, (std::map<std::string, std::string>{{"format", "pt"}, {"step", "12"}}));
  ASSERT_EQ(out.tensors.size(), 4u);
  const std::vector<std::string> names_in_offset_order = {"a.weights", "empty", "scalar", "z.bias"};
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(out.tensors[i].name, names_in_offset_order[i]);
  for (const NamedTensor& want : in) {
    const NamedTensor* got = find_tensor(out, want.name);
    ASSERT_NE(got, nullptr) << want.name;
    EXPECT_EQ(got->shape, want.shape) << want.name;
    ASSERT_EQ(got->data.size(), want.data.size()) << want.name;
    for (size_t j = 0; j < want.data.size(); ++j) {
      EXPECT_EQ(float_bits(got->data[j]), float_bits(want.data[j])) << want.name << "[" << j << "]";
    }
  }

  // Header: padded to 8, tensors packed contiguously in name order.
  const std::string raw = read_file(path("m.safetensors"));
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(raw[i]);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(raw.size(), 8 + n + 4 * (6 + 0 + 1 + 3));
  const nlohmann::json header = nlohmann::json::parse(raw.substr(8, n));
  EXPECT_EQ(header["a.weights"]["data_offsets"], nlohmann::json::array({0, 24}));
  EXPECT_EQ(header["empty"]["data_offsets"], nlohmann::json::array({24, 24}));
  EXPECT_EQ(header["scalar"]["data_offsets"], nlohmann::json::array({24, 28}));
  EXPECT_EQ(header["z.bias"]["data_offsets"], nlohmann::json::array({28, 40}));
  EXPECT_EQ(header["z.bias"]["dtype"], "F32");
  EXPECT_EQ(header["__metadata__"]["step"], "12");
}

TEST_F(SafetensorsTest, WritesExactBytes) {
  write_safetensors(path("w.safetensors"), {{"w", {2}, {1.0f, 2.0f}}});
  const std::string header = R"({"w":{"data_offsets":[0,8],"dtype":"F32","shape":[2]}})";
  ASSERT_EQ(header.size(), 54u);  // padded with two spaces to 56
  const std::string want = std::string("\x38\0\0\0\0\0\0\0", 8) + header + "  " +
                           std::string("\x00\x00\x80\x3f\x00\x00\x00\x40", 8);
  EXPECT_EQ(read_file(path("w.safetensors")), want);
}

TEST_F(SafetensorsTest, ReadsFileLaidOutLikePythonSafetensors) {
  // As safetensors.numpy.save_file({"bias": .., "weight": ..}, metadata={"format": "np"}) lays
  // it out: metadata first, tensors in data order, header padded with spaces.
  const std::string header =
      R"({"__metadata__":{"format":"np"},"bias":{"dtype":"F32","shape":[2],)"
      R"("data_offsets":[0,8]},"weight":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]}})";
  const std::string data(
      "\x00\x00\x00\x3f"   // 0.5
      "\x00\x00\xa0\xbf"   // -1.25
      "\x00\x00\x80\x3f"   // 1
      "\x00\x00\x00\x40"   // 2
      "\x00\x00\x40\x40"   // 3
      "\x00\x00\x80\x40",  // 4
      24);
  write_file(path("py.safetensors"), st_bytes(header, data));
  const SafetensorsFile f = read_safetensors(path("py.safetensors"));
  EXPECT_EQ(f.metadata, (std::map<std::string, std::string>{{"format", "np"}}));
  ASSERT_EQ(f.tensors.size(), 2u);
  EXPECT_EQ(f.tensors[0].name, "bias");
  EXPECT_EQ(f.tensors[0].shape, (std::vector<int64_t>{2}));
  EXPECT_EQ(f.tensors[0].data, (std::vector<float>{0.5f, -1.25f}));
  EXPECT_EQ(f.tensors[1].name, "weight");
  EXPECT_EQ(f.tensors[1].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(f.tensors[1].data, (std::vector<float>{1.0f, 2.0f, 3.0f, 4.0f}));
  EXPECT_EQ(find_tensor(f, "weight"), &f.tensors[1]);
  EXPECT_EQ(find_tensor(f, "missing"), nullptr);

  // An unpadded header with other whitespace and field order is read the same.
  write_file(path("np.safetensors"),
             st_bytes("{ \"weight\" : {\"data_offsets\":[8,24],\"shape\":[4],\"dtype\":\"F32\"},\n"
                      "\"bias\":{\"shape\":[2],\"dtype\":\"F32\",\"data_offsets\":[0,8]} }",
                      data, /*pad=*/false));
  const SafetensorsFile g = read_safetensors(path("np.safetensors"));
  ASSERT_NE(find_tensor(g, "weight"), nullptr);
  EXPECT_EQ(find_tensor(g, "weight")->data, (std::vector<float>{1.0f, 2.0f, 3.0f, 4.0f}));
  EXPECT_TRUE(g.metadata.empty());
}

TEST_F(SafetensorsTest, RejectsBadFileFraming) {
  expect_error([&] { read_safetensors(path("absent.safetensors")); }, "not found");
  write_file(path("short"), std::string("\x02\0\0\0", 4));
  expect_error([&] { read_safetensors(path("short")); }, "too short (4 bytes)");
  write_file(path("long"), std::string("\x40\0\0\0\0\0\0\0{}", 10));  // says 64, has 2
  expect_error([&] { read_safetensors(path("long")); }, "header length 64 is absurd");
  write_file(path("huge"), std::string("\xff\xff\xff\xff\xff\xff\xff\xff{}", 10));
  expect_error([&] { read_safetensors(path("huge")); }, "header length 18446744073709551615");
  // Within the file size but over the 100 MB limit (a sparse file, so it costs no disk).
  write_file(path("sparse"), std::string("\x01\xe1\xf5\x05\0\0\0\0", 8));  // 100'000'001
  fs::resize_file(path("sparse"), 100'000'100);
  expect_error([&] { read_safetensors(path("sparse")); }, "limit 100000000");
}

TEST_F(SafetensorsTest, RejectsBadJson) {
  expect_rejected("{\"w\": ", "", "not valid JSON");
  write_file(path("utf8.safetensors"), st_bytes("{\"w\xff\": 1}", ""));  // not UTF-8
  try {
    read_safetensors(path("utf8.safetensors"));
    ADD_FAILURE() << "invalid UTF-8 accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("ill-formed UTF-8"));
    EXPECT_EQ(std::string(e.what()).find('\xff'), std::string::npos);  // raw bytes not echoed
  }
  expect_rejected("[1, 2]", "", "header is JSON array, not an object");
  expect_rejected(R"({"w": 3})", "", "is JSON number, not an object with dtype");
  expect_rejected(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                  R"( "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                  std::string(8, '\0'), "duplicate key \"w\"");
  expect_rejected(
      R"({"w": {"dtype": "F32", "dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})",
      std::string(4, '\0'), "duplicate key \"dtype\"");
  expect_rejected(R"({"__metadata__": ["a"]})", "", "\"__metadata__\" is JSON array");
  expect_rejected(R"({"__metadata__": {"step": 3}})", "", "metadata values must be strings");
}

TEST_F(SafetensorsTest, RejectsBadEntries) {
  const std::string d8(8, '\0');
  expect_rejected(R"({"w": {"shape": [2], "data_offsets": [0, 8]}})", d8, "\"dtype\"");
  expect_rejected(R"({"w": {"dtype": 32, "shape": [2], "data_offsets": [0, 8]}})", d8,
                  "no string field \"dtype\"");
  expect_rejected(R"({"w": {"dtype": "F16", "shape": [4], "data_offsets": [0, 8]}})", d8,
                  "tensor \"w\" has dtype F16; only F32 is supported");
  expect_rejected(R"({"w": {"dtype": "F32", "data_offsets": [0, 8]}})", d8, "\"shape\"");
  expect_rejected(R"({"w": {"dtype": "F32", "shape": 2, "data_offsets": [0, 8]}})", d8,
                  "no array field \"shape\"");
  expect_rejected(R"({"w": {"dtype": "F32", "shape": ["2"], "data_offsets": [0, 8]}})", d8,
                  "non-integer dim \"2\"");
  expect_rejected(R"({"w": {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}})", d8,
                  "non-integer dim 2.0");
  expect_rejected(R"({"w": {"dtype": "F32", "shape": [-2, -1], "data_offsets": [0, 8]}})", d8,
                  "negative dim -2");
  expect_rejected(R"({"w": {"dtype": "F32", "shape": [2]}})", d8, "data_offsets");
  expect_rejected(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0]}})", d8,
                  "data_offsets");
  expect_rejected(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]}})", d8,
                  "data_offsets");
  expect_rejected(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8.0]}})", d8,
                  "data_offsets");
  expect_rejected(R"({"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 0]}})", d8,
                  "begin after end");
}

TEST_F(SafetensorsTest, RejectsSizesOffsetsAndOverlaps) {
  const std::string d8(8, '\0');
  expect_rejected(R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", d8,
                  "shape [3] that does not match its 8 bytes");
  // A shape whose element count overflows 64 bits must not wrap to a matching size.
  expect_rejected(
      R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 2], "data_offsets": [0, 8]}})",
      d8, "does not match");
  expect_rejected(
      R"({"w": {"dtype": "F32", "shape": [9223372036854775808], "data_offsets": [0, 8]}})", d8,
      "too large for int64");
  expect_rejected(R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", d8,
                  "data_offsets [0, 16] out of range of the 8-byte data buffer");
  expect_rejected(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                  R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                  std::string(12, '\0'), "tensors \"a\" and \"b\" overlap");
  expect_rejected(R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]},)"
                  R"( "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},)"
                  R"( "c": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]}})",
                  std::string(12, '\0'), "overlap");
}

TEST_F(SafetensorsTest, WriterRejectsBadTensorsAndLeavesOldFileIntact) {
  write_safetensors(path("m.safetensors"), {{"w", {1}, {7.0f}}});
  const std::string before = read_file(path("m.safetensors"));
  expect_error(
      [&] {
        write_safetensors(path("m.safetensors"), {{"w", {2, 2}, {1, 2, 3}}});
      },
      "tensor \"w\" has 3 elements but shape [2, 2]");
  expect_error(
      [&] {
        write_safetensors(path("m.safetensors"), {{"w", {-1}, {}}});
      },
      "negative dim");
  expect_error(
      [&] {
        write_safetensors(path("m.safetensors"), {{"w", {1}, {1}}, {"w", {1}, {2}}});
      },
      "duplicate name");
  expect_error(
      [&] {
        write_safetensors(path("m.safetensors"), {{"__metadata__", {}, {1}}});
      },
      "reserved name");
  expect_error([&] { write_safetensors(path("m.safetensors"), {{"w\xff", {}, {1}}}); }, "UTF-8");
  EXPECT_EQ(read_file(path("m.safetensors")), before);
  EXPECT_EQ(file_names(dir_), std::vector<std::string>{"m.safetensors"});
}

TEST_F(SafetensorsTest, AtomicWriteReplacesFileAndLeavesNoTemporary) {
  write_safetensors(path("m.safetensors"), {{"w", {1}, {1.0f}}});
  write_safetensors(path("m.safetensors"), {{"v", {2}, {2.0f, 3.0f}}}, {{"epoch", "2"}});
  EXPECT_EQ(file_names(dir_), std::vector<std::string>{"m.safetensors"});
  const SafetensorsFile f = read_safetensors(path("m.safetensors"));
  ASSERT_EQ(f.tensors.size(), 1u);
  EXPECT_EQ(f.tensors[0].name, "v");
  EXPECT_EQ(f.tensors[0].data, (std::vector<float>{2.0f, 3.0f}));
  EXPECT_EQ(f.metadata.at("epoch"), "2");

  // A missing directory fails at creation; a directory in the way fails at rename. Neither
  // leaves a temporary behind.
  expect_error([&] { write_safetensors(path("no/such/dir/m.safetensors"), {}); }, "cannot create");
  fs::create_directory(dir_ / "taken");
  fs::create_directory(dir_ / "taken" / "child");  // rename over a non-empty directory fails
  expect_error([&] { write_safetensors(path("taken"), {{"w", {1}, {1.0f}}}); }, "cannot rename");
  EXPECT_EQ(file_names(dir_), (std::vector<std::string>{"m.safetensors", "taken"}));
}

TEST_F(SafetensorsTest, EmptyFileRoundTrips) {
  write_safetensors(path("e.safetensors"), {});
  EXPECT_EQ(read_file(path("e.safetensors")), st_bytes("{}", ""));
  const SafetensorsFile f = read_safetensors(path("e.safetensors"));
  EXPECT_TRUE(f.tensors.empty());
  EXPECT_TRUE(f.metadata.empty());
}

// Expects parse_safetensors on a file of `header` and `data` to throw an Error containing `word`.
void expect_parse_error(const std::string& header, const std::string& data,
                        const std::string& word) {
  expect_error([&] { parse_safetensors(st_bytes(header, data), "mem.safetensors"); }, word);
}

TEST_F(SafetensorsTest, ParsesFromMemoryLikeFromAFile) {
  write_safetensors(path("m.safetensors"), {{"b", {2}, {0.5f, -1.0f}}, {"a", {1, 1}, {3.0f}}},
                    {{"step", "7"}});
  const std::string bytes = read_file(path("m.safetensors"));
  const SafetensorsFile f = parse_safetensors(bytes, "mem.safetensors");
  ASSERT_EQ(f.tensors.size(), 2u);
  EXPECT_EQ(f.tensors[0].name, "a");
  EXPECT_EQ(f.tensors[0].shape, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(f.tensors[0].data, (std::vector<float>{3.0f}));
  EXPECT_EQ(f.tensors[1].name, "b");
  EXPECT_EQ(f.tensors[1].data, (std::vector<float>{0.5f, -1.0f}));
  EXPECT_EQ(f.metadata.at("step"), "7");
  expect_error([&] { parse_safetensors(bytes.substr(0, bytes.size() - 1), "cut.safetensors"); },
               "cut.safetensors");
}

TEST_F(SafetensorsTest, RejectsHolesAndTrailingGarbage) {
  const std::string f32 = R"("dtype": "F32", "shape": [1])";
  // [0,4) and [8,12): bytes 4..8 belong to no tensor.
  expect_rejected(R"({"a": {)" + f32 + R"(, "data_offsets": [0, 4]}, "b": {)" + f32 +
                      R"(, "data_offsets": [8, 12]}})",
                  std::string(12, '\0'), "bytes [4, 8) of the data buffer, before tensor \"b\"");
  // The first tensor does not start at 0.
  expect_rejected(R"({"a": {)" + f32 + R"(, "data_offsets": [4, 8]}})", std::string(8, '\0'),
                  "bytes [0, 4) of the data buffer");
  // Bytes after the last tensor: appended garbage.
  expect_rejected(R"({"a": {)" + f32 + R"(, "data_offsets": [0, 4]}})", std::string(7, 'x'),
                  "has 3 bytes after the end of its last tensor's data (4 of 7 data bytes");
  // Data but no tensors at all.
  expect_rejected("{}", "junk", "has 4 bytes after the end");
  // Empty tensors anywhere on the tiling are fine.
  write_file(
      path("ok.safetensors"),
      st_bytes(R"({"e": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]}, "a": {)" + f32 +
                   R"(, "data_offsets": [0, 4]}, "z": {"dtype": "F32", "shape": [2, 0],)" +
                   R"( "data_offsets": [4, 4]}})",
               std::string(4, '\0')));
  EXPECT_EQ(read_safetensors(path("ok.safetensors")).tensors.size(), 3u);
}

TEST_F(SafetensorsTest, RejectsEmptyNamesInReaderAndWriter) {
  expect_rejected(R"({"": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})",
                  std::string(4, '\0'), "a tensor has an empty name");
  expect_error(
      [&] {
        write_safetensors(path("e.safetensors"), {{"", {1}, {1.0f}}});
      },
      "has an empty name");
  EXPECT_FALSE(fs::exists(path("e.safetensors")));
}

TEST_F(SafetensorsTest, RejectsAbsurdHeadersInMemory) {
  const std::string zero_len(8, '\0');
  expect_error([&] { parse_safetensors(zero_len, "mem.safetensors"); }, "not valid JSON");
  expect_error([&] { parse_safetensors(std::string(7, '\0'), "mem.safetensors"); },
               "too short (7 bytes)");
  // 2^63: within u64, far beyond the input.
  expect_error([&] { parse_safetensors(std::string("\0\0\0\0\0\0\0\x80{}", 10), "m"); },
               "header length 9223372036854775808 is absurd for a 10-byte file");
  expect_parse_error("{} garbage", "", "not valid JSON");
  expect_parse_error("\"just a string\"", "", "header is JSON string, not an object");
}

TEST_F(SafetensorsTest, DeeplyNestedOrLongValuesGiveShortOneLineErrors) {
  // Deep nesting inside a shape must not recurse in the reader or its message.
  const std::string deep = std::string(20000, '[') + std::string(20000, ']');
  expect_parse_error(R"({"w": {"dtype": "F32", "shape": )" + deep + R"(, "data_offsets": [0, 0]}})",
                     "", "non-integer dim a JSON array in its shape");
  // A long string dim is quoted to 32 characters.
  const std::string long_dim = "\"" + std::string(1000, 'd') + "\"";
  try {
    parse_safetensors(st_bytes(R"({"w": {"dtype": "F32", "shape": [)" + long_dim +
                                   R"(], "data_offsets": [0, 0]}})",
                               ""),
                      "mem.safetensors");
    ADD_FAILURE() << "a string dim was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("non-integer dim \"ddd"));
    EXPECT_LT(std::string(e.what()).size(), 200u) << e.what();
  }
  expect_parse_error(
      R"({"w": {"dtype": "F32", "shape": [-1, )" + deep + R"(], "data_offsets": [0, 0]}})", "",
      "negative dim -1 in its shape; dims must be >= 0");
}

}  // namespace
}  // namespace cnnmem::test
