// IDX reader: the MNIST file format, gzip-compressed or plain, and the Fashion-MNIST loader.
//
// An IDX file is a 4-byte magic `00 00 TT ND` (TT = element type, ND = number of dimensions),
// ND big-endian u32 dimensions, then the elements in row-major order. Only type 0x08 (unsigned
// byte) is supported, which is all that MNIST and Fashion-MNIST use. A file that starts with the
// gzip magic 1F 8B is inflated; any other file is read as plain IDX, so both are accepted.
// Not here: normalisation, shuffling, batching or any conversion to float; that belongs to the
// data loader. Every malformed input throws `cnnmem::Error` naming the file; nothing is trusted.
//
// Usage:
//   cnnmem::ImageSet train = cnnmem::load_fashion_mnist("/usr/share/datasets/fashion-mnist",
//                                                       "train");
//   // train.images[(i * train.rows + y) * train.cols + x] is pixel (y, x) of image i,
//   // train.labels[i] its class in [0, 10).
//   cnnmem::IdxArray a = cnnmem::parse_idx(bytes, "in-memory.idx");  // same checks, no file
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace cnnmem {

// The contents of one IDX file of type 0x08 (ubyte).
struct IdxArray {
  std::vector<uint32_t> dims;  // 1 to 4 dimensions, outermost first
  std::vector<uint8_t> data;   // product(dims) elements, row-major
};

// Parses a whole IDX file held in memory (gzip-compressed or plain); `name` names it in messages.
// Throws cnnmem::Error for a bad magic, more than 2^31 elements, dims that declare more bytes
// than the input can hold (plain: its size; gzip: deflate's 1032:1 limit), truncation, trailing
// bytes (after the elements, or after the last gzip member), and gzip corruption (bad deflate
// data, CRC or length). Memory grows with the bytes actually decoded, never with the header's
// claim alone.
IdxArray parse_idx(std::span<const uint8_t> bytes, const std::string& name);

// Reads the file at `path` and parses it with parse_idx. Throws cnnmem::Error if it is missing,
// a directory, unreadable, larger than any valid IDX file (2^31 elements + header), or malformed.
IdxArray read_idx_gz(const std::string& path);

// A labelled image data set as stored on disk.
struct ImageSet {
  int64_t count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> images;  // (count, rows, cols), row-major
  std::vector<uint8_t> labels;  // (count), each < classes
};

// Pairs an image file (3 dims: N x rows x cols) with a label file (1 dim: N). Checks the magics
// (0x00000803 images, 0x00000801 labels), that the counts agree, that images are not empty and
// that every label is < classes (1..256); the names are used in messages.
ImageSet make_image_set(IdxArray images, const std::string& images_name, IdxArray labels,
                        const std::string& labels_name, int classes);

// Reads <dir>/train-images-idx3-ubyte.gz + train-labels-idx1-ubyte.gz (split = "train") or the
// t10k-* pair (split = "test") and pairs them with make_image_set.
ImageSet load_fashion_mnist(const std::string& dir, const std::string& split, int classes = 10);

}  // namespace cnnmem
