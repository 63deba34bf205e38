// Predicted == measured, field by field: the peak (aligned and as requested), the arena, the
// bytes of each tag at the peak and each tag's own peak, and the op where the peak happens.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>

#include "framework/memory_stats.h"

namespace cnnmem {

inline void expect_same(const MemoryStats& p, const MemoryStats& m) {
  EXPECT_EQ(p.peak_bytes, m.peak_bytes);
  EXPECT_EQ(p.peak_bytes_requested, m.peak_bytes_requested);
  EXPECT_EQ(p.arena_bytes, m.arena_bytes);
  EXPECT_EQ(p.by_tag, m.by_tag);
  EXPECT_EQ(p.tag_peaks, m.tag_peaks);
  EXPECT_EQ(p.peak_at.op_index, m.peak_at.op_index);
  EXPECT_EQ(p.peak_at.op, m.peak_at.op);
  const int64_t sum = std::accumulate(p.by_tag.begin(), p.by_tag.end(), int64_t{0});
  EXPECT_EQ(sum, p.peak_bytes);
  EXPECT_GE(p.arena_bytes, p.peak_bytes);
}

}  // namespace cnnmem
