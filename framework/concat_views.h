// In-place channel concatenation: which layer outputs live inside the buffer of the
// concatenation that reads them, so that the copy and its memory disappear (Pleiss et al. 2017,
// "Memory-Efficient Implementation of DenseNets").
//
// A concatenation (Layer::concatenates_channels) owns one buffer, its root; a producer that can
// write into a view (Layer::writes_into_view) gets a TensorRef {root, view md} before it plans
// (StepBuilder::take_output_view) and writes its channels straight into their slice. A nested
// concatenation (DenseNet's chain y_k = concat(y_{k-1}, f_k)) is itself a view of the outer root,
// so the whole chain is one buffer. A view is the slice's own dense md at a byte offset inside the
// root (TensorRef::offset), so any kernel reads or writes it as an ordinary tensor; oneDNN 2.6's
// compute kernels fall back to `ref` on strided (submemory) descs, and gemm convolutions ignore
// a md's offset0. A channel slice is dense only at batch 1 (nchw, or nChw16c/8c on block bounds),
// so views are handed out at batch 1 only, and the step compiler asks for them in training only:
// there the saved concatenations are the quadratic term; in inference each dies after its next
// layer (the naive peak holds about two of them), and at batch 1 oneDNN's convolutions choose
// nhwc, where no channel slice is dense, so a root in another layout costs reorders that
// outweigh the copies it saves. Elsewhere every concatenation copies (the naive bill).
//
// Rules, walking the graph from its last node back:
//   1. a concatenation not placed yet becomes a root of its own;
//   2. its input from node p (not the images, not placed yet, able to write into a view) is placed
//      at the input's channel offset when p has no other reader, or when the offset in the root
//      is 0 (the view md is then the tensor's own dense md, readable by anyone);
//   3. a root's layout is blocked like oneDNN's convolutions on this CPU (nChw16c with AVX-512,
//      nChw8c otherwise) when every piece placed in it starts on a multiple of the block and
//      fills whole blocks (or ends the root), nchw otherwise;
//   4. no layer writes over a root in place (the compiler marks it saved), since several
//      tensors share it.
// Usage (the step compiler):
//   auto places = place_concat_inputs(graph, batch);
//   if (places[i].root >= 0) b.set_output_view(channel_view(root, places[i].offset, channels));
// Not here: the copies of inputs that are not placed (layers/concat.cpp).
#pragma once

#include <cstdint>
#include <dnnl.hpp>
#include <vector>

#include "framework/graph.h"
#include "framework/schedule.h"

namespace cnnmem {

struct ChannelPlacement {
  int root = -1;       // node id of the concatenation whose buffer holds this output (-1: none)
  int64_t offset = 0;  // first channel inside the root
};

// Per graph node; every root is placed in itself at offset 0. All -1 unless batch == 1.
std::vector<ChannelPlacement> place_concat_inputs(const Graph& graph, int64_t batch);
// The root buffer's md (rule 3) for root node `root`.
dnnl::memory::desc concat_root_md(const Graph& graph, const std::vector<ChannelPlacement>& places,
                                  int root, int64_t batch);
// The view of `channels` channels starting at channel `offset` of `base` (batch 1, f32, nchw, or
// nChw16c / nChw8c with `offset` a multiple of the block): the slice's own dense md in base's
// format, at a byte offset inside base's buffer.
TensorRef channel_view(const TensorRef& base, int64_t offset, int64_t channels);

}  // namespace cnnmem
