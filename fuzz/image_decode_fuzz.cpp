// libFuzzer target for the image decoder (io/image_decode.h): any bytes, PNG or JPEG by magic.
//
// A malformed input must end in cnnmem::Error; anything else (a crash, a sanitizer report, another
// exception, or a result that breaks the decoder's promises) is a finding. A decoded image is
// also run through convert_channels and a small resize_bilinear, which must keep their shapes.
// Not here: reading from disk or directories (io/image_folder.cpp adds only that around it).
#include <cstddef>
#include <cstdint>
#include <span>

#include "framework/error.h"
#include "io/image_decode.h"

namespace {

// Stops the run with a report when a promise of the decoder is broken.
void require(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cnnmem::DecodedImage im;
  try {
    im = cnnmem::decode_image(std::span<const uint8_t>(data, size), "fuzz.img");
  } catch (const cnnmem::Error&) {
    return 0;
  }
  require(im.channels == 1 || im.channels == 3);
  require(im.height >= 1 && im.width >= 1 && im.height * im.width <= cnnmem::kImageMaxPixels);
  require(im.pixels.size() == static_cast<size_t>(im.channels * im.height * im.width));

  const int64_t other = im.channels == 1 ? 3 : 1;
  const cnnmem::DecodedImage converted = cnnmem::convert_channels(im, other);
  require(converted.channels == other && converted.height == im.height);
  require(converted.pixels.size() == static_cast<size_t>(other * im.height * im.width));

  const cnnmem::DecodedImage small = cnnmem::resize_bilinear(im, 3, 5);
  require(small.channels == im.channels && small.height == 3 && small.width == 5);
  require(small.pixels.size() == static_cast<size_t>(im.channels * 15));
  return 0;
}
