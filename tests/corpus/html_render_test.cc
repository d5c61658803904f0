// The HTML compare report in a real browser: headless Chromium loads a rendered synthetic report
// offline and must log no console message (script errors, blocked loads, CSP violations), build
// every SVG plot with drawn elements, run the report's script to its end, and paint a
// non-trivial screenshot (kept in the build tree: reports/compare_report.png).
//
// Chromium is a test dependency (scripts/install_deps.sh --tests): without it this test fails
// instead of skipping, so a CI machine that lost it cannot pass silently.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "quantlens/io/image.h"
#include "quantlens/report/html_report.h"
#include "quantlens/report/png.h"
#include "testing/cli_runner.h"

namespace ql::report {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::TempDir;

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  ASSERT_TRUE(f.good()) << path;
}

// The browser on PATH, or "" when there is none.
std::string FindChromium() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path == nullptr ? "" : path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    for (const char* name : {"chromium", "chromium-browser"}) {
      const fs::path p = fs::path(dir) / name;
      if (!dir.empty() && ::access(p.c_str(), X_OK) == 0) return p.string();
    }
  }
  return "";
}

struct BrowserRun {
  int status = -1;
  std::string out, err;
  double seconds = 0;
};

// Loads `html` in headless Chromium with a fresh profile in `work`; `mode` is "--dump-dom" or
// "--screenshot=PATH --window-size=W,H". stderr gets Chromium's log, console messages included.
BrowserRun RunChromium(const std::string& html, const std::string& work, const std::string& mode) {
  static int n = 0;
  const std::string chromium = FindChromium();
  const std::string profile = fmt::format("{}/profile{}", work, n);
  const std::string out = fmt::format("{}/chromium{}.out", work, n);
  const std::string err = fmt::format("{}/chromium{}.err", work, n++);
  // `timeout` keeps a hung browser from hanging the suite.
  const std::string cmd = fmt::format(
      "timeout -k 5 60 '{}' --headless=new --no-sandbox --disable-gpu --enable-logging=stderr --v=0 "
      "--no-first-run --user-data-dir='{}' {} 'file://{}' >'{}' 2>'{}'",
      chromium, profile, mode, fs::absolute(html).string(), out, err);
  const auto start = std::chrono::steady_clock::now();
  const int raw = std::system(cmd.c_str());
  BrowserRun r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  r.out = Slurp(out);
  r.err = Slurp(err);
  return r;
}

// Chromium with --enable-logging=stderr writes every console message of the page (console.log
// and console.error alike, uncaught exceptions, CSP violations, failed loads) as a log line
//   [pid:tid:time:INFO:CONSOLE:12] "Uncaught ReferenceError: f is not defined", source: file:///... (12)
// The report logs nothing itself, so any such line is a failure. (The other log lines, dbus and
// GPU noise of a container, are the browser's and not the page's.)
std::vector<std::string> ConsoleLines(const std::string& log) {
  std::vector<std::string> lines;
  std::stringstream s(log);
  std::string line;
  while (std::getline(s, line)) {
    if (line.find(":CONSOLE") != std::string::npos || line.find("Uncaught") != std::string::npos) {
      lines.push_back(line);
    }
  }
  return lines;
}

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) ++n;
  return n;
}

// The serialized <svg> with this id in the dumped DOM, up to its closing tag.
std::string SvgById(const std::string& dom, const std::string& id) {
  const size_t at = dom.find("id=\"" + id + "\"");
  if (at == std::string::npos) return "";
  const size_t start = dom.rfind("<svg", at);
  const size_t end = dom.find("</svg>", at);
  if (start == std::string::npos || end == std::string::npos) return "";
  return dom.substr(start, end - start);
}

