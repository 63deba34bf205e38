// NumPy .npy parser: the magic and version, the header dict (a small parser for the Python
// literal np.save writes), the dtype table, and the Fortran-to-C transposition.
//
// The header is parsed by hand rather than evaluated: only a dict of the three keys, with string,
// bool and tuple-of-int values, is accepted. Sizes in the header are checked against the bytes
// that follow before any element is copied, so a lying header costs nothing.
// Not here: pairing images with labels (io/npy_images.cpp).
#include "io/npy.h"

#include <array>
#include <bit>
#include <cstring>
#include <string_view>
#include <utility>

#include "framework/error.h"
#include "io/file_bytes.h"

namespace cnnmem {
namespace {

static_assert(std::endian::native == std::endian::little,
              "npy: the reader hands over little-endian bytes as they are");

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr uint64_t kMaxArrayBytes = uint64_t{1} << 46;  // 64 TiB: more than any real file
constexpr size_t kMaxHeaderBytes = size_t{1} << 20;     // np.save writes well under 1 KiB

struct DtypeInfo {
  NpyDtype dtype;
  const char* name;
  int size;
};
constexpr std::array<DtypeInfo, 10> kDtypes = {{{NpyDtype::kU1, "u1", 1},
                                                {NpyDtype::kI1, "i1", 1},
                                                {NpyDtype::kU2, "u2", 2},
                                                {NpyDtype::kI2, "i2", 2},
                                                {NpyDtype::kU4, "u4", 4},
                                                {NpyDtype::kI4, "i4", 4},
                                                {NpyDtype::kU8, "u8", 8},
                                                {NpyDtype::kI8, "i8", 8},
                                                {NpyDtype::kF4, "f4", 4},
                                                {NpyDtype::kF8, "f8", 8}}};
// npy_dtype_name and npy_dtype_size index the table by the enum.
constexpr bool dtypes_in_enum_order() {
  for (size_t i = 0; i < kDtypes.size(); ++i) {
    if (static_cast<size_t>(kDtypes[i].dtype) != i) return false;
  }
  return true;
}
static_assert(dtypes_in_enum_order());
constexpr const char* kSupported = "u1 i1 u2 i2 u4 i4 u8 i8 f4 f8";

// The parsed header: what the elements are and where they start.
struct Header {
  NpyDtype dtype = NpyDtype::kU1;
  bool fortran_order = false;
  std::vector<int64_t> shape;
  size_t data_offset = 0;
};

// `text` for a one-line message: at most `limit` characters, control bytes shown as '?'.
std::string printable(std::string_view text, size_t limit) {
  std::string s(text.substr(0, limit));
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  return s + (text.size() > limit ? "..." : "");
}

// The dtype of a descr string ('<f4', '|u1'); throws for anything cnnmem does not read.
NpyDtype parse_descr(const std::string& descr, const std::string& name) {
  const std::string head = "npy: " + name + " has dtype '" + printable(descr, 40) + "'";
  const char order = descr.empty() ? '\0' : descr[0];
  const bool has_order = order == '<' || order == '>' || order == '|' || order == '=';
  const std::string code = has_order ? descr.substr(1) : descr;
  if (code == "O") {
    throw Error(head + " (Python objects, stored pickled), which cnnmem cannot read; save a " +
                "numeric array instead: np.save(f, np.asarray(a, dtype=np.float32))");
  }
  for (const DtypeInfo& d : kDtypes) {
    if (code != d.name) continue;
    if (d.size == 1 || order == '<') return d.dtype;  // one byte has no byte order
    if (order == '>') {
      throw Error(head + " (big-endian); cnnmem reads little-endian arrays only: np.save(f, " +
                  "a.astype('<" + d.name + "'))");
    }
    throw Error(head + " without a little-endian mark '<'; cnnmem cannot trust its byte order: " +
                "np.save(f, a.astype('<" + d.name + "'))");
  }
  const char* to = (!code.empty() && code[0] == 'b') ? "np.uint8" : "np.float32";
  throw Error(head + ", which cnnmem does not read; supported: " + kSupported +
              " (little-endian); convert it, e.g. np.save(f, a.astype(" + to + "))");
}

// A recursive-descent reader of the header dict, e.g.
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& name) : text_(text), name_(name) {}

