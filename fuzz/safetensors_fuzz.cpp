// libFuzzer target for the safetensors reader (io/safetensors.h): any bytes as a whole file.
//
// A malformed input must end in cnnmem::Error; anything else (a crash, a sanitizer report, another
// exception, or a result that breaks the reader's promises) is a finding.
// Not here: the writer or reading from disk (read_safetensors only adds the file around the same
// parser).
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "framework/error.h"
#include "io/safetensors.h"

namespace {

// Stops the run with a report when a promise of the reader is broken.
void require(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cnnmem::SafetensorsFile file;
  try {
    file = cnnmem::parse_safetensors(std::string_view(reinterpret_cast<const char*>(data), size),
                                     "fuzz.safetensors");
  } catch (const cnnmem::Error&) {
    return 0;
  }
  // Unique non-empty names; each tensor holds product(shape) floats, all within the input.
  std::set<std::string> names;
  uint64_t floats = 0;
  for (const cnnmem::NamedTensor& t : file.tensors) {
    require(!t.name.empty() && t.name != "__metadata__" && names.insert(t.name).second);
    uint64_t count = 1;
    for (int64_t d : t.shape) {
      require(d >= 0);
      if (d == 0) count = 0;
      if (count != 0) count *= static_cast<uint64_t>(d);
    }
    require(count == t.data.size());
    floats += t.data.size();
  }
  require(floats * 4 <= size);
  return 0;
}
