// Tests for report/report.h on the tiny model (tests/util/tiny_model.h): the textbook estimate
// worked out by hand for training and inference, the JSON report's fields (the header, the
// textbook, predicted and measured as the executor counted them, what is only there when
// measured), and the text report's lines, among them the statement that predicted == measured.
// Not here: the numbers themselves (framework/memory_stats.h, tests/framework), the CLI's report
// of whole models (tests/apps/cli_test.cpp).
#include "report/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "models/zoo.h"
#include "optimizers/optimizer.h"
#include "report/bytes.h"
#include "tests/util/tiny_model.h"
#include "tests/util/training_run.h"

namespace cnnmem {
namespace {

using test::kTinyParams;
using test::tiny_model;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

int64_t tag_bytes(const Textbook& t, Tag tag) { return t.by_tag[tag_index(tag)]; }

TEST(TextbookEstimate, TrainingCountsWeightsGradientsStateAndEveryFeatureMap) {
  const Graph g = tiny_model();
  ASSERT_EQ(g.param_count(), kTinyParams);
  // Adam: 8 bytes of state per parameter. Feature maps of one image: input 4, flat 4, fc1 5,
  // relu 5, fc2 3 = 21 floats; batch 2.
  const Textbook t = textbook_estimate(g, /*training=*/true, /*batch=*/2, 8);
  EXPECT_EQ(tag_bytes(t, Tag::kWeight), 4 * 43);
  EXPECT_EQ(tag_bytes(t, Tag::kGrad), 4 * 43);
  EXPECT_EQ(tag_bytes(t, Tag::kOptimizerState), 8 * 43);
  EXPECT_EQ(tag_bytes(t, Tag::kActivation), 4 * 2 * 21);
  EXPECT_EQ(tag_bytes(t, Tag::kActivationGrad), 0);
  EXPECT_EQ(tag_bytes(t, Tag::kWorkspace), 0);
  EXPECT_EQ(tag_bytes(t, Tag::kInput), 0);
  EXPECT_EQ(t.total, 172 + 172 + 344 + 168);
  // SGD without momentum keeps no state.
  EXPECT_EQ(tag_bytes(textbook_estimate(g, true, 2, 0), Tag::kOptimizerState), 0);
}

TEST(TextbookEstimate, InferenceCountsWeightsAndTheTwoLargestSuccessiveMaps) {
  const Graph g = tiny_model();
  // Input and output of each layer: flat 4 + 4, fc1 4 + 5, relu 5 + 5, fc2 5 + 3: relu's 10.
  const Textbook t = textbook_estimate(g, /*training=*/false, /*batch=*/2, 8);
  EXPECT_EQ(tag_bytes(t, Tag::kWeight), 4 * 43);
  EXPECT_EQ(tag_bytes(t, Tag::kGrad), 0);
  EXPECT_EQ(tag_bytes(t, Tag::kOptimizerState), 0);
  EXPECT_EQ(tag_bytes(t, Tag::kActivation), 4 * 2 * 10);
  EXPECT_EQ(t.total, 172 + 80);
}

TEST(TextbookEstimate, LeNet5WeightsAreItsKnownParameterCount) {
  // conv1 6*1*5*5+6 = 156, conv2 16*6*5*5+16 = 2416, fc1 120*400+120 = 48120,
  // fc2 84*120+84 = 10164, fc3 10*84+10 = 850: 61706.
  const Textbook t = textbook_estimate(make_model("lenet5"), true, 64, 8);
  EXPECT_EQ(tag_bytes(t, Tag::kWeight), 4 * 61706);
  EXPECT_EQ(tag_bytes(t, Tag::kOptimizerState), 8 * 61706);
}

// The tiny model trained one step with Adam, batch 2, and its report's header.
struct Reported {
  Graph graph = tiny_model();
  std::unique_ptr<test::TrainingRun> run;
  ReportHeader header;
  Textbook textbook;
};

std::unique_ptr<Reported> trained_one_step() {
  auto r = std::make_unique<Reported>();
  OptimizerConfig cfg;
  cfg.name = "adam";
  ExecutorOptions o;
  o.batch = 2;
  r->run = test::start_run(r->graph, o, make_optimizer(cfg), 1, 1);
  r->run->ex->run_step();
  r->header.model = "tiny";
  r->header.mode = "train";
  r->header.optimizer = "adam";
  r->header.batch = 2;
  r->header.params = r->graph.param_count();
  r->textbook = textbook_estimate(r->graph, true, 2, r->run->opt->state_bytes_per_element());
  return r;
}

TEST(MemoryJson, HasTheHeaderTheTextbookAndPredictedEqualToMeasured) {
  const auto r = trained_one_step();
  const Executor& ex = *r->run->ex;
  OutsideArena outside;
  outside.rss_peak_bytes = 1000;
  outside.heap_growth_bytes = 0;
  outside.heap_setup_bytes = 20;
  const nlohmann::json j = memory_json(r->header, ex, r->textbook, /*measured=*/true, outside);
  EXPECT_EQ(j["model"], "tiny");
  EXPECT_EQ(j["mode"], "train");
  EXPECT_EQ(j["batch"], 2);
  EXPECT_EQ(j["optimizer"], "adam");
  EXPECT_EQ(j["checkpoint"], "none");
  EXPECT_EQ(j["reuse"], "greedy-by-size");
  EXPECT_EQ(j["params"], 43);
  EXPECT_EQ(j["textbook"]["total_bytes"], 856);
  EXPECT_EQ(j["textbook"]["by_tag"]["optimizer_state"], 344);
  EXPECT_EQ(j["textbook"]["by_tag"]["activation"], 168);
  EXPECT_EQ(j["checkpoint_kept"], nlohmann::json::array());
  EXPECT_EQ(j["recompute_flops"], 0.0);
  EXPECT_EQ(j["predicted"], stats_json(ex.predicted()));
  EXPECT_EQ(j["measured"], stats_json(ex.measured()));
  EXPECT_EQ(j["predicted"], j["measured"]);  // to the byte, the op of the peak included
  EXPECT_EQ(j["outside_arena"]["rss_peak_bytes"], 1000);
  EXPECT_EQ(j["outside_arena"]["heap_setup_bytes"], 20);
  // Weights and Adam's m and v are persistent: at the peak each is its buffers' aligned bytes.
  int64_t weights = 0, state = 0;
  for (const Buffer& b : ex.schedule().buffers) {
    if (b.tag == Tag::kWeight) weights += b.bytes_aligned;
    if (b.tag == Tag::kOptimizerState) state += b.bytes_aligned;
  }
  EXPECT_EQ(j["predicted"]["by_tag"]["weight"], weights);
  EXPECT_EQ(j["predicted"]["by_tag"]["optimizer_state"], state);
  EXPECT_EQ(state, 2 * weights);
  int64_t sum = 0;
  for (Tag tag : kAllTags)
    sum += j["predicted"]["by_tag"][std::string(tag_name(tag))].get<int64_t>();
  EXPECT_EQ(sum, j["predicted"]["peak_bytes"].get<int64_t>());
}

TEST(MemoryJson, WithoutMeasuringHasNoMeasuredPart) {
  const auto r = trained_one_step();
  const nlohmann::json j = memory_json(r->header, *r->run->ex, r->textbook, false, {});
  EXPECT_TRUE(j.contains("predicted"));
  EXPECT_FALSE(j.contains("measured"));
  EXPECT_FALSE(j.contains("outside_arena"));
}

TEST(MemoryJson, InferenceHasNoCheckpointFields) {
  const Graph g = tiny_model();
  ExecutorOptions o;
  o.training = false;
  o.batch = 2;
  const Executor ex(g, o, nullptr);
  ReportHeader h;
  h.model = "tiny";
  h.mode = "infer";
  h.batch = 2;
  const nlohmann::json j = memory_json(h, ex, textbook_estimate(g, false, 2, 0), false, {});
  EXPECT_EQ(j["mode"], "infer");
  EXPECT_EQ(j["textbook"]["total_bytes"], 252);
  EXPECT_FALSE(j.contains("checkpoint_kept"));
  EXPECT_FALSE(j.contains("recompute_flops"));
}

// The line of `text` that starts with `start` ("" when none does).
std::string line_starting(const std::string& text, const std::string& start) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(start, 0) == 0) return line;
  }
  return "";
}

