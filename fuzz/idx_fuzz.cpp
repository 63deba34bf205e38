// libFuzzer target for the IDX reader (io/idx.h): any bytes, gzip-compressed or plain.
//
// A malformed input must end in cnnmem::Error; anything else (a crash, a sanitizer report, another
// exception, or a result that breaks the reader's promises) is a finding. A parsed image file is
// also paired with labels cut from its own pixels, to run make_image_set's checks.
// Not here: reading from disk (read_idx_gz only adds the file read around parse_idx).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "framework/error.h"
#include "io/idx.h"

namespace {

// Stops the run with a report when a promise of the reader is broken.
void require(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cnnmem::IdxArray a;
  try {
    a = cnnmem::parse_idx(std::span<const uint8_t>(data, size), "fuzz.idx");
  } catch (const cnnmem::Error&) {
    return 0;
  }
  // 1 to 4 dims whose product is the element count, at most 2^31.
  require(!a.dims.empty() && a.dims.size() <= 4);
  uint64_t elements = 1;
  for (uint32_t d : a.dims) elements *= d;
  require(elements == a.data.size() && elements <= (uint64_t{1} << 31));

  if (a.dims.size() != 3) return 0;
  cnnmem::IdxArray labels;
  labels.dims = {a.dims[0]};
  labels.data.assign(
      a.data.begin(),
      a.data.begin() + static_cast<std::ptrdiff_t>(std::min<uint64_t>(a.dims[0], a.data.size())));
  try {
    const cnnmem::ImageSet set = cnnmem::make_image_set(std::move(a), "fuzz-images.idx",
                                                        std::move(labels), "fuzz-labels.idx", 10);
    require(set.count >= 0 && set.rows > 0 && set.cols > 0);
    require(set.images.size() == static_cast<size_t>(set.count * set.rows * set.cols));
    require(set.labels.size() == static_cast<size_t>(set.count));
    for (uint8_t label : set.labels) require(label < 10);
  } catch (const cnnmem::Error&) {
  }
  return 0;
}
