// HTML reports: one self-contained page per run (no network, no external scripts or fonts; a
// Content-Security-Policy forbids any fetch). The page carries its data as JSON and an inline
// script (report/html_assets.h) draws the charts as SVG.
//
// The page of one step (train, infer, cost) shows: the stacked timeline of live bytes by tag
// over the step's ops with the peak marked and named; the bytes by tag at the peak and the
// largest buffers live there; per-layer bars (parameters, and the activations saved for
// backward, or in inference the layer's outputs); the predicted-vs-measured table and why the
// textbook estimate differs. The comparison pages (sweep-checkpoint, compare-optimizers,
// compare-reuse) draw their command's --json object as its trade-off.
//
// Usage:
//   const Timeline t = predict_timeline(ex.schedule(), ex.lifetimes());
//   std::string page = step_html(header, graph, ex, textbook, t, /*measured=*/false, {});
//   std::string cmp = comparison_html("compare-reuse", "vgg16 inference", "...", true, json);
// Not here: writing files (apps/output_flags.h), the numbers themselves (report/report.h).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "framework/executor.h"
#include "framework/graph.h"
#include "framework/process_memory.h"
#include "report/report.h"
#include "report/timeline.h"

namespace cnnmem {

// How many of the largest buffers live at the peak the page lists by name.
inline constexpr size_t kPageBuffers = 16;

// What the step page draws (the JSON inside it):
//   kind "step", source "measured" | "predicted", step, ops [{n, p, f, live[7], ms}], peak
//   {op_index, op, phase, bytes, by_tag}, tag_peaks, buffers [{name, tag, bytes, first, last}]
//   (largest first), buffers_rest {count, bytes}, layers [{name, params, acts}],
//   layer_acts_label, layer_acts_note, memory (the --json memory object), why [text]
nlohmann::json step_page_data(const ReportHeader& h, const Graph& graph, const Executor& ex,
                              const Textbook& textbook, const Timeline& timeline, bool measured,
                              const OutsideArena& outside);
std::string step_html(const ReportHeader& h, const Graph& graph, const Executor& ex,
                      const Textbook& textbook, const Timeline& timeline, bool measured,
                      const OutsideArena& outside);

// kind: "sweep-checkpoint", "compare-optimizers" or "compare-reuse"; data: the command's --json
// object.
std::string comparison_html(const std::string& kind, const std::string& title,
                            const std::string& subtitle, bool measured, const nlohmann::json& data);

// The page around any data: title, style, the data as JSON (safe inside <script>), the script.
std::string html_page(const std::string& title, const std::string& subtitle,
                      const nlohmann::json& data);

}  // namespace cnnmem
