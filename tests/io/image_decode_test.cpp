// Tests for io/image_decode.h: exact PNG pixels (grey, grey+alpha, RGB, RGBA, palette, 16-bit),
// approximate JPEG pixels, every rejection with its message, the channel conversion and the
// bilinear resize against hand-computed values.
//
// Files are written with tests/util/image_writer.h into a per-test directory; broken files are
// made by cutting or patching good ones.
// Not here: directories of images (tests/io/image_folder_test.cpp).
#include "io/image_decode.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/util/expect_error.h"
#include "tests/util/image_writer.h"
#include "tests/util/temp_dir.h"

namespace cnnmem::test {
namespace {

std::vector<uint8_t> ramp(size_t n, int step = 7) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * step + 3);
  return v;
}

// A smooth RGB or grey image (JPEG keeps smooth images close).
std::vector<uint8_t> smooth(int channels, int h, int w) {
  std::vector<uint8_t> v(static_cast<size_t>(channels * h * w));
  for (int c = 0; c < channels; ++c) {
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x)
        v[(c * h + y) * w + x] = static_cast<uint8_t>(40 + 4 * x + 3 * y + 50 * c);
    }
  }
  return v;
}

void put_be32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

// Sets the IHDR width and height of a PNG and fixes the chunk's CRC.
void patch_png_dims(std::vector<uint8_t>& png, uint32_t h, uint32_t w) {
  put_be32(png, 16, w);
  put_be32(png, 20, h);
  const uLong crc = crc32(0, png.data() + 12, 17);  // "IHDR" + 13 data bytes
  put_be32(png, 29, static_cast<uint32_t>(crc));
}

// Sets the height and width in a JPEG's SOF0 segment.
void patch_jpeg_dims(std::vector<uint8_t>& jpeg, uint16_t h, uint16_t w) {
  for (size_t i = 2; i + 9 < jpeg.size(); ++i) {
    if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0) {
      jpeg[i + 5] = static_cast<uint8_t>(h >> 8);
      jpeg[i + 6] = static_cast<uint8_t>(h);
      jpeg[i + 7] = static_cast<uint8_t>(w >> 8);
      jpeg[i + 8] = static_cast<uint8_t>(w);
      return;
    }
  }
  ADD_FAILURE() << "no SOF0 marker";
}

class ImageDecodeTest : public TempDirTest {
 protected:
  DecodedImage png_round_trip(int channels, int h, int w, const std::vector<uint8_t>& chw) {
    write_png(path("a.png"), channels, h, w, chw.data());
    return decode_image_file(path("a.png"));
  }
};

TEST_F(ImageDecodeTest, GreyAndRgbPngAreExactAndPlanar) {
  const std::vector<uint8_t> grey = ramp(3 * 5);
  const DecodedImage g = png_round_trip(1, 3, 5, grey);
  EXPECT_EQ(g.channels, 1);
  EXPECT_EQ(g.height, 3);
  EXPECT_EQ(g.width, 5);
  EXPECT_EQ(g.pixels, grey);

  const std::vector<uint8_t> rgb = ramp(3 * 2 * 4, 11);
  const DecodedImage c = png_round_trip(3, 2, 4, rgb);
  EXPECT_EQ(c.channels, 3);
  EXPECT_EQ(c.pixels, rgb);  // planar in, planar out
}

TEST_F(ImageDecodeTest, AlphaIsDroppedNotComposited) {
  // RGBA: colour planes then alpha 0 / 128 / 255; the colours come back as stored.
  std::vector<uint8_t> rgba = ramp(4 * 1 * 3, 13);
  rgba[9] = 0, rgba[10] = 128, rgba[11] = 255;
  const DecodedImage c = png_round_trip(4, 1, 3, rgba);
  EXPECT_EQ(c.channels, 3);
  EXPECT_EQ(c.pixels, std::vector<uint8_t>(rgba.begin(), rgba.begin() + 9));

  const std::vector<uint8_t> ga = {10, 20, 30, 0, 77, 255};  // grey plane, alpha plane
  const DecodedImage g = png_round_trip(2, 1, 3, ga);
  EXPECT_EQ(g.channels, 1);
  EXPECT_EQ(g.pixels, (std::vector<uint8_t>{10, 20, 30}));
}

