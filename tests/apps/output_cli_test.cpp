// --trace, --html, --csv, --quiet and --progress-every from the outside: stdout stays one JSON
// object, the files hold the step the command measured (the trace's peak is the JSON's measured
// peak), bad paths are refused before any work with one line, and nothing is left half-written.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/apps/cli_helpers.h"
#include "tests/report/trace_check.h"
#include "tests/util/temp_dir.h"

namespace cnnmem::test {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  for (std::string line; std::getline(s, line);) out.push_back(line);
  return out;
}

class OutputFiles : public TempDirTest {
 protected:
  // Only the files asked for: no temporary file is left behind.
  void expect_files(std::vector<std::string> names) const {
    std::sort(names.begin(), names.end());
    EXPECT_EQ(file_names(dir_), names);
  }
};

TEST_F(OutputFiles, TrainWritesTraceHtmlAndCsvOfTheLastStep) {
  const json j = run_json({"train", "--model", "lenet5", "--data", "synthetic", "--max-steps", "3",
                           "--batch", "4", "--no-eval", "--threads", "1", "--json", "--trace",
                           path("t.json"), "--html", path("t.html"), "--csv", path("t.csv")});
  ASSERT_TRUE(j.contains("measured"));
  expect_files({"t.json", "t.html", "t.csv", "t.buffers.csv"});
  const json trace = json::parse(read_file(dir_ / "t.json"));
  TraceSummary s;
  ASSERT_NO_FATAL_FAILURE(check_trace(trace, &s));
  EXPECT_EQ(s.max_counter_sum, j["measured"]["peak_bytes"]);
  EXPECT_EQ(s.peak["bytes"], j["measured"]["peak_bytes"]);
  EXPECT_EQ(s.peak["op"], j["measured"]["peak_at"]["op"]);
  EXPECT_EQ(trace["otherData"]["step"], 2);  // the last of 3 training steps
  EXPECT_EQ(trace["otherData"]["model"], "lenet5");

  const std::vector<std::string> timeline = lines_of(read_file(dir_ / "t.csv"));
  ASSERT_EQ(timeline.size(), static_cast<size_t>(s.slices) + 1);
  int64_t peak = 0;
  for (size_t i = 1; i < timeline.size(); ++i) {
    peak = std::max<int64_t>(peak, std::stoll(timeline[i].substr(timeline[i].rfind(',') + 1)));
    EXPECT_NE(timeline[i].find(s.slice_names[i - 1]), std::string::npos);
  }
  EXPECT_EQ(peak, j["measured"]["peak_bytes"]);
  const std::string buffers = read_file(dir_ / "t.buffers.csv");
  EXPECT_EQ(buffers.rfind("buffer_id,name,tag,", 0), 0u);
  EXPECT_NE(buffers.find(",conv1.weight,weight,"), std::string::npos);

  const std::string html = read_file(dir_ / "t.html");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("\"source\":\"measured\""), std::string::npos);
}

TEST_F(OutputFiles, CostWithoutMeasureDrawsThePrediction) {
  const json j = run_json({"cost", "--model", "vgg-mini", "--mode", "infer", "--batch", "2",
                           "--json", "--html", path("p.html"), "--csv", path("p")});
  expect_files({"p.html", "p", "p.buffers.csv"});
  const std::string html = read_file(dir_ / "p.html");
  EXPECT_NE(html.find("\"source\":\"predicted\""), std::string::npos);
  const std::vector<std::string> timeline = lines_of(read_file(dir_ / "p"));
  ASSERT_GT(timeline.size(), 2u);
  // Predicted rows have no times: begin_s and end_s are empty.
  EXPECT_NE(timeline[1].find(",,"), std::string::npos);
}

