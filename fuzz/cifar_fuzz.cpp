// libFuzzer target for the CIFAR reader (io/cifar.h): any bytes as a batch file of CIFAR-10,
// CIFAR-100 with fine labels and CIFAR-100 with coarse labels.
//
// A malformed input must end in cnnmem::Error; anything else (a crash, a sanitizer report, another
// exception, or a result that breaks the reader's promises) is a finding.
// Not here: reading from disk or the split's file list (read_cifar adds them around the parser).
#include <cstddef>
#include <cstdint>
#include <span>

#include "framework/error.h"
#include "io/cifar.h"

namespace {

// Stops the run with a report when a promise of the reader is broken.
void require(bool ok) {
  if (!ok) __builtin_trap();
}

void check(std::span<const uint8_t> bytes, int classes, bool coarse) {
  try {
    const cnnmem::ImageData d = cnnmem::parse_cifar(bytes, "fuzz.bin", classes, coarse);
    const size_t record = 3072 + (classes == 100 ? 2 : 1);
    require(d.count > 0 && static_cast<size_t>(d.count) * record == bytes.size());
    require(d.channels == 3 && d.height == 32 && d.width == 32 && !d.is_float());
    require(d.pixels.size() == static_cast<size_t>(d.count) * 3072);
    require(d.labels.size() == static_cast<size_t>(d.count));
    require(d.classes == (coarse ? 20 : classes));
    for (uint8_t label : d.labels) require(label < d.classes);
  } catch (const cnnmem::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  check(bytes, 10, false);
  check(bytes, 100, false);
  check(bytes, 100, true);
  return 0;
}