// A report shaped like a real --layers --try-fixes run: 40 layers with nulls, histograms on the
// worst three, a budget, two outputs with 2000 scatter pairs, flipped samples with images.
json SyntheticReport() {
  json layers = json::array();
  for (int i = 0; i < 40; ++i) {
    const double acc = 45 - 0.6 * i + 3 * std::sin(i * 0.7);
    const double iso = 50 - 0.3 * i + 6 * std::cos(i * 1.3);
    json stats_acc = {{"mean_error", 0.0},
                      {"mean_abs", 0.01},
                      {"max_abs", 0.1},
                      {"mse", 1e-4},
                      {"sqnr_db", i == 0 ? json(nullptr) : json(acc)},
                      {"cosine", 0.99}};
    json stats_iso = stats_acc;
    stats_iso["sqnr_db"] = iso;
    json l = {{"rank", 0},
              {"reference_layer", fmt::format("block{}/conv", i)},
              {"node", 0},
              {"candidate_tensor", fmt::format("model/block{}/Relu", i)},
              {"candidate_index", i},
              {"candidate_op", i % 4 == 3 ? "DEPTHWISE_CONV_2D" : "CONV_2D"},
              {"candidate_dtype", "INT8"},
              {"aligned_by", "layer-map"},
              {"accumulated", stats_acc},
              {"isolated", i == 5 ? json(nullptr) : stats_iso},
              {"cause", "rounding"},
              {"evidence", "rmse 0.4 steps"},
              {"remedy", "none needed"}};
    layers.push_back(l);
  }
  layers[17]["reference_layer"] = "<script>alert(1)</script>";
  const int worst[] = {17, 29, 8};
  for (int r = 0; r < 3; ++r) {
    json& l = layers[static_cast<size_t>(worst[r])];
    l["rank"] = r + 1;
    l["cause"] = r == 0 ? "clipping" : "weight-quantization";
    json edges = json::array(), ref = json::array(), cand = json::array();
    for (int b = 0; b <= 30; ++b) edges.push_back(-3 + 0.2 * b);
    for (int b = 0; b < 30; ++b) {
      const double x = -3 + 0.2 * b + 0.1;
      ref.push_back(std::round(1000 * std::exp(-x * x / 2)));
      cand.push_back(std::round(1000 * std::exp(-(x - 0.2) * (x - 0.2) / 1.6)));
    }
    l["histogram"] = {{"edges", edges}, {"reference", ref}, {"candidate", cand}};
  }
  for (int i = 0; i < 40; ++i) {
    if (layers[static_cast<size_t>(i)]["rank"] == 0 && i % 2 == 1) layers[static_cast<size_t>(i)]["rank"] = 4 + i;
  }
  json ref = json::array(), cand = json::array();
  for (int i = 0; i < 2000; ++i) {
    const double v = std::sin(i * 0.37) * 4;
    ref.push_back(v);
    cand.push_back(v + 0.15 * std::sin(i * 1.91));
  }
  json flips = json::array();
  for (int s = 0; s < 4; ++s) {
    std::vector<uint8_t> px(24 * 24 * 3);
    for (size_t k = 0; k < px.size(); ++k) px[k] = static_cast<uint8_t>((k * (7 + static_cast<size_t>(s))) % 251);
    flips.push_back({{"sample", 3 * s + 1},
                     {"reference_class", s},
                     {"candidate_class", s + 1},
                     {"image", PngDataUri(px, 24, 24, 3)}});
  }
  json out0 = {{"index", 0},
               {"reference_name", "logits"},
               {"candidate_name", "Identity"},
               {"mean_abs_diff", 0.05},
               {"max_abs_diff", 0.6},
               {"rmse", 0.08},
               {"sqnr_db", 24.3},
               {"cosine", 0.997},
               {"top1_agreement", 0.95},
               {"top5_agreement", 1.0},
               {"reference_accuracy", 0.81},
               {"candidate_accuracy", 0.79},
               {"flips", flips},
               {"worst_samples", json::array()},
               {"scatter", {{"reference", ref}, {"candidate", cand}}}};
  json out1 = {{"index", 1},
               {"reference_name", "aux"},
               {"candidate_name", "Identity_1"},
               {"mean_abs_diff", 0},
               {"max_abs_diff", 0},
               {"rmse", 0},
               {"sqnr_db", nullptr},
               {"cosine", 1},
               {"flips", json::array()},
               {"worst_samples", json::array()},
               {"scatter", {{"reference", {0.5, 1.5, 2.5}}, {"candidate", {0.5, 1.5, 2.5}}}}};
  return {{"schema", "quantlens.compare"},
          {"schema_version", 1},
          {"reference", "vww_96.h5"},
          {"candidate", "vww_96_int8.tflite"},
          {"reference_numerics", "tflite-x86"},
          {"candidate_numerics", "tflite-x86"},
          {"data", "folder images/ (32 images)"},
          {"samples", 32},
          {"outputs", {out0, out1}},
          {"budget",
           {{"total_mse", 1e-3},
            {"weight_quantization", {{"mse", 2e-4}, {"share", 0.2}}},
            {"activation_quantization", {{"mse", 7e-4}, {"share", 0.7}}},
            {"kernel_numerics", {{"mse", 1e-4}, {"share", 0.1}}}}},
          {"layers", layers},
          {"findings", {{{"cause", "kernel-numerics"}, {"evidence", "ops differ"}, {"remedy", "none"}}}},
          {"fixes",
           {{{"remedy", "per-channel weights"},
             {"command", "quantlens convert a -o b --per-channel"},
             {"before", {{"sqnr_db", 18.2}, {"top1_agreement", 0.93}}},
             {"after", {{"sqnr_db", 27.9}, {"top1_agreement", 0.99}}}}}},
          {"unmatched", {{{"side", "reference"}, {"name", "dropout"}, {"reason", "removed by the converter"}}}}};
}

