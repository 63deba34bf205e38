#include "framework/buffer_layout.h"

#include <tuple>

namespace cnnmem {

BufferLayout layout_buffers(const Schedule& schedule, const std::vector<Lifetime>& lifetimes,
                            Strategy strategy) {
  BufferLayout layout;
  layout.offsets.assign(schedule.buffers.size(), 0);
  int64_t top = 0;
  std::vector<Interval> chain, rest;
  std::vector<size_t> chain_ids, rest_ids;
  const bool pingpong = strategy == Strategy::kPingPong;
  for (size_t i = 0; i < schedule.buffers.size(); ++i) {
    const Buffer& buf = schedule.buffers[i];
    if (buf.persistent) {
      layout.offsets[i] = top;
      top += buf.bytes_aligned;
      continue;
    }
    const Interval iv{buf.bytes_aligned, lifetimes[i].first, lifetimes[i].last};
    const bool in_chain = !pingpong || buf.tag == Tag::kActivation || buf.tag == Tag::kInput;
    (in_chain ? chain : rest).push_back(iv);
    (in_chain ? chain_ids : rest_ids).push_back(i);
  }
  for (auto [intervals, ids, s] : {std::tuple{&chain, &chain_ids, strategy},
                                   std::tuple{&rest, &rest_ids, Strategy::kGreedyBySize}}) {
    if (intervals->empty()) continue;
    const Plan p = plan_buffers(*intervals, s);
    for (size_t k = 0; k < ids->size(); ++k) layout.offsets[(*ids)[k]] = top + p.offsets[k];
    top += p.arena_bytes;
  }
  layout.arena_bytes = top;
  return layout;
}

}  // namespace cnnmem
