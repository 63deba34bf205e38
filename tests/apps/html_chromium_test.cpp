// The HTML pages in a real browser: headless Chromium (Debian's chromium, which
// scripts/install-deps.sh installs) loads each page offline, its script draws the charts, and
// --dump-dom shows the drawn SVG: a series per tag, the peak marker naming the op that sets the
// peak, the comparison charts; --screenshot saves a PNG.
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "tests/apps/cli_helpers.h"
#include "tests/util/temp_dir.h"

namespace cnnmem::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kChromium = "/usr/bin/chromium";

class Chromium : public TempDirTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kChromium))
        << kChromium << " is missing: run scripts/install-deps.sh (Debian package chromium)";
    TempDirTest::SetUp();
  }

  // Runs headless Chromium on a page with a fresh profile, offline, with `extra` flags.
  ProcessResult chromium(const fs::path& page, const std::vector<std::string>& extra) {
    const fs::path profile = dir_ / ("profile" + std::to_string(runs_++));
    std::vector<std::string> args = {kChromium,
                                     "--headless",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--disable-background-networking",
                                     "--disable-component-update",
                                     "--disable-sync",
                                     "--no-first-run",
                                     "--hide-scrollbars",
                                     "--user-data-dir=" + profile.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back("file://" + page.string());
    return run_process(args, std::chrono::seconds(120));
  }
  std::string dump_dom(const fs::path& page) {
    const ProcessResult r = chromium(page, {"--dump-dom"});
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  int runs_ = 0;
};

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

TEST_F(Chromium, StepPageDrawsEveryTagAndThePeak) {
  const fs::path page = dir_ / "lenet5.html";
  const json j =
      run_json({"cost", "--model", "lenet5", "--mode", "train", "--batch", "4", "--optimizer",
                "adam", "--measure", "--threads", "1", "--json", "--html", page.string()});
  const std::string dom = dump_dom(page);
  EXPECT_THAT(dom, HasSubstr("data-drawn=\"step\""));
  // One stacked series per tag on the timeline, each a path with its tag's class.
  for (const std::string& tag : kTags) {
    SCOPED_TRACE(tag);
    EXPECT_EQ(count(dom, "class=\"series tag-" + tag + "\""), 1);
    EXPECT_TRUE(std::regex_search(
        dom, std::regex("<path d=\"M[^\"]+Z\" class=\"series tag-" + tag + "\"")));
  }
  // The peak: its marker, and a label naming the op where the measured peak is.
  EXPECT_EQ(count(dom, "class=\"peak-marker\""), 1);
  const std::string op = j["measured"]["peak_at"]["op"];
  EXPECT_TRUE(std::regex_search(
      dom, std::regex("class=\"peak-label\"[^>]*>peak [0-9.]+ MiB at op " +
                      std::to_string(j["measured"]["peak_at"]["op_index"].get<int>()) + ": " + op +
                      "<")))
      << dom.substr(0, 2000);
  // A hover column per op, with its name in an SVG <title>.
  const int ops = count(dom, "class=\"op-col\"");
  EXPECT_GT(ops, 20);
  EXPECT_THAT(dom, HasSubstr("<title>op 1: conv1.forward (forward)"));
  // The largest buffers at the peak, the per-layer bars and the predicted-vs-measured table.
  EXPECT_GE(count(dom, "class=\"buffer-bar tag-"), 5);
  EXPECT_GE(count(dom, "class=\"layer-bar params\""), 5);
  EXPECT_THAT(dom, HasSubstr("class=\"stats\""));
  EXPECT_EQ(count(dom, ">DIFFERS<"), 0);
  EXPECT_GE(count(dom, ">equal<"), 8);

  // A screenshot at the README's size.
  const fs::path png = dir_ / "lenet5.png";
  const ProcessResult shot =
      chromium(page, {"--screenshot=" + png.string(), "--window-size=1400,1000"});
  ASSERT_EQ(shot.exit_code, 0) << shot.err;
  std::ifstream in(png, std::ios::binary);
  std::string head(8, '\0');
  in.read(head.data(), 8);
  EXPECT_EQ(head, "\x89PNG\r\n\x1a\n");
  EXPECT_GT(fs::file_size(png), 20000u);  // a drawn page, not a blank one
}

TEST_F(Chromium, ComparisonPagesDrawTheirCharts) {
  const fs::path opt = dir_ / "opt.html", reuse = dir_ / "reuse.html", sweep = dir_ / "sweep.html";
  run_json({"compare-optimizers", "--model", "lenet5", "--batch", "2", "--json", "--html",
            opt.string()});
  const json reuse_json =
      run_json({"compare-reuse", "--model", "lenet5", "--batch", "1", "--repeat", "1", "--threads",
                "1", "--json", "--html", reuse.string()});
  int planned = 0;
  for (const json& row : reuse_json["rows"]) planned += row.contains("error") ? 0 : 1;
  const json sweep_json = run_json({"sweep-checkpoint", "--model", "vgg-mini", "--batch", "2",
                                    "--no-measure", "--json", "--html", sweep.string()});

  const std::string o = dump_dom(opt);
  EXPECT_THAT(o, HasSubstr("data-drawn=\"compare-optimizers\""));
  EXPECT_EQ(count(o, "class=\"row\""), 12);  // one stacked bar per configuration
  EXPECT_GE(count(o, "class=\"seg tag-optimizer_state\""), 8);

  const std::string r = dump_dom(reuse);
  EXPECT_THAT(r, HasSubstr("data-drawn=\"compare-reuse\""));
  EXPECT_GE(planned, 4);
  EXPECT_EQ(count(r, "class=\"arena-outline\""), planned);  // a row per strategy that planned
  EXPECT_EQ(count(r, "class=\"lower-bound\""), 1);
  EXPECT_EQ(count(r, "class=\"bar over-bar\""), count(r, "class=\"arena-outline\""));

  const std::string s = dump_dom(sweep);
  EXPECT_THAT(s, HasSubstr("data-drawn=\"sweep-checkpoint\""));
  EXPECT_EQ(count(s, "<circle cx="), static_cast<int>(sweep_json["rows"].size()));
  int budgets = 0;
  for (const json& row : sweep_json["rows"]) {
    budgets += row["policy"].get<std::string>().starts_with("budget:") ? 1 : 0;
  }
  EXPECT_EQ(count(s, "class=\"curve\""), budgets > 1 ? 1 : 0);  // joins the budget points
}

}  // namespace
}  // namespace cnnmem::test
