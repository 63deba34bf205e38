// The memory timeline of one step: for every op of the schedule, the live bytes of each tag while
// it ran (and, when measured, when it began and ended), plus its CSV forms.
//
// Two sources that must agree to the byte:
//   Timeline p = predict_timeline(ex.schedule(), ex.lifetimes());   // shapes only
//   TimelineRecorder rec(ex.schedule());                            // one record per op, now
//   ex.set_observer(&rec);  ex.run_step();  ex.set_observer(nullptr);
//   const Timeline& m = rec.timeline();                             // the last step it saw
// The recorder allocates nothing while a step runs (it fills records made in its constructor),
// so an observed step stays allocation-free; with several steps it keeps the last complete one.
//
// Not here: drawing or writing it (report/trace.h, report/html_report.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "framework/executor.h"
#include "framework/memory_stats.h"
#include "framework/schedule.h"
#include "framework/tag.h"

namespace cnnmem {

// One op of the step.
struct TimelinePoint {
  TagBytes live{};   // aligned bytes of live buffers per tag while the op ran
  double begin = 0;  // seconds since the step began (measured; 0 when predicted)
  double end = 0;
  int64_t total() const;
};

struct Timeline {
  bool measured = false;
  int64_t step = -1;               // measured: which observed step (0 = the first)
  std::vector<TimelinePoint> ops;  // one per schedule op, in order
  int peak_op = -1;                // the first op with the largest total
  int64_t peak_bytes = 0;
};

// Live bytes per tag at every op, from the lifetimes (persistent buffers count at every op):
// the same rule as predict_memory and the arena ("live at op i" = acquired up to op i and not
// released before it).
Timeline predict_timeline(const Schedule& schedule, const std::vector<Lifetime>& lifetimes);

class TimelineRecorder final : public OpObserver {
 public:
  explicit TimelineRecorder(const Schedule& schedule);
  void on_op(int op_index, const Op& op, const TagBytes& live, double begin, double end) override;
  void on_step_end(const MemoryStats& measured) override;

  int64_t steps_seen() const { return steps_seen_; }
  // The last complete step. Throws InternalError when no step was observed.
  const Timeline& timeline() const;

 private:
  Timeline current_, done_;
  int64_t steps_seen_ = 0;
};

// Buffers live at op `op_index` (persistent ones included), largest first.
std::vector<BufferId> live_buffers_at(const Schedule& schedule,
                                      const std::vector<Lifetime>& lifetimes, int op_index);

// The timeline as CSV, a row per op:
//   op_index,op,phase,flops,begin_s,end_s,weight,grad,optimizer_state,activation,
//   activation_grad,workspace,input,total
// begin_s/end_s are empty when the timeline is predicted; byte columns are aligned live bytes.
std::string timeline_csv(const Schedule& schedule, const Timeline& timeline);

// Every buffer of the schedule as CSV, a row each:
//   buffer_id,name,tag,bytes_requested,bytes_aligned,bytes_logical,first,last,offset,
//   persistent,live_at_peak
// first/last are inclusive op indices (empty when no op uses the buffer); offset is the
// planner's offset in the arena; live_at_peak is 1 for buffers live at `peak_op`.
std::string buffers_csv(const Schedule& schedule, const std::vector<Lifetime>& lifetimes,
                        const std::vector<int64_t>& offsets, int peak_op);

// A CSV field: quoted (with doubled quotes) when it holds a comma, quote or line break.
std::string csv_field(const std::string& text);

}  // namespace cnnmem
