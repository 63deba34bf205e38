// The Chrome trace of a measured step validates against the Trace Event Format, has a slice per
// op and a counter track per tag, and its peak is the measured peak.
#include "report/trace.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <memory>
#include <numeric>

#include "framework/error.h"
#include "layers/softmax_cross_entropy.h"
#include "models/zoo.h"
#include "optimizers/optimizer.h"
#include "tests/report/trace_check.h"
#include "tests/util/training_run.h"
#include "train/trainer.h"

namespace cnnmem {
namespace {

TEST(ChromeTrace, MeasuredTrainingStepValidates) {
  const Graph g = make_model("lenet5");
  OptimizerConfig cfg;
  cfg.name = "adam";
  ExecutorOptions o;
  o.batch = 4;
  const auto run = test::start_run(g, o, make_optimizer(cfg), 1, 1);
  Executor& ex = *run->ex;
  TimelineRecorder rec(ex.schedule());
  ex.set_observer(&rec);
  ex.run_step();
  ex.run_step();
  ex.set_observer(nullptr);
  ex.set_batch_source(nullptr);

  const nlohmann::json trace =
      chrome_trace(ex.schedule(), rec.timeline(), "cnnmem test", {{"model", "lenet5"}});
  // Through text and back, as a viewer reads it.
  const nlohmann::json parsed = nlohmann::json::parse(trace.dump());
  test::TraceSummary s;
  ASSERT_NO_FATAL_FAILURE(test::check_trace(parsed, &s));
  EXPECT_TRUE(s.process_named);
  EXPECT_TRUE(s.thread_named);
  ASSERT_EQ(static_cast<size_t>(s.slices), ex.schedule().ops.size());
  for (size_t i = 0; i < ex.schedule().ops.size(); ++i) {
    EXPECT_EQ(s.slice_names[i], ex.schedule().ops[i].name);
  }
  EXPECT_EQ(s.counters.size(), kTagCount);
  for (Tag tag : kAllTags) {
    EXPECT_EQ(s.counters["live bytes: " + std::string(tag_name(tag))], s.slices);
  }
  const MemoryStats& m = ex.measured();
  EXPECT_EQ(s.max_counter_sum, m.peak_bytes);
  ASSERT_EQ(s.instants, 1);
  EXPECT_EQ(s.peak["bytes"], m.peak_bytes);
  EXPECT_EQ(s.peak["op"], m.peak_at.op);
  EXPECT_EQ(s.peak["op_index"], m.peak_at.op_index);
  for (Tag tag : kAllTags) {
    EXPECT_EQ(s.peak["by_tag"][std::string(tag_name(tag))], m.by_tag[tag_index(tag)]);
  }
  EXPECT_EQ(parsed["otherData"]["model"], "lenet5");
  EXPECT_EQ(parsed["otherData"]["peak_bytes"], m.peak_bytes);
  EXPECT_EQ(parsed["otherData"]["step"], 1);
}

TEST(ChromeTrace, RefusesAPrediction) {
  const Graph g = make_model("lenet5");
  ExecutorOptions o;
  o.training = false;
  const Executor ex(g, o, nullptr);
  const Timeline p = predict_timeline(ex.schedule(), ex.lifetimes());
  EXPECT_THROW(chrome_trace(ex.schedule(), p, "x"), InternalError);
}

TEST(TraceCheck, CatchesBrokenTraces) {
  // The validator must fail on what a viewer would reject or misdraw.
  const auto fails = [](const nlohmann::json& t) {
    ::testing::TestPartResultArray results;
    {
      ::testing::ScopedFakeTestPartResultReporter reporter(
          ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
      test::TraceSummary s;
      test::check_trace(t, &s);
    }
    return results.size() > 0;
  };
  const nlohmann::json slice = {
      {"ph", "X"},        {"name", "a"},
      {"pid", 1},         {"tid", 1},
      {"ts", 10.0},       {"dur", 5.0},
      {"cat", "forward"}, {"args", {{"op_index", 0}, {"phase", "forward"}, {"flops", 0}}}};
  EXPECT_FALSE(fails({{"traceEvents", {slice}}}));
  EXPECT_TRUE(fails({{"events", {slice}}}));
  nlohmann::json no_dur = slice;
  no_dur.erase("dur");
  EXPECT_TRUE(fails({{"traceEvents", {no_dur}}}));
  nlohmann::json back = slice;
  back["ts"] = 1.0;
  back["args"]["op_index"] = 1;
  EXPECT_TRUE(fails({{"traceEvents", {slice, back}}}));
  const nlohmann::json negative = {{"ph", "C"},  {"name", "live bytes: weight"},
                                   {"pid", 1},   {"tid", 1},
                                   {"ts", 20.0}, {"args", {{"bytes", -1}}}};
  EXPECT_TRUE(fails({{"traceEvents", {slice, negative}}}));
  nlohmann::json bad_scope = {{"ph", "i"}, {"name", "peak"}, {"pid", 1},
                              {"tid", 1},  {"ts", 20.0},     {"s", "x"}};
  EXPECT_TRUE(fails({{"traceEvents", {slice, bad_scope}}}));
}

}  // namespace
}  // namespace cnnmem
