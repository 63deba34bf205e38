// Image-folder implementation: the directory walk (layout, classes, files) and the decoding of
// every listed file into one ImageData per split.
//
// Decoding runs in a tbb::parallel_for; each image is written into its own slot of the final
// buffer, so memory is the data set plus one image per thread, and a failure is kept per index
// so that the error reported is the first one in listing order whatever the scheduling.
// Not here: the decoders (io/image_decode.cpp).
#include "io/image_folder.h"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>

#include "framework/error.h"

namespace cnnmem {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxClasses = 256;

bool is_hidden(const fs::path& p) { return p.filename().string().starts_with('.'); }

bool has_image_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

// The entries of `dir` (not hidden), sorted by name; `dirs` selects sub-directories or the rest.
std::vector<fs::path> entries(const fs::path& dir, bool dirs) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!is_hidden(it->path()) && is_dir(it->path()) == dirs) out.push_back(it->path());
  }
  if (ec) {
    throw Error("image folder: cannot list " + dir.string() + " (" + ec.message() +
                "); check that it is readable");
  }
  std::sort(out.begin(), out.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
  return out;
}

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s.empty() ? "(none)" : s;
}

// The class folders of one split directory (rule 1).
std::vector<fs::path> class_dirs(const fs::path& split) {
  std::vector<fs::path> classes = entries(split, true);
  if (classes.empty()) {
    throw Error("image folder: " + split.string() +
                " has no class sub-folders; put each class's images in " +
                (split / "<class>").string() + "/");
  }
  if (classes.size() > kMaxClasses) {
    throw Error("image folder: " + split.string() + " has " + std::to_string(classes.size()) +
                " class folders, more than the 256 supported (labels are one byte)");
  }
  return classes;
}

// The images of one split (rule 2); `skipped` collects what was passed over.
std::vector<ImageFile> list_split(const std::vector<fs::path>& classes,
                                  std::vector<std::string>* skipped) {
  std::vector<ImageFile> files;
  for (size_t label = 0; label < classes.size(); ++label) {
    for (const fs::path& d : entries(classes[label], true)) skipped->push_back(d.string());
    size_t found = 0;
    for (const fs::path& f : entries(classes[label], false)) {
      if (!has_image_extension(f)) {
        skipped->push_back(f.string());
        continue;
      }
      files.push_back({f.string(), static_cast<uint8_t>(label)});
      ++found;
    }
    if (found == 0) {
      throw Error("image folder: class folder " + classes[label].string() +
                  " has no .png, .jpg or .jpeg images; add images or remove the folder");
    }
  }
  return files;
}

std::vector<std::string> names_of(const std::vector<fs::path>& dirs) {
  std::vector<std::string> names;
  names.reserve(dirs.size());
  for (const fs::path& d : dirs) names.push_back(d.filename().string());
  return names;
}

// Throws unless the two splits have the same class names (both sorted).
void check_same_classes(const std::vector<std::string>& train, const std::vector<std::string>& test,
                        const fs::path& dir, const std::string& test_split) {
  if (train == test) return;
  std::vector<std::string> only_train, only_test;
  std::set_difference(train.begin(), train.end(), test.begin(), test.end(),
                      std::back_inserter(only_train));
  std::set_difference(test.begin(), test.end(), train.begin(), train.end(),
                      std::back_inserter(only_test));
  throw Error("image folder: " + (dir / test_split).string() + " and " + (dir / "train").string() +
              " have different class folders (only in train: " + join(only_train) + "; only in " +
              test_split + ": " + join(only_test) + "); both splits need the same classes");
}

std::string shape_text(int64_t height, int64_t width) {
  return std::to_string(height) + "x" + std::to_string(width);
}

// Decodes `files` into one ImageData of `first`'s shape (rule 3); slot `first_index` may be
// given already decoded as `first_image`.
ImageData decode_split(const std::vector<ImageFile>& files, const ImageFolderOptions& o,
                       const ImageShape& first, const DecodedImage* first_image, int64_t classes) {
  ImageData data;
  data.count = static_cast<int64_t>(files.size());
  data.channels = first.channels;
  data.height = first.height;
  data.width = first.width;
  data.classes = classes;
  const int64_t sample = data.sample_size();
  data.pixels.resize(static_cast<size_t>(data.count * sample));
  data.labels.resize(files.size());
  std::vector<std::string> errors(files.size());  // marked messages; "" where the file is fine
  tbb::parallel_for(size_t{0}, files.size(), [&](size_t i) {
    data.labels[i] = files[i].label;
    try {
      DecodedImage decoded;
      const DecodedImage* image = first_image;
      if (i != 0 || image == nullptr) {
        decoded = decode_one(files[i].path, o);
        check_image_shape(decoded, files[i].path, first);
        image = &decoded;
      }
      std::copy(image->pixels.begin(), image->pixels.end(),
                data.pixels.begin() + static_cast<std::ptrdiff_t>(i) * sample);
    } catch (const Error& e) {
      errors[i] = e.marked();
    }
  });
  for (const std::string& e : errors) {
    if (!e.empty()) throw Error(e);
  }
  return data;
}

}  // namespace

