// The HTML compare report (src/quantlens/report): content and order of the sections, escaping of
// every report string, no external resources, null and missing fields, and the PNG data URIs.
#include "quantlens/report/html_report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "quantlens/io/image.h"
#include "quantlens/report/png.h"
#include "quantlens/report/svg_plot.h"

namespace ql::report {
namespace {

using json = nlohmann::json;

const std::string kEvilName = "<script>alert(1)</script>";

json Stats(json sqnr) {
  return {{"mean_error", -0.001},
          {"mean_abs", 0.01},
          {"max_abs", 0.2},
          {"mse", 1e-4},
          {"sqnr_db", sqnr},
          {"cosine", 0.999},
          {"rmse_over_step", 0.31},
          {"clipped_share", 0.0},
          {"saturated_share", nullptr},
          {"range_utilization", 0.83},
          {"channel_bias_share", 0.02}};
}

json Layer(int rank, const std::string& name, json accumulated_sqnr, json isolated, const std::string& cause) {
  return {{"rank", rank},
          {"reference_layer", name},
          {"node", 0},
          {"candidate_tensor", "model/" + name + "/Relu"},
          {"candidate_index", 41},
          {"candidate_op", "CONV_2D"},
          {"candidate_dtype", "INT8"},
          {"aligned_by", "layer-map"},
          {"accumulated", Stats(std::move(accumulated_sqnr))},
          {"isolated", std::move(isolated)},
          {"cause", cause},
          {"evidence", "12.4% of values > range [-1.2, 3.1] & \"quoted\""},
          {"remedy", "quantlens convert a.h5 -o b.tflite --calibration-method percentile:99.99"}};
}

std::string TinyPng() {
  const std::vector<uint8_t> pixels = {255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9, 1, 2, 3, 200, 100, 50};
  return PngDataUri(pixels, 2, 3, 3);
}

// Every section filled: two outputs (a classifier with flips and a regression output whose SQNR
// is null), layers with a hostile name, nulls and histograms, a budget, fixes, unmatched.
json FullReport() {
  json scatter_ref = json::array(), scatter_cand = json::array();
  for (int i = 0; i < 50; ++i) {
    scatter_ref.push_back(i * 0.1);
    scatter_cand.push_back(i * 0.1 + (i % 3 - 1) * 0.02);
  }
  json out0 = {
      {"index", 0},
      {"reference_name", "Identity"},
      {"candidate_name", "StatefulPartitionedCall:0"},
      {"mean_abs_diff", 0.01},
      {"max_abs_diff", 0.2},
      {"rmse", 0.03},
      {"sqnr_db", 25.1},
      {"cosine", 0.999},
      {"top1_agreement", 0.97},
      {"top5_agreement", 1.0},
      {"reference_accuracy", 0.75},
      {"candidate_accuracy", 0.74},
      {"flips",
       {{{"sample", 12}, {"reference_class", 3}, {"candidate_class", 5}, {"image", TinyPng()}},
        {{"sample", 13}, {"reference_class", 1}, {"candidate_class", 2}},
        {{"sample", 14}, {"reference_class", 4}, {"candidate_class", 0}, {"image", "https://example.com/x.png"}}}},
      {"worst_samples", {{{"sample", 7}, {"max_abs_diff", 0.2}, {"mean_abs_diff", 0.02}}}},
      {"scatter", {{"reference", scatter_ref}, {"candidate", scatter_cand}}}};
  json out1 = {{"index", 1},
               {"reference_name", "boxes"},
               {"candidate_name", "boxes"},
               {"mean_abs_diff", 0},
               {"max_abs_diff", 0},
               {"rmse", 0},
               {"sqnr_db", nullptr},
               {"cosine", 1},
               {"flips", json::array()},
               {"worst_samples", json::array()},
               {"scatter", {{"reference", {1.0, 2.0}}, {"candidate", {1.0, 2.0}}}}};
  json layers = json::array();
  layers.push_back(Layer(0, "input_scale", nullptr, nullptr, "none"));
  layers.push_back(Layer(2, "conv2d_1", 31.5, Stats(33.0), "rounding"));
  layers.push_back(Layer(1, kEvilName, 18.2, Stats(19.5), "clipping"));
  layers.push_back(Layer(0, "relu_2", nullptr, Stats(nullptr), "none"));
  layers.push_back(Layer(3, "dense & 'logits'", 22.0, Stats(27.0), "weight-quantization"));
  layers[2]["histogram"] = {
      {"edges", {-1.0, 0.0, 1.0, 2.0, 3.0}}, {"reference", {5, 20, 30, 2}}, {"candidate", {4, 22, 31, 0}}};
  layers[4]["histogram"] = {{"edges", {0.0, 0.5, 1.0}}, {"reference", {10, 3}}, {"candidate", {9, 4}}};
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
          {"findings",
           {{{"cause", "input-preprocessing"}, {"evidence", "inputs differ <by> 1/255"}, {"remedy", "--scale"}}}},
          {"fixes",
           {{{"remedy", "per-channel weights"},
             {"command", "quantlens convert vww_96.h5 -o fix1.tflite --per-channel"},
             {"before", {{"sqnr_db", 18.2}, {"top1_agreement", 0.93}}},
             {"after", {{"sqnr_db", 27.9}, {"top1_agreement", 0.99}}}},
            {{"remedy", "float16"},
             {"command", "quantlens convert vww_96.h5 -o fix2.tflite --mode float16"},
             {"before", {{"sqnr_db", 18.2}}},
             {"error", "the model has no float16 <path>"}}}},
          {"unmatched", {{{"side", "candidate"}, {"name", "model/quant<1>"}, {"reason", "no reference layer"}}}}};
}

json MinimalReport() {
  json r = FullReport();
  r["outputs"][0].erase("scatter");
  r["outputs"][0]["flips"] = json::array();
  r["outputs"].erase(1);
  r["budget"] = nullptr;
  r["layers"] = json::array();
  r["findings"] = json::array();
  r["fixes"] = json::array();
  r["unmatched"] = json::array();
  return r;
}

std::string Render(const json& r) {
  auto html = RenderCompareHtml(r);
  EXPECT_TRUE(html.ok()) << html.status().message();
  return html.ok() ? *html : std::string();
}

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) ++n;
  return n;
}

