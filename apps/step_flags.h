// Flags that shape the training step itself, shared by `train` and `cost`:
// --fuse-update, --clip-grad-norm, --no-inplace-concat and --arena-guard.
#pragma once

#include <CLI/CLI.hpp>

#include "apps/cli_common.h"
#include "framework/executor.h"

namespace cnnmem {

struct StepFlags {
  bool fuse_update = false;
  double clip_grad_norm = 0;
  bool arena_guard = kArenaGuardDefault;
  bool no_inplace_concat = false;
};

inline void add_arena_guard_flag(CLI::App* app, bool& on) {
  app->add_flag("--arena-guard", on,
                "canaries after every buffer, checked after every op: a write past a buffer's "
                "end stops the run naming the op (slower; on by default in debug builds)");
}

inline void add_step_flags(CLI::App* app, StepFlags& f) {
  app->add_flag("--fuse-update", f.fuse_update,
                "update each parameter as soon as its gradient is complete and free the "
                "gradient (gradient memory: the largest layer's instead of all)");
  app->add_option("--clip-grad-norm", f.clip_grad_norm,
                  "scale gradients to a global L2 norm of at most X (0 = off)")
      ->check(non_negative_real());
  app->add_flag("--no-inplace-concat", f.no_inplace_concat,
                "training: every channel concatenation copies its inputs into a buffer of its own "
                "(by default, at batch 1, their producers write straight into it)");
  add_arena_guard_flag(app, f.arena_guard);
}

inline void apply_step_flags(const StepFlags& f, ExecutorOptions& eo) {
  eo.fuse_update = f.fuse_update;
  eo.clip_grad_norm = f.clip_grad_norm;
  eo.guard = f.arena_guard;
  eo.in_place_concat = !f.no_inplace_concat;
}

}  // namespace cnnmem
