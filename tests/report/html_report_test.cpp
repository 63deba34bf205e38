// The HTML pages: self-contained (nothing fetched), their data cannot break out of its <script>,
// and the step page's numbers add up (timeline peak, buffers at the peak, per-layer bytes).
// Drawing them is tested in a real browser (tests/apps/html_chromium_test.cpp).
#include "report/html_report.h"

#include <gtest/gtest.h>

#include <regex>

#include "framework/error.h"
#include "layers/softmax_cross_entropy.h"
#include "models/zoo.h"
#include "optimizers/optimizer.h"
#include "report/html_assets.h"

namespace cnnmem {
namespace {

// The JSON between <script type="application/json" id="cnnmem-data"> and </script>.
nlohmann::json page_data(const std::string& page) {
  const std::string open = "<script type=\"application/json\" id=\"cnnmem-data\">";
  const size_t a = page.find(open);
  EXPECT_NE(a, std::string::npos);
  const size_t b = page.find("</script>", a);
  EXPECT_NE(b, std::string::npos);
  return nlohmann::json::parse(page.substr(a + open.size(), b - a - open.size()));
}

void expect_self_contained(const std::string& page) {
  // No attribute or style rule that loads anything: scripts, styles, fonts, images, frames.
  for (const char* bad : {" src=", " href=", "@import", "url(", "<link", "<iframe", "<img"}) {
    EXPECT_EQ(page.find(bad), std::string::npos) << bad;
  }
  // The one URL is the SVG namespace, an identifier that is never fetched.
  const std::regex url("https?://[^'\" ]*");
  for (auto it = std::sregex_iterator(page.begin(), page.end(), url); it != std::sregex_iterator();
       ++it) {
    EXPECT_EQ(it->str(), "http://www.w3.org/2000/svg");
  }
  EXPECT_NE(page.find("Content-Security-Policy"), std::string::npos);
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
}

struct StepFixture {
  Graph graph;
  std::unique_ptr<Optimizer> opt;
  std::unique_ptr<Executor> ex;
  ReportHeader h;
  Textbook tb;
};

StepFixture planned(const std::string& model, bool training, int64_t batch) {
  StepFixture f{make_model(model), nullptr, nullptr, {}, {}};
  if (training) {
    OptimizerConfig cfg;
    cfg.name = "sgd";
    f.opt = make_optimizer(cfg);
  }
  ExecutorOptions o;
  o.training = training;
  o.batch = batch;
  f.ex =
      std::make_unique<Executor>(f.graph, o, f.opt.get(), std::make_unique<SoftmaxCrossEntropy>());
  f.h.model = model;
  f.h.mode = training ? "train" : "infer";
  f.h.optimizer = training ? "sgd" : "none";
  f.h.batch = batch;
  f.h.params = f.ex->param_count();
  f.tb = textbook_estimate(f.graph, training, batch, 0);
  return f;
}

TEST(StepPage, PredictedTrainingPage) {
  StepFixture f = planned("lenet5", true, 4);
  const Executor& ex = *f.ex;
  const Timeline t = predict_timeline(ex.schedule(), ex.lifetimes());
  const std::string page = step_html(f.h, f.graph, ex, f.tb, t, false, {});
  expect_self_contained(page);
  EXPECT_NE(page.find(html_script()), std::string::npos);
  EXPECT_NE(page.find(html_style()), std::string::npos);
  const nlohmann::json d = page_data(page);
  EXPECT_EQ(d["kind"], "step");
  EXPECT_EQ(d["source"], "predicted");
  ASSERT_EQ(d["ops"].size(), ex.schedule().ops.size());
  const MemoryStats& p = ex.predicted();
  EXPECT_EQ(d["peak"]["bytes"], p.peak_bytes);
  EXPECT_EQ(d["peak"]["op"], p.peak_at.op);
  EXPECT_EQ(d["peak"]["op_index"], p.peak_at.op_index);
  EXPECT_EQ(d["memory"]["predicted"]["peak_bytes"], p.peak_bytes);
  EXPECT_FALSE(d["memory"].contains("measured"));
  // The listed buffers and the rest are exactly what is live at the peak, largest first.
  int64_t listed = 0, last = INT64_MAX;
  for (const auto& b : d["buffers"]) {
    EXPECT_LE(b["bytes"].get<int64_t>(), last);
    last = b["bytes"];
    listed += last;
  }
  EXPECT_LE(d["buffers"].size(), kPageBuffers);
  EXPECT_EQ(listed + d["buffers_rest"]["bytes"].get<int64_t>(), p.peak_bytes);
  // Per layer: conv1's parameters are its weight and bias buffers; LeNet's pooling and ReLU
  // layers have none; the layers' parameters add up to every weight-tagged byte.
  int64_t conv1 = 0;
  for (const Buffer& b : ex.schedule().buffers) {
    if (b.name == "conv1.weight" || b.name == "conv1.bias") conv1 += b.bytes_aligned;
  }
  int64_t params = 0, saved = 0;
  bool found_conv1 = false;
  for (const auto& l : d["layers"]) {
    params += l["params"].get<int64_t>();
    saved += l["acts"].get<int64_t>();
    if (l["name"] == "conv1") {
      found_conv1 = true;
      EXPECT_EQ(l["params"], conv1);
      EXPECT_GT(l["acts"].get<int64_t>(), 0);  // its output, saved for backward
    }
  }
  EXPECT_TRUE(found_conv1);
  EXPECT_EQ(params, p.by_tag[tag_index(Tag::kWeight)]);
  // Saved activations are live when backward starts, so they are at most the activation bytes
  // live at the peak (which lies in backward for LeNet).
  EXPECT_GT(saved, 0);
  EXPECT_LE(saved, p.tag_peaks[tag_index(Tag::kActivation)]);
  EXPECT_FALSE(d["why"].empty());
}

TEST(StepPage, InferencePageCountsLayerOutputs) {
  StepFixture f = planned("vgg-mini", false, 2);
  const Timeline t = predict_timeline(f.ex->schedule(), f.ex->lifetimes());
  const nlohmann::json d = step_page_data(f.h, f.graph, *f.ex, f.tb, t, false, {});
  EXPECT_EQ(d["layer_acts_label"], "activations");
  bool conv = false;
  for (const auto& l : d["layers"]) {
    if (l["name"] == "features.0") {
      conv = true;
      // (N, 32, 28, 28) floats, the conv's output
      EXPECT_GE(l["acts"].get<int64_t>(), 2 * 32 * 28 * 28 * 4);
    }
  }
  EXPECT_TRUE(conv);
}

TEST(HtmlPage, DataCannotCloseItsScript) {
  const std::string page =
      html_page("a <b> & \"c\"", "</script><script>alert(1)</script>",
                {{"kind", "step"}, {"evil", "</script><script>alert(1)</script>"}});
  EXPECT_NE(page.find("<title>a &lt;b&gt; &amp; &quot;c&quot;</title>"), std::string::npos);
  EXPECT_EQ(page.find("alert(1)</script>"), std::string::npos);
  EXPECT_EQ(page_data(page)["evil"], "</script><script>alert(1)</script>");
  expect_self_contained(page);
}

TEST(ComparisonPage, CarriesTheCommandsJson) {
  const nlohmann::json data = {{"model", "lenet5"}, {"rows", nlohmann::json::array()}};
  for (const char* kind : {"sweep-checkpoint", "compare-optimizers", "compare-reuse"}) {
    const std::string page = comparison_html(kind, "t", "s", true, data);
    expect_self_contained(page);
    const nlohmann::json d = page_data(page);
    EXPECT_EQ(d["kind"], kind);
    EXPECT_EQ(d["data"], data);
    EXPECT_EQ(d["measured"], true);
  }
  EXPECT_THROW(comparison_html("pie", "t", "s", true, data), InternalError);
}

}  // namespace
}  // namespace cnnmem
