// Where each buffer of a schedule lives in the arena: persistent buffers first, one after the
// other; transient ones share the rest, placed by a planner strategy (framework/planner.h).
// Ping-pong alternates the chain of feature maps (activations and the input) between two slots;
// the buffers beside that chain (scratchpad, gradients, other workspace) go above them, placed
// greedy-by-size.
#pragma once

#include <cstdint>
#include <vector>

#include "framework/planner.h"
#include "framework/schedule.h"

namespace cnnmem {

struct BufferLayout {
  std::vector<int64_t> offsets;  // per buffer, in bytes from the arena's start
  int64_t arena_bytes = 0;
};

BufferLayout layout_buffers(const Schedule& schedule, const std::vector<Lifetime>& lifetimes,
                            Strategy strategy);

}  // namespace cnnmem
