// Flags that shape the training step itself, shared by `train` and `cost`:
// --fuse-update and --clip-grad-norm.
#pragma once

#include <CLI/CLI.hpp>

#include "apps/cli_common.h"
#include "framework/executor.h"

namespace cnnmem {

struct StepFlags {
  bool fuse_update = false;
  double clip_grad_norm = 0;
};

inline void add_step_flags(CLI::App* app, StepFlags& f) {
  app->add_flag("--fuse-update", f.fuse_update,
                "update each parameter as soon as its gradient is complete and free the "
                "gradient (gradient memory: the largest layer's instead of all)");
  app->add_option("--clip-grad-norm", f.clip_grad_norm,
                  "scale gradients to a global L2 norm of at most X (0 = off)")
      ->check(non_negative_real());
}

inline void apply_step_flags(const StepFlags& f, ExecutorOptions& eo) {
  eo.fuse_update = f.fuse_update;
  eo.clip_grad_norm = f.clip_grad_norm;
}

}  // namespace cnnmem
