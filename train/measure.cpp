#include "train/measure.h"

#include <chrono>
#include <optional>
#include <vector>

#include "train/batch_pipeline.h"
#include "train/datasets.h"

namespace cnnmem {

Measurement measure_synthetic_steps(Executor& ex, const Graph& graph, int64_t batch,
                                    int timed_steps) {
  Measurement m;
  OutsideArena& outside = m.outside;
  const int64_t heap0 = heap_in_use_bytes();
  ex.bind();
  ex.init_weights(1);
  outside.heap_setup_bytes = heap_in_use_bytes() - heap0 - ex.predicted().arena_bytes;
  const TrainData data =
      load_train_data("synthetic", "", graph, batch, 1,
                      ex.options().training ? std::optional(ex.target()) : std::nullopt);
  BatchPipeline pipeline(ex, data.train(), batch);
  std::vector<int64_t> order(static_cast<size_t>(data.train().count));
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  pipeline.start_epoch(order, true);
  ex.set_batch_source(&pipeline);
  ex.run_step();  // warm-up
  const int64_t before = heap_in_use_bytes();
  ex.run_step();
  outside.heap_growth_bytes = heap_in_use_bytes() - before;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < timed_steps; ++i) ex.run_step();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  m.seconds_per_step = timed_steps > 0 ? seconds / timed_steps : 0;
  ex.set_batch_source(nullptr);
  outside.rss_peak_bytes = rss_peak_bytes();
  return m;
}

}  // namespace cnnmem
