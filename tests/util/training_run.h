// An executor ready to step, as the trainer drives it: bound, weights initialized, fed synthetic
// data in order (no shuffle) through the input pipeline, with the softmax cross-entropy loss.
// Tests then call run_step / run_forward and read the accounting.
//
// Usage:
//   ExecutorOptions o;
//   o.batch = 4;
//   auto r = test::start_run(make_model("lenet5"), o, make_optimizer(cfg), /*weight_seed=*/1,
//                            /*data_seed=*/1);
//   r->ex->run_step();
// Not here: the trainer's epochs, shuffling and evaluation (train/trainer.h).
#pragma once

#include <cstdint>
#include <memory>
#include <numeric>
#include <utility>
#include <vector>

#include "framework/executor.h"
#include "layers/softmax_cross_entropy.h"
#include "optimizers/optimizer.h"
#include "train/batch_pipeline.h"
#include "train/datasets.h"

namespace cnnmem::test {

// Members are destroyed bottom up: the pipeline stops before the executor it fills goes away.
struct TrainingRun {
  std::unique_ptr<Optimizer> opt;  // null in inference
  std::unique_ptr<Executor> ex;
  TrainData data;
  std::unique_ptr<BatchPipeline> pipeline;
};

// `g` must outlive the run. The data set is "synthetic" for `o.batch` and `data_seed`.
inline std::unique_ptr<TrainingRun> start_run(const Graph& g, const ExecutorOptions& o,
                                              std::unique_ptr<Optimizer> opt, uint64_t weight_seed,
                                              uint64_t data_seed) {
  auto r = std::make_unique<TrainingRun>();
  r->opt = std::move(opt);
  r->ex = std::make_unique<Executor>(g, o, r->opt.get(), std::make_unique<SoftmaxCrossEntropy>());
  r->ex->bind();
  r->ex->init_weights(weight_seed);
  r->data = load_train_data("synthetic", "", g, o.batch, data_seed);
  r->pipeline = std::make_unique<BatchPipeline>(*r->ex, r->data.train(), o.batch);
  std::vector<int64_t> order(static_cast<size_t>(r->data.train().count));
  std::iota(order.begin(), order.end(), int64_t{0});
  r->pipeline->start_epoch(order, true);
  r->ex->set_batch_source(r->pipeline.get());
  return r;
}

}  // namespace cnnmem::test
