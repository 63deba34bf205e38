// libFuzzer target for the NumPy reader (io/npy.h): any bytes as a .npy file.
//
// A malformed input must end in cnnmem::Error; anything else (a crash, a sanitizer report, another
// exception, or a result that breaks the reader's promises) is a finding. A parsed array is also
// paired, as images, with labels cut from its own first bytes, to run npy_image_data's checks.
// Not here: reading from disk (read_npy only adds the file read around the same parser).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "framework/error.h"
#include "io/npy.h"

namespace {

// Stops the run with a report when a promise of the reader is broken.
void require(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cnnmem::NpyArray a;
  try {
    a = cnnmem::parse_npy(std::span<const uint8_t>(data, size), "fuzz.npy");
  } catch (const cnnmem::Error&) {
    return 0;
  }
  // Non-negative dimensions whose product times the element size is the data's size.
  uint64_t elements = 1;
  for (int64_t d : a.shape) {
    require(d >= 0);
    elements *= static_cast<uint64_t>(d);
  }
  require(elements * static_cast<uint64_t>(cnnmem::npy_dtype_size(a.dtype)) == a.data.size());
  require(a.data.size() <= size);

  if (a.shape.empty()) return 0;
  cnnmem::NpyArray labels;
  labels.dtype = cnnmem::NpyDtype::kU1;
  labels.data.assign(a.data.begin(),
                     a.data.begin() + static_cast<std::ptrdiff_t>(std::min<uint64_t>(
                                          static_cast<uint64_t>(a.shape[0]), a.data.size())));
  labels.shape = {static_cast<int64_t>(labels.data.size())};
  for (const std::optional<bool> channels_last : {std::optional<bool>(), std::optional(true)}) {
    try {
      const cnnmem::ImageData d =
          cnnmem::npy_image_data(a, "fuzz-images.npy", labels, "fuzz-labels.npy", channels_last);
      require(d.count > 0 && d.channels > 0 && d.height > 0 && d.width > 0);
      const auto n = static_cast<size_t>(d.count * d.sample_size());
      require(d.is_float() ? d.values.size() == n && d.pixels.empty() : d.pixels.size() == n);
      require(d.labels.size() == static_cast<size_t>(d.count));
      for (uint8_t label : d.labels) require(label < d.classes);
    } catch (const cnnmem::Error&) {
    }
  }
  return 0;
}