TEST(HtmlRender, ChromiumIsInstalled) {
  ASSERT_FALSE(FindChromium().empty())
      << "chromium not found on PATH: the HTML render tests need it (scripts/install_deps.sh --tests installs it)";
}

// The detection itself: a page with a planted console.error, an uncaught exception and a load
// the report's Content-Security-Policy blocks must produce exactly those console lines.
TEST(HtmlRender, DetectsConsoleErrorsInAPlantedPage) {
  ASSERT_FALSE(FindChromium().empty()) << "chromium not found on PATH (scripts/install_deps.sh --tests)";
  TempDir dir;
  const std::string page = dir.File("planted.html");
  Write(page,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" "
        "content=\"default-src 'none'; img-src data:; script-src 'unsafe-inline'\"></head><body><p>planted</p>"
        "<img src=\"https://example.invalid/x.png\">"
        "<script>console.error('planted console error'); notAFunction();</script></body></html>");
  const BrowserRun r = RunChromium(page, dir.File(""), "--dump-dom");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("<p>planted</p>"), std::string::npos) << r.out;
  const auto lines = ConsoleLines(r.err);
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  EXPECT_EQ(lines.size(), 3u) << r.err;
  EXPECT_NE(all.find("planted console error"), std::string::npos) << r.err;
  EXPECT_NE(all.find("Uncaught ReferenceError: notAFunction"), std::string::npos) << r.err;
  EXPECT_NE(all.find("Content Security Policy"), std::string::npos) << r.err;
}

TEST(HtmlRender, ReportRendersCleanlyInChromium) {
  ASSERT_FALSE(FindChromium().empty()) << "chromium not found on PATH (scripts/install_deps.sh --tests)";
  TempDir dir;
  auto html = RenderCompareHtml(SyntheticReport());
  ASSERT_TRUE(html.ok()) << html.status().message();
  // Kept next to the screenshot in the build tree (the test runs in the build directory), so a
  // person can open what the test looked at.
  fs::create_directories("reports");
  const std::string page = fs::absolute("reports/compare_report.html").string();
  Write(page, *html);

  const BrowserRun dom = RunChromium(page, dir.File(""), "--dump-dom");
  ASSERT_EQ(dom.status, 0) << dom.err;
  const auto console = ConsoleLines(dom.err);
  EXPECT_TRUE(console.empty()) << "console messages:\n" << fmt::format("{}", fmt::join(console, "\n"));
  // The legend script ran to its end.
  EXPECT_NE(dom.out.find("data-script=\"ok\""), std::string::npos);
  // Escaped name survived as text; no injected script element.
  EXPECT_EQ(dom.out.find("<script>alert(1)"), std::string::npos);
  EXPECT_NE(dom.out.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);

  struct Expect {
    const char* id;
    const char* element;
    size_t at_least;
  };
  for (const Expect& e :
       {Expect{"plot-layer-sqnr", "<path", 2}, Expect{"plot-layer-sqnr", "<circle", 70},
        Expect{"plot-budget", "<rect", 3}, Expect{"plot-hist-17", "<path", 2}, Expect{"plot-hist-29", "<path", 2},
        Expect{"plot-hist-8", "<path", 2}, Expect{"plot-scatter-0", "<circle", 2000},
        Expect{"plot-scatter-0", "class=\"identity\"", 1}, Expect{"plot-scatter-1", "<circle", 3}}) {
    const std::string svg = SvgById(dom.out, e.id);
    ASSERT_FALSE(svg.empty()) << e.id << " missing from the DOM";
    EXPECT_GE(Count(svg, e.element), e.at_least) << e.id << " " << e.element;
  }
  EXPECT_EQ(Count(dom.out, "<img class=\"sample\" src=\"data:image/png;base64,"), 4u);

  const std::string shot = fs::absolute("reports/compare_report.png").string();
  fs::remove(shot);
  const BrowserRun sr = RunChromium(page, dir.File(""), "--screenshot='" + shot + "' --window-size=1280,4000");
  ASSERT_EQ(sr.status, 0) << sr.err;
  EXPECT_TRUE(ConsoleLines(sr.err).empty()) << sr.err;
  ASSERT_TRUE(fs::exists(shot)) << sr.err;
  EXPECT_GT(fs::file_size(shot), 20000u);
  // Non-trivial: the painted page has text, lines and plot colours, not one flat colour.
  auto image = io::DecodeImage(shot, 3);
  ASSERT_TRUE(image.ok()) << image.status().message();
  EXPECT_EQ(image->width, 1280);
  std::set<uint32_t> colors;
  size_t non_white = 0;
  for (size_t i = 0; i + 2 < image->pixels.size(); i += 3) {
    const uint8_t* p = &image->pixels[i];
    colors.insert((uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2]);
    if (p[0] < 240 || p[1] < 240 || p[2] < 240) ++non_white;
  }
  EXPECT_GT(colors.size(), 50u);
  EXPECT_GT(non_white, image->pixels.size() / 3 / 100);  // over 1% of the page is drawn
  // The plots' own colours were painted (accumulated line blue, candidate red).
  EXPECT_TRUE(colors.count(0x1f77b4) > 0 || colors.count(0xd62728) > 0);
  // Recorded, not asserted: a loaded CI machine may be slower (about 3 s here).
  RecordProperty("chromium_seconds", fmt::format("{:.1f}", dom.seconds + sr.seconds));
}