  void parse(Header* h) {
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{', "the dict's '{'");
    while (skip_space() != '}') {
      const std::string key = parse_string("a key");
      expect(':', "':' after '" + printable(key, 40) + "'");
      if (key == "descr") {
        seen_descr = mark_seen(seen_descr, key);
        if (skip_space() == '[') {
          throw Error("npy: " + name_ +
                      " has a structured dtype (a list of fields); cnnmem reads " +
                      "plain arrays only: save each field on its own, np.save(f, a['field'])");
        }
        h->dtype = parse_descr(parse_string("the 'descr' string"), name_);
      } else if (key == "fortran_order") {
        seen_order = mark_seen(seen_order, key);
        h->fortran_order = parse_bool();
      } else if (key == "shape") {
        seen_shape = mark_seen(seen_shape, key);
        h->shape = parse_shape();
      } else {
        malformed("has the unknown key '" + printable(key, 40) +
                  "' (expected 'descr', 'fortran_order', 'shape')");
      }
      if (skip_space() == ',') {
        ++pos_;
      } else if (skip_space() != '}') {
        malformed("lacks a ',' or '}' after the value of '" + key + "'");
      }
    }
    ++pos_;  // the '}'
    while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
    if (pos_ != text_.size()) malformed("has text after the dict's '}'");
    if (!seen_descr || !seen_order || !seen_shape) {
      malformed("lacks the key '" +
                std::string(!seen_descr ? "descr" : (!seen_order ? "fortran_order" : "shape")) +
                "'");
    }
  }

 private:
  static bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

  // The next character after any spaces ('\0' at the end); does not consume it.
  char skip_space() {
    while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }

  void expect(char c, const std::string& what) {
    if (skip_space() != c) malformed("lacks " + what);
    ++pos_;
  }

  // The header without its padding.
  std::string_view trimmed() const {
    std::string_view t = text_;
    while (!t.empty() && is_space(t.back())) t.remove_suffix(1);
    return t;
  }

  bool mark_seen(bool seen, const std::string& key) {
    if (seen) malformed("has the key '" + key + "' twice");
    return true;
  }

  std::string parse_string(const std::string& what) {
    const char quote = skip_space();
    if (quote != '\'' && quote != '"') malformed("lacks " + what + " (a quoted string)");
    const size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) malformed("has an unterminated string");
    std::string s(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return s;
  }

  bool parse_bool() {
    skip_space();
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      if (text_.substr(pos_, std::strlen(word)) == word) {
        pos_ += std::strlen(word);
        return value;
      }
    }
    malformed("has a 'fortran_order' that is not True or False");
  }

  // A tuple of non-negative ints: (), (5,), (2, 3), (2, 3,); Python 2's 5L is accepted.
  std::vector<int64_t> parse_shape() {
    std::vector<int64_t> shape;
    expect('(', "the '(' of 'shape' (a tuple)");
    bool comma = true;  // a value may follow
    while (skip_space() != ')') {
      if (!comma) malformed("has a 'shape' whose values are not separated by ','");
      shape.push_back(parse_dim());
      if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;
      comma = skip_space() == ',';
      if (comma) ++pos_;
    }
    ++pos_;  // the ')'
    if (shape.size() == 1 && !comma) {
      malformed("has shape (" + std::to_string(shape[0]) + "), not a tuple (a 1-d shape is (" +
                std::to_string(shape[0]) + ",))");
    }
    return shape;
  }

  int64_t parse_dim() {
    if (skip_space() < '0' || skip_space() > '9') {
      malformed("has a 'shape' with something other than non-negative integers");
    }
    int64_t v = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      if (v > (int64_t{1} << 50)) malformed("has a dimension in 'shape' too large for any file");
      v = v * 10 + (text_[pos_++] - '0');
    }
    return v;
  }

  [[noreturn]] void malformed(const std::string& what) const {
    throw Error("npy: " + name_ + ": the header " + what + "; the file is corrupt or not a .npy " +
                "file (header: " + printable(trimmed(), 120) + ")");
  }

  std::string_view text_;
  const std::string& name_;
  size_t pos_ = 0;
};

// Steps 1-3: magic, version and header; the header length checked against the input.
Header parse_header(std::span<const uint8_t> bytes, const std::string& name) {
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (text.substr(0, kMagic.size()) != kMagic) {
    throw Error("npy: " + name + " does not start with the .npy magic \\x93NUMPY; it is not a " +
                ".npy file (an .npz archive? unzip it first)");
  }
  if (bytes.size() < 10) {
    throw Error("npy: " + name + " is truncated: " + std::to_string(bytes.size()) +
                " bytes, shorter than the .npy preamble; re-save the file");
  }
  const int major = bytes[6], minor = bytes[7];
  if ((major < 1 || major > 3) || minor != 0) {
    throw Error("npy: " + name + " has format version " + std::to_string(major) + "." +
                std::to_string(minor) + "; cnnmem reads versions 1.0, 2.0 and 3.0");
  }
  size_t start = 10, length = bytes[8] | (size_t{bytes[9]} << 8);
  if (major >= 2) {
    if (bytes.size() < 12) {
      throw Error("npy: " + name + " is truncated inside its header length; re-save the file");
    }
    start = 12;
    length |= (size_t{bytes[10]} << 16) | (size_t{bytes[11]} << 24);
  }
  if (length > kMaxHeaderBytes) {
    throw Error("npy: " + name + " declares a " + std::to_string(length) + "-byte header, more " +
                "than the 1 MiB cnnmem reads; the file is corrupt");
  }
  if (length > bytes.size() - start) {
    throw Error("npy: " + name + " declares a " + std::to_string(length) + "-byte header, but " +
                std::to_string(bytes.size() - start) +
                " bytes follow; the file is truncated or corrupt");
  }
  Header h;
  HeaderParser(text.substr(start, length), name).parse(&h);
  h.data_offset = start + length;
  return h;
}

