// Ctrl-C while training: while an InterruptScope lives, the first SIGINT or SIGTERM only records
// the signal (the trainer asks `requested()` after every step, finishes it, saves the training
// state and stops); a second one ends the process at once with exit status 128 + signal.
// Outside a scope, the signals keep their default action (nothing is lost by dying there).
// Not here: what is saved (train/trainer.h, io/training_state.h).
//
// Usage:
//   InterruptScope interrupt;
//   options.stop_requested = [] { return InterruptScope::received() != 0; };
//   train(...);
//   if (int sig = InterruptScope::received()) return 128 + sig;
#pragma once

#include <string>

namespace cnnmem {

class InterruptScope {
 public:
  InterruptScope();   // installs the handlers and clears any earlier signal
  ~InterruptScope();  // restores the previous handlers
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

  // 0, or the first SIGINT/SIGTERM received while a scope lived.
  static int received();
};

// "SIGINT", "SIGTERM".
std::string signal_name(int sig);

}  // namespace cnnmem
