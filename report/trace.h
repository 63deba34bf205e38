// A measured step as a Chrome trace (the JSON object format of the Trace Event Format, which
// chrome://tracing, Perfetto and speedscope open).
//
// Events, in time order (timestamps in microseconds since the step began):
//   "M" process_name / thread_name  metadata: what ran (model, mode, batch) and which step
//   "C" live bytes: TAG              a counter track per tag, sampled as each op begins
//   "X" OP                           a complete slice per op: cat = phase, args = op index,
//                                    phase, FLOPs and the live bytes while it ran
//   "i" peak: ...                    an instant event at the op that sets the peak, with its
//                                    bytes by tag
// Usage:
//   const nlohmann::json trace = chrome_trace(ex.schedule(), recorder.timeline(), "cnnmem ...");
// Not here: recording the step (report/timeline.h) or writing the file (apps/output_flags.h).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "framework/schedule.h"
#include "report/timeline.h"

namespace cnnmem {

// `timeline` must be measured (it has times); `other` goes to the trace's "otherData".
nlohmann::json chrome_trace(const Schedule& schedule, const Timeline& timeline,
                            const std::string& process_name,
                            const nlohmann::json& other = nlohmann::json::object());

}  // namespace cnnmem
