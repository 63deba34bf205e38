// Arena: counting per tag, the peak and where it happens, and the overlap check.
#include "framework/arena.h"

#include <gtest/gtest.h>

#include <cmath>

#include "framework/error.h"

namespace cnnmem {
namespace {

Buffer buf(const char* name, Tag tag, int64_t requested) {
  Buffer b;
  b.name = name;
  b.tag = tag;
  b.bytes_requested = requested;
  b.bytes_aligned = align_up(requested);
  b.bytes_logical = requested;
  return b;
}

Op op(const char* name, Phase phase) {
  Op o;
  o.name = name;
  o.phase = phase;
  return o;
}

TEST(Arena, CountsTagsAndFindsThePeak) {
  Arena arena(4096, 3);
  const Buffer w = buf("w", Tag::kWeight, 1000);     // aligned 1024
  const Buffer a = buf("a", Tag::kActivation, 100);  // aligned 128
  const Buffer g = buf("g", Tag::kActivationGrad, 2000);
  arena.acquire(0, 0, w);
  arena.begin_step();
  arena.acquire(1, 1024, a);
  arena.observe(0, op("x.forward", Phase::kForward));
  arena.release(1, a);
  arena.acquire(2, 1024, g);  // reuses a's bytes after its release
  arena.observe(1, op("x.backward", Phase::kBackward));
  const MemoryStats s = arena.stats();
  EXPECT_EQ(s.peak_bytes, 1024 + 2048);
  EXPECT_EQ(s.peak_bytes_requested, 1000 + 2000);
  EXPECT_EQ(s.peak_at.op_index, 1);
  EXPECT_EQ(s.peak_at.op, "x.backward");
  EXPECT_EQ(s.peak_at.phase, "backward");
  EXPECT_EQ(s.by_tag[tag_index(Tag::kWeight)], 1024);
  EXPECT_EQ(s.by_tag[tag_index(Tag::kActivation)], 0);
  EXPECT_EQ(s.by_tag[tag_index(Tag::kActivationGrad)], 2048);
  EXPECT_EQ(s.tag_peaks[tag_index(Tag::kActivation)], 128);
  EXPECT_EQ(s.arena_bytes, 4096);
}

TEST(Arena, RefusesOverlappingLiveBuffers) {
  Arena arena(4096, 2);
  arena.acquire(0, 0, buf("a", Tag::kActivation, 1024));
  EXPECT_THROW(arena.acquire(1, 512, buf("b", Tag::kActivation, 1024)), InternalError);
}

TEST(Arena, RefusesBuffersOutsideTheBlock) {
  Arena arena(1024, 1);
  EXPECT_THROW(arena.acquire(0, 512, buf("a", Tag::kActivation, 1024)), InternalError);
}

TEST(Arena, PoisonFillsReleasedBytesWithNaN) {
  Arena arena(256, 1);
  arena.set_poison(true);
  const Buffer a = buf("a", Tag::kActivation, 256);
  auto* p = reinterpret_cast<float*>(arena.acquire(0, 0, a));
  p[3] = 1.0f;
  arena.release(0, a);
  EXPECT_TRUE(std::isnan(p[3]));
  EXPECT_FALSE(arena.is_live(0));
}

}  // namespace
}  // namespace cnnmem
