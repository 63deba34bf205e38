// IDX files (the Fashion-MNIST format) for tests: the bytes of a file (big-endian magic and
// dimensions, then the data) and a gzip writer, to feed io/idx.h good and broken files.
//
// Usage:
//   test::write_gz(dir / "train-labels-idx1-ubyte.gz", test::idx_bytes(test::kIdxLabels, {2}, {1,
//   7}));
// Not here: reading IDX files (io/idx.h is what the tests check).
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <vector>

namespace cnnmem::test {

// Magic numbers of unsigned-byte IDX files: type 0x08, then the number of dimensions.
inline constexpr uint32_t kIdxLabels = 0x00000801;  // (N)
inline constexpr uint32_t kIdxImages = 0x00000803;  // (N, H, W)

inline std::vector<uint8_t> idx_bytes(uint32_t magic, const std::vector<uint32_t>& dims,
                                      const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out;
  auto put_be32 = [&out](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
  };
  put_be32(magic);
  for (uint32_t d : dims) put_be32(d);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// `bytes` gzip-compressed into `path`.
inline void write_gz(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()))
        << path;
  }
  ASSERT_EQ(gzclose(f), Z_OK) << path;
}

}  // namespace cnnmem::test
