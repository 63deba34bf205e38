// ONNX conformance: the backend node tests of Debian's libonnx-testdata
// (/usr/share/libonnx-testdata/data/node/test_*: model.onnx, test_data_set_*/input_*.pb and
// output_*.pb) for every op the importer supports, run through the importer and the Executor.
//
// Selection, automatic: a test is taken when all its nodes are supported ops. It is skipped,
// with the reason, when its model cannot be a cnnmem model: the first input is not a 4-D float
// (N, C, H, W) tensor, or it has several outputs. Its other inputs (weights, bias, bounds) are
// turned into initializers with the test's values. A test the importer refuses is counted with
// the importer's one-line message; a test it accepts must match ONNX's output within 1e-4 (an
// output that is still CxHxW is flattened in C, H, W order; a dropped final Softmax/LogSoftmax is
// applied to cnnmem's logits before comparing).
// Not here: the importer's own cases (onnx_import_test.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "framework/error.h"
#include "models/onnx_import.h"
#include "tests/models/onnx_test_util.h"

namespace cnnmem {
namespace {

using namespace onnx_test;  // NOLINT(google-build-using-namespace)
namespace fs = std::filesystem;

const char* kNodeTests = "/usr/share/libonnx-testdata/data/node";

// The ops of models/onnx_parse_ops.cpp that compute on tensors (Lowering::op_table()'s layers,
// the ops without a layer, and Constant). Not listed: Shape, Gather, Unsqueeze, Squeeze, Cast,
// Floor and ConstantOfShape, which the importer folds on constants only (their node tests apply
// them to the input tensor).
const std::set<std::string> kSupported = {"Conv",
                                          "ConvTranspose",
                                          "MaxPool",
                                          "AveragePool",
                                          "GlobalAveragePool",
                                          "GlobalMaxPool",
                                          "Pad",
                                          "Gemm",
                                          "MatMul",
                                          "Relu",
                                          "Clip",
                                          "Sigmoid",
                                          "Tanh",
                                          "HardSigmoid",
                                          "HardSwish",
                                          "LeakyRelu",
                                          "Elu",
                                          "PRelu",
                                          "Gelu",
                                          "Add",
                                          "Sub",
                                          "Mul",
                                          "Div",
                                          "BatchNormalization",
                                          "InstanceNormalization",
                                          "ReduceMean",
                                          "ReduceSum",
                                          "Concat",
                                          "Split",
                                          "Slice",
                                          "Resize",
                                          "Upsample",
                                          "Flatten",
                                          "Reshape",
                                          "Transpose",
                                          "Dropout",
                                          "Identity",
                                          "Softmax",
                                          "LogSoftmax",
                                          "Constant"};

// Cases where ONNX's reference and PyTorch disagree; cnnmem resizes as PyTorch's F.interpolate
// (the importer's target), so these are not run.
const std::map<std::string, std::string> kPyTorchDiffers = {
    {"test_resize_downsample_scales_linear_align_corners",
     "ONNX's reference divides by the unrounded output width (4 x 0.6 = 2.4: 3.142857), "
     "PyTorch's align_corners by the rounded one (2: 4.0)"},
    {"test_resize_downsample_sizes_linear_pytorch_half_pixel",
     "for an output of width 1 ONNX's pytorch_half_pixel samples column 0 (1.666667), PyTorch "
     "1.13's bilinear the centre (3.166667)"},
};

onnx::TensorProto read_tensor_pb(const fs::path& path) {
  onnx::TensorProto t;
  EXPECT_TRUE(t.ParseFromString(read_file(path.string()))) << path;
  return t;
}

std::vector<float> floats(const onnx::TensorProto& t) {
  if (t.has_raw_data()) {
    std::vector<float> v(t.raw_data().size() / sizeof(float));
    std::memcpy(v.data(), t.raw_data().data(), v.size() * sizeof(float));
    return v;
  }
  return {t.float_data().begin(), t.float_data().end()};
}

void apply_softmax(std::vector<float>& v, int64_t rows, bool log) {
  const auto cols = static_cast<int64_t>(v.size()) / rows;
  for (int64_t r = 0; r < rows; ++r) {
    float* x = v.data() + r * cols;
    const float m = *std::max_element(x, x + cols);
    double sum = 0;
    for (int64_t c = 0; c < cols; ++c) sum += std::exp(static_cast<double>(x[c]) - m);
    for (int64_t c = 0; c < cols; ++c) {
      const double lx = x[c] - m - std::log(sum);
      x[c] = static_cast<float>(log ? lx : std::exp(lx));
    }
  }
}

struct Tally {
  int selected = 0, passed = 0, failed = 0;
  std::map<std::string, std::string> skipped;  // test -> reason
};

// One test directory: "" when it ran and matched, else why it was skipped (prefixed "skip: ")
// or refused ("refused: "); a mismatch is a test failure.
std::string run_case(const fs::path& dir, Tally& tally) {
  const auto differs = kPyTorchDiffers.find(dir.filename().string());
  if (differs != kPyTorchDiffers.end()) return "skip: PyTorch differs: " + differs->second;
  onnx::ModelProto m;
  if (!m.ParseFromString(read_file((dir / "model.onnx").string()))) return "skip: unreadable";
  const fs::path data = dir / "test_data_set_0";
  onnx::GraphProto* g = m.mutable_graph();
  if (g->input_size() < 1) return "skip: no input";
  if (g->output_size() != 1) return "skip: several outputs (cnnmem models have one)";
  const onnx::TensorProto x = read_tensor_pb(data / "input_0.pb");
  if (x.dims_size() != 4 || x.data_type() != onnx::TensorProto::FLOAT) {
    return "skip: input is not a 4-D float NCHW tensor";
  }
  for (int k = 1; k < g->input_size(); ++k) {
    const fs::path pb = data / ("input_" + std::to_string(k) + ".pb");
    if (!fs::exists(pb)) return "skip: input " + std::to_string(k) + " has no data";
    onnx::TensorProto t = read_tensor_pb(pb);
    t.set_name(g->input(k).name());
    *g->add_initializer() = t;
  }
  ImportOptions options;
  options.flatten_output = true;
  std::string bytes;
  m.SerializeToString(&bytes);
  ImportedModel im = [&] {
    try {
      return import_onnx_bytes(bytes, dir.filename().string(), options);
    } catch (const Error& e) {
      throw std::string(e.what());
    }
  }();
  const std::vector<float> expected = floats(read_tensor_pb(data / "output_0.pb"));
  std::vector<float> out = run_inference(im, floats(x), x.dims(0));
  if (!im.dropped_output_op.empty()) {
    apply_softmax(out, x.dims(0), im.dropped_output_op == "LogSoftmax");
  }
  const double diff = max_rel_diff(out, expected);
  EXPECT_LT(diff, 1e-4) << dir.filename();
  (diff < 1e-4 ? tally.passed : tally.failed) += 1;
  return "";
}

TEST(OnnxConformance, NodeTestsOfSupportedOps) {
  if (!fs::exists(kNodeTests)) {
    GTEST_FAIL() << kNodeTests << " is missing: apt-get install libonnx-testdata "
                 << "(scripts/install-deps.sh)";
  }
  std::vector<fs::path> dirs;
  for (const fs::directory_entry& e : fs::directory_iterator(kNodeTests)) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  Tally tally;
  std::vector<std::string> passed;
  for (const fs::path& dir : dirs) {
    onnx::ModelProto m;
    if (!m.ParseFromString(read_file((dir / "model.onnx").string()))) continue;
    bool supported = m.graph().node_size() > 0;
    for (const onnx::NodeProto& n : m.graph().node()) {
      supported = supported && kSupported.count(n.op_type()) > 0;
    }
    if (!supported) continue;
    tally.selected += 1;
    SCOPED_TRACE(dir.filename().string());
    std::string why;
    const int before = tally.passed;
    try {
      why = run_case(dir, tally);
    } catch (const std::string& refused) {
      why = "refused: " + refused;
      EXPECT_EQ(refused.find('\n'), std::string::npos) << refused;
    }
    if (!why.empty()) tally.skipped[dir.filename().string()] = why;
    if (tally.passed > before) passed.push_back(dir.filename().string());
  }
  std::cout << "ONNX node tests of supported ops: " << tally.selected << " selected, "
            << tally.passed << " passed, " << tally.failed << " failed, " << tally.skipped.size()
            << " skipped\n  passed:";
  for (const std::string& p : passed) std::cout << " " << p;
  std::cout << "\n";
  for (const auto& [name, why] : tally.skipped) std::cout << "  " << name << ": " << why << "\n";
  RecordProperty("selected", tally.selected);
  RecordProperty("passed", tally.passed);
  EXPECT_EQ(tally.failed, 0);
  // The suite ships such tests for Conv, pools, Gemm, BatchNorm, Flatten, ...: a selection that
  // ran almost nothing means the selection broke, not that everything is fine.
  EXPECT_GE(tally.passed, 15);
}

}  // namespace
}  // namespace cnnmem
