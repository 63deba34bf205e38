#include "report/report.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "framework/layer.h"
#include "report/bytes.h"

namespace cnnmem {

Textbook textbook_estimate(const Graph& graph, bool training, int64_t batch,
                           int64_t state_bytes_per_element) {
  Textbook t;
  const int64_t w = graph.param_count();
  t.by_tag[tag_index(Tag::kWeight)] = 4 * w;
  const auto& nodes = graph.nodes();
  if (training) {
    t.by_tag[tag_index(Tag::kGrad)] = 4 * w;
    t.by_tag[tag_index(Tag::kOptimizerState)] = state_bytes_per_element * w;
    int64_t maps = 0;
    for (const Node& n : nodes) maps += dims_product(n.dims);
    t.by_tag[tag_index(Tag::kActivation)] = 4 * batch * maps;
  } else {
    int64_t best = dims_product(nodes.front().dims);
    for (const Node& n : nodes) {
      for (int in : n.inputs) {
        best = std::max(best,
                        dims_product(nodes[static_cast<size_t>(in)].dims) + dims_product(n.dims));
      }
    }
    t.by_tag[tag_index(Tag::kActivation)] = 4 * batch * best;
  }
  for (int64_t b : t.by_tag) t.total += b;
  return t;
}

nlohmann::json stats_json(const MemoryStats& s) {
  nlohmann::json by_tag = nlohmann::json::object(), peaks = nlohmann::json::object();
  for (Tag tag : kAllTags) {
    by_tag[std::string(tag_name(tag))] = s.by_tag[tag_index(tag)];
    peaks[std::string(tag_name(tag))] = s.tag_peaks[tag_index(tag)];
  }
  return {{"peak_bytes", s.peak_bytes},
          {"peak_bytes_requested", s.peak_bytes_requested},
          {"arena_bytes", s.arena_bytes},
          {"lower_bound_bytes", s.lower_bound_bytes},
          {"by_tag", by_tag},
          {"tag_peaks", peaks},
          {"peak_at",
           {{"op_index", s.peak_at.op_index}, {"op", s.peak_at.op}, {"phase", s.peak_at.phase}}}};
}

nlohmann::json memory_json(const ReportHeader& h, const Executor& ex, const Textbook& textbook,
                           bool measured, const OutsideArena& outside) {
  nlohmann::json j = {{"model", h.model},           {"mode", h.mode},
                      {"batch", h.batch},           {"optimizer", h.optimizer},
                      {"checkpoint", h.checkpoint}, {"reuse", h.reuse},
                      {"params", h.params},         {"predicted", stats_json(ex.predicted())}};
  nlohmann::json tb = nlohmann::json::object();
  for (Tag tag : kAllTags) tb[std::string(tag_name(tag))] = textbook.by_tag[tag_index(tag)];
  j["textbook"] = {{"total_bytes", textbook.total}, {"by_tag", tb}};
  if (h.mode == "train") {
    const CheckpointInfo& c = ex.checkpoint();
    j["checkpoint_kept"] = c.kept;
    j["recompute_flops"] = c.recompute_flops;
    j["forward_flops"] = c.forward_flops;
  }
  if (measured) {
    j["measured"] = stats_json(ex.measured());
    j["outside_arena"] = {{"rss_peak_bytes", outside.rss_peak_bytes},
                          {"heap_growth_bytes", outside.heap_growth_bytes},
                          {"heap_setup_bytes", outside.heap_setup_bytes}};
    if (h.mode == "train") j["outside_arena"]["dataset_bytes"] = outside.dataset_bytes;
  }
  return j;
}

std::vector<std::string> explain_difference(const Graph& graph, const Executor& ex,
                                            const Textbook& textbook) {
  const MemoryStats& p = ex.predicted();
  const Schedule& s = ex.schedule();
  int64_t padding = 0, indices = 0, scratch = 0, reorders = 0;
  for (BufferId id : p.live_at_peak) {
    const Buffer& b = s.buffers[static_cast<size_t>(id)];
    padding += b.bytes_requested - b.bytes_logical;
    if (b.name.ends_with(".indices")) indices += b.bytes_aligned;
    if (b.name == "scratchpad") scratch += b.bytes_aligned;
    if (b.tag == Tag::kWorkspace && b.name != "scratchpad") reorders += b.bytes_aligned;
  }
  int64_t in_place = 0;
  int n_in_place = 0;
  for (const Node& n : graph.nodes()) {
    if (n.layer && n.layer->writes_over_input()) {
      in_place += 4 * ex.options().batch * dims_product(n.dims);
      ++n_in_place;
    }
  }
  const auto act = [&](Tag t) { return p.by_tag[tag_index(t)]; };
  std::vector<std::string> why;
  const int64_t text_act = textbook.by_tag[tag_index(Tag::kActivation)];
  why.push_back("activations: the textbook counts " + format_bytes(text_act) +
                " of feature maps (input included); at the peak " +
                format_bytes(act(Tag::kActivation) + act(Tag::kInput)) +
                " of activations and input are live");
  if (n_in_place > 0) {
    why.push_back("in place: " + std::to_string(n_in_place) +
                  " layers (ReLUs, element-wise ops) write over their input, so " +
                  format_bytes(in_place) + " the textbook counts never exist");
  }
  if (indices > 0) why.push_back("max-pool indices saved for backward: +" + format_bytes(indices));
  if (padding > 0) {
    why.push_back("blocked layouts pad channels (nChw16c-style) in buffers live at the peak: +" +
                  format_bytes(padding));
  }
  why.push_back("alignment of every buffer to 64 bytes: +" +
                format_bytes(p.peak_bytes - p.peak_bytes_requested));
  if (act(Tag::kActivationGrad) > 0) {
    why.push_back("activation gradients live at the peak (the textbook has none): +" +
                  format_bytes(act(Tag::kActivationGrad)));
  }
  if (scratch > 0) {
    why.push_back("oneDNN scratchpad, shared by all primitives: +" + format_bytes(scratch));
  }
  if (reorders > 0) {
    why.push_back("layout reorders and weight copies for backward (workspace): +" +
                  format_bytes(reorders));
  }
  return why;
}

namespace {

std::string outside_text(const OutsideArena& outside) {
  std::ostringstream o;
  o << "\noutside the arena (not exact per tensor): peak RSS "
    << format_bytes(outside.rss_peak_bytes) << ", heap growth across one step "
    << format_bytes(outside.heap_growth_bytes) << ", heap used by set-up (primitives, JIT code) "
    << format_bytes(outside.heap_setup_bytes) << "\n";
  if (outside.dataset_bytes > 0) {
    o << "the data set in memory (images and labels, exact): "
      << format_bytes(outside.dataset_bytes) << "\n";
  }
  return o.str();
}

}  // namespace

std::string memory_text(const ReportHeader& h, const Graph& graph, const Executor& ex,
                        const Textbook& textbook, bool measured, const OutsideArena& outside) {
  const MemoryStats& p = ex.predicted();
  const MemoryStats m = ex.measured();
  std::ostringstream o;
  o << "cnnmem " << h.mode << ": " << h.model << ", batch " << h.batch;
  if (h.mode == "train") o << ", optimizer " << h.optimizer << ", checkpoint " << h.checkpoint;
  o << ", planner " << h.reuse << "\n";
  o << "parameters: " << h.params << "\n\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-16s %30s %30s %30s\n", "tag", "textbook", "predicted",
                measured ? "measured" : "measured (use --measure)");
  o << line;
  for (Tag tag : kAllTags) {
    const size_t t = tag_index(tag);
    std::snprintf(line, sizeof line, "%-16s %30s %30s %30s\n", std::string(tag_name(tag)).c_str(),
                  format_bytes(textbook.by_tag[t]).c_str(), format_bytes(p.by_tag[t]).c_str(),
                  measured ? format_bytes(m.by_tag[t]).c_str() : "-");
    o << line;
  }
  std::snprintf(line, sizeof line, "%-16s %30s %30s %30s\n", "peak",
                format_bytes(textbook.total).c_str(), format_bytes(p.peak_bytes).c_str(),
                measured ? format_bytes(m.peak_bytes).c_str() : "-");
  o << line;
  std::snprintf(line, sizeof line, "%-16s %30s %30s %30s\n", "arena reserved", "",
                format_bytes(p.arena_bytes).c_str(),
                measured ? format_bytes(m.arena_bytes).c_str() : "-");
  o << line;
  const int64_t over = p.arena_bytes - p.lower_bound_bytes;
  std::snprintf(line, sizeof line, "%-16s %30s %30s\n", "lower bound", "",
                format_bytes(p.lower_bound_bytes).c_str());
  o << line;
  std::snprintf(line, sizeof line,
                "arena over the lower bound (what no planner can beat): %s, %.2f%%\n",
                format_bytes(over).c_str(),
                p.lower_bound_bytes > 0
                    ? 100.0 * static_cast<double>(over) / static_cast<double>(p.lower_bound_bytes)
                    : 0.0);
  o << line;
  o << "\npeak at op " << p.peak_at.op_index << " \"" << p.peak_at.op << "\" (" << p.peak_at.phase
    << ")\n";
  const CheckpointInfo& ck = ex.checkpoint();
  if (h.mode == "train" && !ck.kept.empty()) {
    std::string names;
    for (size_t i = 0; i < ck.kept.size(); ++i) {
      if (i == 6) {
        names += ", ...";
        break;
      }
      names += (i == 0 ? "" : ", ") + ck.kept[i];
    }
    o << "checkpointing: keeps the inputs of " << ck.kept.size() << " layers (" << names << "); ";
    std::snprintf(line, sizeof line, "recomputes %.3g GFLOP a step (%.0f%% of the forward pass)\n",
                  ck.recompute_flops * 1e-9,
                  ck.forward_flops > 0 ? 100.0 * ck.recompute_flops / ck.forward_flops : 0.0);
    o << line;
  }
  if (measured) {
    o << (agrees(p, m) ? "predicted == measured, to the byte, for every tag\n"
                       : "PREDICTED != MEASURED: this is a bug in cnnmem, please report it\n");
  }
  o << "\nwhy the textbook estimate differs:\n";
  for (const std::string& w : explain_difference(graph, ex, textbook)) o << "  - " << w << "\n";
  o << "\nlargest buffers live at the peak:\n";
  const Schedule& s = ex.schedule();
  for (size_t i = 0; i < p.live_at_peak.size() && i < 8; ++i) {
    const Buffer& b = s.buffers[static_cast<size_t>(p.live_at_peak[i])];
    std::snprintf(line, sizeof line, "  %-40s %-16s %s\n", b.name.c_str(),
                  std::string(tag_name(b.tag)).c_str(), format_bytes(b.bytes_aligned).c_str());
    o << line;
  }
  if (measured) o << outside_text(outside);
  return o.str();
}

}  // namespace cnnmem
