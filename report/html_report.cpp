#include "report/html_report.h"

#include <algorithm>

#include "framework/error.h"
#include "framework/layer.h"
#include "report/bytes.h"
#include "report/html_assets.h"

namespace cnnmem {

namespace {

std::string escape_html(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// JSON that cannot end the <script> element it sits in: every '<' becomes \u003c (only string
// contents can hold one, and JSON.parse reads the escape back).
std::string script_json(const nlohmann::json& data) {
  const std::string text = data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  return out;
}

nlohmann::json tag_object(const TagBytes& bytes) {
  nlohmann::json j = nlohmann::json::object();
  for (Tag tag : kAllTags) j[std::string(tag_name(tag))] = bytes[tag_index(tag)];
  return j;
}

// The layer a buffer belongs to: the longest layer name that prefixes "name.", or -1.
int owner_layer(const std::string& buffer, const std::vector<std::string>& layers) {
  int best = -1;
  size_t best_len = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string& l = layers[i];
    if (l.size() > best_len && buffer.size() > l.size() && buffer.compare(0, l.size(), l) == 0 &&
        buffer[l.size()] == '.') {
      best = static_cast<int>(i);
      best_len = l.size();
    }
  }
  return best;
}

// Per layer: weight-tagged persistent bytes, and activation bytes (training: those live across
// the start of backward, i.e. saved for it; inference: every activation the layer writes).
nlohmann::json layer_rows(const Graph& graph, const Schedule& s,
                          const std::vector<Lifetime>& lifetimes, bool training) {
  std::vector<std::string> names;
  for (const Node& n : graph.nodes()) {
    if (n.layer) names.push_back(n.layer->name());
  }
  int backward_from = -1;
  for (size_t i = 0; i < s.ops.size() && backward_from < 0; ++i) {
    if (s.ops[i].phase == Phase::kBackward) backward_from = static_cast<int>(i);
  }
  std::vector<int64_t> params(names.size(), 0), acts(names.size(), 0);
  for (size_t b = 0; b < s.buffers.size(); ++b) {
    const Buffer& buf = s.buffers[b];
    const int owner = owner_layer(buf.name, names);
    if (owner < 0) continue;
    const size_t o = static_cast<size_t>(owner);
    if (buf.persistent && buf.tag == Tag::kWeight) params[o] += buf.bytes_aligned;
    if (buf.persistent || buf.tag != Tag::kActivation) continue;
    const Lifetime& l = lifetimes[b];
    if (l.last < l.first) continue;
    if (!training || (backward_from >= 0 && l.first < backward_from && l.last >= backward_from)) {
      acts[o] += buf.bytes_aligned;
    }
  }
  nlohmann::json rows = nlohmann::json::array();
  for (size_t i = 0; i < names.size(); ++i) {
    if (params[i] == 0 && acts[i] == 0) continue;
    rows.push_back({{"name", names[i]}, {"params", params[i]}, {"acts", acts[i]}});
  }
  return rows;
}

}  // namespace

std::string html_page(const std::string& title, const std::string& subtitle,
                      const nlohmann::json& data) {
  std::string page;
  page += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  page +=
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n";
  page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  page += "<meta name=\"generator\" content=\"cnnmem\">\n";
  page += "<title>" + escape_html(title) + "</title>\n<style>\n";
  page += html_style();
  page += "</style>\n</head>\n<body>\n<header><h1>" + escape_html(title) + "</h1><p>" +
          escape_html(subtitle) + "</p></header>\n";
  page += "<noscript>The charts of this page are drawn by its inline script.</noscript>\n";
  page += "<main id=\"main\"></main>\n";
  page += "<script type=\"application/json\" id=\"cnnmem-data\">" + script_json(data) +
          "</script>\n<script>\n";
  page += html_script();
  page += "</script>\n</body>\n</html>\n";
  return page;
}

nlohmann::json step_page_data(const ReportHeader& h, const Graph& graph, const Executor& ex,
                              const Textbook& textbook, const Timeline& timeline, bool measured,
                              const OutsideArena& outside) {
  const Schedule& s = ex.schedule();
  CNNMEM_CHECK(timeline.ops.size() == s.ops.size() && timeline.peak_op >= 0);
  nlohmann::json ops = nlohmann::json::array();
  TagBytes tag_peaks{};
  for (size_t i = 0; i < s.ops.size(); ++i) {
    const TimelinePoint& p = timeline.ops[i];
    nlohmann::json op = {{"n", s.ops[i].name},
                         {"p", phase_name(s.ops[i].phase)},
                         {"f", s.ops[i].flops},
                         {"live", p.live}};
    if (timeline.measured) op["ms"] = 1e3 * (p.end - p.begin);
    ops.push_back(op);
    for (size_t k = 0; k < kTagCount; ++k) tag_peaks[k] = std::max(tag_peaks[k], p.live[k]);
  }
  const auto peak_index = static_cast<size_t>(timeline.peak_op);
  const Op& peak_op = s.ops[peak_index];
  nlohmann::json buffers = nlohmann::json::array();
  int64_t rest_bytes = 0, rest_count = 0;
  const std::vector<Lifetime>& lifetimes = ex.lifetimes();
  for (BufferId id : live_buffers_at(s, lifetimes, timeline.peak_op)) {
    const auto b = static_cast<size_t>(id);
    const Buffer& buf = s.buffers[b];
    if (buffers.size() < kPageBuffers) {
      buffers.push_back({{"name", buf.name},
                         {"tag", std::string(tag_name(buf.tag))},
                         {"bytes", buf.bytes_aligned},
                         {"first", lifetimes[b].first},
                         {"last", lifetimes[b].last}});
    } else {
      rest_bytes += buf.bytes_aligned;
      ++rest_count;
    }
  }
  const bool training = ex.options().training;
  return {{"kind", "step"},
          {"source", timeline.measured ? "measured" : "predicted"},
          {"step", timeline.step},
          {"ops", ops},
          {"peak",
           {{"op_index", timeline.peak_op},
            {"op", peak_op.name},
            {"phase", phase_name(peak_op.phase)},
            {"bytes", timeline.peak_bytes},
            {"by_tag", tag_object(timeline.ops[peak_index].live)}}},
          {"tag_peaks", tag_object(tag_peaks)},
          {"buffers", buffers},
          {"buffers_rest", {{"count", rest_count}, {"bytes", rest_bytes}}},
          {"layers", layer_rows(graph, s, lifetimes, training)},
          {"layer_acts_label", training ? "activations saved for backward" : "activations"},
          {"layer_acts_note",
           training ? "Saved: the layer's activation buffers still live when backward starts."
                    : "Activations: every activation buffer the layer writes (in-place ReLUs "
                      "write none)."},
          {"memory", memory_json(h, ex, textbook, measured, outside)},
          {"why", explain_difference(graph, ex, textbook)}};
}

std::string step_html(const ReportHeader& h, const Graph& graph, const Executor& ex,
                      const Textbook& textbook, const Timeline& timeline, bool measured,
                      const OutsideArena& outside) {
  const bool training = h.mode == "train";
  std::string title = h.model + (training ? " training" : " inference") + ", batch " +
                      std::to_string(h.batch) + ": where the memory goes";
  std::string subtitle;
  if (training) subtitle += "optimizer " + h.optimizer + ", checkpoint " + h.checkpoint + ", ";
  subtitle += "planner " + h.reuse + ", " + grouped(h.params) + " parameters; ";
  subtitle += timeline.measured ? "measured while step " + std::to_string(timeline.step) + " ran"
                                : "predicted from the schedule, nothing run";
  return html_page(title, subtitle,
                   step_page_data(h, graph, ex, textbook, timeline, measured, outside));
}

std::string comparison_html(const std::string& kind, const std::string& title,
                            const std::string& subtitle, bool measured,
                            const nlohmann::json& data) {
  CNNMEM_CHECK(kind == "sweep-checkpoint" || kind == "compare-optimizers" ||
               kind == "compare-reuse");
  return html_page(title, subtitle, {{"kind", kind}, {"measured", measured}, {"data", data}});
}

}  // namespace cnnmem
