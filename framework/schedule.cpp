#include "framework/schedule.h"

#include "framework/error.h"

namespace cnnmem {

const char* phase_name(Phase phase) {
  switch (phase) {
    case Phase::kLoad:
      return "load";
    case Phase::kForward:
      return "forward";
    case Phase::kLoss:
      return "loss";
    case Phase::kBackward:
      return "backward";
    case Phase::kUpdate:
      return "update";
    case Phase::kRecompute:
      return "recompute";
  }
  return "unknown";
}

std::vector<Lifetime> Schedule::lifetimes() const {
  const int n_ops = static_cast<int>(ops.size());
  std::vector<Lifetime> life(buffers.size(), Lifetime{n_ops, -1});
  for (int i = 0; i < n_ops; ++i) {
    for (BufferId id : ops[static_cast<size_t>(i)].uses) {
      CNNMEM_CHECK(id >= 0 && static_cast<size_t>(id) < buffers.size());
      Lifetime& l = life[static_cast<size_t>(id)];
      if (i < l.first) l.first = i;
      if (i > l.last) l.last = i;
    }
  }
  for (size_t b = 0; b < buffers.size(); ++b) {
    if (buffers[b].persistent) life[b] = Lifetime{0, n_ops - 1};
  }
  return life;
}

}  // namespace cnnmem
