#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>
#include <sstream>

#include "framework/error.h"
#include "io/idx.h"

namespace cnnmem {

Samples TrainData::train() const {
  return Samples{static_cast<int64_t>(train_labels.size()), sample_size, train_images.data(),
                 train_labels.data()};
}

Samples TrainData::test() const {
  return Samples{static_cast<int64_t>(test_labels.size()), sample_size, test_images.data(),
                 test_labels.data()};
}

namespace {

void make_synthetic(int64_t count, int64_t sample_size, int classes, std::mt19937_64& rng,
                    std::vector<uint8_t>& images, std::vector<uint8_t>& labels) {
  images.resize(static_cast<size_t>(count * sample_size));
  labels.resize(static_cast<size_t>(count));
  for (uint8_t& p : images) p = static_cast<uint8_t>(rng() >> 56);
  const auto used = static_cast<uint64_t>(classes < 256 ? classes : 256);
  for (uint8_t& l : labels) l = static_cast<uint8_t>(rng() % used);
}

}  // namespace

TrainData load_train_data(const std::string& name, const std::string& dir, const Graph& graph,
                          int64_t batch, uint64_t seed) {
  TrainData d;
  d.name = name;
  d.sample_size = dims_product(graph.input_dims());
  if (name == "synthetic") {
    // Labels are stored as bytes: with more than 256 classes, synthetic labels use the first 256.
    std::mt19937_64 rng(seed ^ 0x5eed5eedULL);
    make_synthetic(batch * 8, d.sample_size, graph.classes(), rng, d.train_images, d.train_labels);
    make_synthetic(batch * 2, d.sample_size, graph.classes(), rng, d.test_images, d.test_labels);
    return d;
  }
  if (name != "fashion-mnist") {
    throw Error("unknown data set \"" + name + "\": use fashion-mnist or synthetic");
  }
  if (graph.input_dims() != Dims{1, 28, 28} || graph.classes() != 10) {
    throw Error("model " + graph.name() + " takes " + dims_str(graph.input_dims()) +
                " input with " + std::to_string(graph.classes()) +
                " classes; fashion-mnist is 1x28x28 with 10 classes: use --data synthetic");
  }
  ImageSet train_set = load_fashion_mnist(dir, "train", graph.classes());
  ImageSet test_set = load_fashion_mnist(dir, "test", graph.classes());
  d.train_images = std::move(train_set.images);
  d.train_labels = std::move(train_set.labels);
  d.test_images = std::move(test_set.images);
  d.test_labels = std::move(test_set.labels);
  return d;
}

namespace {

// Evaluation of a model whose forward pass differs between training and evaluation (BatchNorm
// uses running statistics, dropout is the identity): an inference pass with the training step's
// weights and running statistics, in an arena of its own that lives only while it runs.
double evaluate_in_eval_mode(const Executor& trained, const Samples& samples) {
  ExecutorOptions eo;
  eo.training = false;
  eo.batch = trained.options().batch;
  eo.guard = trained.options().guard;
  Executor eval(trained.graph(), eo, nullptr);
  eval.bind();
  eval.load_weights(trained.weights(), "the training step's weights");
  BatchPipeline pipeline(eval, samples, eo.batch);
  std::vector<int64_t> order(static_cast<size_t>(samples.count));
  std::iota(order.begin(), order.end(), int64_t{0});
  pipeline.start_epoch(std::move(order), /*drop_last=*/false);
  eval.set_batch_source(&pipeline);
  const int64_t classes = trained.graph().classes();
  int64_t correct = 0, seen = 0;
  for (int64_t k = 0; k < pipeline.batches(); ++k) {
    pipeline.wait_ready();  // the batch's row count is written by the task that assembles it
    const int64_t rows = pipeline.valid_rows();
    eval.run_forward();
    const NamedTensor logits = eval.read_tensor("output");
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = logits.data.data() + r * classes;
      const auto best = std::max_element(row, row + classes) - row;
      correct += best == samples.labels[seen + r] ? 1 : 0;
    }
    seen += rows;
  }
  eval.set_batch_source(nullptr);
  return samples.count > 0 ? static_cast<double>(correct) / static_cast<double>(samples.count) : 0;
}

}  // namespace

