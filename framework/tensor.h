// A host tensor by name: how weights, gradients, optimizer state and outputs leave and enter an
// executor, in PyTorch's plain layout (io/safetensors.h writes and reads them as files).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cnnmem {

struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;  // outermost first; {} is a scalar
  std::vector<float> data;     // product(shape) values, row-major
};

// The tensors ordered by name: the order safetensors files store them in (and checksums read them).
std::vector<const NamedTensor*> by_name(const std::vector<NamedTensor>& tensors);
// The tensor called `name`, or nullptr.
const NamedTensor* find_tensor(const std::vector<NamedTensor>& tensors, const std::string& name);

}  // namespace cnnmem
