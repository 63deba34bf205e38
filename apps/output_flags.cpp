#include "apps/output_flags.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "apps/output_path.h"
#include "framework/error.h"
#include "io/atomic_file.h"
#include "report/html_report.h"
#include "report/trace.h"

namespace cnnmem {

void add_output_flags(CLI::App* app, OutputFlags& f, bool html_only) {
  if (!html_only) {
    app->add_option("--trace", f.trace,
                    "write the measured step as a Chrome trace (JSON; Perfetto, chrome://tracing)");
  }
  app->add_option("--html", f.html, "write a self-contained HTML page with the charts");
  if (!html_only) {
    app->add_option("--csv", f.csv,
                    "write the timeline (live bytes per tag per op) to FILE and the buffer table "
                    "to FILE with a .buffers.csv suffix");
  }
}

std::string buffers_csv_path(const std::string& csv) {
  const std::string suffix = ".csv";
  if (csv.size() > suffix.size() && csv.ends_with(suffix)) {
    return csv.substr(0, csv.size() - suffix.size()) + ".buffers.csv";
  }
  return csv + ".buffers.csv";
}

namespace {

void check_writable(const std::string& flag, const std::string& path) {
  check_output_path(flag, path);
  if (::access(std::filesystem::absolute(path).parent_path().c_str(), W_OK) != 0) {
    throw Error(flag + " " + path + ": directory " +
                std::filesystem::absolute(path).parent_path().string() +
                " is not writable; choose another path");
  }
}

}  // namespace

void check_output_flags(const OutputFlags& f, bool measured) {
  std::vector<std::pair<std::string, std::string>> files;  // (flag, absolute path)
  const auto add = [&](const std::string& flag, const std::string& path) {
    check_writable(flag, path);
    const std::string abs = std::filesystem::absolute(path).lexically_normal().string();
    for (const auto& [other, other_path] : files) {
      if (other_path == abs) {
        throw Error(flag + " " + path + " is also the file of " + other +
                    "; give each output its own file");
      }
    }
    files.emplace_back(flag, abs);
  };
  if (!f.trace.empty()) {
    if (!measured) {
      throw Error(
          "--trace records a step as it runs: add --measure (--html and --csv work "
          "without it, from the prediction)");
    }
    add("--trace", f.trace);
  }
  if (!f.html.empty()) add("--html", f.html);
  if (!f.csv.empty()) {
    add("--csv", f.csv);
    add("--csv (buffer table)", buffers_csv_path(f.csv));
  }
}

StepRecording::StepRecording(Executor& ex, bool enabled) : ex_(ex) {
  if (!enabled) return;
  recorder_ = std::make_unique<TimelineRecorder>(ex.schedule());
  ex_.set_observer(recorder_.get());
}

StepRecording::~StepRecording() {
  if (recorder_) ex_.set_observer(nullptr);
}

const TimelineRecorder* StepRecording::recorder() const {
  return recorder_ && recorder_->steps_seen() > 0 ? recorder_.get() : nullptr;
}

void write_step_outputs(const OutputFlags& f, const ReportHeader& h, const Graph& graph,
                        const Executor& ex, const Textbook& textbook,
                        const StepRecording& recording, bool measured, const OutsideArena& outside,
                        bool quiet) {
  if (!f.any()) return;
  const TimelineRecorder* rec = recording.recorder();
  const Timeline timeline =
      rec != nullptr ? rec->timeline() : predict_timeline(ex.schedule(), ex.lifetimes());
  const auto wrote = [quiet](const std::string& path, const std::string& what) {
    if (!quiet) std::cerr << "wrote " << path << " (" << what << ")\n";
  };
  if (!f.trace.empty()) {
    CNNMEM_CHECK_MSG(rec != nullptr, "--trace without a recorded step");
    std::string name = "cnnmem " + h.mode + " " + h.model + ", batch " + std::to_string(h.batch);
    if (h.mode == "train") name += ", " + h.optimizer;
    const nlohmann::json other = {{"model", h.model},           {"mode", h.mode},
                                  {"batch", h.batch},           {"optimizer", h.optimizer},
                                  {"checkpoint", h.checkpoint}, {"reuse", h.reuse}};
    write_file_atomic(f.trace, "--trace",
                      chrome_trace(ex.schedule(), timeline, name, other).dump() + "\n");
    wrote(f.trace, "Chrome trace of step " + std::to_string(timeline.step));
  }
  if (!f.html.empty()) {
    write_file_atomic(f.html, "--html",
                      step_html(h, graph, ex, textbook, timeline, measured, outside));
    wrote(f.html,
          std::string("HTML report, ") +
              (timeline.measured ? "measured step " + std::to_string(timeline.step) : "predicted"));
  }
  if (!f.csv.empty()) {
    const std::string buffers = buffers_csv_path(f.csv);
    write_file_atomic(f.csv, "--csv", timeline_csv(ex.schedule(), timeline));
    write_file_atomic(buffers, "--csv",
                      buffers_csv(ex.schedule(), ex.lifetimes(), ex.offsets(), timeline.peak_op));
    wrote(f.csv, "timeline");
    wrote(buffers, "buffer table");
  }
}

void write_comparison_html(const std::string& path, const std::string& kind,
                           const std::string& title, const std::string& subtitle, bool measured,
                           const nlohmann::json& data, bool quiet) {
  if (path.empty()) return;
  write_file_atomic(path, "--html", comparison_html(kind, title, subtitle, measured, data));
  if (!quiet) std::cerr << "wrote " << path << " (HTML report)\n";
}

}  // namespace cnnmem
