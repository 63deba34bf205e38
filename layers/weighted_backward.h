// The backward pass shared by layers with weights whose oneDNN backward is split into a
// backward-data and a backward-weights primitive (conv2d, linear).
//
// 1. Reorder diff_dst and the saved src to the layouts the backward-weights primitive asks for;
//    compute diff_weights (and diff_bias) straight into the gradient buffers when the layouts
//    match, else into workspace buffers reordered into the gradients after.
// 2. When the input's gradient is needed: reorder diff_dst and the weights to what the
//    backward-data primitive asks for and compute diff_src.
// Not here: creating the primitive descriptors (each layer's own descs differ).
#pragma once

#include <string>
#include <vector>

#include "framework/step_builder.h"

namespace cnnmem {

template <typename BwdData, typename BwdWeights>
TensorRef plan_weighted_backward(StepBuilder& b, const std::string& name,
                                 const typename BwdData::primitive_desc* data_pd,
                                 const typename BwdWeights::primitive_desc& weights_pd,
                                 const TensorRef& src, const TensorRef& diff_dst,
                                 const ParamBinding& weight, const ParamBinding* bias,
                                 double flops) {
  std::vector<DnnlCall> calls;
  TensorRef diff_src;
  if (data_pd != nullptr) {
    const TensorRef dd = b.reorder_to(diff_dst, data_pd->diff_dst_desc(), name + ".diff_dst_data",
                                      Tag::kActivationGrad, Phase::kBackward);
    const TensorRef w = b.reorder_to(TensorRef{weight.weight, weight.md}, data_pd->weights_desc(),
                                     name + ".weights_bwd", Tag::kWorkspace, Phase::kBackward);
    diff_src = b.book(name + ".diff_src", Tag::kActivationGrad, data_pd->diff_src_desc());
    calls.push_back(b.call<BwdData>(
        *data_pd, {{DNNL_ARG_DIFF_DST, dd}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, diff_src}}));
  }
  const TensorRef dd =
      b.reorder_to(diff_dst, weights_pd.diff_dst_desc(), name + ".diff_dst_weights",
                   Tag::kActivationGrad, Phase::kBackward);
  const TensorRef s = b.reorder_to(src, weights_pd.src_desc(), name + ".src_bwd", Tag::kWorkspace,
                                   Phase::kBackward);
  const TensorRef grad_w{weight.grad, weight.md};
  const TensorRef dw =
      weights_pd.diff_weights_desc() == weight.md
          ? grad_w
          : b.book(name + ".diff_weights", Tag::kWorkspace, weights_pd.diff_weights_desc());
  std::vector<std::pair<int, TensorRef>> args = {
      {DNNL_ARG_SRC, s}, {DNNL_ARG_DIFF_DST, dd}, {DNNL_ARG_DIFF_WEIGHTS, dw}};
  TensorRef db;
  if (bias != nullptr) {
    const TensorRef grad_b{bias->grad, bias->md};
    db = weights_pd.diff_bias_desc() == bias->md
             ? grad_b
             : b.book(name + ".diff_bias", Tag::kWorkspace, weights_pd.diff_bias_desc());
    args.emplace_back(DNNL_ARG_DIFF_BIAS, db);
  }
  calls.push_back(b.call<BwdWeights>(weights_pd, std::move(args)));
  b.add_op(name + ".backward", Phase::kBackward, std::move(calls), {}, {},
           data_pd != nullptr ? 2 * flops : flops);
  if (dw.buffer != weight.grad) {
    b.add_reorder(name + ".diff_weights.reorder", dw, grad_w, Phase::kBackward);
  }
  if (bias != nullptr && db.buffer != bias->grad) {
    b.add_reorder(name + ".diff_bias.reorder", db, TensorRef{bias->grad, bias->md},
                  Phase::kBackward);
  }
  return diff_src;
}

}  // namespace cnnmem