// The text of the <svg> element with this id (empty if there is none).
std::string Svg(const std::string& html, const std::string& id) {
  const size_t at = html.find("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"" + id + "\"");
  if (at == std::string::npos) return "";
  const size_t end = html.find("</svg>", at);
  return end == std::string::npos ? "" : html.substr(at, end - at);
}

TEST(HtmlReport, FullReportHasEverySectionInOrder) {
  const std::string html = Render(FullReport());
  ASSERT_FALSE(html.empty());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  size_t last = 0;
  for (const char* id : {"summary", "outputs", "findings", "causes", "layer-error", "budget", "histograms", "scatter", "flips",
                         "fixes", "unmatched"}) {
    const size_t at = html.find(std::string("<section id=\"") + id + "\"");
    ASSERT_NE(at, std::string::npos) << id;
    EXPECT_GT(at, last) << id << " is out of order";
    last = at;
  }
  // Header fields, output metrics, classifier columns.
  for (const char* text :
       {"vww_96.h5", "vww_96_int8.tflite", "tflite-x86", "folder images/ (32 images)", "<dd>32</dd>", "Top-1 agreement",
        "97.00%", "Candidate accuracy", "74.00%", "StatefulPartitionedCall:0", "per-channel weights", "27.90", "99.00%",
        "not applied: the model has no float16 &lt;path&gt;", "model/quant&lt;1&gt;",
        "inputs differ &lt;by&gt; 1/255"}) {
    EXPECT_NE(html.find(text), std::string::npos) << text;
  }
}

