// safetensors implementation: a validating reader and an atomic, fsync'ed writer.
//
// Reading parses the header once, validates every entry before touching the data, and then reads
// each tensor straight into its float vector. Writing builds the whole header first, so invalid
// input is rejected before any file is created.
// Not here: dtypes other than F32, big-endian hosts (static_assert below), memory mapping.
#include "io/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>

#include "framework/error.h"
#include "io/atomic_file.h"

namespace cnnmem {
namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian data; cnnmem copies floats as raw bytes");
static_assert(sizeof(float) == 4, "safetensors F32 is 4 bytes");

using Json = nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference implementation's limit
constexpr const char* kMetadataKey = "__metadata__";

// Names decoded from JSON may hold control characters; keep our messages to one line.
std::string one_line(std::string s) {
  std::replace_if(
      s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }, ' ');
  return s;
}

// nlohmann's texts quote the raw input ("last read: ..."), which may be binary; keep ASCII.
std::string json_error_text(const Json::exception& e) {
  std::string s = e.what();
  std::replace_if(
      s.begin(), s.end(),
      [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u >= 0x7f;
      },
      '?');
  return s;
}

// A JSON value as it may appear in a one-line message: scalars as written (at most 32
// characters), arrays and objects by type only, since dumping a deeply nested value recurses.
std::string brief(const Json& value) {
  if (value.is_structured()) return std::string("a JSON ") + value.type_name();
  const std::string s = value.dump(-1, ' ', /*ensure_ascii=*/true, Json::error_handler_t::replace);
  return s.size() > 32 ? s.substr(0, 32) + "..." : s;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i == 0 ? "" : ", ") + std::to_string(shape[i]);
  return s + "]";
}

// product(shape), or false if it does not fit in u64. A zero dim makes the product 0 whatever
// the other dims are. Dims must already be known non-negative.
bool element_count(const std::vector<int64_t>& shape, uint64_t* count) {
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) {
    *count = 0;
    return true;
  }
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) return false;
  }
  *count = n;
  return true;
}

// One validated header entry.
struct Entry {
  std::string name;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

Json parse_header(const std::string& path, const std::string& text) {
  // nlohmann keeps the last of duplicate keys silently; a callback sees every key and objects
  // nest, so a stack of key sets finds duplicates at any depth.
  std::vector<std::set<std::string>> keys;
  std::string duplicate;
  auto on_event = [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (event == Json::parse_event_t::object_end) {
      if (!keys.empty()) keys.pop_back();
    } else if (event == Json::parse_event_t::key && !keys.empty() && parsed.is_string()) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (!keys.back().insert(key).second && duplicate.empty()) duplicate = key;
    }
    return true;
  };
  Json header;
  try {
    header = Json::parse(text, on_event);
  } catch (const Json::exception& e) {
    throw Error("safetensors: " + path + ": header is not valid JSON (" + json_error_text(e) +
                "); the file is corrupt or not safetensors");
  }
  if (!duplicate.empty()) {
    throw Error("safetensors: " + path + ": header has duplicate key \"" + one_line(duplicate) +
                "\"; every tensor name and field must appear once");
  }
  if (!header.is_object()) {
    throw Error("safetensors: " + path + ": header is JSON " + header.type_name() +
                ", not an object of tensors; the file is not safetensors");
  }
  return header;
}

Entry parse_entry(const std::string& path, const std::string& name, const Json& value,
                  uint64_t data_bytes) {
  const std::string where = "safetensors: " + path + ": tensor \"" + one_line(name) + "\"";
  if (name.empty()) {
    throw Error("safetensors: " + path + ": a tensor has an empty name; every tensor needs one");
  }
  if (!value.is_object()) {
    throw Error(where + " is JSON " + value.type_name() +
                ", not an object with dtype, shape and data_offsets");
  }
  const auto dtype = value.find("dtype");
  if (dtype == value.end() || !dtype->is_string()) {
    throw Error(where + " has no string field \"dtype\"; the header is corrupt");
  }
  if (*dtype != "F32") {
    throw Error(where + " has dtype " + one_line(dtype->get<std::string>()) +
                "; only F32 is supported, convert the tensor to float32 before saving");
  }
  const auto shape = value.find("shape");
  if (shape == value.end() || !shape->is_array()) {
    throw Error(where + " has no array field \"shape\"; the header is corrupt");
  }
  const auto offsets = value.find("data_offsets");
  if (offsets == value.end() || !offsets->is_array() || offsets->size() != 2 ||
      !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned()) {
    throw Error(where + " needs \"data_offsets\" as [begin, end] non-negative integers");
  }

  Entry entry;
  entry.name = name;
  for (const Json& d : *shape) {
    if (!d.is_number_integer()) {
      throw Error(where + " has a non-integer dim " + brief(d) + " in its shape");
    }
    if (d.is_number_unsigned()) {
      if (d.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        throw Error(where + " has a dim too large for int64 in its shape");
      }
      entry.shape.push_back(static_cast<int64_t>(d.get<uint64_t>()));
    } else {
      entry.shape.push_back(d.get<int64_t>());
    }
    if (entry.shape.back() < 0) {
      throw Error(where + " has a negative dim " + std::to_string(entry.shape.back()) +
                  " in its shape; dims must be >= 0");
    }
  }
  entry.begin = (*offsets)[0].get<uint64_t>();
  entry.end = (*offsets)[1].get<uint64_t>();
  const std::string offsets_text =
      "[" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) + "]";
  if (entry.begin > entry.end) {
    throw Error(where + " has data_offsets " + offsets_text + " with begin after end");
  }
  if (entry.end > data_bytes) {
    throw Error(where + " has data_offsets " + offsets_text + " out of range of the " +
                std::to_string(data_bytes) + "-byte data buffer; the file is truncated");
  }
  uint64_t count = 0;
  if (!element_count(entry.shape, &count) || count > data_bytes / 4 + 1 ||
      count * 4 != entry.end - entry.begin) {
    throw Error(where + " has shape " + shape_text(entry.shape) + " that does not match its " +
                std::to_string(entry.end - entry.begin) +
                " bytes of data_offsets (F32 needs 4 bytes per element)");
  }
  return entry;
}