TEST_F(ImageDecodeTest, PalettePngExpandsToRgbEvenWithTransparency) {
  const std::vector<uint8_t> idx = {0, 1, 2, 1, 0, 2};  // 2x3
  write_png_palette(path("p.png"), 2, 3, idx.data(), {{255, 0, 0}, {0, 128, 7}, {9, 9, 9}});
  const DecodedImage p = decode_image_file(path("p.png"));
  EXPECT_EQ(p.channels, 3);
  EXPECT_EQ(p.pixels, (std::vector<uint8_t>{255, 0, 9, 0, 255, 9,  // R
                                            0, 128, 9, 128, 0, 9,  // G
                                            0, 7, 9, 7, 0, 9}));   // B
  write_png_palette(path("t.png"), 2, 3, idx.data(), {{255, 0, 0}, {0, 128, 7}, {9, 9, 9}},
                    {0, 100});
  EXPECT_EQ(decode_image_file(path("t.png")).pixels, p.pixels);
}

TEST_F(ImageDecodeTest, SixteenBitPngIsReducedToEightBits) {
  // 257 * k is exactly k in 8 bits; 1000 / 257 = 3.9 rounds to 4.
  const std::vector<uint16_t> deep = {0, 257, 257 * 128, 65535, 1000, 257 * 200};
  write_png16(path("g16.png"), 1, 2, 3, deep.data());
  const DecodedImage g = decode_image_file(path("g16.png"));
  EXPECT_EQ(g.channels, 1);
  EXPECT_EQ(g.pixels, (std::vector<uint8_t>{0, 1, 128, 255, 4, 200}));

  const std::vector<uint16_t> rgb16 = {257 * 10, 257 * 20, 257 * 30, 257 * 40, 257 * 50, 257 * 60};
  write_png16(path("c16.png"), 3, 1, 2, rgb16.data());
  EXPECT_EQ(decode_image_file(path("c16.png")).pixels,
            (std::vector<uint8_t>{10, 20, 30, 40, 50, 60}));

  // RGBA, 16-bit: alpha (0 and half) is dropped, the colours are not premultiplied.
  const std::vector<uint16_t> rgba16 = {257 * 10, 257 * 20, 257 * 30, 257 * 40,
                                        257 * 50, 257 * 60, 0,        257 * 128};
  write_png16(path("a16.png"), 4, 1, 2, rgba16.data());
  const DecodedImage a = decode_image_file(path("a16.png"));
  EXPECT_EQ(a.channels, 3);
  EXPECT_EQ(a.pixels, (std::vector<uint8_t>{10, 20, 30, 40, 50, 60}));
}

TEST_F(ImageDecodeTest, JpegIsClose) {
  for (int channels : {1, 3}) {
    const std::vector<uint8_t> src = smooth(channels, 16, 24);
    write_jpeg(path("a.jpg"), channels, 16, 24, src.data(), 95);
    const DecodedImage d = decode_image_file(path("a.jpg"));
    ASSERT_EQ(d.channels, channels);
    EXPECT_EQ(d.height, 16);
    EXPECT_EQ(d.width, 24);
    ASSERT_EQ(d.pixels.size(), src.size());
    int worst = 0, total = 0;
    for (size_t i = 0; i < src.size(); ++i) {
      worst = std::max(worst, std::abs(d.pixels[i] - src[i]));
      total += std::abs(d.pixels[i] - src[i]);
    }
    EXPECT_LE(worst, 16) << channels << " channel(s)";
    EXPECT_LE(total, 3 * static_cast<int>(src.size())) << channels << " channel(s)";
  }
}

TEST_F(ImageDecodeTest, FormatIsToldByMagicNotName) {
  const std::vector<uint8_t> grey = ramp(4);
  write_png(path("really_png.jpg"), 1, 2, 2, grey.data());
  EXPECT_EQ(decode_image_file(path("really_png.jpg")).pixels, grey);
}

