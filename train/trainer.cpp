#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>
#include <sstream>

#include "framework/error.h"

namespace cnnmem {

Samples TrainData::train() const {
  return Samples{static_cast<int64_t>(train_labels.size()) / target.elements,
                 sample_size,
                 train_values.empty() ? train_images.data() : nullptr,
                 train_labels.data(),
                 target,
                 train_values.empty() ? nullptr : train_values.data(),
                 dims,
                 &preprocess};
}

Samples TrainData::test() const {
  return Samples{static_cast<int64_t>(test_labels.size()) / target.elements,
                 sample_size,
                 test_values.empty() ? test_images.data() : nullptr,
                 test_labels.data(),
                 target,
                 test_values.empty() ? nullptr : test_values.data(),
                 dims,
                 &preprocess};
}

int64_t TrainData::bytes() const {
  return static_cast<int64_t>(train_images.size() + train_labels.size() + test_images.size() +
                              test_labels.size() +
                              (train_values.size() + test_values.size()) * sizeof(float));
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
  const TargetShape& target = samples.target;
  const int64_t k = target.classes, pixels = target.elements;
  double correct = 0;
  int64_t seen = 0;
  for (int64_t b = 0; b < pipeline.batches(); ++b) {
    pipeline.wait_ready();  // the batch's row count is written by the task that assembles it
    const int64_t rows = pipeline.valid_rows();
    eval.run_forward();
    const NamedTensor out = eval.read_tensor("output");
    // Class scores of pixel p of row r are k values `pixels` apart (one, for a class target).
    for (int64_t r = 0; r < rows; ++r) {
      const uint8_t* labels = samples.labels + (seen + r) * pixels;
      int64_t right = 0;
      for (int64_t p = 0; p < pixels; ++p) {
        const float* x = out.data.data() + r * k * pixels + p;
        int64_t best = 0;
        for (int64_t c = 1; c < k; ++c) best = x[c * pixels] > x[best * pixels] ? c : best;
        right += best == labels[p] ? 1 : 0;
      }
      correct += static_cast<double>(right) / static_cast<double>(pixels);
    }
    seen += rows;
  }
  eval.set_batch_source(nullptr);
  return samples.count > 0 ? correct / static_cast<double>(samples.count) : 0;
}

}  // namespace

