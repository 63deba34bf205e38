// Memory tags: every buffer in the arena carries exactly one, so every byte is accounted to a
// purpose (weights, gradients, optimizer state, activations...). See DESIGN.md §3.
// Not here: sizes or lifetimes (framework/schedule.h).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cnnmem {

enum class Tag : uint8_t {
  kWeight,          // trainable parameters and non-trainable state
  kGrad,            // parameter gradients
  kOptimizerState,  // momentum, Adam m/v, ...
  kActivation,      // layer outputs and what forward saves for backward (incl. max-pool indices)
  kActivationGrad,  // gradients of activations during backward
  kWorkspace,       // oneDNN scratchpad, reorder buffers, optimizer temporaries
  kInput,           // the batch (images, labels) and the loss
};

inline constexpr size_t kTagCount = 7;

inline constexpr std::array<Tag, kTagCount> kAllTags = {
    Tag::kWeight,         Tag::kGrad,      Tag::kOptimizerState, Tag::kActivation,
    Tag::kActivationGrad, Tag::kWorkspace, Tag::kInput};

// The name used in reports and JSON: "weight", "grad", "optimizer_state", ...
std::string_view tag_name(Tag tag);

// Bytes per tag, indexed by the tag's value.
using TagBytes = std::array<int64_t, kTagCount>;

inline constexpr size_t tag_index(Tag tag) { return static_cast<size_t>(tag); }

}  // namespace cnnmem