TEST_F(ImageDecodeTest, RejectsWhatIsNotPngOrJpeg) {
  const std::vector<uint8_t> gif = {'G', 'I', 'F', '8', '9', 'a', 0, 0};
  EXPECT_EQ(error_of([&] { decode_image(gif, "x.gif"); }),
            "image: x.gif is neither a PNG nor a JPEG file (by its first bytes); only PNG and "
            "JPEG images are accepted, convert it");
  expect_error([&] { decode_image({}, "empty.png"); }, "empty.png is neither a PNG nor a JPEG");
}

TEST_F(ImageDecodeTest, RejectsCorruptPng) {
  const std::vector<uint8_t> src = ramp(3 * 40 * 40);
  write_png(path("a.png"), 3, 40, 40, src.data());
  std::vector<uint8_t> bytes = read_file_bytes(path("a.png"));
  const std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + bytes.size() / 2);
  expect_error([&] { decode_image(cut, "cut.png"); }, "cut.png is a corrupt PNG file (libpng: ");
  const std::vector<uint8_t> header_only(bytes.begin(), bytes.begin() + 20);
  expect_error([&] { decode_image(header_only, "h.png"); }, "h.png is a corrupt PNG file");
  bytes[30] ^= 0x55;  // inside IHDR: its CRC no longer matches
  expect_error([&] { decode_image(bytes, "crc.png"); }, "crc.png is a corrupt PNG file");
}

TEST_F(ImageDecodeTest, RejectsPngDimensionsTheFileCannotHold) {
  const std::vector<uint8_t> src = ramp(4);
  write_png(path("a.png"), 1, 2, 2, src.data());
  std::vector<uint8_t> bytes = read_file_bytes(path("a.png"));
  patch_png_dims(bytes, 100000, 100000);
  expect_error([&] { decode_image(bytes, "big.png"); },
               "big.png is 100000x100000 pixels, more than the 2^26 (67108864) accepted");
  patch_png_dims(bytes, 8000, 8000);  // under the cap, but not from ~70 bytes
  expect_error([&] { decode_image(bytes, "lie.png"); },
               "lie.png declares 8000x8000 pixels, more than its");
}

TEST_F(ImageDecodeTest, RejectsCorruptJpeg) {
  const std::vector<uint8_t> src = smooth(3, 32, 32);
  write_jpeg(path("a.jpg"), 3, 32, 32, src.data(), 90);
  std::vector<uint8_t> bytes = read_file_bytes(path("a.jpg"));
  const std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + bytes.size() * 3 / 4);
  expect_error([&] { decode_image(cut, "cut.jpg"); }, "cut.jpg is a corrupt JPEG file (libjpeg: ");
  const std::vector<uint8_t> head(bytes.begin(), bytes.begin() + 10);
  expect_error([&] { decode_image(head, "head.jpg"); },
               "head.jpg is a corrupt JPEG file (no image frame before its end)");
  const std::vector<uint8_t> garbage = {0xFF, 0xD8, 0xFF, 0x00, 0x12, 0x34};
  expect_error([&] { decode_image(garbage, "g.jpg"); }, "g.jpg is a corrupt JPEG file");
  patch_jpeg_dims(bytes, 60000, 60000);
  expect_error([&] { decode_image(bytes, "big.jpg"); },
               "big.jpg is 60000x60000 pixels, more than the 2^26");
  patch_jpeg_dims(bytes, 4000, 4000);
  expect_error([&] { decode_image(bytes, "lie.jpg"); },
               "lie.jpg declares 4000x4000 pixels, more than its");
}

TEST_F(ImageDecodeTest, RejectsCmykJpeg) {
  const std::vector<uint8_t> cmyk(4 * 8 * 8, 100);
  tjhandle tj = tjInitCompress();
  unsigned char* jpeg = nullptr;
  unsigned long size = 0;
  ASSERT_EQ(tjCompress2(tj, cmyk.data(), 8, 0, 8, TJPF_CMYK, &jpeg, &size, TJSAMP_444, 90, 0), 0);
  const std::vector<uint8_t> bytes(jpeg, jpeg + size);
  tjFree(jpeg);
  tjDestroy(tj);
  expect_error([&] { decode_image(bytes, "k.jpg"); },
               "k.jpg is a CMYK JPEG; only grey and RGB (YCbCr) JPEG are accepted");
}

