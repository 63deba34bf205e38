#include "train/datasets.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <random>

#include "framework/error.h"
#include "io/cifar.h"
#include "io/idx.h"
#include "io/image_folder.h"
#include "io/npy.h"

namespace cnnmem {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSpecs =
    "fashion-mnist, synthetic, idx:DIR, cifar10:DIR, cifar100:DIR, folder:DIR or "
    "npy:IMAGES.npy,LABELS.npy";

// The data spec in a message: "--data SPEC" on the command line, "data set SPEC" in the library.
std::string data_setting(const std::string& spec) {
  return setting("data", "data set " + spec, spec);
}

Error unknown_data_set(const std::string& spec) {
  return Error(setting("data", "data set \"" + spec + "\"", spec) + " is unknown: use " + kSpecs);
}

ImageData from_image_set(ImageSet s) {
  ImageData d;
  d.count = s.count;
  d.channels = 1;
  d.height = s.rows;
  d.width = s.cols;
  d.pixels = std::move(s.images);
  d.labels = std::move(s.labels);
  return d;
}

// The one file in `dir` whose name starts with `prefix` and contains all of `parts`.
std::string find_idx_file(const fs::path& dir, const std::string& prefix,
                          const std::vector<std::string>& parts, const std::string& spec) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || name.rfind(prefix, 0) != 0) continue;
    const bool all = std::all_of(parts.begin(), parts.end(), [&](const std::string& p) {
      return name.find(p) != std::string::npos;
    });
    if (all) found.push_back(name);
  }
  std::sort(found.begin(), found.end());
  std::string what = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) what += "*" + parts[i];
  if (found.empty()) {
    throw Error(data_setting(spec) + ": no " + prefix + "*" + what + "* file in " + dir.string() +
                " (an IDX set is train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz] and "
                "the t10k- pair)");
  }
  if (found.size() > 1) {
    throw Error(data_setting(spec) + ": " + std::to_string(found.size()) + " files match *" + what +
                "* in " + dir.string() + " (" + found[0] + ", " + found[1] +
                "): name the set's prefix, e.g. idx:" + (dir / "emnist-balanced").string());
  }
  return (dir / found[0]).string();
}

ImageData read_idx_split(const fs::path& dir, const std::string& prefix, const std::string& split,
                         const std::string& spec) {
  const std::string images_path =
      split == "train" ? find_idx_file(dir, prefix, {"train-images", "idx3"}, spec)
                       : find_idx_file(dir, prefix, {split + "-images", "idx3"}, spec);
  const std::string labels_path =
      split == "train" ? find_idx_file(dir, prefix, {"train-labels", "idx1"}, spec)
                       : find_idx_file(dir, prefix, {split + "-labels", "idx1"}, spec);
  return from_image_set(make_image_set(read_idx_gz(images_path), images_path,
                                       read_idx_gz(labels_path), labels_path, 256));
}

DataSet read_idx(const std::string& path, const std::string& spec) {
  fs::path dir = path, prefix;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    prefix = dir.filename();
    dir = dir.parent_path();
    if (!fs::is_directory(dir, ec)) {
      throw Error(data_setting(spec) + ": " + path +
                  " is not a directory; give the folder of the " +
                  "IDX files (idx:DIR) or the folder and a file-name prefix (idx:DIR/PREFIX)");
    }
  }
  DataSet set;
  set.train = read_idx_split(dir, prefix.string(), "train", spec);
  // MNIST calls its test split t10k; other IDX sets (EMNIST, KMNIST) call it test.
  bool t10k = true;
  try {
    find_idx_file(dir, prefix.string(), {"t10k-images", "idx3"}, spec);
  } catch (const Error&) {
    t10k = false;
  }
  set.test = read_idx_split(dir, prefix.string(), t10k ? "t10k" : "test", spec);
  set.test_from = "the test split";
  return set;
}

