// The memory timeline: the prediction from the schedule equals, op by op and tag by tag, what the
// arena counts while the step runs (through the executor's OpObserver); the recorder keeps the
// last step and allocates nothing while it runs; the CSV forms.
#include "report/timeline.h"

#include <gtest/gtest.h>

#include <memory>
#include <numeric>
#include <sstream>

#include "framework/error.h"
#include "framework/process_memory.h"
#include "layers/softmax_cross_entropy.h"
#include "models/zoo.h"
#include "optimizers/optimizer.h"
#include "tests/util/training_run.h"
#include "train/trainer.h"

namespace cnnmem {
namespace {

std::unique_ptr<test::TrainingRun> rig(const Graph& g, bool training, int64_t batch,
                                       const char* optimizer) {
  OptimizerConfig cfg;
  cfg.name = optimizer;
  ExecutorOptions o;
  o.training = training;
  o.batch = batch;
  return test::start_run(g, o, training ? make_optimizer(cfg) : nullptr, 1, 1);
}

// The comma-separated fields of one CSV line (no quoting in these tables), an empty last one
// included.
std::vector<std::string> csv_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream fields(line);
  for (std::string c; std::getline(fields, c, ',');) cells.push_back(c);
  if (!line.empty() && line.back() == ',') cells.emplace_back();
  return cells;
}

class TimelineMatches
    : public ::testing::TestWithParam<std::tuple<std::string, bool, int64_t, std::string>> {};

TEST_P(TimelineMatches, PredictedEqualsMeasuredAtEveryOp) {
  const auto& [model, training, batch, optimizer] = GetParam();
  const Graph g = make_model(model);
  auto r = rig(g, training, batch, optimizer.c_str());
  Executor& ex = *r->ex;
  TimelineRecorder rec(ex.schedule());
  ex.set_observer(&rec);
  ex.run_step();
  ex.run_step();
  ex.set_observer(nullptr);
  ASSERT_EQ(rec.steps_seen(), 2);
  const Timeline& m = rec.timeline();
  const Timeline p = predict_timeline(ex.schedule(), ex.lifetimes());
  EXPECT_TRUE(m.measured);
  EXPECT_FALSE(p.measured);
  EXPECT_EQ(m.step, 1);
  ASSERT_EQ(m.ops.size(), ex.schedule().ops.size());
  ASSERT_EQ(p.ops.size(), m.ops.size());
  TagBytes tag_peaks{};
  for (size_t i = 0; i < m.ops.size(); ++i) {
    SCOPED_TRACE("op " + std::to_string(i) + " " + ex.schedule().ops[i].name);
    EXPECT_EQ(p.ops[i].live, m.ops[i].live);
    EXPECT_LE(m.ops[i].begin, m.ops[i].end);
    if (i > 0) {
      EXPECT_LE(m.ops[i - 1].end, m.ops[i].begin);
    }
    for (size_t k = 0; k < kTagCount; ++k) {
      tag_peaks[k] = std::max(tag_peaks[k], m.ops[i].live[k]);
    }
  }
  // The timeline's peak is the step's: the same bytes, op and split by tag.
  const MemoryStats& measured = ex.measured();
  EXPECT_EQ(m.peak_bytes, measured.peak_bytes);
  EXPECT_EQ(p.peak_bytes, ex.predicted().peak_bytes);
  EXPECT_EQ(m.peak_op, measured.peak_at.op_index);
  EXPECT_EQ(p.peak_op, ex.predicted().peak_at.op_index);
  EXPECT_EQ(m.ops[static_cast<size_t>(m.peak_op)].live, measured.by_tag);
  EXPECT_EQ(tag_peaks, measured.tag_peaks);
}

INSTANTIATE_TEST_SUITE_P(SmallModels, TimelineMatches,
                         ::testing::Values(std::make_tuple("lenet5", true, 2, "sgd"),
                                           std::make_tuple("lenet5", true, 3, "adam"),
                                           std::make_tuple("vgg-mini", true, 2, "adam"),
                                           std::make_tuple("lenet5", false, 2, ""),
                                           std::make_tuple("vgg-mini", false, 1, "")));

TEST(TimelineRecorder, AnObservedStepAllocatesNothing) {
  const Graph g = make_model("lenet5");
  auto r = rig(g, true, 4, "adam");
  TimelineRecorder rec(r->ex->schedule());
  r->ex->set_observer(&rec);
  r->ex->run_step();  // warm-up
  const int64_t before = heap_in_use_bytes();
  r->ex->run_step();
  EXPECT_EQ(heap_in_use_bytes() - before, 0);
  r->ex->set_observer(nullptr);
}

TEST(TimelineRecorder, RefusesToAnswerBeforeAStep) {
  const Graph g = make_model("lenet5");
  ExecutorOptions o;
  o.training = false;
  const Executor ex(g, o, nullptr);
  const TimelineRecorder rec(ex.schedule());
  EXPECT_EQ(rec.steps_seen(), 0);
  EXPECT_THROW(rec.timeline(), InternalError);
}

TEST(TimelineCsv, ColumnsAndTotals) {
  const Graph g = make_model("lenet5");
  OptimizerConfig cfg;
  cfg.name = "sgd";
  auto opt = make_optimizer(cfg);
  ExecutorOptions o;
  o.batch = 2;
  const Executor ex(g, o, opt.get(), std::make_unique<SoftmaxCrossEntropy>());
  const Timeline t = predict_timeline(ex.schedule(), ex.lifetimes());
  std::istringstream in(timeline_csv(ex.schedule(), t));
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line,
            "op_index,op,phase,flops,begin_s,end_s,weight,grad,optimizer_state,activation,"
            "activation_grad,workspace,input,total");
  size_t rows = 0;
  int64_t peak = 0;
  while (std::getline(in, line)) {
    const std::vector<std::string> cells = csv_cells(line);
    ASSERT_EQ(cells.size(), 14u) << line;
    EXPECT_EQ(cells[0], std::to_string(rows));
    EXPECT_EQ(cells[1], ex.schedule().ops[rows].name);
    EXPECT_EQ(cells[4], "");  // predicted: no times
    int64_t sum = 0;
    for (size_t k = 6; k < 13; ++k) sum += std::stoll(cells[k]);
    EXPECT_EQ(std::stoll(cells[13]), sum);
    peak = std::max(peak, sum);
    ++rows;
  }
  EXPECT_EQ(rows, ex.schedule().ops.size());
  EXPECT_EQ(peak, ex.predicted().peak_bytes);
}

