#include "report/progress.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "framework/error.h"
#include "report/bytes.h"

namespace cnnmem {

std::string format_duration(double seconds) {
  const auto total = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  const int64_t h = total / 3600, m = total / 60 % 60, s = total % 60;
  char text[48];
  if (h > 0) {
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", static_cast<long long>(h),
                  static_cast<long long>(m), static_cast<long long>(s));
  } else {
    std::snprintf(text, sizeof text, "%lld:%02lld", static_cast<long long>(m),
                  static_cast<long long>(s));
  }
  return text;
}

int64_t default_progress_every(int64_t steps) {
  return std::clamp<int64_t>((steps + 19) / 20, 1, 200);
}

std::string progress_line(const ProgressState& s, bool bar) {
  const TrainStep& t = s.step;
  const int64_t done = t.step + 1;
  const double fraction =
      t.steps > 0 ? static_cast<double>(done) / static_cast<double>(t.steps) : 0.0;
  char text[256];
  std::string line = "epoch " + std::to_string(t.epoch + 1) + "/" + std::to_string(t.epochs);
  if (bar) {
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(fraction * kWidth);
    line += " [" + std::string(static_cast<size_t>(filled), '#') +
            std::string(static_cast<size_t>(kWidth - filled), '.') + "]";
    std::snprintf(text, sizeof text, " %3d%% step %lld/%lld loss %.4f",
                  static_cast<int>(fraction * 100), static_cast<long long>(done),
                  static_cast<long long>(t.steps), static_cast<double>(t.loss));
    line += text;
    if (s.images_per_sec > 0) {
      line += " " + grouped(std::llround(s.images_per_sec)) + " img/s";
    }
    if (s.eta_seconds >= 0) line += " ETA " + format_duration(s.eta_seconds);
    return line;
  }
  std::snprintf(text, sizeof text, " step %lld/%lld (%d%%) loss %.4f", static_cast<long long>(done),
                static_cast<long long>(t.steps), static_cast<int>(fraction * 100),
                static_cast<double>(t.loss));
  line += text;
  if (s.images_per_sec > 0) {
    std::snprintf(text, sizeof text, ", %.0f images/s", s.images_per_sec);
    line += text;
  }
  if (s.eta_seconds >= 0) line += ", ETA " + format_duration(s.eta_seconds);
  return line;
}

ProgressPrinter::ProgressPrinter(std::FILE* out, bool terminal, int64_t every)
    : out_(out), terminal_(terminal), every_(every) {
  CNNMEM_CHECK(out != nullptr && every >= 0);
}

void ProgressPrinter::step(const TrainStep& s) {
  step_at(
      s,
      std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

void ProgressPrinter::step_at(const TrainStep& s, double now) {
  ProgressState state{s};
  if (s.step == 0) first_done_ = now;
  const double elapsed = now - first_done_;
  if (s.step > 0 && elapsed > 0) {
    state.images_per_sec = static_cast<double>(s.step * s.batch) / elapsed;
    state.eta_seconds =
        elapsed / static_cast<double>(s.step) * static_cast<double>(s.steps - s.step - 1);
  }
  const bool last = s.step + 1 >= s.steps;
  if (terminal_) {
    if (!last && last_draw_ >= 0 && now - last_draw_ < 0.1) return;
    last_draw_ = now;
    // Carriage return, the line, erase to the end of the line (a shorter line leaves nothing).
    std::fprintf(out_, "\r%s\x1b[K%s", progress_line(state, true).c_str(), last ? "\n" : "");
  } else {
    const int64_t every = every_ > 0 ? every_ : default_progress_every(s.steps);
    if (!last && (s.step + 1) % every != 0) return;
    std::fprintf(out_, "%s\n", progress_line(state, false).c_str());
  }
  std::fflush(out_);
}

}  // namespace cnnmem
