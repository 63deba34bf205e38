// Whole-file reads for the data set readers (io/npy.h, io/cifar.h): the bytes of one regular
// file, with the reader's own one-line errors for a missing, unreadable or oversized file.
//
// The size comes from the file system, never from the file's contents, and is checked against the
// caller's limit before anything is allocated.
// Not here: parsing, memory mapping, or streaming reads (io/safetensors.h streams its tensors).
//
// Usage:
//   std::vector<uint8_t> bytes = cnnmem::read_file_bytes(path, "npy", uint64_t{1} << 40);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cnnmem {

// The contents of the regular file at `path`. `format` starts each message ("npy: ..."). Throws
// cnnmem::Error if the file is missing, a directory, unreadable, larger than `max_bytes`, or
// changes size while it is read.
std::vector<uint8_t> read_file_bytes(const std::string& path, const std::string& format,
                                     uint64_t max_bytes);

}  // namespace cnnmem
