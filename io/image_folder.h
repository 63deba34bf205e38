// Image-folder data sets: a directory of class folders of PNG/JPEG files, read into ImageData
// (io/image_data.h) with one label per class folder, like torchvision's ImageFolder.
//
// Layouts (DIR is the path given):
//   DIR/<class>/*.png|jpg|jpeg                   one split; the caller splits off a fraction
//   DIR/train/<class>/... + DIR/val/<class>/...  two splits (DIR/test/ instead of DIR/val/ works
//                                                too; with both, val/ is read and test/ is left
//                                                alone as the held-out set)
// DIR/train/ without val/ or test/ is read as one split. A class folder named train, val or test
// is therefore not possible in the one-split layout; in the two-split layout other entries of DIR
// are ignored.
// Rules, all deterministic (the same files give the same ImageData on any number of threads):
//   1. Class names are the sub-directory names in byte order; label = index (at most 256
//      classes, labels are one byte). The val/test split must have exactly the same class names.
//   2. Within a class, files are taken in byte order of their names. Only the extensions .png,
//      .jpg and .jpeg count (any case; the content is told by its magic bytes). Hidden entries
//      (".name") are skipped, and so are files with other extensions and sub-directories inside
//      a class folder (listed in ImageFolderListing::skipped). A class folder without images is
//      an error; a file with an image extension that does not decode is an error.
//   3. Each image is decoded (io/image_decode.h), converted to `channels` if given, resized to
//      `resize` if given. Every image must then have the shape of the first one (the first file
//      of the first class of train): else an error names the file, both shapes and the option
//      that fixes it (resize HxW, channels 1|3).
// Errors: cnnmem::Error naming the directory or file and the fix.
// Not here: splitting off a validation fraction, shuffling, normalisation, augmentation (train/);
// streaming from disk (a later loader builds on list_image_folder + decode_one).
//
// Usage:
//   cnnmem::ImageFolderOptions o;
//   o.resize = {{32, 32}};
//   cnnmem::ImageFolder f = cnnmem::read_image_folder("/data/flowers", o);
//   // f.train.pixels: (N, C, 32, 32); f.train.labels[i] indexes f.class_names;
//   // f.has_split: f.test holds DIR/val (or DIR/test), else f.test.count == 0.
//   // Lazily: for (const cnnmem::ImageFile& file : cnnmem::list_image_folder(dir).train)
//   //           cnnmem::DecodedImage im = cnnmem::decode_one(file.path, o);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io/image_data.h"
#include "io/image_decode.h"

namespace cnnmem {

struct ImageFolderOptions {
  // (H, W) every image is resized to (bilinear, resize_bilinear); unset: all must match.
  std::optional<std::pair<int64_t, int64_t>> resize;
  // 1 (grey) or 3 (RGB) every image is converted to (convert_channels); unset: all must match.
  std::optional<int64_t> channels;
};

// One image file of a listing and its label.
struct ImageFile {
  std::string path;
  uint8_t label = 0;
};

// What an image folder holds, without decoding anything.
struct ImageFolderListing {
  std::vector<std::string> class_names;  // label i is class_names[i]
  std::vector<ImageFile> train;          // by class, then by file name
  std::vector<ImageFile> test;           // DIR/val or DIR/test; empty without a split
  bool has_split = false;
  std::string test_split;            // "val" or "test" when has_split
  std::vector<std::string> skipped;  // paths of files and folders passed over (rule 2)
};

// Lists DIR by the layouts and rules 1-2 above. Throws cnnmem::Error if DIR is missing or not a
// directory, has no class folders, has more than 256, has an empty class folder, has val/ or
// test/ but no train/, or if the two splits' class names differ (the message lists the
// difference).
ImageFolderListing list_image_folder(const std::string& dir);

// Checks `o`: resize at least 1x1 and at most kImageMaxPixels, channels 1 or 3.
void check_image_folder_options(const ImageFolderOptions& o);

// Decodes the image file at `path` and applies rule 3's conversions (channels, then resize).
DecodedImage decode_one(const std::string& path, const ImageFolderOptions& o);

// The shape every image of a folder must have after decode_one, and the file it came from.
struct ImageShape {
  int64_t channels = 0, height = 0, width = 0;
  std::string path;
};

// Throws cnnmem::Error if `image` (decoded from `path` by decode_one) does not have `first`'s
// shape; the message names both files, both shapes and the option that fixes it.
void check_image_shape(const DecodedImage& image, const std::string& path, const ImageShape& first);

// A whole image folder decoded into memory (N, C, H, W) of 8-bit pixels.
struct ImageFolder {
  ImageData train;
  ImageData test;  // count 0 (with train's shape and classes) when has_split is false
  std::vector<std::string> class_names;
  bool has_split = false;
  std::string test_split;  // "val" or "test" when has_split
};

// Lists DIR (list_image_folder), checks `o`, then decodes every image (in parallel with TBB) by
// decode_one and checks it with check_image_shape. On several bad files, the error is the one
// about the first in listing order.
ImageFolder read_image_folder(const std::string& dir, const ImageFolderOptions& o = {});

}  // namespace cnnmem
