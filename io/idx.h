// IDX reader: the MNIST file format, gzip-compressed or plain, and the Fashion-MNIST loader.
//
// An IDX file is a 4-byte magic `00 00 TT ND` (TT = element type, ND = number of dimensions),
// ND big-endian u32 dimensions, then the elements in row-major order. Only type 0x08 (unsigned
// byte) is supported, which is all that MNIST and Fashion-MNIST use. zlib reads plain files
// transparently, so `read_idx_gz` accepts both.
// Not here: normalisation, shuffling, batching or any conversion to float; that belongs to the
// data loader. Every malformed input throws `cnnmem::Error` naming the file; nothing is trusted.
//
// Usage:
//   cnnmem::ImageSet train = cnnmem::load_fashion_mnist("/usr/share/datasets/fashion-mnist",
//                                                       "train");
//   // train.images[(i * train.rows + y) * train.cols + x] is pixel (y, x) of image i,
//   // train.labels[i] its class in [0, 10).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cnnmem {

// The contents of one IDX file of type 0x08 (ubyte).
struct IdxArray {
  std::vector<uint32_t> dims;  // 1 to 4 dimensions, outermost first
  std::vector<uint8_t> data;   // product(dims) elements, row-major
};

// Reads a gzip-compressed (or plain) IDX file. Throws cnnmem::Error if the file is missing,
// has a bad magic, more than 1<<31 elements, is truncated, has trailing bytes, or is corrupt.
IdxArray read_idx_gz(const std::string& path);

// A labelled image data set as stored on disk.
struct ImageSet {
  int64_t count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> images;  // (count, rows, cols), row-major
  std::vector<uint8_t> labels;  // (count), each < classes
};

// Reads <dir>/train-images-idx3-ubyte.gz + train-labels-idx1-ubyte.gz (split = "train") or the
// t10k-* pair (split = "test"). Checks the magics (0x00000803 images, 0x00000801 labels), that
// the counts agree, and that every label is < classes (1..256).
ImageSet load_fashion_mnist(const std::string& dir, const std::string& split, int classes = 10);

}  // namespace cnnmem
