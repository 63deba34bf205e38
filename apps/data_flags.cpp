#include "apps/data_flags.h"

#include "framework/error.h"
#include "models/zoo.h"

namespace cnnmem {

void add_data_flags(CLI::App* app, DataFlags& f) {
  app->add_option("--data", f.data,
                  "fashion-mnist | synthetic | idx:DIR | cifar10:DIR | cifar100:DIR | folder:DIR | "
                  "npy:IMAGES.npy,LABELS.npy");
  app->add_option("--data-dir", f.data_dir, "directory of fashion-mnist's gzip IDX files");
  app->add_option("--resize", f.resize, "folder:DIR: resize every image to HxW (bilinear)");
  app->add_option("--channels", f.channels,
                  "folder:DIR: convert every image to 1 (grey, BT.601 luma) or 3 channels")
      ->check(CLI::IsMember({1, 3}));
  app->add_option("--val-fraction", f.val_fraction,
                  "hold out this fraction of a data set without a test part for evaluation "
                  "(default 0.1)");
  app->add_option("--normalize", f.normalize,
                  "per-channel (x - mean) / std after value/255: C means then C stds "
                  "(m1,...,s1,...), one pair for all channels, or auto (from the training set)");
  app->add_option("--random-crop", f.random_crop,
                  "training: random crop of the image's size after zero padding of PAD pixels")
      ->check(whole_number(0));
  app->add_flag("--hflip", f.hflip, "training: random horizontal flip (probability 1/2)");
}

std::optional<DataSet> read_data_for(const DataFlags& d, CommonFlags& f) {
  if (is_synthetic(d.data)) {
    if (!d.resize.empty() || d.val_fraction >= 0 || d.channels != 0) {
      throw Error(std::string(!d.resize.empty() ? "--resize"
                              : d.channels != 0 ? "--channels"
                                                : "--val-fraction") +
                  " applies to data read from files; synthetic data has the model's input size");
    }
    return std::nullopt;
  }
  DataOptions o;
  o.spec = d.data;
  o.dir = d.data_dir;
  if (!d.resize.empty()) o.resize = parse_resize(d.resize);
  if (d.channels != 0) o.channels = d.channels;
  o.val_fraction = d.val_fraction;
  DataSet set = read_data_set(o);
  if (f.model.empty() || !f.input.empty()) return set;
  if (make_model(f.model).input_dims() == set.dims()) return set;
  const std::string dims = dims_str(set.dims());
  try {
    make_model(f.model, set.dims());
  } catch (const Error& e) {
    throw Error("model " + f.model + " cannot take the " + d.data + " images (" + dims +
                "): " + e.what());
  }
  f.input = dims;
  return set;
}

TrainData train_data_for(const DataFlags& d, std::optional<DataSet> set, const Graph& graph,
                         int64_t batch, uint64_t seed, const TargetShape& target) {
  TrainData data = set ? fit_data_to_model(std::move(*set), graph, target)
                       : load_train_data(d.data, d.data_dir, graph, batch, seed, target);
  Preprocess& p = data.preprocess;
  p.seed = seed;
  p.crop_padding = d.random_crop;
  p.flip = d.hflip;
  if (d.normalize == "auto") {
    const Samples s = data.train();
    p.normalize = normalize_from_data(SampleSource{s.images, s.values}, s.count, data.dims);
  } else if (!d.normalize.empty()) {
    p.normalize = parse_normalize(d.normalize, data.dims[0]);
  }
  return data;
}

std::vector<std::pair<std::string, std::string>> data_config(const DataFlags& d) {
  // Settings left at their defaults are not listed, so states saved before they existed match.
  std::vector<std::pair<std::string, std::string>> c = {{"data", d.data}};
  if (!d.resize.empty()) c.emplace_back("resize", d.resize);
  if (d.channels != 0) c.emplace_back("channels", std::to_string(d.channels));
  if (d.val_fraction >= 0) c.emplace_back("val-fraction", std::to_string(d.val_fraction));
  if (!d.normalize.empty()) c.emplace_back("normalize", d.normalize);
  if (d.random_crop >= 0) c.emplace_back("random-crop", std::to_string(d.random_crop));
  if (d.hflip) c.emplace_back("hflip", "on");
  return c;
}

}  // namespace cnnmem
