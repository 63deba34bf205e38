// The flags that save what a run saw, shared by the commands: --trace FILE.json (Chrome trace of
// the measured step), --html FILE.html (a self-contained page) and --csv FILE (the timeline, and
// the buffer table beside it in FILE with a .buffers.csv suffix).
//
// Usage, in a command that runs steps:
//   check_output_flags(out, /*measured=*/true);          // refuse unwritable paths up front
//   StepRecording rec(ex, out.any());                     // records the steps that run next
//   ... run steps ...
//   write_step_outputs(out, header, graph, ex, textbook, rec, outside, json);
// Every file is written atomically: a temporary file in the same directory, then a rename, so a
// file the user saved is never half-written.
// Not here: what the files contain (report/trace.h, report/html_report.h,
// report/timeline.h).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "framework/executor.h"
#include "framework/graph.h"
#include "framework/process_memory.h"
#include "report/report.h"
#include "report/timeline.h"

namespace cnnmem {

struct OutputFlags {
  std::string trace, html, csv;
  bool any() const { return !trace.empty() || !html.empty() || !csv.empty(); }
};

// Adds --html, and unless `html_only` also --trace and --csv.
void add_output_flags(CLI::App* app, OutputFlags& f, bool html_only = false);

// Throws Error (one line) when a path cannot be written: missing or read-only directory, a
// directory in its place, or two outputs on the same file. `measured`: whether the run executes
// a step (--trace needs one).
void check_output_flags(const OutputFlags& f, bool measured);

// "run.csv" -> "run.buffers.csv", "run" -> "run.buffers.csv".
std::string buffers_csv_path(const std::string& csv);

// Attaches a TimelineRecorder to `ex` while it lives (when `enabled`); it keeps the last step run.
class StepRecording {
 public:
  StepRecording(Executor& ex, bool enabled);
  ~StepRecording();
  StepRecording(const StepRecording&) = delete;
  StepRecording& operator=(const StepRecording&) = delete;
  // Null when disabled or no step ran.
  const TimelineRecorder* recorder() const;

 private:
  Executor& ex_;
  std::unique_ptr<TimelineRecorder> recorder_;
};

// Writes what `f` asks for. The timeline is the recorded step when one ran, else the prediction
// (cost without --measure). `quiet`: no "wrote FILE" lines on stderr.
void write_step_outputs(const OutputFlags& f, const ReportHeader& h, const Graph& graph,
                        const Executor& ex, const Textbook& textbook,
                        const StepRecording& recording, bool measured, const OutsideArena& outside,
                        bool quiet);

// --html of a comparison command (report/html_report.h comparison_html).
void write_comparison_html(const std::string& path, const std::string& kind,
                           const std::string& title, const std::string& subtitle, bool measured,
                           const nlohmann::json& data, bool quiet);

}  // namespace cnnmem
