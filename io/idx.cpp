// IDX reader implementation: a byte source (plain, or gzip inflated in chunks), a validated
// header, and the Fashion-MNIST image/label pairing.
//
// The whole file is read into memory first (its size is bounded before anything is allocated),
// then parsed by the same code that parses an in-memory buffer, so the fuzzer (fuzz/idx_fuzz.cpp)
// exercises exactly what the loader runs. The elements are decoded into a buffer grown chunk by
// chunk, so a corrupt header that claims 2 GB costs no more memory than the input can produce.
// Not here: any interpretation of the bytes beyond Fashion-MNIST's image/label pairing.
#include "io/idx.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <utility>

#include "framework/error.h"

namespace cnnmem {
namespace {

constexpr uint8_t kIdxTypeUbyte = 0x08;
constexpr size_t kIdxMaxDims = 4;
constexpr uint64_t kIdxMaxElements = uint64_t{1} << 31;
// The largest file that can hold a valid IDX array: 2^31 elements, the header, and gzip's
// overhead on incompressible data (5 bytes per 64 KiB stored block, plus header and trailer).
constexpr uint64_t kIdxMaxFileBytes = kIdxMaxElements + kIdxMaxElements / 256 + 4096;
// Deflate cannot expand one input byte into more than 1032 output bytes (zlib's FAQ), so a gzip
// input of n bytes decodes to at most 1032 * n bytes.
constexpr uint64_t kDeflateMaxRatio = 1032;
constexpr size_t kFirstReadBytes = size_t{64} << 10;  // first growth step of the elements
constexpr size_t kReadChunkBytes = size_t{16} << 20;  // largest growth step
constexpr uInt kInflateInputChunk = uInt{1} << 30;    // what zlib takes per call (uInt)

std::string hex(uint32_t value, int digits) {
  std::array<char, 16> buf{};
  std::snprintf(buf.data(), buf.size(), "0x%0*X", digits, static_cast<unsigned>(value));
  return buf.data();
}

uint32_t load_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

bool has_gzip_magic(std::span<const uint8_t> bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B;
}

// The decoded bytes of an IDX file: the input itself, or the inflated gzip members.
class ByteSource {
 public:
  ByteSource(std::span<const uint8_t> bytes, const std::string& name)
      : bytes_(bytes), name_(name), gzip_(has_gzip_magic(bytes)) {
    if (!gzip_) return;
    if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) {  // 16: expect a gzip wrapper
      throw Error("idx: " + name_ + ": zlib cannot start inflating (out of memory?)");
    }
    z_.next_in = const_cast<Bytef*>(bytes_.data());  // zlib never writes through next_in
  }
  ~ByteSource() {
    if (gzip_) inflateEnd(&z_);
  }
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  bool gzip() const { return gzip_; }
  // Plain input: the bytes not yet read. Gzip input: an upper bound of what it can decode to.
  uint64_t max_remaining() const {
    if (!gzip_) return bytes_.size() - pos_;
    return kDeflateMaxRatio * static_cast<uint64_t>(bytes_.size());
  }

  // Reads up to `n` bytes into `dst`; returns how many were read (fewer only at the end).
  // Throws if the gzip data are corrupt, cut off, or followed by bytes that are not gzip.
  size_t read(uint8_t* dst, size_t n) {
    if (!gzip_) {
      const size_t got = std::min(n, bytes_.size() - pos_);
      std::copy_n(bytes_.data() + pos_, got, dst);
      pos_ += got;
      return got;
    }
    size_t got = 0;
    while (got < n && !ended_) got += inflate_some(dst + got, n - got);
    return got;
  }

