#include "framework/arena.h"

#include <cstdlib>
#include <cstring>
#include <limits>

#include "framework/error.h"

namespace cnnmem {

Arena::Arena(int64_t bytes, size_t max_buffers)
    : bytes_(align_up(bytes)), live_(max_buffers, 0), begin_(max_buffers, 0), end_(max_buffers, 0) {
  if (bytes_ > 0) {
    base_ = static_cast<std::byte*>(std::aligned_alloc(kAlignment, static_cast<size_t>(bytes_)));
    if (base_ == nullptr) {
      throw Error("arena: cannot reserve " + std::to_string(bytes_) +
                  " bytes; use a smaller --batch or a --checkpoint policy");
    }
    // Touch every page now, so that the step itself runs on resident memory and results do not
    // depend on what a previous use left behind.
    std::memset(base_, 0, static_cast<size_t>(bytes_));
  }
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
  return base_ + offset;
}

void Arena::release(BufferId id, const Buffer& buf, bool poison) {
  const size_t i = static_cast<size_t>(id);
  CNNMEM_CHECK_MSG(live_[i], buf.name + " released while not live");
  live_[i] = 0;
  tracker_.remove(buf.tag, buf.bytes_aligned, buf.bytes_requested);
  if (poison_ && poison) {
    float* p = reinterpret_cast<float*>(base_ + begin_[i]);
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
