#include "report/trace.h"

#include <cstdio>

#include "framework/error.h"
#include "report/bytes.h"

namespace cnnmem {

nlohmann::json chrome_trace(const Schedule& schedule, const Timeline& timeline,
                            const std::string& process_name, const nlohmann::json& other) {
  CNNMEM_CHECK_MSG(timeline.measured, "a trace needs a measured timeline");
  CNNMEM_CHECK(timeline.ops.size() == schedule.ops.size());
  constexpr int kPid = 1, kTid = 1;
  const auto micros = [](double seconds) { return seconds * 1e6; };
  nlohmann::json events = nlohmann::json::array();
  events.push_back({{"ph", "M"},
                    {"name", "process_name"},
                    {"pid", kPid},
                    {"tid", 0},
                    {"args", {{"name", process_name}}}});
  events.push_back({{"ph", "M"},
                    {"name", "thread_name"},
                    {"pid", kPid},
                    {"tid", kTid},
                    {"args", {{"name", "ops of step " + std::to_string(timeline.step)}}}});
  for (size_t i = 0; i < schedule.ops.size(); ++i) {
    const Op& op = schedule.ops[i];
    const TimelinePoint& p = timeline.ops[i];
    const double ts = micros(p.begin);
    for (Tag tag : kAllTags) {
      events.push_back({{"ph", "C"},
                        {"name", "live bytes: " + std::string(tag_name(tag))},
                        {"pid", kPid},
                        {"tid", kTid},
                        {"ts", ts},
                        {"args", {{"bytes", p.live[tag_index(tag)]}}}});
    }
    events.push_back({{"ph", "X"},
                      {"name", op.name},
                      {"cat", phase_name(op.phase)},
                      {"pid", kPid},
                      {"tid", kTid},
                      {"ts", ts},
                      {"dur", micros(p.end - p.begin)},
                      {"args",
                       {{"op_index", i},
                        {"phase", phase_name(op.phase)},
                        {"flops", op.flops},
                        {"live_bytes", p.total()}}}});
    if (static_cast<int>(i) == timeline.peak_op) {
      nlohmann::json by_tag = nlohmann::json::object();
      for (Tag tag : kAllTags) by_tag[std::string(tag_name(tag))] = p.live[tag_index(tag)];
      events.push_back({{"ph", "i"},
                        {"name", "peak: " + human_bytes(p.total()) + " at " + op.name},
                        {"s", "p"},
                        {"pid", kPid},
                        {"tid", kTid},
                        {"ts", ts},
                        {"args",
                         {{"op", op.name},
                          {"op_index", i},
                          {"phase", phase_name(op.phase)},
                          {"bytes", p.total()},
                          {"by_tag", by_tag}}}});
    }
  }
  nlohmann::json data = other;
  data["step"] = timeline.step;
  data["peak_bytes"] = timeline.peak_bytes;
  data["peak_op_index"] = timeline.peak_op;
  return {{"traceEvents", events}, {"displayTimeUnit", "ms"}, {"otherData", data}};
}

}  // namespace cnnmem