// Every tensor entry of the header, validated against a data buffer of `data_bytes`; the
// "__metadata__" strings go to `metadata`.
std::vector<Entry> parse_entries(const std::string& path, const Json& header, uint64_t data_bytes,
                                 std::map<std::string, std::string>* metadata) {
  std::vector<Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == kMetadataKey) {
      if (!value.is_object()) {
        throw Error("safetensors: " + path + ": \"__metadata__\" is JSON " + value.type_name() +
                    ", not an object of strings");
      }
      for (const auto& [mkey, mvalue] : value.items()) {
        if (!mvalue.is_string()) {
          throw Error("safetensors: " + path + ": \"__metadata__\" value of \"" + one_line(mkey) +
                      "\" is JSON " + mvalue.type_name() + "; metadata values must be strings");
        }
        (*metadata)[mkey] = mvalue.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(path, key, value, data_bytes));
  }
  return entries;
}

// The bytes of a whole file on disk, read where asked.
class FileSource {
 public:
  explicit FileSource(const std::string& path) : in_(path, std::ios::binary) {
    if (!in_) throw Error("safetensors: cannot open " + path + "; check that it is readable");
    in_.seekg(0, std::ios::end);
    const std::streamoff size = in_.tellg();
    if (size < 0 || !in_) throw Error("safetensors: cannot read the size of " + path);
    size_ = static_cast<uint64_t>(size);
  }
  uint64_t size() const { return size_; }
  // Copies bytes [offset, offset + n) into dst; false if the file is shorter than that now.
  bool read(uint64_t offset, char* dst, size_t n) {
    in_.seekg(static_cast<std::streamoff>(offset), std::ios::beg);
    in_.read(dst, static_cast<std::streamsize>(n));
    return static_cast<bool>(in_);
  }

 private:
  std::ifstream in_;
  uint64_t size_ = 0;
};

// The bytes of a whole file held in memory.
class MemorySource {
 public:
  explicit MemorySource(std::string_view bytes) : bytes_(bytes) {}
  uint64_t size() const { return bytes_.size(); }
  bool read(uint64_t offset, char* dst, size_t n) const {
    if (offset > bytes_.size() || n > bytes_.size() - offset) return false;
    std::memcpy(dst, bytes_.data() + offset, n);
    return true;
  }

 private:
  std::string_view bytes_;
};

