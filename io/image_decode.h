// Image decoding for image folders: one PNG or JPEG file (held in memory) into planar 8-bit pixels,
// plus the two pixel operations a data set needs to give every image one shape: a channel
// conversion and a bilinear resize.
//
// PNG is read with libpng's simplified API, JPEG with TurboJPEG (no setjmp/longjmp of our own,
// errors are return codes). The format is told by the magic bytes, never by the file name.
// What comes out (DecodedImage): 1 channel (grey) or 3 (RGB), 8 bits:
//   - grey and grey+alpha PNG, grey JPEG -> 1 channel; RGB, RGBA and palette PNG, colour JPEG -> 3;
//   - alpha is dropped: the colour values are kept as stored, not composited onto any
//     background (what torchvision's ImageFolder gets from PIL's convert("RGB") / convert("L"));
//   - 16-bit PNG is reduced to 8 bits (libpng scales: about value / 257); a PNG whose gAMA/sRGB
//     chunks say another gamma is converted to sRGB by libpng;
//   - JPEG is decoded with the accurate integer DCT and smooth chroma upsampling (libjpeg's and
//     PIL's defaults); CMYK/YCCK JPEG is refused.
// Every malformed input throws cnnmem::Error naming `name`: not PNG/JPEG, corrupt or truncated
// data (libpng errors, TurboJPEG errors *and* warnings, e.g. "premature end of data segment"),
// and images of more than kImageMaxPixels pixels, checked from the header before any allocation.
// Not here: reading directories, labels or data set layout (io/image_folder.h); normalisation or
// augmentation (train/).
//
// Usage:
//   cnnmem::DecodedImage im = cnnmem::decode_image(bytes, "cat/001.jpg");
//   // im.pixels[(c * im.height + y) * im.width + x], c < im.channels
//   cnnmem::DecodedImage small = cnnmem::resize_bilinear(cnnmem::convert_channels(im, 1), 32, 32);
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace cnnmem {

// The largest image accepted: 2^26 pixels (e.g. 8192 x 8192), 192 MiB as 8-bit RGB.
inline constexpr int64_t kImageMaxPixels = int64_t{1} << 26;
// The largest image file read from disk (decode_image_file): 1 GiB.
inline constexpr int64_t kImageMaxFileBytes = int64_t{1} << 30;

// One decoded image, planar: (C, H, W) row-major, 8-bit.
struct DecodedImage {
  int64_t channels = 0, height = 0, width = 0;  // channels: 1 (grey) or 3 (RGB)
  std::vector<uint8_t> pixels;                  // (C, H, W)
};

// Decodes a whole PNG or JPEG file held in memory; `name` names it in messages. Throws
// cnnmem::Error as described at the top of this file.
DecodedImage decode_image(std::span<const uint8_t> bytes, const std::string& name);

// Reads the file at `path` (at most kImageMaxFileBytes) and decodes it with decode_image. Throws
// cnnmem::Error if it is missing, a directory, unreadable, too large, or not a valid image.
DecodedImage decode_image_file(const std::string& path);

// The image with `channels` channels (1 or 3): grey -> RGB replicates the grey value; RGB -> grey
// is the ITU-R BT.601 luma round(0.299 R + 0.587 G + 0.114 B). Same count: a copy. Throws
// cnnmem::Error for another `channels`.
DecodedImage convert_channels(const DecodedImage& image, int64_t channels);

// The image resized to `height` x `width` by bilinear interpolation with half-pixel centres, as
// PyTorch's interpolate(mode="bilinear", align_corners=False, antialias=False): output pixel x
// samples the input at max(0, (x + 0.5) * in_w / width - 0.5), between the two nearest input
// pixels (the last pixel repeated at the edge), the same along y; results are rounded to the
// nearest integer. No antialiasing: shrinking by more than 2x skips pixels (as PyTorch does).
// Same size: a copy. Throws cnnmem::Error unless 1 <= height, width and height * width <=
// kImageMaxPixels.
DecodedImage resize_bilinear(const DecodedImage& image, int64_t height, int64_t width);

}  // namespace cnnmem