TEST_F(ImageDecodeTest, RejectsMissingFileAndDirectory) {
  expect_error([&] { decode_image_file(path("nope.png")); }, "nope.png not found");
  expect_error([&] { decode_image_file(dir_.string()); }, "is a directory, not an image file");
}

TEST_F(ImageDecodeTest, ConvertChannelsReplicatesAndUsesBt601Luma) {
  DecodedImage grey{1, 1, 2, {7, 250}};
  EXPECT_EQ(convert_channels(grey, 3).pixels, (std::vector<uint8_t>{7, 250, 7, 250, 7, 250}));
  EXPECT_EQ(convert_channels(grey, 1).pixels, grey.pixels);
  // 0.299*10 + 0.587*200 + 0.114*30 = 123.81 -> 124; 0.299*255 + 0.114*255 = 105.3 -> 105.
  DecodedImage rgb{3, 1, 2, {10, 255, 200, 0, 30, 255}};
  const DecodedImage g = convert_channels(rgb, 1);
  EXPECT_EQ(g.channels, 1);
  EXPECT_EQ(g.pixels, (std::vector<uint8_t>{124, 105}));
  EXPECT_EQ(error_of([&] { convert_channels(rgb, 2); }),
            "channels 2 is not supported; use 1 (grey) or 3 (RGB)");
}

TEST_F(ImageDecodeTest, ResizeUsesHalfPixelCentres) {
  // 1x2 -> 1x4: samples at 0 (clamped), 0.25, 0.75, 1.25 (edge repeated).
  EXPECT_EQ(resize_bilinear({1, 1, 2, {0, 100}}, 1, 4).pixels,
            (std::vector<uint8_t>{0, 25, 75, 100}));
  // 1x3 -> 1x2: samples at 0.25 and 1.75.
  EXPECT_EQ(resize_bilinear({1, 1, 3, {0, 100, 200}}, 1, 2).pixels,
            (std::vector<uint8_t>{25, 175}));
  // 1x4 -> 1x2: samples at 0.5 and 2.5, the means of pairs.
  EXPECT_EQ(resize_bilinear({1, 1, 4, {10, 20, 40, 80}}, 1, 2).pixels,
            (std::vector<uint8_t>{15, 60}));
  // Rounded to nearest: 0.25 -> 0, 0.75 -> 1.
  EXPECT_EQ(resize_bilinear({1, 1, 2, {0, 1}}, 1, 4).pixels, (std::vector<uint8_t>{0, 0, 1, 1}));
}

TEST_F(ImageDecodeTest, ResizeTwoDimensionsPerChannel) {
  // 2x2 -> 4x4, rows: [0 25 75 100], y=0.25, y=0.75, [200 160 80 40]; the second channel is
  // the first plus 10.
  const DecodedImage in{2, 2, 2, {0, 100, 200, 40, 10, 110, 210, 50}};
  const DecodedImage out = resize_bilinear(in, 4, 4);
  ASSERT_EQ(out.channels, 2);
  const std::vector<uint8_t> plane = {0,   25,  75, 100,  // y = 0 (clamped)
                                      50,  59,  76, 85,   // y = 0.25: 58.75, 76.25
                                      150, 126, 79, 55,   // y = 0.75: 126.25, 78.75
                                      200, 160, 80, 40};  // y = 1.25 (edge)
  for (size_t i = 0; i < 16; ++i) {
    EXPECT_EQ(out.pixels[i], plane[i]) << i;
    EXPECT_EQ(out.pixels[16 + i], plane[i] + 10) << i;
  }
  EXPECT_EQ(resize_bilinear(in, 2, 2).pixels, in.pixels);
}

TEST_F(ImageDecodeTest, ResizeRejectsEmptyAndHugeSizes) {
  const DecodedImage in{1, 1, 1, {5}};
  EXPECT_EQ(error_of([&] { resize_bilinear(in, 0, 5); }),
            "resize 0x5 is out of range; use HxW of at least 1x1 and at most 2^26 pixels");
  expect_error([&] { resize_bilinear(in, 10000, 10000); }, "resize 10000x10000 is out of range");
}

}  // namespace
}  // namespace cnnmem::test
