#include "report/timeline.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "framework/error.h"

namespace cnnmem {

int64_t TimelinePoint::total() const {
  int64_t sum = 0;
  for (int64_t b : live) sum += b;
  return sum;
}

namespace {

// The first op with the largest total (the arena's rule: a tie does not move the peak).
void find_peak(Timeline& t) {
  t.peak_op = -1;
  t.peak_bytes = 0;
  for (size_t i = 0; i < t.ops.size(); ++i) {
    const int64_t total = t.ops[i].total();
    if (t.peak_op < 0 || total > t.peak_bytes) {
      t.peak_op = static_cast<int>(i);
      t.peak_bytes = total;
    }
  }
}

}  // namespace

Timeline predict_timeline(const Schedule& schedule, const std::vector<Lifetime>& lifetimes) {
  CNNMEM_CHECK(lifetimes.size() == schedule.buffers.size());
  const size_t n_ops = schedule.ops.size();
  Timeline t;
  t.ops.resize(n_ops);
  // Difference arrays: +bytes at a buffer's first op, -bytes after its last.
  std::vector<TagBytes> delta(n_ops + 1, TagBytes{});
  TagBytes persistent{};
  for (size_t b = 0; b < schedule.buffers.size(); ++b) {
    const Buffer& buf = schedule.buffers[b];
    const size_t tag = tag_index(buf.tag);
    if (buf.persistent) {
      persistent[tag] += buf.bytes_aligned;
      continue;
    }
    const Lifetime& l = lifetimes[b];
    if (l.last < l.first) continue;
    delta[static_cast<size_t>(l.first)][tag] += buf.bytes_aligned;
    delta[static_cast<size_t>(l.last) + 1][tag] -= buf.bytes_aligned;
  }
  TagBytes live = persistent;
  for (size_t i = 0; i < n_ops; ++i) {
    for (size_t k = 0; k < kTagCount; ++k) live[k] += delta[i][k];
    t.ops[i].live = live;
  }
  find_peak(t);
  return t;
}

TimelineRecorder::TimelineRecorder(const Schedule& schedule) {
  current_.ops.resize(schedule.ops.size());
  done_.ops.resize(schedule.ops.size());
  current_.measured = done_.measured = true;
}

void TimelineRecorder::on_op(int op_index, const Op& /*op*/, const TagBytes& live, double begin,
                             double end) {
  CNNMEM_CHECK(op_index >= 0 && static_cast<size_t>(op_index) < current_.ops.size());
  TimelinePoint& p = current_.ops[static_cast<size_t>(op_index)];
  p.live = live;
  p.begin = begin;
  p.end = end;
}

void TimelineRecorder::on_step_end(const MemoryStats& measured) {
  find_peak(current_);
  // The arena counted the same bytes; a difference would mean the hook saw another step.
  CNNMEM_CHECK_MSG(
      current_.peak_bytes == measured.peak_bytes && current_.peak_op == measured.peak_at.op_index,
      "timeline peak differs from the arena's");
  current_.step = steps_seen_++;
  std::swap(current_, done_);  // swaps the vectors' storage: nothing is allocated
}

const Timeline& TimelineRecorder::timeline() const {
  CNNMEM_CHECK_MSG(steps_seen_ > 0, "no step was observed");
  return done_;
}

std::vector<BufferId> live_buffers_at(const Schedule& schedule,
                                      const std::vector<Lifetime>& lifetimes, int op_index) {
  std::vector<BufferId> ids;
  for (size_t b = 0; b < schedule.buffers.size(); ++b) {
    const Lifetime& l = lifetimes[b];
    if (schedule.buffers[b].persistent || (l.first <= op_index && op_index <= l.last)) {
      ids.push_back(static_cast<BufferId>(b));
    }
  }
  std::stable_sort(ids.begin(), ids.end(), [&](BufferId a, BufferId b) {
    return schedule.buffers[static_cast<size_t>(a)].bytes_aligned >
           schedule.buffers[static_cast<size_t>(b)].bytes_aligned;
  });
  return ids;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string timeline_csv(const Schedule& schedule, const Timeline& timeline) {
  CNNMEM_CHECK(timeline.ops.size() == schedule.ops.size());
  std::string out = "op_index,op,phase,flops,begin_s,end_s";
  for (Tag tag : kAllTags) out += "," + std::string(tag_name(tag));
  out += ",total\n";
  char number[64];
  for (size_t i = 0; i < schedule.ops.size(); ++i) {
    const Op& op = schedule.ops[i];
    const TimelinePoint& p = timeline.ops[i];
    std::snprintf(number, sizeof number, "%.0f", op.flops);
    out += std::to_string(i) + "," + csv_field(op.name) + "," + phase_name(op.phase) + "," + number;
    if (timeline.measured) {
      std::snprintf(number, sizeof number, ",%.9f,%.9f", p.begin, p.end);
      out += number;
    } else {
      out += ",,";
    }
    for (int64_t b : p.live) out += "," + std::to_string(b);
    out += "," + std::to_string(p.total()) + "\n";
  }
  return out;
}

std::string buffers_csv(const Schedule& schedule, const std::vector<Lifetime>& lifetimes,
                        const std::vector<int64_t>& offsets, int peak_op) {
  CNNMEM_CHECK(lifetimes.size() == schedule.buffers.size());
  CNNMEM_CHECK(offsets.size() == schedule.buffers.size());
  std::string out =
      "buffer_id,name,tag,bytes_requested,bytes_aligned,bytes_logical,first,last,offset,"
      "persistent,live_at_peak\n";
  for (size_t b = 0; b < schedule.buffers.size(); ++b) {
    const Buffer& buf = schedule.buffers[b];
    const Lifetime& l = lifetimes[b];
    const bool used = l.first <= l.last;
    const bool at_peak = buf.persistent || (used && l.first <= peak_op && peak_op <= l.last);
    out += std::to_string(b) + "," + csv_field(buf.name) + "," + std::string(tag_name(buf.tag)) +
           "," + std::to_string(buf.bytes_requested) + "," + std::to_string(buf.bytes_aligned) +
           "," + std::to_string(buf.bytes_logical) + "," + (used ? std::to_string(l.first) : "") +
           "," + (used ? std::to_string(l.last) : "") + "," + std::to_string(offsets[b]) + "," +
           (buf.persistent ? "1" : "0") + "," + (at_peak ? "1" : "0") + "\n";
  }
  return out;
}

}  // namespace cnnmem
