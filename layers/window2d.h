// window2d: the spatial geometry of a sliding-window layer (conv2d, conv_transpose2d, pool2d):
// per-axis kernel, stride and dilation, and per-side padding in ONNX's `pads` order for 2-D
// (top, left, bottom, right). The square, symmetric PyTorch shorthand is Window2d::square.
// Legend: H/W input size, KH/KW kernel, SH/SW stride, DH/DW dilation, OH/OW output size.
//
// Usage:
//   Window2d w = Window2d::square(3, 2, 1);   // 3x3, stride 2, padding 1
//   w.pads = {0, 1, 1, 1};                    // asymmetric (ONNX pads [0, 1, 1, 1])
//   w.check(error_prefix());                  // throws Error on a non-positive size
//   int64_t oh = w.out_h(h);                  // floor((H + top + bottom - span) / SH) + 1
// Not here: ceil mode (layers/pool2d.h), transposed output sizes (layers/conv_transpose2d.h).
#pragma once

#include <cstdint>
#include <dnnl.hpp>
#include <string>

#include "framework/error.h"

namespace cnnmem {

struct Pads2d {
  int64_t top = 0, left = 0, bottom = 0, right = 0;
  bool operator==(const Pads2d& o) const {
    return top == o.top && left == o.left && bottom == o.bottom && right == o.right;
  }
};

struct Window2d {
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  Pads2d pads;

  static Window2d square(int64_t kernel, int64_t stride = 1, int64_t padding = 0,
                         int64_t dilation = 1) {
    Window2d w;
    w.kernel_h = w.kernel_w = kernel;
    w.stride_h = w.stride_w = stride;
    w.dilation_h = w.dilation_w = dilation;
    w.pads = {padding, padding, padding, padding};
    return w;
  }

  // Extent of the dilated kernel.
  int64_t span_h() const { return dilation_h * (kernel_h - 1) + 1; }
  int64_t span_w() const { return dilation_w * (kernel_w - 1) + 1; }
  // The padded input holds at least one window.
  bool fits(int64_t h, int64_t w) const {
    return h + pads.top + pads.bottom >= span_h() && w + pads.left + pads.right >= span_w();
  }
  int64_t out_h(int64_t h) const { return (h + pads.top + pads.bottom - span_h()) / stride_h + 1; }
  int64_t out_w(int64_t w) const { return (w + pads.left + pads.right - span_w()) / stride_w + 1; }

  // oneDNN's arguments (its dilation counts the gaps: 0 is dense).
  dnnl::memory::dims kernel() const { return {kernel_h, kernel_w}; }
  dnnl::memory::dims strides() const { return {stride_h, stride_w}; }
  dnnl::memory::dims dilates() const { return {dilation_h - 1, dilation_w - 1}; }
  dnnl::memory::dims padding_l() const { return {pads.top, pads.left}; }
  dnnl::memory::dims padding_r() const { return {pads.bottom, pads.right}; }

  // "3x3" or "3x5 stride 2x1 dilation 2x2 pads 1,0,1,0" (only what differs from the default).
  std::string str() const {
    const auto pair = [](int64_t a, int64_t b) {
      return std::to_string(a) + "x" + std::to_string(b);
    };
    std::string s = pair(kernel_h, kernel_w);
    if (stride_h != 1 || stride_w != 1) s += " stride " + pair(stride_h, stride_w);
    if (dilation_h != 1 || dilation_w != 1) s += " dilation " + pair(dilation_h, dilation_w);
    if (!(pads == Pads2d{})) {
      s += " pads " + std::to_string(pads.top) + "," + std::to_string(pads.left) + "," +
           std::to_string(pads.bottom) + "," + std::to_string(pads.right);
    }
    return s;
  }

  // Throws Error (prefixed with the layer's name) on a non-positive kernel, stride or dilation
  // or a negative pad.
  void check(const std::string& prefix) const {
    const auto positive = [&](const char* what, int64_t h, int64_t w) {
      if (h <= 0 || w <= 0) {
        throw Error(prefix + what + " must be positive, got " + std::to_string(h) + "x" +
                    std::to_string(w));
      }
    };
    positive("kernel", kernel_h, kernel_w);
    positive("stride", stride_h, stride_w);
    positive("dilation", dilation_h, dilation_w);
    if (pads.top < 0 || pads.left < 0 || pads.bottom < 0 || pads.right < 0) {
      throw Error(prefix + "padding must be >= 0, got " + std::to_string(pads.top) + "," +
                  std::to_string(pads.left) + "," + std::to_string(pads.bottom) + "," +
                  std::to_string(pads.right) + " (top, left, bottom, right)");
    }
  }
};

}  // namespace cnnmem
