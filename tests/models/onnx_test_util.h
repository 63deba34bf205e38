// Shared helpers of the ONNX tests: read a file, run an imported model's inference through the
// Executor, and build small ModelProtos with ONNX's C++ API.
// Not here: the cases (tests/models/onnx_import_test.cpp, onnx_conformance_test.cpp).
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "framework/executor.h"
#include "models/onnx_import.h"
#include "onnx/onnx_pb.h"

namespace cnnmem::onnx_test {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Inference through the Executor (greedy-by-size reuse, in place): loads the imported weights,
// writes `input` (N samples) into the staging buffer, runs one step, returns the (N, classes)
// logits.
inline std::vector<float> run_inference(const ImportedModel& m, const std::vector<float>& input,
                                        int64_t batch) {
  ExecutorOptions o;
  o.training = false;
  o.batch = batch;
  Executor ex(m.graph, o, nullptr);
  ex.bind();
  ex.load_weights(m.weights, "imported");
  EXPECT_EQ(static_cast<int64_t>(input.size()), batch * dims_product(m.graph.input_dims()));
  std::memcpy(ex.staging_images(), input.data(), input.size() * sizeof(float));
  ex.run_step();
  const float* out = ex.logits();
  return {out, out + batch * m.graph.classes()};
}

// Largest |a - b| / max(1, |b|).
inline double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const double d = std::abs(static_cast<double>(a[i]) - b[i]) /
                     std::max(1.0, std::abs(static_cast<double>(b[i])));
    worst = std::max(worst, d);
  }
  return worst;
}

// ---- ModelProto builders ----

inline void set_shape(onnx::ValueInfoProto* v, const std::vector<int64_t>& dims) {
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  auto* s = t->mutable_shape();
  for (int64_t d : dims) s->add_dim()->set_dim_value(d);
}

// A model with input "x" of `dims`, output `output`, opset `opset`.
inline onnx::ModelProto model(const std::vector<int64_t>& dims, const std::string& output,
                              int64_t opset = 13) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.add_opset_import()->set_version(opset);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("test");
  set_shape(g->add_input(), dims);
  g->mutable_input(0)->set_name("x");
  g->add_output()->set_name(output);
  return m;
}

inline onnx::NodeProto* node(onnx::ModelProto& m, const std::string& name, const std::string& op,
                             const std::vector<std::string>& inputs,
                             const std::vector<std::string>& outputs) {
  onnx::NodeProto* n = m.mutable_graph()->add_node();
  n->set_name(name);
  n->set_op_type(op);
  for (const std::string& i : inputs) n->add_input(i);
  for (const std::string& o : outputs) n->add_output(o);
  return n;
}

inline void attr_ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

inline void attr_int(onnx::NodeProto* n, const std::string& name, int64_t v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

inline void attr_float(onnx::NodeProto* n, const std::string& name, float v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

inline void initializer(onnx::ModelProto& m, const std::string& name,
                        const std::vector<int64_t>& dims, const std::vector<float>& values) {
  onnx::TensorProto* t = m.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  for (float v : values) t->add_float_data(v);
}

inline std::string bytes(const onnx::ModelProto& m) {
  std::string s;
  EXPECT_TRUE(m.SerializeToString(&s));
  return s;
}

}  // namespace cnnmem::onnx_test
