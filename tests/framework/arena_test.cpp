// Arena: counting per tag, the peak and where it happens, and the overlap check.
#include "framework/arena.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

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

// Guard mode: buffers that touch in the plan are placed kGuardBytes apart, a write within a
// buffer passes the check, and a write one byte past its request (into its alignment padding) or
// past its aligned end names the op and the buffer; the accounting is the plan's.
TEST(ArenaGuard, SpreadsBuffersAndNamesTheOpThatOverran) {
  const Buffer a = buf("a", Tag::kActivation, 100);  // aligned 128
  const Buffer b = buf("b", Tag::kWeight, 128);
  const std::vector<int64_t> ends = {128, 256};
  Arena arena(256, 2, ends);
  EXPECT_TRUE(arena.guarded());
  EXPECT_EQ(arena.reserved_bytes(), 256);
  std::byte* pa = arena.acquire(0, 0, a);
  std::byte* pb = arena.acquire(1, 128, b);
  EXPECT_GE(pb - pa, 128 + Arena::kGuardBytes);
  EXPECT_EQ(arena.address(128), pb);
  std::fill(pa, pa + 100, std::byte{0xFF});
  std::fill(pb, pb + 128, std::byte{0x00});
  arena.observe(0, op("fine.forward", Phase::kForward));
  EXPECT_NO_THROW(arena.check_guards(op("fine.forward", Phase::kForward)));
  EXPECT_EQ(arena.stats().peak_bytes, 256);
  EXPECT_EQ(arena.stats().arena_bytes, 256);

  pa[100] = std::byte{0};
  try {
    arena.check_guards(op("conv1.forward", Phase::kForward));
    FAIL() << "the overrun was not seen";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("op conv1.forward wrote past the end of buffer a"), std::string::npos)
        << what;
    EXPECT_NE(what.find("byte 100 changed"), std::string::npos) << what;
  }
}

TEST(ArenaGuard, SeesAWritePastAnAlignedBuffer) {
  const Buffer a = buf("a", Tag::kActivationGrad, 128);
  const std::vector<int64_t> ends = {128, 256};
  Arena arena(256, 2, ends);
  std::byte* pa = arena.acquire(0, 0, a);
  arena.acquire(1, 128, buf("b", Tag::kActivation, 128));
  pa[128 + Arena::kGuardBytes - 1] = ~pa[128 + Arena::kGuardBytes - 1];
  EXPECT_THROW(arena.check_guards(op("fc.backward", Phase::kBackward)), Error);
}

// A released buffer's canary is no longer checked: its bytes belong to whatever comes next.
TEST(ArenaGuard, ChecksOnlyLiveBuffers) {
  const Buffer a = buf("a", Tag::kActivation, 64);
  const std::vector<int64_t> ends = {64};
  Arena arena(64, 1, ends);
  std::byte* pa = arena.acquire(0, 0, a);
  arena.release(0, a);
  pa[64] = std::byte{0};
  EXPECT_NO_THROW(arena.check_guards(op("x.forward", Phase::kForward)));
}

}  // namespace
}  // namespace cnnmem