TEST(MemoryText, StatesPredictedEqualsMeasuredAndExplainsTheTextbook) {
  const auto r = trained_one_step();
  const Executor& ex = *r->run->ex;
  OutsideArena outside;
  outside.rss_peak_bytes = 5 << 20;
  const std::string text = memory_text(r->header, r->graph, ex, r->textbook, true, outside);
  EXPECT_THAT(text, StartsWith("cnnmem train: tiny, batch 2, optimizer adam, checkpoint none, "
                               "planner greedy-by-size\nparameters: 43\n"));
  EXPECT_THAT(text, HasSubstr("predicted == measured, to the byte, for every tag\n"));
  EXPECT_THAT(text, Not(HasSubstr("PREDICTED != MEASURED")));
  // The peak row: the textbook's 856 bytes, then the predicted and the measured peak.
  const std::string peak = format_bytes(ex.predicted().peak_bytes);
  EXPECT_THAT(line_starting(text, "peak "), HasSubstr("856 B"));
  EXPECT_THAT(line_starting(text, "peak "),
              HasSubstr(peak + " " + std::string(30 - peak.size(), ' ') + peak));
  EXPECT_THAT(line_starting(text, "optimizer_state "), HasSubstr("344 B"));
  EXPECT_THAT(text, HasSubstr("\npeak at op " + std::to_string(ex.predicted().peak_at.op_index) +
                              " \"" + ex.predicted().peak_at.op + "\""));
  // fc1's output of 2 x 5 floats is where the ReLU writes: 40 bytes the textbook counts twice.
  EXPECT_THAT(
      text,
      HasSubstr(
          "  - in place: 1 layers (ReLUs, element-wise ops) write over their input, so 40 B the "
          "textbook counts never exist\n"));
  EXPECT_THAT(text, HasSubstr("  - activations: the textbook counts 168 B of feature maps"));
  EXPECT_THAT(text, HasSubstr("\noutside the arena (not exact per tensor): peak RSS "
                              "5,242,880 B (5.0 MiB)"));
}

TEST(MemoryText, WithoutMeasuringSaysHowToMeasure) {
  const auto r = trained_one_step();
  const std::string text = memory_text(r->header, r->graph, *r->run->ex, r->textbook, false, {});
  EXPECT_THAT(text, HasSubstr("measured (use --measure)"));
  EXPECT_THAT(text, Not(HasSubstr("predicted == measured")));
  EXPECT_THAT(text, Not(HasSubstr("outside the arena")));
}

}  // namespace
}  // namespace cnnmem
