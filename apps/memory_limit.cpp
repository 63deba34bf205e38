#include "apps/memory_limit.h"

#include <cstdio>
#include <memory>
#include <optional>

#include "framework/error.h"
#include "layers/losses.h"
#include "report/bytes.h"
#include "train/what_fits.h"

namespace cnnmem {
namespace {

// Plans `graph` with `options` (a fresh optimizer from `opt` in training), shapes only.
std::optional<PlannedBytes> plan_bytes(const Graph& graph, const ExecutorOptions& options,
                                       const OptimizerConfig* opt, const std::string& loss) {
  std::unique_ptr<Optimizer> o = opt != nullptr ? make_optimizer(*opt) : nullptr;
  try {
    const Executor ex(graph, options, o.get(), options.training ? make_loss(loss) : nullptr);
    return PlannedBytes{ex.predicted().arena_bytes, ex.checkpoint()};
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace

void enforce_memory_limit(int64_t limit_bytes, const std::string& limit_text, const Graph& graph,
                          const ExecutorOptions& options, const OptimizerConfig* opt,
                          const std::string& loss, const Executor& ex, int64_t data_bytes) {
  const MemoryStats& p = ex.predicted();
  if (limit_bytes <= 0 || p.arena_bytes + data_bytes <= limit_bytes) return;
  if (data_bytes >= limit_bytes) {
    throw Error("--memory-limit " + limit_text + ": the data set alone holds " +
                human_bytes(data_bytes) + " in memory, and " + graph.name() +
                (options.training ? " training" : " inference") + " at batch " +
                std::to_string(options.batch) + " needs " + human_bytes(p.arena_bytes) +
                " in the arena besides: raise the limit");
  }
  std::string msg = "--memory-limit " + limit_text + ": " + graph.name() +
                    (options.training ? " training" : " inference") + " at batch " +
                    std::to_string(options.batch) + " needs " + human_bytes(p.arena_bytes) + " (";
  bool first = true;
  for (Tag tag : kAllTags) {
    const int64_t b = p.by_tag[tag_index(tag)];
    if (b == 0) continue;
    msg += (first ? "" : ", ") + std::string(tag_name(tag)) + " " + human_bytes(b);
    first = false;
  }
  msg += ")";
  if (data_bytes > 0) msg += " besides the data set's " + human_bytes(data_bytes);
  limit_bytes -= data_bytes;  // what the arena may take

  const WhatFits w = what_fits(limit_bytes, options, [&](const ExecutorOptions& o) {
    return plan_bytes(graph, o, opt, loss);
  });
  std::string fits;
  if (w.budget) {
    const CheckpointInfo& ck = w.with_budget.checkpoint;
    char pct[64];
    std::snprintf(pct, sizeof pct, "%.0f%%",
                  ck.forward_flops > 0 ? 100.0 * ck.recompute_flops / ck.forward_flops : 0.0);
    fits = "--checkpoint budget:" + std::to_string(*w.budget) + " fits (" +
           human_bytes(w.with_budget.arena_bytes) + ", recomputes " + pct + " of the forward pass)";
  }
  if (w.largest_batch > 0) {
    fits += std::string(fits.empty() ? "" : "; or ") + "--batch " +
            std::to_string(w.largest_batch) + " fits";
  }
  msg += fits.empty() ? "; nothing fits at batch 1: raise the limit"
                      : "; " + fits + "; or raise the limit";
  throw Error(msg);
}

}  // namespace cnnmem
