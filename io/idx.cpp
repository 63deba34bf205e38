// IDX reader implementation: zlib's gz* stream, validated header, chunked reads.
//
// The data are read in chunks into a growing buffer, so a corrupt header that claims 2 GB of
// elements costs no more memory than the file really holds before it is rejected.
// Not here: any interpretation of the bytes beyond Fashion-MNIST's image/label pairing.
#include "io/idx.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

#include "framework/error.h"

namespace cnnmem {
namespace {

constexpr uint8_t kIdxTypeUbyte = 0x08;
constexpr size_t kIdxMaxDims = 4;
constexpr uint64_t kIdxMaxElements = uint64_t{1} << 31;
constexpr size_t kReadChunkBytes = size_t{16} << 20;  // well below gzread's INT_MAX limit

std::string hex(uint32_t value, int digits) {
  std::array<char, 16> buf{};
  std::snprintf(buf.data(), buf.size(), "0x%0*X", digits, static_cast<unsigned>(value));
  return buf.data();
}

// Owns a gzFile; closes it on every exit path.
class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      throw Error("idx: " + path + " not found; check the path");
    }
    if (std::filesystem::is_directory(path, ec)) {
      throw Error("idx: " + path + " is a directory, not an IDX file; pass the file path");
    }
    file_ = gzopen(path.c_str(), "rb");
    if (file_ == nullptr) {
      throw Error("idx: cannot open " + path + "; check that the file is readable");
    }
    gzbuffer(file_, 1 << 17);
  }
  ~GzReader() { gzclose_r(file_); }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // Reads up to `n` bytes into `dst`; returns how many were read (fewer only at end of file).
  // Throws if zlib reports corruption.
  size_t read(uint8_t* dst, size_t n) {
    size_t got = 0;
    while (got < n) {
      const unsigned want = static_cast<unsigned>(std::min(n - got, kReadChunkBytes));
      const int r = gzread(file_, dst + got, want);
      if (r < 0) throw_corrupt();
      got += static_cast<size_t>(r);
      if (static_cast<unsigned>(r) < want) break;
    }
    check_no_error();
    return got;
  }

  // Throws if the stream ended with an error (bad CRC, cut-off gzip member, bad deflate data).
  void check_no_error() {
    int errnum = Z_OK;
    gzerror(file_, &errnum);
    if (errnum != Z_OK) throw_corrupt();
  }

 private:
  [[noreturn]] void throw_corrupt() {
    int errnum = Z_OK;
    const char* raw = gzerror(file_, &errnum);
    std::string msg = (raw != nullptr) ? raw : "unknown error";
    if (msg.starts_with(path_ + ": ")) msg.erase(0, path_.size() + 2);  // zlib prefixes the path
    throw Error("idx: " + path_ + " is a corrupt gzip file (zlib: " + msg + "); re-download it");
  }

  std::string path_;
  gzFile file_ = nullptr;
};

uint32_t load_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

}  // namespace

