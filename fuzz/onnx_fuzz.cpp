// libFuzzer target for stage 1 of the ONNX importer (parse_onnx in models/onnx_import_parse.cpp):
// protobuf bytes -> checked layer specs and weights. Stage 2 builds oneDNN layers and is not
// fuzzed here; parse_onnx checks every shape the layers would (the Graph re-checks them).
// Any exception other than cnnmem::Error, a crash or a sanitizer report is a finding; so is an
// accepted model that breaks what parse_onnx promises (checked below).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "framework/error.h"
#include "models/onnx_import.h"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cnnmem::OnnxNet net;
  try {
    net = cnnmem::parse_onnx(std::string_view(reinterpret_cast<const char*>(data), size),
                             "fuzz.onnx");
  } catch (const cnnmem::Error& e) {
    require(std::string_view(e.what()).find('\n') == std::string_view::npos);
    return 0;
  }
  require(net.input_dims.size() == 3);
  std::set<std::string> names;
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const cnnmem::OnnxLayerSpec& s = net.layers[i];
    require(names.insert(s.name).second);  // unique layer names
    require(!s.inputs.empty());
    for (int in : s.inputs) require(in >= 0 && static_cast<size_t>(in) <= i);  // earlier nodes
    for (int64_t d : s.dims) require(d > 0);
  }
  std::set<std::string> weights;
  for (const cnnmem::NamedTensor& t : net.weights) {
    require(weights.insert(t.name).second);
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    require(static_cast<size_t>(n) == t.data.size());
  }
  return 0;
}
