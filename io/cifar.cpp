// CIFAR binary reader implementation: the record layout of each version, the checks on one batch
// file, and the files each split is made of.
//
// A batch is parsed from memory by the same code whether it came from a file or the fuzzer
// (fuzz/cifar_fuzz.cpp). Records are copied only after the whole size and every label have been
// checked, so memory grows with the input's real size, never with a claim inside it.
// Not here: anything about the Python versions of CIFAR or about what the classes are called.
#include "io/cifar.h"

#include <filesystem>
#include <system_error>
#include <vector>

#include "framework/error.h"
#include "io/file_bytes.h"

namespace cnnmem {
namespace {

constexpr int64_t kCifarChannels = 3, kCifarSide = 32;
constexpr size_t kCifarPixels = 3 * 32 * 32;                // 3072 bytes per image
constexpr uint64_t kCifarMaxFileBytes = uint64_t{1} << 32;  // CIFAR-100's train.bin: 153.7 MB

// What one version of CIFAR looks like on disk.
struct CifarFormat {
  std::string name;    // "cifar10" or "cifar100", in messages
  size_t label_bytes;  // label bytes before the pixels of a record
  size_t label_at;     // which of them is the label used
  int64_t classes;     // labels must be below this
  std::string folder;  // the folder the archive unpacks to
  std::vector<std::string> train, test;

  size_t record_bytes() const { return label_bytes + kCifarPixels; }
};

CifarFormat cifar_format(int classes, bool coarse) {
  if (classes == 10) {
    if (coarse) {
      throw Error("cifar10: coarse labels exist only in CIFAR-100; use classes = 100 or drop " +
                  setting("coarse"));
    }
    return {"cifar10",
            1,
            0,
            10,
            "cifar-10-batches-bin",
            {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
             "data_batch_5.bin"},
            {"test_batch.bin"}};
  }
  if (classes == 100) {
    return {"cifar100",
            2,
            coarse ? size_t{0} : size_t{1},
            coarse ? 20 : 100,
            "cifar-100-binary",
            {"train.bin"},
            {"test.bin"}};
  }
  throw Error("cifar: classes = " + std::to_string(classes) +
              " names no CIFAR version; use 10 (CIFAR-10) or 100 (CIFAR-100)");
}

// Checks one batch and appends its images and labels to `out` (whose shape is already set).
void append_batch(std::span<const uint8_t> bytes, const std::string& name, const CifarFormat& f,
                  ImageData* out) {
  const size_t record = f.record_bytes();
  if (bytes.empty()) {
    throw Error(f.name + ": " + name + " is empty; re-extract or re-download the data set");
  }
  if (bytes.size() % record != 0) {
    throw Error(f.name + ": " + name + " is " + std::to_string(bytes.size()) +
                " bytes, not a whole number of " + std::to_string(record) + "-byte records (" +
                std::to_string(bytes.size() / record) + " records + " +
                std::to_string(bytes.size() % record) +
                " bytes); the file is truncated or not this data set, re-download it");
  }
  const size_t records = bytes.size() / record;
  for (size_t r = 0; r < records; ++r) {
    const uint8_t label = bytes[r * record + f.label_at];
    if (label >= f.classes) {
      throw Error(f.name + ": " + name + ": record " + std::to_string(r) + " has label " +
                  std::to_string(label) + ", not below " + std::to_string(f.classes) +
                  " classes; the file is corrupt or not this data set");
    }
  }
  out->pixels.reserve(out->pixels.size() + records * kCifarPixels);
  out->labels.reserve(out->labels.size() + records);
  for (size_t r = 0; r < records; ++r) {
    const uint8_t* rec = bytes.data() + r * record;
    out->labels.push_back(rec[f.label_at]);
    out->pixels.insert(out->pixels.end(), rec + f.label_bytes, rec + record);
  }
  out->count += static_cast<int64_t>(records);
}

ImageData empty_set(const CifarFormat& f) {
  ImageData d;
  d.channels = kCifarChannels;
  d.height = kCifarSide;
  d.width = kCifarSide;
  d.classes = f.classes;
  return d;
}

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
  return s;
}

}  // namespace

ImageData parse_cifar(std::span<const uint8_t> bytes, const std::string& name, int classes,
                      bool coarse) {
  const CifarFormat f = cifar_format(classes, coarse);
  ImageData d = empty_set(f);
  append_batch(bytes, name, f, &d);
  return d;
}

ImageData read_cifar(const std::string& dir, int classes, const std::string& split, bool coarse) {
  namespace fs = std::filesystem;
  const CifarFormat f = cifar_format(classes, coarse);
  if (split != "train" && split != "test") {
    throw Error(f.name + ": unknown split \"" + split + "\"; use \"train\" or \"test\"");
  }
  const std::vector<std::string>& files = (split == "train") ? f.train : f.test;
  std::error_code ec;
  fs::path root(dir);
  if (!fs::is_regular_file(root / files[0], ec) && fs::is_directory(root / f.folder, ec)) {
    root /= f.folder;  // the directory the archive was unpacked into
  }
  for (const std::string& file : files) {
    if (!fs::is_regular_file(root / file, ec)) {
      throw Error(f.name + ": " + (root / file).string() + " not found; the directory must hold " +
                  joined(f.train) + " and " + joined(f.test) + " (the binary version's " +
                  f.folder + " folder), or that folder");
    }
  }
  // Room for every record the files can hold, by their sizes on disk (real bytes, not a claim),
  // so that the train batches are appended without moving what came before.
  size_t records = 0;
  for (const std::string& file : files) {
    const uintmax_t size = fs::file_size(root / file, ec);
    if (!ec && size <= kCifarMaxFileBytes) records += static_cast<size_t>(size) / f.record_bytes();
  }
  ImageData d = empty_set(f);
  d.pixels.reserve(records * kCifarPixels);
  d.labels.reserve(records);
  for (const std::string& file : files) {
    const std::string path = (root / file).string();
    append_batch(read_file_bytes(path, f.name, kCifarMaxFileBytes), path, f, &d);
  }
  return d;
}

}  // namespace cnnmem