double evaluate(Executor& executor, const Samples& samples) {
  if (executor.options().training && executor.forward_differs_in_training()) {
    return evaluate_in_eval_mode(executor, samples);
  }
  BatchPipeline pipeline(executor, samples, executor.options().batch);
  std::vector<int64_t> order(static_cast<size_t>(samples.count));
  std::iota(order.begin(), order.end(), int64_t{0});
  pipeline.start_epoch(std::move(order), /*drop_last=*/false);
  executor.set_batch_source(&pipeline);
  int64_t correct = 0;
  for (int64_t k = 0; k < pipeline.batches(); ++k) {
    pipeline.wait_ready();  // the batch's row count is written by the task that assembles it
    executor.set_valid_rows(pipeline.valid_rows());
    executor.run_forward();
    correct += executor.correct();
  }
  executor.set_batch_source(nullptr);
  executor.set_valid_rows(-1);
  return samples.count > 0 ? static_cast<double>(correct) / static_cast<double>(samples.count) : 0;
}

namespace {

std::string rng_text(const std::mt19937_64& rng) {
  std::ostringstream out;
  out << rng;
  return out.str();
}

// `step` and `epoch` are 0-based; the message counts from 1, as the progress lines do.
Error diverged(int64_t step, int64_t epoch, const std::string& what, const TrainOptions& o,
               bool saved) {
  std::string msg = "training diverged at step " + std::to_string(step + 1) + " (epoch " +
                    std::to_string(epoch + 1) + "): " + what +
                    "; lower --lr (e.g. by 10x) and train again";
  if (saved) msg += " (the last good training state stays in " + o.state_dir + ")";
  return Error(msg);
}

bool all_finite(const std::vector<NamedTensor>& tensors) {
  return std::all_of(tensors.begin(), tensors.end(), [](const NamedTensor& t) {
    return std::all_of(t.data.begin(), t.data.end(), [](float v) { return std::isfinite(v); });
  });
}

// The executor reads batches from the pipeline only while the epoch runs, also on an error.
class BatchSourceScope {
 public:
  BatchSourceScope(Executor& executor, BatchSource* source) : executor_(executor) {
    executor_.set_batch_source(source);
  }
  ~BatchSourceScope() { executor_.set_batch_source(nullptr); }
  BatchSourceScope(const BatchSourceScope&) = delete;
  BatchSourceScope& operator=(const BatchSourceScope&) = delete;

 private:
  Executor& executor_;
};

}  // namespace

