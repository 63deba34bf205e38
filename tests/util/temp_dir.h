// Files made by tests: a fresh directory per test (or per suite), and whole-file reads and writes.
//
// Usage:
//   class MyFiles : public test::TempDirTest {};
//   TEST_F(MyFiles, RoundTrip) { test::write_file(path("a.bin"), "bytes"); ... }
// Not here: the formats written into the files (tests/util/idx_writer.h, io/safetensors.h).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace cnnmem::test {

// "Suite.Name" of the running test, with the '/' of parameterized names made '_', so that it
// can name a directory.
inline std::string current_test_name() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(info->test_suite_name()) + "." + info->name();
  std::replace(name.begin(), name.end(), '/', '_');
  return name;
}

// An empty directory <tmp>/cnnmem_test.<pid>.<label>; whatever an earlier run left there is
// removed first.
inline std::filesystem::path fresh_temp_dir(const std::string& label) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("cnnmem_test." + std::to_string(::getpid()) + "." + label);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// A fixture whose every test gets a fresh directory `dir_`, removed after the test.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = fresh_temp_dir(current_test_name()); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The path of `name` inside the test's directory.
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
};

inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

inline void write_file(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
  write_file(path, std::string(bytes.begin(), bytes.end()));
}

// The whole file ("" when it cannot be read).
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The names of the entries of `dir`, sorted (to check that nothing else was left behind).
inline std::vector<std::string> file_names(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.push_back(e.path().filename());
  }
  std::sort(names.begin(), names.end());
  return names;
}

inline std::vector<uint8_t> read_file_bytes(const std::filesystem::path& path) {
  const std::string bytes = read_file(path);
  return {bytes.begin(), bytes.end()};
}

}  // namespace cnnmem::test