 private:
  // One call of inflate() into [dst, dst + n); returns the bytes it produced.
  size_t inflate_some(uint8_t* dst, size_t n) {
    const size_t consumed = static_cast<size_t>(z_.next_in - bytes_.data());
    if (z_.avail_in == 0) {
      z_.avail_in =
          static_cast<uInt>(std::min<uint64_t>(bytes_.size() - consumed, kInflateInputChunk));
    }
    z_.next_out = dst;
    z_.avail_out = static_cast<uInt>(std::min<size_t>(n, kReadChunkBytes));
    const uInt out_before = z_.avail_out;
    const int rc = inflate(&z_, Z_NO_FLUSH);
    const size_t produced = out_before - z_.avail_out;
    const size_t left = bytes_.size() - static_cast<size_t>(z_.next_in - bytes_.data());
    if (rc == Z_STREAM_END) {
      // gzip allows several members back to back; anything else after a member is garbage.
      if (left == 0) {
        ended_ = true;
      } else if (has_gzip_magic(bytes_.last(left))) {
        inflateReset(&z_);
      } else {
        throw Error("idx: " + name_ + " has " + std::to_string(left) +
                    " bytes of garbage after its gzip data; the file is corrupt, re-download it");
      }
    } else if (rc == Z_BUF_ERROR) {  // no progress possible: the input ran out mid-stream
      corrupt(left == 0 ? "unexpected end of file" : "inflate made no progress");
    } else if (rc == Z_NEED_DICT) {
      corrupt("needs a preset dictionary");
    } else if (rc == Z_MEM_ERROR) {
      throw Error("idx: " + name_ + ": out of memory while inflating");
    } else if (rc != Z_OK) {
      corrupt(z_.msg != nullptr ? z_.msg : zError(rc));
    }
    return produced;
  }

  [[noreturn]] void corrupt(const std::string& what) const {
    throw Error("idx: " + name_ + " is a corrupt gzip file (zlib: " + what + "); re-download it");
  }

  std::span<const uint8_t> bytes_;
  std::string name_;
  bool gzip_ = false;
  size_t pos_ = 0;  // plain input: bytes read so far
  z_stream z_{};
  bool ended_ = false;  // gzip input: the last member ended
};

// Step 1 of parse_idx: the magic 00 00 TT ND; returns ND, the number of dimensions.
size_t read_magic(ByteSource& in, const std::string& name) {
  std::array<uint8_t, 4> magic{};
  const size_t magic_got = in.read(magic.data(), magic.size());
  if (magic_got < magic.size()) {
    throw Error("idx: " + name + " is truncated: " + std::to_string(magic_got) +
                " bytes, shorter than the 4-byte magic; re-download it");
  }
  const uint32_t magic_value = load_be32(magic.data());
  if (magic[0] != 0 || magic[1] != 0) {
    throw Error("idx: " + name + " has bad magic " + hex(magic_value, 8) +
                " (expected 0x0000TTNN); it is not an IDX file");
  }
  if (magic[2] != kIdxTypeUbyte) {
    throw Error("idx: " + name + " has element type " + hex(magic[2], 2) +
                " in its magic; only type 0x08 (unsigned byte) is supported");
  }
  const size_t ndims = magic[3];
  if (ndims < 1 || ndims > kIdxMaxDims) {
    throw Error("idx: " + name + " declares " + std::to_string(ndims) +
                " dimensions in its magic; only 1 to 4 dimensions are supported");
  }
  return ndims;
}

// Step 3 of parse_idx: the `elements` data bytes into out->data, grown geometrically (64 KiB,
// then doubling up to 16 MiB steps) so that a lying header costs at most about twice the bytes
// the input really decodes to.
void read_data(ByteSource& in, const std::string& name, uint64_t elements,
               const std::string& dims_text, IdxArray* out) {
  size_t have = 0;
  while (have < elements) {
    const size_t step = std::clamp(have, kFirstReadBytes, kReadChunkBytes);
    const size_t want = static_cast<size_t>(std::min<uint64_t>(elements - have, step));
    out->data.resize(have + want);
    const size_t got = in.read(out->data.data() + have, want);
    have += got;
    if (got < want) {
      throw Error("idx: " + name + " is truncated: dims " + dims_text + " need " +
                  std::to_string(elements) + " data bytes, found " + std::to_string(have) +
                  "; re-download it");
    }
  }
}

}  // namespace

