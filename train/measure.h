// Measuring a planned step from the outside of the arena: run it on synthetic batches and read
// the heap and the resident set around it (what the arena cannot count: oneDNN's JIT code and
// caches, the program's own heap), and time it.
#pragma once

#include <cstdint>

#include "framework/executor.h"
#include "framework/graph.h"
#include "framework/process_memory.h"

namespace cnnmem {

// Binds `ex`, fills it with seeded weights and synthetic batches, runs a warm-up step and one
// whose heap growth is measured, then `timed_steps` timed ones.
struct Measurement {
  OutsideArena outside;
  double seconds_per_step = 0;
};
Measurement measure_synthetic_steps(Executor& ex, const Graph& graph, int64_t batch,
                                    int timed_steps = 0);

}  // namespace cnnmem
