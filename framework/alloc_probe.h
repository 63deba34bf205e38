// A marker for allocation accounting: true while a oneDNN primitive executes.
//
// oneDNN 2.6's primitive::execute builds a std::unordered_map of its arguments on every call
// (inside libdnnl, outside our control), so "no allocation inside a step" can only hold for
// cnnmem's own code. The executor raises this marker around each execute; a test that counts
// malloc calls during steps attributes those made under the marker to oneDNN and expects zero
// from everything else.
#pragma once

#include <atomic>

namespace cnnmem {

extern std::atomic<bool> g_in_dnnl_execute;

inline bool in_dnnl_execute() { return g_in_dnnl_execute.load(std::memory_order_relaxed); }

}  // namespace cnnmem