TEST(HtmlReport, SummaryStatesHeadlineWorstLayersBudgetAndFindings) {
  const std::string html = Render(FullReport());
  const size_t begin = html.find("<section id=\"summary\"");
  ASSERT_NE(begin, std::string::npos);
  const std::string summary = html.substr(begin, html.find("</section>", begin) - begin);
  for (const char* text : {"top-1 agreement <b>97.0%</b> (3 flipped)", "SQNR <b>25.1 dB</b>",
                           "accuracy 75.0% &rarr; <b>74.0%</b>", "SQNR <b>&infin;</b>",
                           "weights 20% &middot; activations 70% &middot; kernel numerics 10%", "input-preprocessing"}) {
    EXPECT_NE(summary.find(text), std::string::npos) << text;
  }
  // The three ranked layers, worst first; the unranked ones are left out.
  const size_t w1 = summary.find("&lt;script&gt;"), w2 = summary.find("conv2d_1"), w3 = summary.find("dense &amp;");
  ASSERT_NE(w1, std::string::npos);
  EXPECT_LT(w1, w2);
  EXPECT_LT(w2, w3);
  EXPECT_EQ(summary.find("relu_2"), std::string::npos);

  json r = MinimalReport();
  r["budget_note"] = "needs --layers";
  const std::string minimal = Render(r);
  EXPECT_NE(minimal.find("not computed &ndash; needs --layers"), std::string::npos);
  EXPECT_NE(minimal.find("No error budget: needs --layers"), std::string::npos);
}

TEST(HtmlReport, LongConverterNamesAreShortenedWithTheFullNameAsTitle) {
  json r = FullReport();
  const std::string name =
      "model/activation_26/Relu;model/batch_normalization_26/FusedBatchNormV3;model/conv2d_13/BiasAdd";
  r["layers"][1]["candidate_tensor"] = name;
  r["layers"][1]["remedy_flags"] = "--mode int8 --int16 conv2d_1";
  r["layers"][1]["isolated"] = {{"sqnr_db", 31.5}, {"rmse_over_step", 0.76}, {"clipped_share", 0.0001},
                                {"saturated_share", 0.0}, {"range_utilization", 0.5}};
  const std::string html = Render(r);
  EXPECT_NE(html.find("title=\"" + name + "\naligned by"), std::string::npos);
  EXPECT_NE(html.find(">model/activation_26/Relu;\xE2\x80\xA6</td>"), std::string::npos);
  EXPECT_EQ(Count(html, ">" + name + "<"), 0u);  // never as cell text
  EXPECT_NE(html.find("--mode int8 --int16 conv2d_1"), std::string::npos);
  EXPECT_NE(html.find("0.76 steps<br>clip 0.01%<br>range 50%"), std::string::npos);
  EXPECT_NE(html.find("table-layout: fixed"), std::string::npos);
}

TEST(HtmlReport, EveryPlotIsInlineSvgWithDrawnElements) {
  const std::string html = Render(FullReport());
  const std::string line = Svg(html, "plot-layer-sqnr");
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(Count(line, "<path "), 2u);  // accumulated and isolated
  // 5 layers: accumulated has 3 finite values, isolated 3 (one null object, one null SQNR).
  EXPECT_EQ(Count(line, "<circle cx"), 6u);
  // The three ranked layers are labelled, worst first.
  EXPECT_EQ(Count(line, "class=\"point-label\""), 3u);
  EXPECT_NE(line.find("#1 &lt;script&gt;"), std::string::npos);

  const std::string budget = Svg(html, "plot-budget");
  ASSERT_FALSE(budget.empty());
  EXPECT_EQ(Count(budget, "<rect x="), 6u);  // 3 segments + 3 legend swatches
  EXPECT_NE(budget.find("70.0%"), std::string::npos);

  // Histograms: the two layers that have one, in rank order (index 2 = rank 1, index 4 = rank 3).
  const std::string h2 = Svg(html, "plot-hist-2"), h4 = Svg(html, "plot-hist-4");
  ASSERT_FALSE(h2.empty());
  ASSERT_FALSE(h4.empty());
  EXPECT_LT(html.find("id=\"plot-hist-2\""), html.find("id=\"plot-hist-4\""));
  EXPECT_EQ(Count(h2, "fill-opacity=\"0.25\""), 2u);  // reference and candidate series

  const std::string s0 = Svg(html, "plot-scatter-0");
  ASSERT_FALSE(s0.empty());
  EXPECT_EQ(Count(s0, "<circle "), 50u);
  EXPECT_NE(s0.find("class=\"identity\""), std::string::npos);
  EXPECT_FALSE(Svg(html, "plot-scatter-1").empty());
}