IdxArray read_idx_gz(const std::string& path) {
  GzReader in(path);

  // 1. Magic: 00 00 TT ND.
  std::array<uint8_t, 4> magic{};
  const size_t magic_got = in.read(magic.data(), magic.size());
  if (magic_got < magic.size()) {
    throw Error("idx: " + path + " is truncated: " + std::to_string(magic_got) +
                " bytes, shorter than the 4-byte magic; re-download it");
  }
  const uint32_t magic_value = load_be32(magic.data());
  if (magic[0] != 0 || magic[1] != 0) {
    throw Error("idx: " + path + " has bad magic " + hex(magic_value, 8) +
                " (expected 0x0000TTNN); it is not an IDX file");
  }
  if (magic[2] != kIdxTypeUbyte) {
    throw Error("idx: " + path + " has element type " + hex(magic[2], 2) +
                " in its magic; only type 0x08 (unsigned byte) is supported");
  }
  const size_t ndims = magic[3];
  if (ndims < 1 || ndims > kIdxMaxDims) {
    throw Error("idx: " + path + " declares " + std::to_string(ndims) +
                " dimensions in its magic; only 1 to 4 dimensions are supported");
  }

  // 2. Big-endian u32 dims; their product must stay within kIdxMaxElements.
  std::array<uint8_t, 4 * kIdxMaxDims> dim_bytes{};
  const size_t dims_got = in.read(dim_bytes.data(), 4 * ndims);
  if (dims_got < 4 * ndims) {
    throw Error("idx: " + path + " is truncated inside its header (" + std::to_string(ndims) +
                " dimensions declared); re-download it");
  }
  IdxArray out;
  uint64_t elements = 1;
  std::string dims_text;
  for (size_t i = 0; i < ndims; ++i) {
    const uint32_t d = load_be32(dim_bytes.data() + 4 * i);
    out.dims.push_back(d);
    dims_text += (i == 0 ? "" : "x") + std::to_string(d);
    elements *= d;  // at most 2^31 * 2^32 before the check below: no overflow
    if (elements > kIdxMaxElements) {
      throw Error("idx: " + path + " has dims " + dims_text + "... with more than 2^31 elements; " +
                  "the header is corrupt");
    }
  }

  // 3. The data, grown chunk by chunk so a lying header cannot force a huge allocation.
  size_t have = 0;
  while (have < elements) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(elements - have, kReadChunkBytes));
    out.data.resize(have + want);
    const size_t got = in.read(out.data.data() + have, want);
    have += got;
    if (got < want) {
      throw Error("idx: " + path + " is truncated: dims " + dims_text + " need " +
                  std::to_string(elements) + " data bytes, found " + std::to_string(have) +
                  "; re-download it");
    }
  }

  // 4. Nothing may follow; reading past the end also makes zlib verify the gzip CRC.
  uint8_t extra = 0;
  if (in.read(&extra, 1) != 0) {
    throw Error("idx: " + path + " has extra bytes after the " + std::to_string(elements) +
                " data bytes its dims " + dims_text + " declare; the file is corrupt");
  }
  return out;
}

ImageSet load_fashion_mnist(const std::string& dir, const std::string& split, int classes) {
  if (split != "train" && split != "test") {
    throw Error("fashion-mnist: unknown split \"" + split + "\"; use \"train\" or \"test\"");
  }
  if (classes < 1 || classes > 256) {
    throw Error("fashion-mnist: classes = " + std::to_string(classes) +
                " is out of range; labels are bytes, use 1..256");
  }
  const std::string prefix = (split == "train") ? "train" : "t10k";
  const std::string images_path =
      (std::filesystem::path(dir) / (prefix + "-images-idx3-ubyte.gz")).string();
  const std::string labels_path =
      (std::filesystem::path(dir) / (prefix + "-labels-idx1-ubyte.gz")).string();
  for (const std::string& path : {images_path, labels_path}) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      throw Error("fashion-mnist: " + path +
                  " not found; install the Debian package dataset-fashion-mnist (apt-get install "
                  "dataset-fashion-mnist) or pass --data-dir DIR");
    }
  }

  IdxArray images = read_idx_gz(images_path);
  if (images.dims.size() != 3) {
    throw Error("fashion-mnist: " + images_path + " has magic " +
                hex(0x0800u | static_cast<uint32_t>(images.dims.size()), 8) +
                ", expected 0x00000803 (an image file of N x rows x cols)");
  }
  IdxArray labels = read_idx_gz(labels_path);
  if (labels.dims.size() != 1) {
    throw Error("fashion-mnist: " + labels_path + " has magic " +
                hex(0x0800u | static_cast<uint32_t>(labels.dims.size()), 8) +
                ", expected 0x00000801 (a label file of N bytes)");
  }
  if (images.dims[0] != labels.dims[0]) {
    throw Error("fashion-mnist: image count " + std::to_string(images.dims[0]) + " in " +
                images_path + " != label count " + std::to_string(labels.dims[0]) + " in " +
                labels_path + "; the files do not belong together");
  }
  if (images.dims[1] == 0 || images.dims[2] == 0) {
    throw Error("fashion-mnist: " + images_path + " has empty images (" +
                std::to_string(images.dims[1]) + "x" + std::to_string(images.dims[2]) +
                "); the file is corrupt");
  }
  for (size_t i = 0; i < labels.data.size(); ++i) {
    if (labels.data[i] >= classes) {
      throw Error("fashion-mnist: " + labels_path + ": label at index " + std::to_string(i) +
                  " is " + std::to_string(labels.data[i]) + ", not below " +
                  std::to_string(classes) + " classes; the file is corrupt or not this data set");
    }
  }

  ImageSet set;
  set.count = images.dims[0];
  set.rows = images.dims[1];
  set.cols = images.dims[2];
  set.images = std::move(images.data);
  set.labels = std::move(labels.data);
  return set;
}

}  // namespace cnnmem