double evaluate(Executor& executor, const Samples& samples) {
  // Accuracy means a class per sample or per pixel; dense targets have none.
  if (samples.target.kind == TargetKind::kDense) return -1;
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
                    std::to_string(epoch + 1) + "): " + what + "; lower " + setting("lr") +
                    " (e.g. by 10x) and train again";
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

// One call of train(): the position in the data, the losses so far and what is on disk.
class TrainingRun {
 public:
  TrainingRun(Executor& executor, const TrainData& data, const TrainOptions& options);
  TrainResult run();

 private:
  void restore(const TrainingState& s);
  void run_epochs();
  // One step of `epoch`, saving where asked; sets stopped_ when a stop was requested.
  void run_one_step(int64_t epoch);
  // Writes the state after `done` steps, the last of them in `epoch`.
  void save(int64_t done, int64_t epoch);

  using Clock = std::chrono::steady_clock;
  Executor& executor_;
  const TrainData& data_;
  const TrainOptions& options_;
  const Samples samples_;
  const int64_t batch_, per_epoch_;
  int64_t total_ = 0;
  TrainResult r_;
  std::mt19937_64 rng_;
  std::mt19937_64 epoch_rng_;                      // at the start of the current epoch
  int64_t step_ = 0, first_epoch_ = 0, skip_ = 0;  // skip: batches of the first epoch already done
  int64_t first_step_ = 0;
  bool saved_ = false;     // a good state is on disk
  int64_t saved_at_ = -1;  // after this many steps
  bool stopped_ = false;
  Clock::time_point timed_from_;
};

TrainingRun::TrainingRun(Executor& executor, const TrainData& data, const TrainOptions& options)
    : executor_(executor),
      data_(data),
      options_(options),
      samples_(data.train()),
      batch_(executor.options().batch),
      per_epoch_(samples_.count / batch_),
      rng_(options.seed) {
  if (per_epoch_ == 0) {
    throw Error("the " + data.name + " training set has " + std::to_string(samples_.count) +
                " images, fewer than " + setting("batch") + " " + std::to_string(batch_) +
                ": use a smaller batch");
  }
  if (options.epochs <= 0 && options.max_steps <= 0) {
    throw Error(setting("epochs") + " must be positive (or give " + setting("max_steps") + ")");
  }
  total_ = options.max_steps > 0 ? options.max_steps : options.epochs * per_epoch_;
  r_.losses.reserve(static_cast<size_t>(total_));
  if (options.resume != nullptr) restore(*options.resume);
  first_step_ = step_;
  epoch_rng_ = rng_;
}

void TrainingRun::restore(const TrainingState& s) {
  if (s.steps > total_) {
    throw Error(setting("resume") + ": the saved run is at step " + std::to_string(s.steps) +
                ", past this run's " + std::to_string(total_) + " steps; raise " +
                setting("max_steps") + " or " + setting("epochs"));
  }
  std::istringstream in(s.rng);
  in >> rng_;
  if (in.fail() || s.step_in_epoch >= per_epoch_ ||
      s.epoch * per_epoch_ + s.step_in_epoch != s.steps) {
    throw Error(setting("resume") + ": the saved data position (epoch " + std::to_string(s.epoch) +
                ", step " + std::to_string(s.step_in_epoch) + ") does not fit " +
                std::to_string(per_epoch_) +
                " steps an epoch of this data set; resume with the saved run's data and batch");
  }
  const std::string source = "training state " + training_state_path(options_.state_dir);
  executor_.load_weights(s.weights, source);
  executor_.load_optimizer_state(s.optimizer_state, source);
  executor_.set_optimizer_step(s.optimizer_step);
  executor_.set_steps_run(s.executor_steps);
  r_.losses = s.losses;
  step_ = s.steps;
  first_epoch_ = s.epoch;
  skip_ = s.step_in_epoch;
  saved_ = true;
  saved_at_ = step_;
}

void TrainingRun::save(int64_t done, int64_t epoch) {
  TrainingState s;
  s.weights = executor_.weights();
  s.optimizer_state = executor_.optimizer_state();
  if (!all_finite(s.weights) || !all_finite(s.optimizer_state)) {
    throw diverged(done - 1, epoch, "a weight or optimizer state is nan or inf", options_, saved_);
  }
  s.losses = r_.losses;
  s.steps = done;
  s.epoch = done / per_epoch_;
  s.step_in_epoch = done % per_epoch_;
  // At an epoch's end the generator has not shuffled the next epoch yet.
  s.rng = rng_text(s.step_in_epoch == 0 ? rng_ : epoch_rng_);
  s.optimizer_step = executor_.optimizer_step();
  s.executor_steps = executor_.steps_run();
  s.config = options_.config;
  write_training_state(options_.state_dir, s);
  saved_ = true;
  saved_at_ = done;
}

void TrainingRun::run_one_step(int64_t epoch) {
  int64_t heap_before = 0;
  if (step_ == first_step_ + 1) heap_before = heap_in_use_bytes();
  executor_.run_step();
  if (step_ == first_step_ + 1) r_.outside.heap_growth_bytes = heap_in_use_bytes() - heap_before;
  const float loss = executor_.loss();
  if (!std::isfinite(loss)) {
    throw diverged(step_, epoch, std::string("the loss is ") + (std::isnan(loss) ? "nan" : "inf"),
                   options_, saved_);
  }
  r_.losses.push_back(loss);
  if (step_ == first_step_) timed_from_ = Clock::now();
  if (options_.on_step) {
    options_.on_step(
        TrainStep{step_, total_, epoch, (total_ + per_epoch_ - 1) / per_epoch_, batch_, loss});
  }
  const bool saving = !options_.state_dir.empty();
  if (saving && options_.save_every > 0 && (step_ + 1) % options_.save_every == 0) {
    save(step_ + 1, epoch);
  }
  stopped_ = options_.stop_requested && options_.stop_requested();
  if (stopped_ && saving && saved_at_ != step_ + 1) save(step_ + 1, epoch);
}

TrainResult TrainingRun::run() {
  BatchPipeline pipeline(executor_, samples_, batch_);
  std::vector<int64_t> order(static_cast<size_t>(samples_.count));
  int64_t epoch = first_epoch_;
  for (; step_ < total_ && !stopped_; ++epoch) {
    epoch_rng_ = rng_;
    std::iota(order.begin(), order.end(), int64_t{0});
    if (options_.shuffle) {
      for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng_() % (i + 1)]);
    }
    pipeline.start_epoch(std::vector<int64_t>(order.begin() + skip_ * batch_, order.end()),
                         /*drop_last=*/true, /*augment=*/true, epoch);
    skip_ = 0;
    const BatchSourceScope source(executor_, &pipeline);
    for (int64_t k = 0; k < pipeline.batches() && step_ < total_ && !stopped_; ++k, ++step_) {
      run_one_step(epoch);
    }
  }
  const int64_t done = step_;
  const bool saving = !options_.state_dir.empty();
  if (!stopped_ && saving && saved_at_ != total_) save(total_, epoch - 1);
  const double seconds = std::chrono::duration<double>(Clock::now() - timed_from_).count();
  if (done - first_step_ > 1 && seconds > 0) {
    r_.images_per_sec = static_cast<double>((done - first_step_ - 1) * batch_) / seconds;
  }
  r_.steps = done;
  r_.total_steps = total_;
  r_.interrupted = stopped_;
  r_.saved = saving && saved_at_ == done;
  r_.epochs = static_cast<double>(done) / static_cast<double>(per_epoch_);
  // A step budget (or a stop) can end mid-epoch with the next batch still being assembled into
  // the staging buffers that evaluation is about to fill.
  pipeline.wait_ready();
  if (!stopped_ && options_.eval) r_.test_accuracy = evaluate(executor_, data_.test());
  r_.outside.rss_peak_bytes = rss_peak_bytes();
  return r_;
}

}  // namespace

TrainResult train(Executor& executor, const TrainData& data, const TrainOptions& options) {
  return TrainingRun(executor, data, options).run();
}

}  // namespace cnnmem