// The report `quantlens compare --html` writes for a real pair (the Keras VWW model against
// TensorFlow's int8 conversion, on the corpus photos): no console errors, every plot drawn, the
// flipped samples shown as images. Screenshot kept as reports/compare_vww.png.
TEST(HtmlRender, RealCompareReportRendersCleanly) {
  ASSERT_FALSE(FindChromium().empty()) << "chromium not found on PATH (scripts/install_deps.sh --tests)";
  TempDir dir;
  const std::string corpus = std::string(QUANTLENS_SHARED_DIR) + "/corpus";
  fs::create_directories("reports");
  const std::string page = fs::absolute("reports/compare_vww.html").string();
  auto run = testing::Quantlens("compare '" + corpus + "/mlperf_tiny/vww_96.h5' '" + corpus +
                                "/mlperf_tiny/vww_96_int8.tflite' --data '" + corpus +
                                "/images' --resize 96x96 --scale 0.00392157 --html '" + page + "'");
  ASSERT_EQ(run.status, 0) << run.err;
  const BrowserRun dom = RunChromium(page, dir.File(""), "--dump-dom");
  ASSERT_EQ(dom.status, 0) << dom.err;
  const auto console = ConsoleLines(dom.err);
  EXPECT_TRUE(console.empty()) << "console messages:\n" << fmt::format("{}", fmt::join(console, "\n"));
  EXPECT_NE(dom.out.find("data-script=\"ok\""), std::string::npos);
  for (const char* id : {"plot-layer-sqnr", "plot-budget", "plot-scatter-0"}) {
    const std::string svg = SvgById(dom.out, id);
    ASSERT_FALSE(svg.empty()) << id << " missing from the DOM";
    EXPECT_GE(Count(svg, "<path") + Count(svg, "<rect") + Count(svg, "<circle"), 3u) << id;
  }
  EXPECT_GE(Count(dom.out, "<svg"), 5u);  // the layer plot, budget, scatter and histograms
  EXPECT_GE(Count(dom.out, "src=\"data:image/png;base64,"), 1u);  // the flipped photo
  const std::string shot = fs::absolute("reports/compare_vww.png").string();
  fs::remove(shot);
  const BrowserRun sr = RunChromium(page, dir.File(""), "--screenshot='" + shot + "' --window-size=1280,3000");
  ASSERT_EQ(sr.status, 0) << sr.err;
  EXPECT_TRUE(ConsoleLines(sr.err).empty()) << sr.err;
  EXPECT_TRUE(fs::exists(shot));
}

}  // namespace
}  // namespace ql::report
