#include "framework/arena.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "framework/error.h"

namespace cnnmem {

namespace {

// The canary byte at a placed offset: position-dependent, so that no constant fill matches it.
uint8_t canary(int64_t at) {
  return static_cast<uint8_t>(0xA5U ^ (static_cast<uint64_t>(at) * 0x9DU));
}

}  // namespace

Arena::Arena(int64_t bytes, size_t max_buffers)
    : bytes_(align_up(bytes)), live_(max_buffers, 0), begin_(max_buffers, 0), end_(max_buffers, 0) {
  reserve(bytes_);
}

Arena::Arena(int64_t bytes, size_t max_buffers, std::span<const int64_t> ends)
    : bytes_(align_up(bytes)),
      guarded_(true),
      ends_(ends.begin(), ends.end()),
      live_(max_buffers, 0),
      begin_(max_buffers, 0),
      end_(max_buffers, 0),
      canary_begin_(max_buffers, 0),
      canary_end_(max_buffers, 0),
      buffers_(max_buffers, nullptr) {
  std::sort(ends_.begin(), ends_.end());
  ends_.erase(std::unique(ends_.begin(), ends_.end()), ends_.end());
  // A buffer [b, e) is placed at placed(b) and its canary runs to placed(b) + (e - b) +
  // kGuardBytes, which is at most placed(e') for any buffer starting at e' >= e (e itself counts
  // among the ends at or before e'). The last canary ends by bytes_ + kGuardBytes * ends.
  reserve(bytes_ + kGuardBytes * static_cast<int64_t>(ends_.size()));
}

void Arena::reserve(int64_t bytes) {
  if (bytes > 0) {
    base_ = static_cast<std::byte*>(std::aligned_alloc(kAlignment, static_cast<size_t>(bytes)));
    if (base_ == nullptr) {
      throw Error("arena: cannot reserve " + std::to_string(bytes) + " bytes; use a smaller " +
                  setting("batch") + " or a " + setting("checkpoint") + " policy");
    }
    // Touch every page now, so that the step itself runs on resident memory and results do not
    // depend on what a previous use left behind.
    std::memset(base_, 0, static_cast<size_t>(bytes));
  }
}

int64_t Arena::placed(int64_t offset) const {
  if (!guarded_) return offset;
  const auto before = std::upper_bound(ends_.begin(), ends_.end(), offset) - ends_.begin();
  return offset + kGuardBytes * static_cast<int64_t>(before);
}

Arena::~Arena() { std::free(base_); }

std::byte* Arena::acquire(BufferId id, int64_t offset, const Buffer& buf) {
  const size_t i = static_cast<size_t>(id);
  CNNMEM_CHECK(i < live_.size());
  CNNMEM_CHECK_MSG(!live_[i], buf.name + " acquired twice");
  CNNMEM_CHECK_MSG(offset >= 0 && offset + buf.bytes_aligned <= bytes_,
                   buf.name + " lies outside the arena");
  const int64_t b = offset, e = offset + buf.bytes_aligned;
  if (e > b) {
    for (size_t j = 0; j < live_.size(); ++j) {
      if (live_[j] && begin_[j] < e && b < end_[j]) {
        CNNMEM_CHECK_MSG(false, buf.name + " overlaps buffer " + std::to_string(j) +
                                    " that is still live: the plan is wrong");
      }
    }
  }
  live_[i] = 1;
  begin_[i] = b;
  end_[i] = e;
  tracker_.add(buf.tag, buf.bytes_aligned, buf.bytes_requested);
  const int64_t at = placed(offset);
  if (guarded_) {
    // The canary covers the alignment padding too: a write one byte past the request shows.
    buffers_[i] = &buf;
    canary_begin_[i] = at + buf.bytes_requested;
    canary_end_[i] = at + buf.bytes_aligned + kGuardBytes;
    for (int64_t k = canary_begin_[i]; k < canary_end_[i]; ++k) {
      base_[k] = static_cast<std::byte>(canary(k));
    }
  }
  return base_ + at;
}

void Arena::check_guards(const Op& op) const {
  if (!guarded_) return;
  for (size_t j = 0; j < live_.size(); ++j) {
    if (!live_[j]) continue;
    for (int64_t k = canary_begin_[j]; k < canary_end_[j]; ++k) {
      if (base_[k] == static_cast<std::byte>(canary(k))) continue;
      const Buffer& buf = *buffers_[j];
      throw Error("arena guard: op " + op.name + " wrote past the end of buffer " + buf.name +
                  " (" + std::string(tag_name(buf.tag)) + ", " +
                  std::to_string(buf.bytes_requested) + " bytes): byte " +
                  std::to_string(k - canary_begin_[j] + buf.bytes_requested) + " changed");
    }
  }
}

void Arena::release(BufferId id, const Buffer& buf, bool poison) {
  const size_t i = static_cast<size_t>(id);
  CNNMEM_CHECK_MSG(live_[i], buf.name + " released while not live");
  live_[i] = 0;
  tracker_.remove(buf.tag, buf.bytes_aligned, buf.bytes_requested);
  if (poison_ && poison) {
    float* p = reinterpret_cast<float*>(base_ + placed(begin_[i]));
    const int64_t n = (end_[i] - begin_[i]) / static_cast<int64_t>(sizeof(float));
    for (int64_t k = 0; k < n; ++k) p[k] = std::numeric_limits<float>::quiet_NaN();
  }
}

MemoryStats Arena::stats() const {
  MemoryStats s = tracker_.stats();
  s.arena_bytes = bytes_;
  return s;
}

}  // namespace cnnmem
