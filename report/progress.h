// Training progress, for stderr. On a terminal: one line redrawn in place (a bar, epoch, step,
// loss, images/s and ETA), at most 10 times a second and always at the last step. Otherwise: a
// plain line every `every` steps and at the last step, so that logs stay readable.
// Images/s and the ETA count from the end of the first step (which includes one-time set-up),
// as TrainResult::images_per_sec does.
//
// Usage:
//   ProgressPrinter progress(stderr, isatty(STDERR_FILENO), every);
//   options.on_step = [&](const TrainStep& s) { progress.step(s); };
// Not here: training itself (train/trainer.h).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "train/trainer.h"

namespace cnnmem {

// What one report shows.
struct ProgressState {
  TrainStep step;
  double images_per_sec = 0;  // 0: not known yet (after the first step)
  double eta_seconds = -1;    // < 0: not known yet
};

// bar: "epoch 1/3 [######..............]  30% step 843/2811 loss 0.5432 1,234 img/s ETA 0:42"
// plain: "epoch 1/3 step 843/2811 (30%) loss 0.5432, 1234 images/s, ETA 0:42"
std::string progress_line(const ProgressState& s, bool bar);
// "0:42", "12:05", "1:02:03"
std::string format_duration(double seconds);
// The default of --progress-every: about 20 lines a run, at least one every 200 steps.
int64_t default_progress_every(int64_t steps);

class ProgressPrinter {
 public:
  // every: plain lines every this many steps (ignored on a terminal); 0: the default for the
  // run's length (default_progress_every).
  ProgressPrinter(std::FILE* out, bool terminal, int64_t every);
  void step(const TrainStep& s);  // on the steady clock
  // `now`: seconds on any monotonic clock (tests drive it by hand).
  void step_at(const TrainStep& s, double now);

 private:
  std::FILE* out_;
  bool terminal_;
  int64_t every_;
  double first_done_ = 0;  // when the first step ended
  double last_draw_ = -1;  // terminal: when the line was last drawn
};

}  // namespace cnnmem