ImageFolderListing list_image_folder(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    throw Error("image folder: " + dir + " not found; check the path");
  }
  if (!is_dir(dir)) {
    throw Error("image folder: " + dir + " is not a directory; pass the folder that holds " +
                "one sub-folder of images per class");
  }
  const fs::path root(dir);
  ImageFolderListing out;
  const bool has_train = is_dir(root / "train");
  for (const char* split : {"val", "test"}) {
    if (out.test_split.empty() && is_dir(root / split)) out.test_split = split;
  }
  if (!has_train && !out.test_split.empty()) {
    throw Error("image folder: " + dir + " has " + out.test_split + "/ but no train/; add " +
                (root / "train" / "<class>").string() + "/ or put the class folders directly in " +
                dir);
  }
  const std::vector<fs::path> train = class_dirs(has_train ? root / "train" : root);
  out.class_names = names_of(train);
  out.train = list_split(train, &out.skipped);
  if (!out.test_split.empty()) {
    const std::vector<fs::path> test = class_dirs(root / out.test_split);
    check_same_classes(out.class_names, names_of(test), root, out.test_split);
    out.test = list_split(test, &out.skipped);
    out.has_split = true;
  }
  return out;
}

void check_image_folder_options(const ImageFolderOptions& o) {
  if (o.resize) {
    const auto [h, w] = *o.resize;
    if (h < 1 || w < 1 || h > kImageMaxPixels / w) {
      const std::string hw = shape_text(h, w);
      throw Error(setting("resize", "resize " + hw, hw) +
                  " is out of range; use HxW of at least 1x1 and at most 2^26 pixels");
    }
  }
  if (o.channels && *o.channels != 1 && *o.channels != 3) {
    const std::string n = std::to_string(*o.channels);
    throw Error(setting("channels", "channels " + n, n) +
                " is not supported; use 1 (grey) or 3 (RGB)");
  }
}

DecodedImage decode_one(const std::string& path, const ImageFolderOptions& o) {
  DecodedImage image = decode_image_file(path);
  if (o.channels) image = convert_channels(image, *o.channels);
  if (o.resize) image = resize_bilinear(image, o.resize->first, o.resize->second);
  return image;
}

void check_image_shape(const DecodedImage& image, const std::string& path,
                       const ImageShape& first) {
  if (image.channels != first.channels) {
    const std::string c = std::to_string(first.channels);
    throw Error("image folder: " + path + " has " + std::to_string(image.channels) +
                " channel(s), the first image " + first.path + " has " + c +
                "; convert them all with " + setting("channels", "channels 1 or 3", c));
  }
  if (image.height != first.height || image.width != first.width) {
    throw Error("image folder: " + path + " is " + shape_text(image.height, image.width) +
                " (HxW), the first image " + first.path + " is " +
                shape_text(first.height, first.width) + "; resize them all to one size with " +
                setting("resize", "resize HxW", "HxW"));
  }
}

ImageFolder read_image_folder(const std::string& dir, const ImageFolderOptions& o) {
  check_image_folder_options(o);
  ImageFolderListing listing = list_image_folder(dir);
  const DecodedImage first_image = decode_one(listing.train.front().path, o);
  const ImageShape first{first_image.channels, first_image.height, first_image.width,
                         listing.train.front().path};
  const int64_t classes = static_cast<int64_t>(listing.class_names.size());
  const int64_t sample = first.channels * first.height * first.width;
  const size_t count = listing.train.size() + listing.test.size();
  if (static_cast<uint64_t>(sample) * count > (uint64_t{1} << 40)) {
    throw Error("image folder: " + dir + " holds " + std::to_string(count) + " images of " +
                std::to_string(sample) + " bytes each, more than 1 TiB; use " +
                setting("resize", "a smaller resize HxW", "HxW"));
  }
  ImageFolder out;
  out.train = decode_split(listing.train, o, first, &first_image, classes);
  out.test = decode_split(listing.test, o, first, nullptr, classes);
  out.class_names = std::move(listing.class_names);
  out.has_split = listing.has_split;
  out.test_split = listing.test_split;
  return out;
}

}  // namespace cnnmem
