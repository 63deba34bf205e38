// The smallest model the unit tests compile and run, small enough to work its numbers out by
// hand: (1, 2, 2) images -> flatten (4) -> fc1 (5) -> relu -> fc2 (3 classes).
// Node ids: input 0, flat 1, fc1 2, relu 3, fc2 4. Parameters: fc1 4 * 5 + 5 = 25, fc2 5 * 3 + 3
// = 18, 43 in all. Every tensor is plain (N, F), so no layer needs a layout reorder.
// Not here: the zoo's real models (models/zoo.h).
#pragma once

#include <memory>

#include "framework/graph.h"
#include "layers/flatten.h"
#include "layers/linear.h"
#include "layers/relu.h"

namespace cnnmem::test {

inline constexpr int64_t kTinyParams = 43;

inline Graph tiny_model(int classes = 3) {
  Graph g("tiny", {1, 2, 2}, classes);
  g.add(std::make_unique<Flatten>("flat"));
  g.add(std::make_unique<Linear>("fc1", 4, 5));
  g.add(std::make_unique<Relu>("relu"));
  g.add(std::make_unique<Linear>("fc2", 5, 3));
  return g;
}

}  // namespace cnnmem::test