IdxArray parse_idx(std::span<const uint8_t> bytes, const std::string& name) {
  ByteSource in(bytes, name);

  // 1. Magic: 00 00 TT ND.
  const size_t ndims = read_magic(in, name);

  // 2. Big-endian u32 dims; their product must stay within kIdxMaxElements and within what the
  //    rest of the input can hold.
  std::array<uint8_t, 4 * kIdxMaxDims> dim_bytes{};
  const size_t dims_got = in.read(dim_bytes.data(), 4 * ndims);
  if (dims_got < 4 * ndims) {
    throw Error("idx: " + name + " is truncated inside its header (" + std::to_string(ndims) +
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
      throw Error("idx: " + name + " has dims " + dims_text + "... with more than 2^31 elements; " +
                  "the header is corrupt");
    }
  }
  if (!in.gzip() && elements > in.max_remaining()) {
    throw Error("idx: " + name + " is truncated: dims " + dims_text + " need " +
                std::to_string(elements) + " data bytes, found " +
                std::to_string(in.max_remaining()) + "; re-download it");
  }
  if (in.gzip() && elements > in.max_remaining()) {
    throw Error("idx: " + name + " has dims " + dims_text + " that need " +
                std::to_string(elements) + " data bytes, more than its " +
                std::to_string(bytes.size()) +
                " gzip bytes can hold (deflate expands at most 1032x); the header is corrupt");
  }

  // 3. The data.
  read_data(in, name, elements, dims_text, &out);

  // 4. Nothing may follow; reading past the end also makes zlib verify the gzip CRC and length.
  uint8_t extra = 0;
  if (in.read(&extra, 1) != 0) {
    throw Error("idx: " + name + " has extra bytes after the " + std::to_string(elements) +
                " data bytes its dims " + dims_text + " declare; the file is corrupt");
  }
  return out;
}

IdxArray read_idx_gz(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw Error("idx: " + path + " not found; check the path");
  }
  if (std::filesystem::is_directory(path, ec)) {
    throw Error("idx: " + path + " is a directory, not an IDX file; pass the file path");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("idx: cannot open " + path + "; check that the file is readable");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0 || !in) {
    throw Error("idx: cannot read the size of " + path + "; check that it is a regular file");
  }
  if (static_cast<uint64_t>(size) > kIdxMaxFileBytes) {
    throw Error("idx: " + path + " is " + std::to_string(size) +
                " bytes, larger than any IDX file of at most 2^31 elements; it is not an IDX file");
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (in.gcount() != size) {
    throw Error("idx: cannot read " + path + " to the end; the file changed while reading?");
  }
  return parse_idx(bytes, path);
}

ImageSet make_image_set(IdxArray images, const std::string& images_name, IdxArray labels,
                        const std::string& labels_name, int classes) {
  if (classes < 1 || classes > 256) {
    throw Error("fashion-mnist: classes = " + std::to_string(classes) +
                " is out of range; labels are bytes, use 1..256");
  }
  if (images.dims.size() != 3) {
    throw Error("fashion-mnist: " + images_name + " has magic " +
                hex(0x0800u | static_cast<uint32_t>(images.dims.size()), 8) +
                ", expected 0x00000803 (an image file of N x rows x cols)");
  }
  if (labels.dims.size() != 1) {
    throw Error("fashion-mnist: " + labels_name + " has magic " +
                hex(0x0800u | static_cast<uint32_t>(labels.dims.size()), 8) +
                ", expected 0x00000801 (a label file of N bytes)");
  }
  if (images.dims[0] != labels.dims[0]) {
    throw Error("fashion-mnist: image count " + std::to_string(images.dims[0]) + " in " +
                images_name + " != label count " + std::to_string(labels.dims[0]) + " in " +
                labels_name + "; the files do not belong together");
  }
  if (images.dims[1] == 0 || images.dims[2] == 0) {
    throw Error("fashion-mnist: " + images_name + " has empty images (" +
                std::to_string(images.dims[1]) + "x" + std::to_string(images.dims[2]) +
                "); the file is corrupt");
  }
  for (size_t i = 0; i < labels.data.size(); ++i) {
    if (labels.data[i] >= classes) {
      throw Error("fashion-mnist: " + labels_name + ": label at index " + std::to_string(i) +
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
                  "dataset-fashion-mnist) or pass " +
                  setting("data_dir", "the directory that holds them", "DIR"));
    }
  }
  IdxArray images = read_idx_gz(images_path);
  IdxArray labels = read_idx_gz(labels_path);
  return make_image_set(std::move(images), images_path, std::move(labels), labels_path, classes);
}

}  // namespace cnnmem