TEST_F(OutputFiles, CostMeasureAndInferWriteTraces) {
  run_json({"cost", "--model", "lenet5", "--mode", "train", "--batch", "2", "--measure", "--json",
            "--threads", "1", "--trace", path("cost.json")});
  const json j = run_json({"infer", "--model", "lenet5", "--batch", "2", "--repeat", "2", "--json",
                           "--threads", "1", "--trace", path("infer.json")});
  expect_files({"cost.json", "infer.json"});
  for (const char* name : {"cost.json", "infer.json"}) {
    SCOPED_TRACE(name);
    TraceSummary s;
    ASSERT_NO_FATAL_FAILURE(check_trace(json::parse(read_file(dir_ / name)), &s));
    EXPECT_EQ(s.instants, 1);
    EXPECT_EQ(s.counters.size(), kTags.size());
  }
  TraceSummary s;
  check_trace(json::parse(read_file(dir_ / "infer.json")), &s);
  EXPECT_EQ(s.peak["bytes"], j["measured"]["peak_bytes"]);
}

TEST_F(OutputFiles, ComparisonCommandsWriteHtml) {
  run_json({"compare-optimizers", "--model", "lenet5", "--batch", "2", "--json", "--html",
            path("opt.html")});
  run_json({"compare-reuse", "--model", "lenet5", "--batch", "1", "--repeat", "1", "--threads", "1",
            "--json", "--html", path("reuse.html")});
  run_json({"sweep-checkpoint", "--model", "lenet5", "--batch", "2", "--no-measure", "--json",
            "--html", path("sweep.html")});
  expect_files({"opt.html", "reuse.html", "sweep.html"});
  EXPECT_NE(read_file(dir_ / "opt.html").find("\"kind\":\"compare-optimizers\""),
            std::string::npos);
  EXPECT_NE(read_file(dir_ / "reuse.html").find("\"kind\":\"compare-reuse\""), std::string::npos);
  EXPECT_NE(read_file(dir_ / "sweep.html").find("\"kind\":\"sweep-checkpoint\""),
            std::string::npos);
}

TEST_F(OutputFiles, BadPathsAreRefusedBeforeAnyWork) {
  const std::string missing = path("no/such/dir/x.html");
  expect_user_error(
      {"cost", "--model", "lenet5", "--mode", "train", "--batch", "2", "--html", missing},
      {"--html", "does not exist"});
  expect_user_error({"train", "--model", "lenet5", "--data", "synthetic", "--max-steps", "1",
                     "--trace", path("no/t.json")},
                    {"--trace", "does not exist"});
  expect_user_error(
      {"cost", "--model", "lenet5", "--mode", "train", "--batch", "2", "--trace", path("t.json")},
      {"--trace", "--measure"});
  expect_user_error(
      {"cost", "--model", "lenet5", "--mode", "train", "--batch", "2", "--html", dir_.string()},
      {"--html", "is a directory"});
  expect_user_error({"cost", "--model", "lenet5", "--mode", "train", "--batch", "2", "--measure",
                     "--html", path("same"), "--trace", path("same")},
                    {"same", "its own file"});
  expect_user_error({"cost", "--model", "lenet5", "--mode", "train", "--batch", "2", "--html",
                     path("r.buffers.csv"), "--csv", path("r.csv")},
                    {"r.buffers.csv", "its own file"});
  expect_user_error({"compare-reuse", "--model", "lenet5", "--html", missing},
                    {"--html", "does not exist"});
  expect_files({});
}

// A directory that exists but cannot take a file is found out before any work, for every
// output flag (the check creates the file and removes it again).
TEST_F(OutputFiles, DirectoriesThatCannotTakeAFileAreRefusedBeforeAnyWork) {
  const std::vector<std::string> train = {"train",     "--model",     "lenet5", "--data",
                                          "synthetic", "--max-steps", "1",      "--no-eval"};
  for (const std::string flag : {"--html", "--trace", "--csv", "--save"}) {
    std::vector<std::string> args = train;
    args.insert(args.end(), {flag, "/proc/cnnmem-x.out"});
    expect_user_error(args, {flag, "/proc/cnnmem-x.out", "cannot create a file in /proc"});
  }
  expect_user_error({"infer", "--model", "lenet5", "--batch", "1", "--output-tensor",
                     "/proc/cnnmem-out.safetensors"},
                    {"--output-tensor", "cannot create a file in /proc"});
  expect_files({});
}

