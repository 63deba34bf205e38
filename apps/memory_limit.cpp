#include "apps/memory_limit.h"

#include <cstdio>
#include <memory>

#include "framework/error.h"
#include "layers/softmax_cross_entropy.h"
#include "report/bytes.h"

namespace cnnmem {
namespace {

// The arena a plan with these options reserves; 0 when it cannot be planned at all.
int64_t planned_bytes(const Graph& graph, const ExecutorOptions& options,
                      const OptimizerConfig* opt) {
  std::unique_ptr<Optimizer> o = opt != nullptr ? make_optimizer(*opt) : nullptr;
  try {
    return Executor(graph, options, o.get(), std::make_unique<SoftmaxCrossEntropy>())
        .predicted()
        .arena_bytes;
  } catch (const Error&) {
    return 0;
  }
}

}  // namespace

void enforce_memory_limit(int64_t limit_bytes, const std::string& limit_text, const Graph& graph,
                          const ExecutorOptions& options, const OptimizerConfig* opt,
                          const Executor& ex) {
  const MemoryStats& p = ex.predicted();
  if (limit_bytes <= 0 || p.arena_bytes <= limit_bytes) return;
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

  std::string fits;
  // A checkpoint budget, in training: the cheapest set whose arena fits.
  if (options.training) {
    // The arena can exceed the live peak by the planner's fragmentation; aim that much lower.
    int64_t budget = limit_bytes;
    for (int attempt = 0; attempt < 4 && budget > 0; ++attempt) {
      ExecutorOptions with = options;
      with.checkpoint = parse_checkpoint_policy("budget:" + std::to_string(budget));
      std::unique_ptr<Optimizer> o2 = make_optimizer(*opt);
      try {
        const Executor ck(graph, with, o2.get(), std::make_unique<SoftmaxCrossEntropy>());
        if (ck.predicted().arena_bytes <= limit_bytes) {
          char pct[64];
          std::snprintf(
              pct, sizeof pct, "%.0f%%",
              ck.checkpoint().forward_flops > 0
                  ? 100.0 * ck.checkpoint().recompute_flops / ck.checkpoint().forward_flops
                  : 0.0);
          fits = "--checkpoint budget:" + std::to_string(budget) + " fits (" +
                 human_bytes(ck.predicted().arena_bytes) + ", recomputes " + pct +
                 " of the forward pass)";
          break;
        }
        budget -= ck.predicted().arena_bytes - limit_bytes;
      } catch (const Error&) {
        break;  // no checkpoint set reaches the budget
      }
    }
  }
  // The largest batch that fits, with everything else unchanged.
  int64_t lo = 0, hi = options.batch - 1;
  while (lo < hi) {
    const int64_t mid = (lo + hi + 1) / 2;
    ExecutorOptions smaller = options;
    smaller.batch = mid;
    const int64_t bytes = planned_bytes(graph, smaller, opt);
    if (bytes > 0 && bytes <= limit_bytes) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  if (lo > 0) {
    fits += std::string(fits.empty() ? "" : "; or ") + "--batch " + std::to_string(lo) + " fits";
  }
  msg += fits.empty() ? "; nothing fits at batch 1: raise the limit"
                      : "; " + fits + "; or raise the limit";
  throw Error(msg);
}

}  // namespace cnnmem
