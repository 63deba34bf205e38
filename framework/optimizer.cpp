#include "framework/optimizer.h"

#include <string>

namespace cnnmem {

void Optimizer::plan(StepBuilder& b) {
  // Copy: plan_update books buffers, which may grow the builder's tables.
  const std::vector<ParamBinding> params = b.params();
  for (const ParamBinding& p : params) plan_update(b, p);
}

BufferId Optimizer::book_state(StepBuilder& b, const ParamBinding& p, const char* state) const {
  const std::string buffer_name = std::string(name()) + "." + state + "." + p.name;
  return b.book(buffer_name, Tag::kOptimizerState, p.md, /*persistent=*/true).buffer;
}

}  // namespace cnnmem