TrainResult train(Executor& executor, const TrainData& data, const TrainOptions& options) {
  const int64_t batch = executor.options().batch;
  const Samples samples = data.train();
  const int64_t per_epoch = samples.count / batch;
  if (per_epoch == 0) {
    throw Error("the " + data.name + " training set has " + std::to_string(samples.count) +
                " images, fewer than --batch " + std::to_string(batch) + ": use a smaller batch");
  }
  if (options.epochs <= 0 && options.max_steps <= 0) {
    throw Error("--epochs must be positive (or give --max-steps)");
  }
  const int64_t total = options.max_steps > 0 ? options.max_steps : options.epochs * per_epoch;

  TrainResult r;
  r.losses.reserve(static_cast<size_t>(total));
  std::mt19937_64 rng(options.seed);
  int64_t step = 0, first_epoch = 0, skip = 0;  // skip: batches of the first epoch already done
  if (options.resume != nullptr) {
    const TrainingState& s = *options.resume;
    if (s.steps > total) {
      throw Error("--resume: the saved run is at step " + std::to_string(s.steps) +
                  ", past this run's " + std::to_string(total) +
                  " steps; raise --max-steps or --epochs");
    }
    std::istringstream in(s.rng);
    in >> rng;
    if (in.fail() || s.step_in_epoch >= per_epoch ||
        s.epoch * per_epoch + s.step_in_epoch != s.steps) {
      throw Error("--resume: the saved data position (epoch " + std::to_string(s.epoch) +
                  ", step " + std::to_string(s.step_in_epoch) + ") does not fit " +
                  std::to_string(per_epoch) +
                  " steps an epoch of this data set; resume with the saved run's data and batch");
    }
    const std::string source = "training state " + training_state_path(options.state_dir);
    executor.load_weights(s.weights, source);
    executor.load_optimizer_state(s.optimizer_state, source);
    executor.set_optimizer_step(s.optimizer_step);
    executor.set_steps_run(s.executor_steps);
    r.losses = s.losses;
    step = s.steps;
    first_epoch = s.epoch;
    skip = s.step_in_epoch;
  }
  const int64_t first_step = step;
  bool saved = options.resume != nullptr;  // a good state is on disk
  int64_t saved_at = options.resume != nullptr ? step : -1;
  std::mt19937_64 epoch_rng = rng;  // at the start of the current epoch
  // After `done` steps, the last of them in `epoch`.
  const auto save = [&](int64_t done, int64_t epoch) {
    TrainingState s;
    s.weights = executor.weights();
    s.optimizer_state = executor.optimizer_state();
    if (!all_finite(s.weights) || !all_finite(s.optimizer_state)) {
      throw diverged(done - 1, epoch, "a weight or optimizer state is nan or inf", options, saved);
    }
    s.losses = r.losses;
    s.steps = done;
    s.epoch = done / per_epoch;
    s.step_in_epoch = done % per_epoch;
    // At an epoch's end the generator has not shuffled the next epoch yet.
    s.rng = rng_text(s.step_in_epoch == 0 ? rng : epoch_rng);
    s.optimizer_step = executor.optimizer_step();
    s.executor_steps = executor.steps_run();
    s.config = options.config;
    write_training_state(options.state_dir, s);
    saved = true;
    saved_at = done;
  };

  BatchPipeline pipeline(executor, samples, batch);
  std::vector<int64_t> order(static_cast<size_t>(samples.count));
  using Clock = std::chrono::steady_clock;
  Clock::time_point timed_from;
  const bool saving = !options.state_dir.empty();
  int64_t epoch = first_epoch;
  bool stopped = false;
  for (; step < total && !stopped; ++epoch) {
    epoch_rng = rng;
    std::iota(order.begin(), order.end(), int64_t{0});
    if (options.shuffle) {
      for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng() % (i + 1)]);
    }
    pipeline.start_epoch(std::vector<int64_t>(order.begin() + skip * batch, order.end()),
                         /*drop_last=*/true);
    skip = 0;
    const BatchSourceScope source(executor, &pipeline);
    for (int64_t k = 0; k < pipeline.batches() && step < total && !stopped; ++k, ++step) {
      int64_t heap_before = 0;
      if (step == first_step + 1) heap_before = heap_in_use_bytes();
      executor.run_step();
      if (step == first_step + 1) r.outside.heap_growth_bytes = heap_in_use_bytes() - heap_before;
      const float loss = executor.loss();
      if (!std::isfinite(loss)) {
        throw diverged(step, epoch,
                       std::string("the loss is ") + (std::isnan(loss) ? "nan" : "inf"), options,
                       saved);
      }
      r.losses.push_back(loss);
      if (step == first_step) timed_from = Clock::now();
      if (options.on_step) {
        options.on_step(
            TrainStep{step, total, epoch, (total + per_epoch - 1) / per_epoch, batch, loss});
      }
      if (saving && options.save_every > 0 && (step + 1) % options.save_every == 0) {
        save(step + 1, epoch);
      }
      stopped = options.stop_requested && options.stop_requested();
      if (stopped && saving && saved_at != step + 1) save(step + 1, epoch);
    }
  }
  const int64_t done = step;
  if (!stopped && saving && saved_at != total) save(total, epoch - 1);
  const double seconds = std::chrono::duration<double>(Clock::now() - timed_from).count();
  if (done - first_step > 1 && seconds > 0) {
    r.images_per_sec = static_cast<double>((done - first_step - 1) * batch) / seconds;
  }
  r.steps = done;
  r.total_steps = total;
  r.interrupted = stopped;
  r.saved = saving && saved_at == done;
  r.epochs = static_cast<double>(done) / static_cast<double>(per_epoch);
  // A step budget (or a stop) can end mid-epoch with the next batch still being assembled into
  // the staging buffers that evaluation is about to fill.
  pipeline.wait_ready();
  if (stopped) {
    r.outside.rss_peak_bytes = rss_peak_bytes();
    return r;
  }
  if (options.eval) r.test_accuracy = evaluate(executor, data.test());
  r.outside.rss_peak_bytes = rss_peak_bytes();
  return r;
}

}  // namespace cnnmem
