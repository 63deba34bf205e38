// safetensors: read and write named F32 tensors in the Hugging Face safetensors format.
//
// Layout: an 8-byte little-endian u64 N, N bytes of JSON header
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value"}}
// then the data buffer; offsets are relative to its start. The writer sorts tensors by name,
// packs their data contiguously in that order and pads the header with spaces to a multiple of 8
// bytes, as the reference implementation does, so the files load in Python's `safetensors`.
// Not here: dtypes other than F32, memory mapping, or knowledge of which tensor is which weight;
// the checkpoint code maps names to parameters.
//
// Usage:
//   cnnmem::write_safetensors("model.safetensors", {{"conv1.weights", {8, 1, 3, 3}, w}},
//                             {{"step", "100"}});
//   cnnmem::SafetensorsFile f = cnnmem::read_safetensors("model.safetensors");
//   const cnnmem::NamedTensor* t = cnnmem::find_tensor(f, "conv1.weights");  // nullptr if absent
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "framework/tensor.h"

namespace cnnmem {

struct SafetensorsFile {
  std::vector<NamedTensor> tensors;  // in data-offset order
  std::map<std::string, std::string> metadata;
};

// Reads and validates a whole file. Throws cnnmem::Error naming the file and the problem for
// anything malformed: short file, absurd header length (over the file size or 100 MB), bad JSON,
// missing or mistyped fields, dtype other than F32, negative dims, sizes that disagree, offsets
// out of range, tensors that overlap or leave a hole in the data buffer, bytes after the last
// tensor, duplicate or empty names. As in the reference implementation, the tensors must tile
// the data buffer exactly.
SafetensorsFile read_safetensors(const std::string& path);

// The same checks on a whole file held in memory; `name` names it in messages.
SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& name);

// Writes atomically: <path>.tmp.<pid>, fsync, rename over `path`, fsync the directory. On any
// error the temporary file is removed and `path` is untouched. Throws cnnmem::Error if a
// tensor's data size != product(shape), a dim is negative, or a name repeats or is empty.
void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// The tensor called `name`, or nullptr.
const NamedTensor* find_tensor(const SafetensorsFile& file, const std::string& name);

}  // namespace cnnmem
