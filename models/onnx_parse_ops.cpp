// Stage 1 of the ONNX import (models/onnx_parse.h): the table from op_type to its lowering, the
// patterns tried before it, and Transpose (only the layouts cnnmem can follow).
// Adding an op: one line in op_table() and a Lowering member (onnx_lower_*.cpp); its spec kind
// in models/onnx_import.h; its layer in models/onnx_import.cpp's make_layer.
// Not here: the ops themselves.
#include "framework/error.h"
#include "models/onnx_parse.h"

namespace cnnmem::onnx_parse {

const std::map<std::string, Lowering::LowerFn>& Lowering::op_table() {
  static const std::map<std::string, LowerFn> table = {
      // Layers.
      {"Conv", &Lowering::conv},
      {"ConvTranspose", &Lowering::conv_transpose},
      {"MaxPool", &Lowering::max_pool},
      {"AveragePool", &Lowering::avg_pool},
      {"GlobalAveragePool", &Lowering::global_avg_pool},
      {"GlobalMaxPool", &Lowering::global_max_pool},
      {"Pad", &Lowering::pad},
      {"Gemm", &Lowering::gemm_op},
      {"MatMul", &Lowering::matmul_op},
      {"Relu", &Lowering::relu},
      {"Clip", &Lowering::clip},
      {"Sigmoid", &Lowering::activation},
      {"Tanh", &Lowering::activation},
      {"HardSigmoid", &Lowering::activation},
      {"HardSwish", &Lowering::activation},
      {"LeakyRelu", &Lowering::activation},
      {"Elu", &Lowering::activation},
      {"PRelu", &Lowering::activation},
      {"Gelu", &Lowering::activation},
      {"Add", &Lowering::binary},
      {"Sub", &Lowering::binary},
      {"Mul", &Lowering::binary},
      {"Div", &Lowering::binary},
      {"BatchNormalization", &Lowering::batch_norm},
      {"InstanceNormalization", &Lowering::instance_norm},
      {"ReduceMean", &Lowering::reduce},
      {"ReduceSum", &Lowering::reduce},
      {"Concat", &Lowering::concat},
      {"Split", &Lowering::split},
      {"Slice", &Lowering::slice},
      {"Resize", &Lowering::resize},
      {"Upsample", &Lowering::resize},
      {"Flatten", &Lowering::flatten_op},
      {"Reshape", &Lowering::reshape},
      {"Transpose", &Lowering::transpose},
      // No layer.
      {"Dropout", &Lowering::dropout},
      {"Identity", &Lowering::identity},
      {"Softmax", &Lowering::softmax},
      {"LogSoftmax", &Lowering::softmax},
      // Constants and folded shape arithmetic.
      {"Constant", &Lowering::constant_node},
      {"Shape", &Lowering::fold_shape},
      {"Gather", &Lowering::fold_gather},
      {"Unsqueeze", &Lowering::fold_unsqueeze_op},
      {"Squeeze", &Lowering::fold_squeeze_op},
      {"Cast", &Lowering::fold_cast},
      {"Floor", &Lowering::fold_arith},
      {"ConstantOfShape", &Lowering::fold_constant_of_shape},
  };
  return table;
}

const std::multimap<std::string, Lowering::PatternFn>& Lowering::pattern_table() {
  static const std::multimap<std::string, PatternFn> table = {
      {"Div", &Lowering::gelu_pattern},               // Div Erf Add Mul Mul
      {"Sigmoid", &Lowering::self_gate_pattern},      // x * sigmoid(x): SiLU
      {"HardSigmoid", &Lowering::self_gate_pattern},  // x * hardsigmoid(x): HardSwish
      {"ReduceMean", &Lowering::layer_norm_pattern},  // over the last axis of an NHWC tensor
      {"Reshape", &Lowering::shuffle_pattern},        // Reshape Transpose Reshape
      {"Reshape", &Lowering::group_norm_pattern},     // Reshape InstanceNorm Reshape Mul Add
  };
  return table;
}

// (N, C, H, W) <-> (N, H, W, C): no layer; the value is marked channels-last and only the ops
// that follow channels-last tensors (element-wise ops, MatMul as a 1x1 convolution, LayerNorm
// over the last axis) may read it until it is transposed back.
void Lowering::transpose() {
  allow_attrs({"perm"});
  expect_io(1, 1);
  if (maybe_constant(0) != nullptr) return fold_transpose();
  accept_nhwc_ = true;
  Value x = runtime(0);
  const Dims perm = attr_ints("perm");
  if (x.dims.size() == 3 && !x.nhwc && perm == Dims{0, 2, 3, 1}) {
    x.nhwc = true;
  } else if (x.dims.size() == 3 && x.nhwc && perm == Dims{0, 3, 1, 2}) {
    x.nhwc = false;
  } else {
    fail("Transpose " + shape_str(perm) + " of a sample of " + shape_str(x.dims) +
         " is not supported (only NCHW <-> NHWC around channels-last ops, and ShuffleNet's "
         "channel shuffle)");
  }
  output(x);
}

}  // namespace cnnmem::onnx_parse
