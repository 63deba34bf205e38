// Training progress: the line's wording, the bar on a terminal (redrawn in place, throttled,
// ended by a newline) and plain lines every N steps elsewhere, driven by a hand-held clock.
#include "report/progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace cnnmem {
namespace {

// Everything a printer writes, through a memory stream.
class Capture {
 public:
  Capture() : file_(open_memstream(&buf_, &size_)) {}
  ~Capture() {
    if (file_ != nullptr) std::fclose(file_);
    std::free(buf_);
  }
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;
  std::FILE* file() { return file_; }
  std::string text() {
    std::fflush(file_);
    return std::string(buf_, size_);
  }

 private:
  char* buf_ = nullptr;
  size_t size_ = 0;
  std::FILE* file_;
};

TrainStep at(int64_t step, int64_t steps = 10, float loss = 0.5f) {
  return TrainStep{step, steps, step / 4, (steps + 3) / 4, 8, loss};
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

TEST(Progress, Durations) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(42.4), "0:42");
  EXPECT_EQ(format_duration(725), "12:05");
  EXPECT_EQ(format_duration(3723), "1:02:03");
  EXPECT_EQ(format_duration(-5), "0:00");
}

TEST(Progress, DefaultEveryGivesAboutTwentyLines) {
  EXPECT_EQ(default_progress_every(1), 1);
  EXPECT_EQ(default_progress_every(20), 1);
  EXPECT_EQ(default_progress_every(937), 47);
  EXPECT_EQ(default_progress_every(1000000), 200);
}

TEST(Progress, Lines) {
  ProgressState s{TrainStep{842, 2811, 0, 3, 64, 0.54321f}, 1234.4, 42};
  EXPECT_EQ(progress_line(s, false),
            "epoch 1/3 step 843/2811 (29%) loss 0.5432, 1234 images/s, ETA 0:42");
  EXPECT_EQ(progress_line(s, true),
            "epoch 1/3 [#######.................]  29% step 843/2811 loss 0.5432 1,234 img/s "
            "ETA 0:42");
  // After the first step neither rate nor ETA is known yet.
  ProgressState first{TrainStep{0, 10, 0, 1, 64, 2.3f}, 0, -1};
  EXPECT_EQ(progress_line(first, false), "epoch 1/1 step 1/10 (10%) loss 2.3000");
}

TEST(Progress, PlainLinesEveryNStepsAndAtTheEnd) {
  Capture out;
  ProgressPrinter p(out.file(), /*terminal=*/false, /*every=*/4);
  for (int64_t i = 0; i < 10; ++i) p.step_at(at(i), 1.0 + 0.5 * static_cast<double>(i));
  const std::string text = out.text();
  EXPECT_EQ(count(text, "\n"), 3) << text;  // steps 4, 8 and the last (10)
  EXPECT_NE(text.find("step 4/10"), std::string::npos);
  EXPECT_NE(text.find("step 8/10"), std::string::npos);
  EXPECT_NE(text.find("step 10/10 (100%)"), std::string::npos);
  EXPECT_EQ(text.find('\r'), std::string::npos);
  // From the end of step 1: 3 steps of 8 images in 1.5 s; 6 steps left at 0.5 s each.
  EXPECT_NE(text.find("step 4/10 (40%) loss 0.5000, 16 images/s, ETA 0:03"), std::string::npos)
      << text;
}

TEST(Progress, TerminalBarRedrawsInPlaceAtMostTenTimesASecond) {
  Capture out;
  ProgressPrinter p(out.file(), /*terminal=*/true, /*every=*/1);
  for (int64_t i = 0; i < 10; ++i) p.step_at(at(i), 0.03 * static_cast<double>(i));
  const std::string text = out.text();
  // Drawn at 0, 0.12, 0.24 and the last step; one newline, at the very end.
  EXPECT_EQ(count(text, "\r"), 4) << text;
  EXPECT_EQ(count(text, "\x1b[K"), 4);
  EXPECT_EQ(count(text, "\n"), 1);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_NE(text.find("[########################] 100% step 10/10"), std::string::npos) << text;
}

}  // namespace
}  // namespace cnnmem
