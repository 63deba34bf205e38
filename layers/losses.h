// The training losses by name, and the per-sample losses on ElementwiseLoss:
//   cross-entropy        (N, K) logits, N class indices: PyTorch's nn.CrossEntropyLoss()
//                        (layers/softmax_cross_entropy.h);
//   mse                  any output, float targets of its shape: nn.MSELoss(), mean over all
//                        elements;
//   bce-with-logits      any output, float targets in [0, 1] of its shape:
//                        nn.BCEWithLogitsLoss(), mean over all elements; a sample is correct by
//                        its fraction of elements with (x > 0) == (t >= 0.5);
//   pixel-cross-entropy  (N, K, H, W) logits, (N, H, W) class indices: nn.CrossEntropyLoss() on
//                        a segmentation output, mean over all pixels; a sample is correct by its
//                        fraction of pixels whose argmax is the target.
//
// Usage:
//   std::unique_ptr<Loss> loss = make_loss("mse");   // Error for an unknown name
// Not here: class weights, ignore_index, label smoothing, reductions other than the mean.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "framework/loss.h"
#include "layers/elementwise_loss.h"

namespace cnnmem {

// The names make_loss knows, in the order a help text lists them.
const std::vector<std::string>& loss_names();
std::unique_ptr<Loss> make_loss(const std::string& name);
// The loss a model trains with unless told otherwise, from its output (one sample):
// "pixel-cross-entropy" for K x H x W logits (a segmentation model), "cross-entropy" otherwise.
std::string default_loss_name(const Dims& output);

class MseLoss : public ElementwiseLoss {
 public:
  const char* name() const override { return "mse"; }
  TargetShape target(const Dims& output) const override;

 protected:
  Sums forward_sample(const float* x, const void* t) const override;
  void backward_sample(const float* x, const void* t, float* g) const override;
  int64_t mean_count() const override { return dims_product(sample_); }
};

class BceWithLogitsLoss : public ElementwiseLoss {
 public:
  const char* name() const override { return "bce-with-logits"; }
  TargetShape target(const Dims& output) const override;

 protected:
  Sums forward_sample(const float* x, const void* t) const override;
  void backward_sample(const float* x, const void* t, float* g) const override;
  int64_t mean_count() const override { return dims_product(sample_); }
};

class PixelCrossEntropyLoss : public ElementwiseLoss {
 public:
  const char* name() const override { return "pixel-cross-entropy"; }
  TargetShape target(const Dims& output) const override;

 protected:
  Sums forward_sample(const float* x, const void* t) const override;
  void backward_sample(const float* x, const void* t, float* g) const override;
  int64_t mean_count() const override { return sample_[1] * sample_[2]; }
};

}  // namespace cnnmem
