// Stage 1 of the ONNX import (parse_onnx) on the backend node tests of Debian's libonnx-testdata
// (/usr/share/libonnx-testdata/data/node/test_*) for the ops it parses but stage 2 cannot build
// yet: a test whose model has one 4-D float input and one output is parsed with its other
// inputs as initializers; when parse_onnx accepts it, its inferred output shape must be ONNX's
// expected output shape (the numbers wait for the layers). Refusals are listed with the
// importer's one-line reason. Not here: end-to-end cases of buildable ops
// (onnx_conformance_test.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "framework/error.h"
#include "models/onnx_import.h"
#include "tests/models/onnx_test_util.h"

namespace cnnmem {
namespace {

using onnx_test::read_file;
namespace fs = std::filesystem;

const std::set<std::string> parsed_ops = {"ConvTranspose", "GlobalMaxPool",
                                          "Pad",           "Sigmoid",
                                          "Tanh",          "HardSigmoid",
                                          "HardSwish",     "LeakyRelu",
                                          "Elu",           "PRelu",
                                          "Mul",           "Sub",
                                          "Div",           "Add",
                                          "ReduceMean",    "ReduceSum",
                                          "Concat",        "Split",
                                          "Slice",         "Resize",
                                          "Upsample",      "InstanceNormalization",
                                          "MaxPool",       "AveragePool",
                                          "Conv"};

onnx::TensorProto tensor_pb(const fs::path& path) {
  onnx::TensorProto t;
  EXPECT_TRUE(t.ParseFromString(read_file(path.string()))) << path;
  return t;
}

// "" when parsed with the expected shape, "skip: ..." / "refused: ..." otherwise; a wrong shape
// is a test failure.
std::string parse_case(const fs::path& dir, int& matched) {
  onnx::ModelProto m;
  if (!m.ParseFromString(read_file((dir / "model.onnx").string()))) return "skip: unreadable";
  const fs::path data = dir / "test_data_set_0";
  onnx::GraphProto* g = m.mutable_graph();
  if (g->input_size() < 1 || g->output_size() != 1) return "skip: not one input and one output";
  const onnx::TensorProto x = tensor_pb(data / "input_0.pb");
  if (x.dims_size() != 4 || x.data_type() != onnx::TensorProto::FLOAT) return "skip: not NCHW";
  for (int k = 1; k < g->input_size(); ++k) {
    const fs::path pb = data / ("input_" + std::to_string(k) + ".pb");
    if (!fs::exists(pb)) return "skip: input without data";
    onnx::TensorProto t = tensor_pb(pb);
    t.set_name(g->input(k).name());
    *g->add_initializer() = t;
  }
  std::string bytes;
  m.SerializeToString(&bytes);
  OnnxNet net;
  try {
    net = parse_onnx(bytes, dir.filename().string());
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    return std::string("refused: ") + e.what();
  }
  const onnx::TensorProto y = tensor_pb(data / "output_0.pb");
  const Dims expected(y.dims().begin() + 1, y.dims().end());
  EXPECT_EQ(net.output_dims, expected) << dir.filename();
  matched += net.output_dims == expected ? 1 : 0;
  return "";
}

TEST(OnnxParseConformance, NodeTestsOfParsedOpsInferONNXShapes) {
  const fs::path root = "/usr/share/libonnx-testdata/data/node";
  if (!fs::exists(root)) GTEST_FAIL() << root << " is missing: apt-get install libonnx-testdata";
  std::vector<fs::path> dirs;
  for (const fs::directory_entry& e : fs::directory_iterator(root)) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  int selected = 0, matched = 0;
  std::vector<std::string> notes;
  for (const fs::path& dir : dirs) {
    onnx::ModelProto m;
    if (!m.ParseFromString(read_file((dir / "model.onnx").string()))) continue;
    bool all = m.graph().node_size() > 0;
    for (const onnx::NodeProto& n : m.graph().node()) {
      all = all && parsed_ops.count(n.op_type()) > 0;
    }
    if (!all) continue;
    selected += 1;
    const std::string why = parse_case(dir, matched);
    if (!why.empty()) notes.push_back(dir.filename().string() + ": " + why);
  }
  std::cout << "ONNX node tests of parsed ops: " << selected << " selected, " << matched
            << " parsed with ONNX's output shape\n";
  for (const std::string& n : notes) std::cout << "  " << n << "\n";
  RecordProperty("matched", matched);
  EXPECT_GE(matched, 40);  // 45 with libonnx-testdata 1.12
}

}  // namespace
}  // namespace cnnmem