// Step 4: the element count and byte size the shape needs, checked against what follows.
uint64_t checked_data_bytes(const Header& h, size_t available, const std::string& name) {
  uint64_t elements = 1;
  for (int64_t d : h.shape) {
    if (d != 0 && elements > kMaxArrayBytes / static_cast<uint64_t>(d)) {
      throw Error("npy: " + name + " has shape " + npy_shape_text(h.shape) +
                  ", more elements than any file can hold; the header is corrupt");
    }
    elements *= static_cast<uint64_t>(d);
  }
  const uint64_t need = elements * static_cast<uint64_t>(npy_dtype_size(h.dtype));
  if (need > kMaxArrayBytes) {
    throw Error("npy: " + name + " has shape " + npy_shape_text(h.shape) + " of " +
                npy_dtype_name(h.dtype) + ", more bytes than any file can hold; the header is " +
                "corrupt");
  }
  if (need != available) {
    throw Error("npy: " + name + " has " + std::to_string(available) + " data bytes, but shape " +
                npy_shape_text(h.shape) + " of " + npy_dtype_name(h.dtype) + " needs " +
                std::to_string(need) + "; the file is " +
                (available < need ? "truncated" : "followed by extra bytes") + ", re-save it");
  }
  return need;
}

// The C-order bytes of a Fortran-order array: element (i0, ..., ik) sits at offset
// i0 + d0 * (i1 + d1 * (...)) in `src`; walk the output in C order, stepping the source offset.
std::vector<uint8_t> fortran_to_c(std::span<const uint8_t> src, const std::vector<int64_t>& shape,
                                  size_t item) {
  std::vector<uint8_t> dst(src.size());
  const size_t k = shape.size();
  if (src.empty() || k < 2) {
    std::copy(src.begin(), src.end(), dst.begin());
    return dst;
  }
  std::vector<size_t> stride(k), index(k, 0);  // source strides in elements
  size_t s = 1;
  for (size_t j = 0; j < k; ++j) {
    stride[j] = s;
    s *= static_cast<size_t>(shape[j]);
  }
  size_t offset = 0;
  for (size_t out = 0; out < dst.size(); out += item) {
    std::memcpy(dst.data() + out, src.data() + offset * item, item);
    for (size_t j = k; j-- > 0;) {  // the odometer: the last axis moves fastest
      offset += stride[j];
      if (++index[j] < static_cast<size_t>(shape[j])) break;
      offset -= stride[j] * index[j];
      index[j] = 0;
    }
  }
  return dst;
}

}  // namespace

const char* npy_dtype_name(NpyDtype dtype) { return kDtypes[static_cast<size_t>(dtype)].name; }

int npy_dtype_size(NpyDtype dtype) { return kDtypes[static_cast<size_t>(dtype)].size; }

std::string npy_shape_text(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

int64_t NpyArray::element_count() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

NpyArray parse_npy(std::span<const uint8_t> bytes, const std::string& name) {
  Header h = parse_header(bytes, name);
  const std::span<const uint8_t> data = bytes.subspan(h.data_offset);
  checked_data_bytes(h, data.size(), name);
  NpyArray a;
  a.dtype = h.dtype;
  a.data = h.fortran_order
               ? fortran_to_c(data, h.shape, static_cast<size_t>(npy_dtype_size(h.dtype)))
               : std::vector<uint8_t>(data.begin(), data.end());
  a.shape = std::move(h.shape);
  return a;
}

NpyArray read_npy(const std::string& path) {
  std::vector<uint8_t> bytes = read_file_bytes(path, "npy", kMaxArrayBytes + kMaxHeaderBytes + 12);
  Header h = parse_header(bytes, path);
  checked_data_bytes(h, bytes.size() - h.data_offset, path);
  NpyArray a;
  a.dtype = h.dtype;
  if (h.fortran_order) {
    a.data = fortran_to_c(std::span<const uint8_t>(bytes).subspan(h.data_offset), h.shape,
                          static_cast<size_t>(npy_dtype_size(h.dtype)));
  } else {  // drop the header in place: no second copy of the elements
    bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(h.data_offset));
    a.data = std::move(bytes);
  }
  a.shape = std::move(h.shape);
  return a;
}

}  // namespace cnnmem
