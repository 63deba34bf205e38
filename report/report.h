// Reports: the memory bill as text for people and JSON for scripts (DESIGN.md §4), with the
// textbook estimate (weights + gradients + optimizer state + batch x feature maps) beside the
// prediction and the measurement, and the reasons they differ, computed from the schedule.
// Not here: computing the numbers (framework/memory_stats.h, framework/arena.h).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "framework/executor.h"
#include "framework/graph.h"
#include "framework/process_memory.h"

namespace cnnmem {

struct Textbook {
  TagBytes by_tag{};
  int64_t total = 0;
};

// training: 4w weights, 4w gradients, state_bytes_per_element*w optimizer state, and 4 bytes x
// batch x every feature map (input included); inference: 4w and the two largest successive
// feature maps.
Textbook textbook_estimate(const Graph& graph, bool training, int64_t batch,
                           int64_t state_bytes_per_element);

struct ReportHeader {
  std::string model, mode, optimizer, checkpoint = "none", reuse = "greedy-by-size";
  int64_t batch = 0;
  int64_t params = 0;
};

nlohmann::json stats_json(const MemoryStats& stats);
// The memory part of the JSON contract; "measured" and "outside_arena" when measured.
nlohmann::json memory_json(const ReportHeader& h, const Executor& ex, const Textbook& textbook,
                           bool measured, const OutsideArena& outside);
// Why prediction and textbook differ, one reason a line, with bytes.
std::vector<std::string> explain_difference(const Graph& graph, const Executor& ex,
                                            const Textbook& textbook);
std::string memory_text(const ReportHeader& h, const Graph& graph, const Executor& ex,
                        const Textbook& textbook, bool measured, const OutsideArena& outside);

}  // namespace cnnmem
