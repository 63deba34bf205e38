// The style sheet and the script that every cnnmem HTML page carries inline (no network, no
// external scripts or fonts). The script reads the page's data from
// <script type="application/json" id="cnnmem-data"> and draws SVG charts from it:
//   kind "step"                a step's stacked timeline by tag, peak marker, largest buffers at
//                              the peak, per-layer bars, predicted-vs-measured table
//   kind "compare-optimizers"  memory at the peak by tag, a stacked bar per optimizer
//   kind "compare-reuse"       arena bytes and peak live bytes per strategy, the lower bound
//   kind "sweep-checkpoint"    peak memory against recompute (and step time when measured)
// Every tag has one colour on every chart; SVG <title> elements give the details on hover.
// The two are report/assets/report.css and report/assets/report.js, embedded at build time
// (cmake/EmbedAssets.cmake).
// Not here: the data (report/html_report.h).
#pragma once

#include <string_view>

namespace cnnmem {

std::string_view html_style();
std::string_view html_script();

}  // namespace cnnmem