// Moves the last `fraction` of a fixed permutation of `all` into a test set.
void hold_out(ImageData& all, ImageData& test, double fraction) {
  const int64_t n = all.count;
  const auto held = static_cast<int64_t>(static_cast<double>(n) * fraction);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::mt19937_64 rng(0x5e1ec7ULL);  // fixed: every --seed holds out the same samples
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  const int64_t s = all.sample_size();
  const auto take = [&](int64_t begin, int64_t end) {
    ImageData d;
    d.count = end - begin;
    d.channels = all.channels;
    d.height = all.height;
    d.width = all.width;
    d.classes = all.classes;
    for (int64_t i = begin; i < end; ++i) {
      const int64_t k = order[static_cast<size_t>(i)];
      if (all.is_float()) {
        d.values.insert(d.values.end(), all.values.begin() + k * s,
                        all.values.begin() + (k + 1) * s);
      } else {
        d.pixels.insert(d.pixels.end(), all.pixels.begin() + k * s,
                        all.pixels.begin() + (k + 1) * s);
      }
      d.labels.push_back(all.labels[static_cast<size_t>(k)]);
    }
    return d;
  };
  ImageData train = take(0, n - held);
  test = take(n - held, n);
  all = std::move(train);
}

void split_if_needed(DataSet& set, const DataOptions& o) {
  if (set.test.count > 0 && o.val_fraction < 0) return;
  const double f = o.val_fraction < 0 ? 0.1 : o.val_fraction;
  if (set.test.count > 0) {
    throw Error(setting("val_fraction") + " applies to data without a test part; " + set.name +
                " has one (" + set.test_from + "): drop " + setting("val_fraction"));
  }
  if (f <= 0 || f >= 1) {
    throw Error(setting("val_fraction") + " must be in (0, 1), e.g. 0.1");
  }
  hold_out(set.train, set.test, f);
  set.test_from = std::to_string(std::lround(f * 100)) + "% held out";
}

std::pair<std::string, std::string> split_spec(const std::string& spec) {
  const size_t colon = spec.find(':');
  if (colon == std::string::npos) return {spec, ""};
  return {spec.substr(0, colon), spec.substr(colon + 1)};
}

void make_synthetic(int64_t count, int64_t sample_size, const TargetShape& target,
                    std::mt19937_64& rng, std::vector<uint8_t>& images,
                    std::vector<uint8_t>& labels) {
  images.resize(static_cast<size_t>(count * sample_size));
  labels.resize(static_cast<size_t>(count * target.elements));
  for (uint8_t& p : images) p = static_cast<uint8_t>(rng() >> 56);
  if (target.kind == TargetKind::kDense) {
    for (uint8_t& l : labels) l = static_cast<uint8_t>(rng() >> 56);  // l / 255 in [0, 1]
    return;
  }
  const auto used = static_cast<uint64_t>(std::clamp<int64_t>(target.classes, 1, 256));
  for (uint8_t& l : labels) l = static_cast<uint8_t>(rng() % used);
}

void check_class_targets(const std::string& name, const TargetShape& target) {
  if (target.kind == TargetKind::kClass) return;
  throw Error(name + " has one class label per image; the loss wants " +
              std::string(target.kind == TargetKind::kDense ? "dense" : "per-pixel") +
              " targets: train with the cross-entropy loss, or on synthetic data");
}

}  // namespace

int64_t DataSet::classes() const {
  if (train.classes > 0) return train.classes;
  int64_t k = 0;
  for (uint8_t l : train.labels) k = std::max<int64_t>(k, l + 1);
  for (uint8_t l : test.labels) k = std::max<int64_t>(k, l + 1);
  return k;
}

bool is_synthetic(const std::string& spec) { return spec == "synthetic"; }

