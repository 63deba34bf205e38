#include "framework/tag.h"

namespace cnnmem {

std::string_view tag_name(Tag tag) {
  switch (tag) {
    case Tag::kWeight:
      return "weight";
    case Tag::kGrad:
      return "grad";
    case Tag::kOptimizerState:
      return "optimizer_state";
    case Tag::kActivation:
      return "activation";
    case Tag::kActivationGrad:
      return "activation_grad";
    case Tag::kWorkspace:
      return "workspace";
    case Tag::kInput:
      return "input";
  }
  return "unknown";
}

}  // namespace cnnmem