// The check leaves a file that is already there as it was (until the run replaces it whole).
TEST_F(OutputFiles, TheCheckLeavesAnExistingFileAlone) {
  { std::ofstream(dir_ / "keep.html") << "the user's"; }
  expect_user_error({"cost", "--model", "lenet5", "--mode", "train", "--batch", "2", "--html",
                     path("keep.html"), "--csv", path("keep.html")},
                    {"keep.html", "its own file"});
  EXPECT_EQ(read_file(dir_ / "keep.html"), "the user's");
  expect_files({"keep.html"});
}

TEST_F(OutputFiles, AnExistingFileIsReplacedWhole) {
  {
    std::ofstream old(dir_ / "r.html");
    old << std::string(1 << 20, 'x');  // longer than the page
  }
  run_json({"cost", "--model", "lenet5", "--mode", "infer", "--batch", "1", "--json", "--html",
            path("r.html")});
  const std::string html = read_file(dir_ / "r.html");
  EXPECT_EQ(html.find('x' + std::string(100, 'x')), std::string::npos);
  EXPECT_EQ(html.substr(html.size() - 8), "</html>\n");
  expect_files({"r.html"});
}

// ---- progress ----

TEST(TrainProgress, PlainLinesEveryNStepsWhenNotATerminal) {
  const ProcessResult r =
      run_cnnmem({"train", "--model", "lenet5", "--data", "synthetic", "--max-steps", "5",
                  "--batch", "2", "--no-eval", "--threads", "1", "--progress-every", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos);
  EXPECT_EQ(r.err.find("\x1b["), std::string::npos);
  std::vector<std::string> progress;
  for (const std::string& line : lines_of(r.err)) {
    if (line.rfind("epoch ", 0) == 0) progress.push_back(line);
  }
  ASSERT_EQ(progress.size(), 3u) << r.err;
  EXPECT_THAT(progress[0], HasSubstr("step 2/5 (40%) loss "));
  EXPECT_THAT(progress[1], HasSubstr("step 4/5"));
  EXPECT_THAT(progress[2], HasSubstr("step 5/5 (100%)"));
  EXPECT_THAT(progress[2], HasSubstr("images/s, ETA 0:00"));
}

TEST(TrainProgress, DefaultIsAboutTwentyLines) {
  const ProcessResult r =
      run_cnnmem({"train", "--model", "lenet5", "--data", "synthetic", "--max-steps", "40",
                  "--batch", "1", "--no-eval", "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int n = 0;
  for (const std::string& line : lines_of(r.err)) n += line.rfind("epoch ", 0) == 0 ? 1 : 0;
  EXPECT_EQ(n, 20) << r.err;
}

TEST(TrainProgress, QuietAndJsonKeepStderrEmpty) {
  const ProcessResult quiet =
      run_cnnmem({"train", "--model", "lenet5", "--data", "synthetic", "--max-steps", "3",
                  "--batch", "2", "--no-eval", "--threads", "1", "--quiet"});
  EXPECT_EQ(quiet.exit_code, 0);
  EXPECT_EQ(quiet.err, "");
  EXPECT_THAT(quiet.out, HasSubstr("trained 3 steps"));
  // --json: stdout one object, stderr empty unless --progress-every asks for lines.
  run_json({"train", "--model", "lenet5", "--data", "synthetic", "--max-steps", "3", "--batch", "2",
            "--no-eval", "--threads", "1", "--json"});
  const ProcessResult lines = run_cnnmem({"train", "--model", "lenet5", "--data", "synthetic",
                                          "--max-steps", "3", "--batch", "2", "--no-eval",
                                          "--threads", "1", "--json", "--progress-every", "1"});
  EXPECT_EQ(lines.exit_code, 0);
  EXPECT_TRUE(json::parse(lines.out).is_object());
  EXPECT_EQ(lines_of(lines.err).size(), 3u) << lines.err;
}

TEST(TrainProgress, BadEveryIsAUserError) {
  expect_user_error({"train", "--model", "lenet5", "--data", "synthetic", "--max-steps", "3",
                     "--progress-every", "0"},
                    {"--progress-every"});
}

}  // namespace
}  // namespace cnnmem::test