TEST(TimelineCsv, BufferTableMarksWhatIsLiveAtThePeak) {
  const Graph g = make_model("lenet5");
  ExecutorOptions o;
  o.training = false;
  o.batch = 2;
  const Executor ex(g, o, nullptr);
  const Timeline t = predict_timeline(ex.schedule(), ex.lifetimes());
  std::istringstream in(buffers_csv(ex.schedule(), ex.lifetimes(), ex.offsets(), t.peak_op));
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line,
            "buffer_id,name,tag,bytes_requested,bytes_aligned,bytes_logical,first,last,offset,"
            "persistent,live_at_peak");
  int64_t at_peak = 0;
  size_t rows = 0;
  while (std::getline(in, line)) {
    const std::vector<std::string> cells = csv_cells(line);
    ASSERT_EQ(cells.size(), 11u) << line;
    const Buffer& b = ex.schedule().buffers[rows];
    EXPECT_EQ(cells[1], b.name);
    EXPECT_EQ(cells[2], tag_name(b.tag));
    EXPECT_EQ(std::stoll(cells[4]), b.bytes_aligned);
    EXPECT_EQ(std::stoll(cells[8]), ex.offsets()[rows]);
    if (cells[10] == "1") at_peak += b.bytes_aligned;
    ++rows;
  }
  EXPECT_EQ(rows, ex.schedule().buffers.size());
  EXPECT_EQ(at_peak, ex.predicted().peak_bytes);
}

TEST(TimelineCsv, QuotesFieldsThatNeedIt) {
  EXPECT_EQ(csv_field("conv1.forward"), "conv1.forward");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
}

TEST(LiveBuffersAt, LargestFirstAndSumToTheLiveBytes) {
  const Graph g = make_model("vgg-mini");
  OptimizerConfig cfg;
  cfg.name = "adam";
  auto opt = make_optimizer(cfg);
  ExecutorOptions o;
  o.batch = 2;
  const Executor ex(g, o, opt.get(), std::make_unique<SoftmaxCrossEntropy>());
  const Timeline t = predict_timeline(ex.schedule(), ex.lifetimes());
  for (int op : {0, t.peak_op, static_cast<int>(t.ops.size()) - 1}) {
    const std::vector<BufferId> ids = live_buffers_at(ex.schedule(), ex.lifetimes(), op);
    int64_t sum = 0, last = INT64_MAX;
    for (BufferId id : ids) {
      const int64_t bytes = ex.schedule().buffers[static_cast<size_t>(id)].bytes_aligned;
      EXPECT_LE(bytes, last);
      last = bytes;
      sum += bytes;
    }
    EXPECT_EQ(sum, t.ops[static_cast<size_t>(op)].total()) << "op " << op;
  }
}

}  // namespace
}  // namespace cnnmem