DataSet read_data_set(const DataOptions& o) {
  const auto [kind, arg] = split_spec(o.spec);
  if ((kind != "fashion-mnist" && arg.empty()) || is_synthetic(o.spec)) {
    throw unknown_data_set(o.spec);
  }
  DataSet set;
  if (kind == "fashion-mnist" && arg.empty()) {
    set.train = from_image_set(load_fashion_mnist(o.dir, "train"));
    set.test = from_image_set(load_fashion_mnist(o.dir, "test"));
    set.train.classes = set.test.classes = 10;
    set.test_from = "the test split";
  } else if (kind == "idx") {
    set = read_idx(arg, o.spec);
  } else if (kind == "cifar10" || kind == "cifar100") {
    const int classes = kind == "cifar10" ? 10 : 100;
    set.train = read_cifar(arg, classes, "train");
    set.test = read_cifar(arg, classes, "test");
    set.test_from = "the test split";
  } else if (kind == "folder") {
    ImageFolderOptions fo;
    fo.resize = o.resize;
    fo.channels = o.channels;
    ImageFolder folder = read_image_folder(arg, fo);
    set.train = std::move(folder.train);
    set.test = std::move(folder.test);
    if (folder.has_split) set.test_from = "the " + folder.test_split + " folder";
  } else if (kind == "npy") {
    const size_t comma = arg.find(',');
    if (comma == std::string::npos || arg.find(',', comma + 1) != std::string::npos) {
      throw Error(data_setting(o.spec) + ": give two files, npy:IMAGES.npy,LABELS.npy");
    }
    set.train = load_npy_images(arg.substr(0, comma), arg.substr(comma + 1));
  } else {
    throw unknown_data_set(o.spec);
  }
  if ((o.resize || o.channels) && kind != "folder") {
    const std::string what = o.resize ? "resize" : "channels";
    throw Error(setting(what) + " applies to folder:DIR data; " + o.spec + " images are stored " +
                (o.resize ? "at one size" : "with one channel count"));
  }
  set.name = o.spec;
  split_if_needed(set, o);
  return set;
}

TrainData fit_data_to_model(DataSet set, const Graph& graph, const TargetShape& target) {
  check_class_targets(set.name, target);
  const Dims dims = set.dims();
  if (dims != graph.input_dims()) {
    throw Error("model " + graph.name() + " takes " + dims_str(graph.input_dims()) +
                " input; the " + set.name + " images are " + dims_str(dims) +
                ": give a model of that input size (" +
                setting("input", "an input size of " + dims_str(dims), dims_str(dims)) +
                " where its layers allow it)" +
                (set.name.rfind("folder:", 0) == 0
                     ? " or resize the images (" + setting("resize", "resize", "HxW") + ")"
                     : ""));
  }
  const int64_t classes = set.classes();
  if (classes > graph.classes()) {
    throw Error("model " + graph.name() + " has " + std::to_string(graph.classes()) +
                " classes; the " + set.name + " labels go up to " + std::to_string(classes - 1) +
                ": give a model with at least " + std::to_string(classes) + " outputs");
  }
  TrainData d;
  d.name = set.name;
  d.dims = dims;
  d.sample_size = dims_product(dims);
  d.target = target;
  d.test_from = set.test_from;
  d.train_images = std::move(set.train.pixels);
  d.train_values = std::move(set.train.values);
  d.train_labels = std::move(set.train.labels);
  d.test_images = std::move(set.test.pixels);
  d.test_values = std::move(set.test.values);
  d.test_labels = std::move(set.test.labels);
  return d;
}

TrainData load_train_data(const std::string& name, const std::string& dir, const Graph& graph,
                          int64_t batch, uint64_t seed, const std::optional<TargetShape>& target) {
  const TargetShape t = target.value_or(TargetShape{TargetKind::kClass, 1, graph.classes()});
  if (!is_synthetic(name)) {
    check_class_targets(name, t);
    DataOptions o;
    o.spec = name;
    o.dir = dir;
    return fit_data_to_model(read_data_set(o), graph, t);
  }
  TrainData d;
  d.name = name;
  d.dims = graph.input_dims();
  d.sample_size = dims_product(d.dims);
  d.target = t;
  d.test_from = "synthetic data";
  // Labels are stored as bytes: with more than 256 classes, synthetic labels use the first 256.
  std::mt19937_64 rng(seed ^ 0x5eed5eedULL);
  make_synthetic(batch * 8, d.sample_size, d.target, rng, d.train_images, d.train_labels);
  make_synthetic(batch * 2, d.sample_size, d.target, rng, d.test_images, d.test_labels);
  return d;
}

std::pair<int64_t, int64_t> parse_resize(const std::string& text) {
  const size_t x = text.find('x');
  const auto number = [&](const std::string& s) -> int64_t {
    if (s.empty() || s.size() > 5 || !std::all_of(s.begin(), s.end(), ::isdigit)) return 0;
    return std::stoll(s);
  };
  const int64_t h = x == std::string::npos ? 0 : number(text.substr(0, x));
  const int64_t w = x == std::string::npos ? 0 : number(text.substr(x + 1));
  if (h <= 0 || w <= 0) {
    throw Error(setting("resize") + " " + text +
                ": give the height and width in pixels, e.g. 64x64");
  }
  return {h, w};
}

}  // namespace cnnmem
