// --memory-limit: refuse a run before anything is allocated when its plan reserves more than
// the limit, with the prediction by tag and what would fit (a checkpoint budget, a batch size).
// Not here: the prediction itself (framework/executor.h), the search (train/what_fits.h).
#pragma once

#include <cstdint>
#include <string>

#include "framework/executor.h"
#include "framework/graph.h"
#include "optimizers/optimizer.h"

namespace cnnmem {

// Throws Error, one line, when `ex` (planned with `options`, not yet bound) would reserve more
// than `limit_bytes`. `opt` is the optimizer configuration in training (re-plans need a fresh
// optimizer each), null in inference; `loss` the loss's name in training (layers/losses.h). A
// limit of 0 means none. `data_bytes` (training: the data set held in memory) counts against
// the limit too; what fits is searched for in what the data set leaves.
void enforce_memory_limit(int64_t limit_bytes, const std::string& limit_text, const Graph& graph,
                          const ExecutorOptions& options, const OptimizerConfig* opt,
                          const std::string& loss, const Executor& ex, int64_t data_bytes = 0);

}  // namespace cnnmem
