// .npy files for tests, written byte by byte as np.save writes them: the magic, the version, the
// header length, the header dict padded with spaces and a newline to a multiple of 64 bytes, then
// the data. The header text is the caller's, so tests can also write broken ones.
//
// Usage:
//   test::write_file(path("x.npy"), test::npy_file(test::npy_dict("<f4", "(2, 3)"),
//                                                  test::bytes_of(std::vector<float>(6))));
// Not here: reading .npy files (io/npy.h is what the tests check).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace cnnmem::test {

// The dict np.save writes, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
inline std::string npy_dict(const std::string& descr, const std::string& shape,
                            bool fortran_order = false) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran_order ? "True" : "False") +
         ", 'shape': " + shape + ", }";
}

// A whole .npy file of version `major`.0 (1: u16 header length; 2 and 3: u32).
inline std::vector<uint8_t> npy_file(const std::string& dict, const std::vector<uint8_t>& data,
                                     int major = 1) {
  const size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(major), 0};
  for (size_t i = 0; i < prefix - 8; ++i)
    out.push_back(static_cast<uint8_t>(header.size() >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// The little-endian bytes of `values`.
template <typename T>
std::vector<uint8_t> bytes_of(const std::vector<T>& values) {
  std::vector<uint8_t> out(values.size() * sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

}  // namespace cnnmem::test