TEST(HtmlReport, EscapesEveryReportString) {
  const std::string html = Render(FullReport());
  EXPECT_EQ(html.find(kEvilName), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(Count(html, "<script"), 1u);  // only the report's own legend script
  EXPECT_NE(html.find("dense &amp; &#39;logits&#39;"), std::string::npos);
  EXPECT_NE(html.find("&amp; &quot;quoted&quot;"), std::string::npos);
  EXPECT_EQ(HtmlEscape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
}

TEST(HtmlReport, ReferencesNoExternalResource) {
  for (const json& r : {FullReport(), MinimalReport()}) {
    const std::string html = Render(r);
    static const std::regex kExternal(R"((src|href)\s*=\s*["']?\s*(https?:|//|file:))", std::regex::icase);
    EXPECT_FALSE(std::regex_search(html, kExternal));
    // The one image with an URL is left out; the data URI image is embedded.
    EXPECT_EQ(html.find("example.com"), std::string::npos);
    EXPECT_EQ(Count(html, "<link"), 0u);
    EXPECT_NE(html.find("Content-Security-Policy"), std::string::npos);
  }
  const std::string html = Render(FullReport());
  EXPECT_EQ(Count(html, "<img class=\"sample\" src=\"data:image/png;base64,"), 1u);
  EXPECT_NE(html.find("image left out"), std::string::npos);
}

TEST(HtmlReport, NullsAreShownNotDropped) {
  const std::string html = Render(FullReport());
  // Output 1 is identical (SQNR null): infinity, not 0 or an empty cell.
  EXPECT_NE(html.find("title=\"identical values: no finite SQNR\">&infin;</td>"), std::string::npos);
  // Layer input_scale has isolated = null.
  EXPECT_NE(html.find("title=\"not measured\">n/a</td>"), std::string::npos);
  // The accumulated line is broken at the null values: three separate runs.
  const std::string line = Svg(html, "plot-layer-sqnr");
  const size_t path = line.find("<path ");
  ASSERT_NE(path, std::string::npos);
  const std::string d = line.substr(path, line.find("/>", path) - path);
  EXPECT_EQ(Count(d, "M"), 2u) << d;  // conv2d_1 + evil | dense
}

TEST(HtmlReport, MinimalReportRendersWithNotes) {
  const std::string html = Render(MinimalReport());
  ASSERT_FALSE(html.empty());
  EXPECT_EQ(html.find("<svg"), std::string::npos) << "no plot without data";
  for (const char* note : {"No per-layer comparison", "No per-layer data to plot", "No error budget",
                           "No layer in this report carries a histogram", "No value pairs to plot",
                           "No sample changed its class", "No fixes were tried", "No model-level findings"}) {
    EXPECT_NE(html.find(note), std::string::npos) << note;
  }
  EXPECT_NE(html.find("</html>"), std::string::npos);
}

TEST(HtmlReport, ToleratesMistypedAndMissingFields) {
  json r = FullReport();
  r["layers"][1]["accumulated"] = "oops";
  r["layers"][2]["histogram"]["edges"] = {3.0, 2.0, 1.0, 0.0, -1.0};  // not increasing
  r["layers"][4]["histogram"]["candidate"] = {1, "x"};
  r["outputs"][0]["scatter"]["candidate"] = {1.0};  // length mismatch
  r["budget"]["weight_quantization"]["share"] = nullptr;
  r.erase("unmatched");
  r["findings"] = "not an array";
  const std::string html = Render(r);
  ASSERT_FALSE(html.empty());
  EXPECT_EQ(Count(html, "cannot be drawn"), 2u);
  EXPECT_TRUE(Svg(html, "plot-scatter-0").empty());
  EXPECT_FALSE(Svg(html, "plot-budget").empty());
  EXPECT_NE(html.find("</html>"), std::string::npos);
}

TEST(HtmlReport, RefusesOtherDocuments) {
  EXPECT_FALSE(RenderCompareHtml(json::array()).ok());
  json r = FullReport();
  r["schema_version"] = 2;
  auto v2 = RenderCompareHtml(r);
  ASSERT_FALSE(v2.ok());
  EXPECT_NE(v2.status().message().find("schema_version"), std::string::npos);
  r = FullReport();
  r["schema"] = "quantlens.inspect";
  EXPECT_FALSE(RenderCompareHtml(r).ok());
}

// ---- PNG data URIs ----

std::vector<uint8_t> Base64Decode(const std::string& s) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::vector<uint8_t> out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    if (c == '=') break;
    const int v = value(c);
    EXPECT_GE(v, 0) << "not base64: " << c;
    if (v < 0) return {};
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 0xff));
    }
  }
  return out;
}

