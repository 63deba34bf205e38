#include "train/batch_pipeline.h"

#include <algorithm>
#include <utility>

#include "framework/error.h"

#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* addr);  // NOLINT(bugprone-reserved-identifier)
extern "C" void __tsan_release(void* addr);  // NOLINT(bugprone-reserved-identifier)
#endif

namespace cnnmem {
namespace {

// TBB hands each batch to its worker and back inside libtbb, where ThreadSanitizer does not
// see the synchronisation; these mark the two hand-overs (no-ops in other builds).
void handed_over(void* p) {
#if defined(__SANITIZE_THREAD__)
  __tsan_release(p);
#else
  (void)p;
#endif
}
void taken_over(void* p) {
#if defined(__SANITIZE_THREAD__)
  __tsan_acquire(p);
#else
  (void)p;
#endif
}

}  // namespace

BatchPipeline::BatchPipeline(Executor& executor, Samples data, int64_t batch)
    : ex_(executor),
      data_(std::move(data)),
      batch_(batch),
      dims_(data_.dims.empty() ? Dims{data_.sample_size, 1, 1} : data_.dims) {}

BatchPipeline::~BatchPipeline() { wait_ready(); }

void BatchPipeline::start_epoch(std::vector<int64_t> order, bool drop_last, bool augment,
                                int64_t epoch) {
  wait_ready();
  order_ = std::move(order);
  augment_ = augment && data_.preprocess != nullptr && data_.preprocess->augments();
  epoch_ = epoch;
  const auto n = static_cast<int64_t>(order_.size());
  batches_ = drop_last ? n / batch_ : (n + batch_ - 1) / batch_;
  current_ = 0;
  if (batches_ > 0) assemble(0);
}

void BatchPipeline::assemble(int64_t k) {
  float* images = ex_.staging_images();
  const int64_t begin = k * batch_;
  const int64_t rows = std::min(batch_, static_cast<int64_t>(order_.size()) - begin);
  const int64_t s = data_.sample_size;
  if (data_.preprocess == nullptr && data_.values == nullptr) {  // value/255, nothing else
    for (int64_t r = 0; r < rows; ++r) {
      const uint8_t* src = data_.images + order_[static_cast<size_t>(begin + r)] * s;
      float* dst = images + r * s;
      for (int64_t j = 0; j < s; ++j) dst[j] = static_cast<float>(src[j]) / 255.0f;
    }
  } else {
    const Preprocess none;
    const Preprocess& p = data_.preprocess != nullptr ? *data_.preprocess : none;
    const SampleSource src{data_.images, data_.values};
    for (int64_t r = 0; r < rows; ++r) {
      prepare_sample(src, order_[static_cast<size_t>(begin + r)], dims_, epoch_, augment_, p,
                     images + r * s);
    }
  }
  std::fill(images + rows * s, images + batch_ * s, 0.0f);
  assemble_targets(begin, rows);
  valid_[static_cast<size_t>(k & 1)] = rows;
}

void BatchPipeline::assemble_targets(int64_t begin, int64_t rows) {
  const int64_t e = data_.target.elements;
  const auto fill = [&](auto* dst, auto convert) {
    if (dst == nullptr) return;  // an inference pass has no targets
    for (int64_t r = 0; r < rows; ++r) {
      const uint8_t* src = data_.labels + order_[static_cast<size_t>(begin + r)] * e;
      for (int64_t j = 0; j < e; ++j) dst[r * e + j] = convert(src[j]);
    }
    std::fill(dst + rows * e, dst + batch_ * e, 0);
  };
  if (data_.target.kind == TargetKind::kDense) {
    fill(ex_.staging_dense_targets(), [](uint8_t v) { return static_cast<float>(v) / 255.0f; });
  } else {
    fill(ex_.staging_labels(), [](uint8_t v) { return static_cast<int32_t>(v); });
  }
}

void BatchPipeline::wait_ready() {
  if (!in_flight_) return;
  arena_.execute([this] { group_->wait(); });
  taken_over(this);
  in_flight_ = false;
}

void BatchPipeline::prefetch_next() {
  // Called by the load op after it copied batch `current_` out of the staging buffers.
  ++current_;
  if (current_ >= batches_) return;
  const int64_t k = current_;
  in_flight_ = true;
  handed_over(this);
  arena_.execute([this, k] {
    group_->run([this, k] {
      taken_over(this);
      assemble(k);
      handed_over(this);
    });
  });
}

}  // namespace cnnmem