// Parses and validates the file in `source` (a FileSource or MemorySource); `path` names it.
template <class Source>
SafetensorsFile read_from(Source& source, const std::string& path) {
  const uint64_t file_size = source.size();

  // 1. Header length: 8 bytes little-endian.
  if (file_size < 8) {
    throw Error("safetensors: " + path + " is too short (" + std::to_string(file_size) +
                " bytes) to hold the 8-byte header length; it is not a safetensors file");
  }
  unsigned char len_bytes[8];
  if (!source.read(0, reinterpret_cast<char*>(len_bytes), 8)) {
    throw Error("safetensors: " + path + ": cannot read the header length; the file changed?");
  }
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > file_size - 8 || header_len > kMaxHeaderBytes) {
    throw Error("safetensors: " + path + ": header length " + std::to_string(header_len) +
                " is absurd for a " + std::to_string(file_size) + "-byte file (limit " +
                std::to_string(kMaxHeaderBytes) + "); the file is corrupt or not safetensors");
  }

  // 2. Header JSON; every entry is validated before any data is read.
  std::string text(header_len, '\0');
  if (!source.read(8, text.data(), header_len)) {
    throw Error("safetensors: " + path + ": cannot read the header; the file changed?");
  }
  const Json header = parse_header(path, text);
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_bytes = file_size - data_start;

  SafetensorsFile out;
  std::vector<Entry> entries = parse_entries(path, header, data_bytes, &out.metadata);

  // 3. The tensors must tile the data buffer: in offset order, each starts where the previous
  //    one ended (no overlap, no hole) and the last ends at the end of the file.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  const Entry* previous = nullptr;  // the last non-empty tensor, which ends at `covered`
  uint64_t covered = 0;
  for (const Entry& e : entries) {
    if (e.begin < covered) {
      throw Error("safetensors: " + path + ": tensors \"" + one_line(previous->name) + "\" and \"" +
                  one_line(e.name) + "\" overlap in the data buffer; the header is corrupt");
    }
    if (e.begin > covered) {
      throw Error("safetensors: " + path + ": bytes [" + std::to_string(covered) + ", " +
                  std::to_string(e.begin) + ") of the data buffer, before tensor \"" +
                  one_line(e.name) + "\", belong to no tensor; the header is corrupt");
    }
    if (e.end > e.begin) {
      previous = &e;
      covered = e.end;
    }
  }
  if (covered != data_bytes) {
    throw Error("safetensors: " + path + " has " + std::to_string(data_bytes - covered) +
                " bytes after the end of its last tensor's data (" + std::to_string(covered) +
                " of " + std::to_string(data_bytes) +
                " data bytes are used); the file has trailing garbage or a corrupt header");
  }

  // 4. Data, in offset order.
  for (Entry& e : entries) {
    NamedTensor t;
    t.name = std::move(e.name);
    t.shape = std::move(e.shape);
    t.data.resize((e.end - e.begin) / 4);
    if (!t.data.empty() && !source.read(data_start + e.begin,
                                        reinterpret_cast<char*>(t.data.data()), e.end - e.begin)) {
      throw Error("safetensors: " + path + ": cannot read the data of tensor \"" +
                  one_line(t.name) + "\"; the file is truncated or changed while reading");
    }
    out.tensors.push_back(std::move(t));
  }
  return out;
}

}  // namespace

SafetensorsFile read_safetensors(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw Error("safetensors: " + path + " not found (or not a regular file); check the path");
  }
  FileSource source(path);
  return read_from(source, path);
}

SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& name) {
  MemorySource source(bytes);
  return read_from(source, name);
}

void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  // 1. Validate and order by name; nothing touches the disk until the header is complete.
  const std::vector<const NamedTensor*> order = by_name(tensors);
  Json header = Json::object();
  uint64_t offset = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    const NamedTensor& t = *order[i];
    const std::string where =
        "safetensors: writing " + path + ": tensor \"" + one_line(t.name) + "\"";
    if (t.name == kMetadataKey) throw Error(where + " uses the reserved name; rename it");
    if (t.name.empty()) throw Error(where + " has an empty name; give every tensor a name");
    if (i > 0 && order[i - 1]->name == t.name) {
      throw Error(where + " appears twice (duplicate name); tensor names must be unique");
    }
    for (int64_t d : t.shape) {
      if (d < 0) throw Error(where + " has a negative dim in shape " + shape_text(t.shape));
    }
    uint64_t count = 0;
    if (!element_count(t.shape, &count) || count != t.data.size()) {
      throw Error(where + " has " + std::to_string(t.data.size()) + " elements but shape " +
                  shape_text(t.shape) + " needs their product; fix the shape or the data");
    }
    const uint64_t bytes = count * 4;  // cannot overflow: count == data.size()
    header[t.name] = Json::object({{"dtype", "F32"},
                                   {"shape", t.shape},
                                   {"data_offsets", Json::array({offset, offset + bytes})}});
    offset += bytes;
  }
  if (!metadata.empty()) header[kMetadataKey] = metadata;

  std::string text;
  try {
    text = header.dump();
  } catch (const Json::exception& e) {
    throw Error("safetensors: writing " + path + ": a tensor name or metadata string is not " +
                "valid UTF-8 (" + json_error_text(e) + "); use UTF-8 names");
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // data starts 8-byte aligned
  if (text.size() > kMaxHeaderBytes) {
    throw Error("safetensors: writing " + path + ": header of " + std::to_string(text.size()) +
                " bytes exceeds the 100 MB limit readers accept; save fewer tensors");
  }
  unsigned char len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(text.size() >> (8 * i));

  // 2. Temporary file, fsync, rename, fsync the directory.
  write_file_atomic(path, "safetensors", [&](int fd) {
    bool ok = write_all(fd, len_bytes, 8) && write_all(fd, text.data(), text.size());
    for (size_t i = 0; ok && i < order.size(); ++i) {
      ok = write_all(fd, order[i]->data.data(), order[i]->data.size() * sizeof(float));
    }
    return ok;
  });
}

const NamedTensor* find_tensor(const SafetensorsFile& file, const std::string& name) {
  return find_tensor(file.tensors, name);
}

}  // namespace cnnmem