TEST(PngDataUri, EncodesAPngThatDecodesToThePixels) {
  for (int channels : {1, 3}) {
    const int h = 5, w = 7;
    std::vector<uint8_t> pixels(static_cast<size_t>(h * w * channels));
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 37 % 256);
    const std::string uri = PngDataUri(pixels, h, w, channels);
    const std::string prefix = "data:image/png;base64,";
    ASSERT_EQ(uri.rfind(prefix, 0), 0u) << uri;
    const std::vector<uint8_t> png = Base64Decode(uri.substr(prefix.size()));
    const uint8_t kSignature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    ASSERT_GE(png.size(), 33u);
    EXPECT_TRUE(std::equal(std::begin(kSignature), std::end(kSignature), png.begin()));
    // IHDR: big-endian width and height, then bit depth 8 and colour type 0 (grey) or 2 (RGB).
    EXPECT_EQ(std::string(png.begin() + 12, png.begin() + 16), "IHDR");
    EXPECT_EQ(png[19], w);
    EXPECT_EQ(png[23], h);
    EXPECT_EQ(png[24], 8);
    EXPECT_EQ(png[25], channels == 1 ? 0 : 2);
    // Round trip through quantlens's own decoder.
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("ql_png_" + std::to_string(::getpid()) + "_" + std::to_string(channels) + ".png"))
                                 .string();
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
    auto image = io::DecodeImage(path, channels);
    std::filesystem::remove(path);
    ASSERT_TRUE(image.ok()) << image.status().message();
    EXPECT_EQ(image->height, h);
    EXPECT_EQ(image->width, w);
    EXPECT_EQ(image->pixels, pixels);
  }
}

TEST(PngDataUri, RefusesWhatIsNoImage) {
  const std::vector<uint8_t> px(12, 0);
  EXPECT_EQ(PngDataUri(px, 2, 2, 4), "");  // channels 4 not offered
  EXPECT_EQ(PngDataUri(px, 2, 3, 1), "");  // size mismatch
  EXPECT_EQ(PngDataUri(px, 0, 12, 1), "");
  EXPECT_EQ(PngDataUri(px, -2, -6, 1), "");
  EXPECT_NE(PngDataUri(px, 2, 2, 3), "");
}

TEST(PngDataUri, Base64MatchesRfc4648Vectors) {
  auto enc = [](const std::string& s) {
    return Base64Encode(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  };
  EXPECT_EQ(enc(""), "");
  EXPECT_EQ(enc("f"), "Zg==");
  EXPECT_EQ(enc("fo"), "Zm8=");
  EXPECT_EQ(enc("foo"), "Zm9v");
  EXPECT_EQ(enc("foob"), "Zm9vYg==");
  EXPECT_EQ(enc("fooba"), "Zm9vYmE=");
  EXPECT_EQ(enc("foobar"), "Zm9vYmFy");
}

}  // namespace
}  // namespace ql::report
