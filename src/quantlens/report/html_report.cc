#include "quantlens/report/html_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include "quantlens/report/svg_plot.h"

namespace ql::report {
namespace {

using json = nlohmann::json;

// Colours shared by tables and plots, so "accumulated" or "candidate" looks the same everywhere.
constexpr const char* kAccumulatedColor = "#1f77b4";
constexpr const char* kIsolatedColor = "#ff7f0e";
constexpr const char* kReferenceColor = "#1f77b4";
constexpr const char* kCandidateColor = "#d62728";

// How many of the worst layers get a name label in the per-layer plot: more would overlap.
constexpr int64_t kLabelledLayers = 3;

// The budget's parts, by JSON key and display name, in the order the table and bar show them.
constexpr std::pair<const char*, const char*> kBudgetParts[] = {{"weight_quantization", "weights"},
                                                                {"activation_quantization", "activations"},
                                                                {"kernel_numerics", "kernel numerics"}};

// ---- Lenient accessors. The report is produced by quantlens, but a hand-edited or older file
// must still render: a missing or mistyped field reads as absent, never as an exception. ----

const json& EmptyArray() {
  static const json empty = json::array();
  return empty;
}

const json* Field(const json& o, const char* key) {
  if (!o.is_object()) return nullptr;
  auto it = o.find(key);
  return it == o.end() ? nullptr : &*it;
}

const json& Array(const json& o, const char* key) {
  const json* v = Field(o, key);
  return v != nullptr && v->is_array() ? *v : EmptyArray();
}

const json* Object(const json& o, const char* key) {
  const json* v = Field(o, key);
  return v != nullptr && v->is_object() ? v : nullptr;
}

std::optional<double> Number(const json& o, const char* key) {
  const json* v = Field(o, key);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  const double d = v->get<double>();
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}

// Any JSON value as display text (not yet escaped): strings as they are, integers without a
// decimal point.
std::string Text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_float()) return FormatValue(v.get<double>());
  if (v.is_null()) return "";
  return v.dump();
}

std::string Str(const json& o, const char* key) {
  const json* v = Field(o, key);
  return v == nullptr ? "" : Text(*v);
}

std::string E(std::string_view s) { return HtmlEscape(s); }

// Shortens long names for plot labels without cutting a UTF-8 sequence in half.
std::string Shorten(const std::string& s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n) + "\xE2\x80\xA6";  // U+2026 ellipsis
}

// TensorFlow's converter names a fused tensor after every op folded into it, joined by ';'
// ("model/activation_26/Relu;model/batch_normalization_26/FusedBatchNormV3;..."), often hundreds
// of characters. The first part names the op that produces the tensor, which is what a reader
// needs; the full name stays available as a tooltip.
std::string ShortTensorName(const std::string& name, size_t max_bytes = 40) {
  const size_t semi = name.find(';');
  std::string first = semi == std::string::npos ? name : name.substr(0, semi) + ";\xE2\x80\xA6";
  return Shorten(first, max_bytes);
}

// A name cell: the short form as text, the full one as the title when they differ.
std::string NameCell(const std::string& name, const std::string& extra_title = "") {
  const std::string shown = ShortTensorName(name);
  std::string title = shown == name ? "" : name;
  if (!extra_title.empty()) title += (title.empty() ? "" : "\n") + extra_title;
  if (title.empty()) return "<td class=\"name\">" + E(shown) + "</td>";
  return "<td class=\"name\" title=\"" + E(title) + "\">" + E(shown) + "</td>";
}

// ---- Table cells for numbers. Absent, null and present values look different: an absent
// field is "not applicable", a null SQNR means identical tensors (no finite SQNR), any other null
// means the metric does not exist for this tensor (e.g. range use of a float tensor). ----

enum class Kind { kValue, kDb, kPercent, kInteger };

std::string FormatKind(double v, Kind kind) {
  switch (kind) {
    case Kind::kDb:
      return fmt::format("{:.2f}", v);
    case Kind::kPercent:
      return fmt::format("{:.2f}%", 100 * v);
    case Kind::kInteger:
      return fmt::format("{:.0f}", v);
    case Kind::kValue:
      break;
  }
  return FormatValue(v);
}

std::string NumCell(const json* o, const char* key, Kind kind) {
  const json* v = o == nullptr ? nullptr : Field(*o, key);
  if (v == nullptr) return "<td class=\"num na\">&ndash;</td>";
  if (v->is_null()) {
    if (kind == Kind::kDb) return "<td class=\"num\" title=\"identical values: no finite SQNR\">&infin;</td>";
    return "<td class=\"num na\" title=\"not defined for this tensor\">n/a</td>";
  }
  if (!v->is_number()) return "<td class=\"num na\">" + E(Text(*v)) + "</td>";
  return "<td class=\"num\">" + E(FormatKind(v->get<double>(), kind)) + "</td>";
}

// Only self-contained image data may become an <img src>: anything else (a URL, a file path,
// "javascript:") would break the offline promise or inject behaviour.
bool IsInlineImage(const std::string& s) {
  static constexpr std::string_view kPrefixes[] = {"data:image/png;base64,", "data:image/jpeg;base64,",
                                                   "data:image/gif;base64,", "data:image/bmp;base64,"};
  for (std::string_view p : kPrefixes) {
    if (s.size() > p.size() && s.compare(0, p.size(), p) == 0) {
      return std::all_of(s.begin() + static_cast<std::ptrdiff_t>(p.size()), s.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
               c == '=';
      });
    }
  }
  return false;
}

std::optional<std::vector<double>> Numbers(const json* arr) {
  if (arr == nullptr || !arr->is_array()) return std::nullopt;
  std::vector<double> out;
  out.reserve(arr->size());
  for (const json& v : *arr) {
    if (!v.is_number()) return std::nullopt;
    out.push_back(v.get<double>());
  }
  return out;
}

constexpr const char* kStyle = R"(
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1280px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.3em; } h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dl.meta dt { font-weight: 600; } dl.meta dd { margin: 0; overflow-wrap: anywhere; }
nav a { margin-right: 0.8em; }
table { border-collapse: collapse; font-size: 0.88em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.5em; vertical-align: top; text-align: left; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.na { color: #999; } tr.cause-none { color: #777; }
/* Fixed layout with set column widths keeps the cause table inside the page whatever the names
   and evidence texts are; long words wrap rather than widen their column. */
table.causes { table-layout: fixed; width: 100%; }
table.causes td { overflow-wrap: anywhere; }
table.causes td.name { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
td.grid-stats { font-size: 0.9em; color: #444; }
.flags { display: block; margin-top: 0.2em; color: #555; }
.table-scroll { overflow-x: auto; }
#summary { border: 1px solid #cdd6e0; background: #f6f9fc; border-radius: 6px; padding: 0.4em 1em 0.8em; margin-top: 1.2em; }
#summary h2 { margin-top: 0.3em; border: none; }
#summary ul { margin: 0.2em 0; padding-left: 1.3em; } #summary li { margin: 0.15em 0; }
#summary .headline { font-size: 1.05em; }
#summary .ev { color: #444; } #summary code { font-size: 1em; }
.flip-grid { display: flex; flex-wrap: wrap; gap: 0.6em; }
.flip { border: 1px solid #ddd; padding: 0.3em; font-size: 0.85em; text-align: center; margin: 0; }
details summary { cursor: pointer; color: #345; }
code { font-size: 0.92em; overflow-wrap: anywhere; }
.note { color: #666; font-style: italic; }
.cause { font-weight: 600; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; }
svg.plot { background: #fff; font-size: 12px; max-width: 100%; height: auto; }
svg.plot .plot-title { font-weight: 600; font-size: 13px; }
svg.plot .grid { stroke: #e8e8e8; } svg.plot .frame { fill: none; stroke: #999; }
svg.plot .tickmark { stroke: #999; } svg.plot .tick { fill: #444; font-size: 11px; }
svg.plot .identity { stroke: #777; stroke-dasharray: 4 3; }
svg.plot .label-mark { fill: none; stroke: #d62728; stroke-width: 1.5; }
svg.plot .point-label { fill: #b11; font-size: 11px; }
svg.plot .bar-text { fill: #fff; font-weight: 600; }
svg.plot .legend-item { cursor: pointer; } svg.plot .legend-item.off { opacity: 0.35; }
svg.plot .series.off { display: none; }
img.sample { image-rendering: pixelated; width: 96px; height: auto; border: 1px solid #ccc; display: block; margin: 0 auto 0.2em; }
)";

// Clicking a legend entry hides or shows that series; the plots are complete without it.
constexpr const char* kScript = R"(
document.querySelectorAll('svg.plot .legend-item').forEach(function (item) {
  item.addEventListener('click', function () {
    var svg = item.closest('svg');
    var selector = '.series[data-series="' + item.getAttribute('data-series') + '"]';
    svg.querySelectorAll(selector).forEach(function (s) { s.classList.toggle('off'); });
    item.classList.toggle('off');
  });
});
// Marks the page as fully scripted, so a headless check can tell the script ran to its end.
document.documentElement.setAttribute('data-script', 'ok');
)";

class Page {
 public:
  explicit Page(const json& r) : r_(r) {}

  std::string Render() {
    Head();
    Header();
    Summary();
    Outputs();
    Findings();
    Causes();
    LayerPlot();
    Budget();
    Histograms();
    Scatters();
    Flips();
    Fixes();
    Unmatched();
    fmt::format_to(O(), "<footer><p class=\"note\">quantlens compare report, schema {} version {}.</p></footer>\n",
                   E(Str(r_, "schema")), E(Str(r_, "schema_version")));
    fmt::format_to(O(), "<script>{}</script>\n</body>\n</html>\n", kScript);
    return std::move(out_);
  }

 private:
  std::back_insert_iterator<std::string> O() { return std::back_inserter(out_); }
  void Note(std::string_view text) { fmt::format_to(O(), "<p class=\"note\">{}</p>\n", E(text)); }
  void Section(const char* id, const char* title) {
    fmt::format_to(O(), "<section id=\"{}\">\n<h2>{}</h2>\n", id, title);
  }
  void EndSection() { out_ += "</section>\n"; }

  void Head() {
    const std::string title = "quantlens compare: " + Str(r_, "reference") + " vs " + Str(r_, "candidate");
    // The policy makes the offline promise enforceable: a browser refuses (and reports) any
    // attempt to load something from outside the file.
    fmt::format_to(O(),
                   "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                   "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
                   "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                   "<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n",
                   E(title), kStyle);
  }

  void Header() {
    out_ += "<header>\n<h1>quantlens compare</h1>\n<dl class=\"meta\">\n";
    auto row = [&](const char* name, const std::string& value) {
      fmt::format_to(O(), "<dt>{}</dt><dd>{}</dd>\n", name, value.empty() ? "&ndash;" : E(value));
    };
    row("Reference", Str(r_, "reference"));
    row("Candidate", Str(r_, "candidate"));
    row("Numerics", "reference " + Str(r_, "reference_numerics") + ", candidate " + Str(r_, "candidate_numerics"));
    row("Data", Str(r_, "data"));
    row("Samples", Str(r_, "samples"));
    out_ += "</dl>\n<nav>";
    for (const auto& [id, name] : std::vector<std::pair<const char*, const char*>>{{"summary", "Summary"},
                                                                                   {"outputs", "Outputs"},
                                                                                   {"findings", "Findings"},
                                                                                   {"causes", "Causes"},
                                                                                   {"layer-error", "Layer error"},
                                                                                   {"budget", "Budget"},
                                                                                   {"histograms", "Histograms"},
                                                                                   {"scatter", "Scatter"},
                                                                                   {"flips", "Flips"},
                                                                                   {"fixes", "Fixes"},
                                                                                   {"unmatched", "Unmatched"}}) {
      fmt::format_to(O(), "<a href=\"#{}\">{}</a>", id, name);
    }
    out_ += "</nav>\n</header>\n";
  }

  // The ten-second read: what the candidate does to each output, where the error comes from
  // (worst layers, budget) and model-level findings. Only restates what the sections below
  // detail, so every line has its section to follow up in.
  void Summary() {
    Section("summary", "Summary");
    out_ += "<ul class=\"headline\">\n";
    const json& outputs = Array(r_, "outputs");
    if (outputs.empty()) out_ += "<li>No outputs compared.</li>\n";
    for (const json& o : outputs) {
      std::vector<std::string> parts;
      if (auto t = Number(o, "top1_agreement")) {
        std::string p = fmt::format("top-1 agreement <b>{:.1f}%</b>", 100 * *t);
        const size_t flips = Array(o, "flips").size();
        if (flips > 0) p += fmt::format(" ({} flipped)", flips);
        parts.push_back(std::move(p));
      }
      if (const json* v = Field(o, "sqnr_db"); v != nullptr && v->is_null()) {
        parts.push_back("SQNR <b>&infin;</b> (identical)");
      } else if (auto q = Number(o, "sqnr_db")) {
        parts.push_back(fmt::format("SQNR <b>{:.1f} dB</b>", *q));
      }
      const auto ra = Number(o, "reference_accuracy"), ca = Number(o, "candidate_accuracy");
      if (ra || ca) {
        auto pct = [](const std::optional<double>& v) { return v ? fmt::format("{:.1f}%", 100 * *v) : "&ndash;"; };
        parts.push_back(fmt::format("accuracy {} &rarr; <b>{}</b>", pct(ra), pct(ca)));
      }
      std::string line;
      for (const auto& p : parts) line += (line.empty() ? "" : " &middot; ") + p;
      fmt::format_to(O(), "<li>Output {} <code>{}</code>: {}</li>\n", E(Str(o, "index")),
                     E(ShortTensorName(Str(o, "reference_name"))), line.empty() ? "no metrics" : line);
    }
    out_ += "</ul>\n";

    const json& layers = Array(r_, "layers");
    std::vector<size_t> worst;
    for (size_t i : RankOrder()) {
      const auto rank = Number(layers[i], "rank");
      if (!rank || *rank < 1 || worst.size() == 3) break;
      worst.push_back(i);
    }
    if (!worst.empty()) {
      out_ += "<p><b>Worst layers</b> (the most error added, measured in isolation):</p>\n<ol>\n";
      for (size_t i : worst) {
        const json& l = layers[i];
        const std::string evidence = Str(l, "evidence");
        std::string sqnr;
        if (auto q = Sqnr(l, "isolated")) sqnr = fmt::format(", isolated SQNR {:.1f} dB", *q);
        const std::string op = Str(l, "candidate_op");
        fmt::format_to(O(), "<li><code>{}</code>{}: <span class=\"cause\">{}</span>{}<br><span class=\"ev\" title=\"{}\">{}</span></li>\n",
                       E(Str(l, "reference_layer")), op.empty() ? "" : " (" + E(op) + ")", E(Str(l, "cause")), E(sqnr),
                       E(evidence), E(Shorten(evidence, 150)));
      }
      out_ += "</ol>\n";
    }

    if (const json* budget = Object(r_, "budget")) {
      std::string line;
      for (const auto& [key, name] : kBudgetParts) {
        const json* part = Object(*budget, key);
        const auto share = part == nullptr ? std::nullopt : Number(*part, "share");
        if (share) line += fmt::format("{}{} {:.0f}%", line.empty() ? "" : " &middot; ", name, 100 * *share);
      }
      if (!line.empty()) fmt::format_to(O(), "<p><b>Error budget</b>: {}</p>\n", line);
    } else if (const std::string note = Str(r_, "budget_note"); !note.empty()) {
      fmt::format_to(O(), "<p><b>Error budget</b>: not computed &ndash; {}</p>\n", E(note));
    }

    const json& findings = Array(r_, "findings");
    if (findings.empty()) {
      out_ += "<p><b>Model-level findings</b>: none.</p>\n";
    } else {
      out_ += "<p><b>Model-level findings</b>:</p>\n<ul>\n";
      for (const json& f : findings) {
        fmt::format_to(O(), "<li><span class=\"cause\">{}</span>: {}</li>\n", E(Str(f, "cause")),
                       E(Shorten(Str(f, "evidence"), 200)));
      }
      out_ += "</ul>\n";
    }
    EndSection();
  }

  void Outputs() {
    Section("outputs", "Outputs");
    const json& outputs = Array(r_, "outputs");
    if (outputs.empty()) {
      Note("The report lists no outputs.");
      return EndSection();
    }
    // Classifier and label columns only when some output has them: a regression model's table
    // stays narrow.
    auto any = [&](const char* key) {
      return std::any_of(outputs.begin(), outputs.end(), [&](const json& o) { return Field(o, key) != nullptr; });
    };
    const bool top1 = any("top1_agreement"), top5 = any("top5_agreement");
    const bool ref_acc = any("reference_accuracy"), cand_acc = any("candidate_accuracy");
    out_ +=
        "<table class=\"outputs\">\n<tr><th>#</th><th>Reference output</th><th>Candidate output</th>"
        "<th>Mean |diff|</th><th>Max |diff|</th><th>RMSE</th><th>SQNR (dB)</th><th>Cosine</th>";
    if (top1) out_ += "<th>Top-1 agreement</th>";
    if (top5) out_ += "<th>Top-5 agreement</th>";
    if (ref_acc) out_ += "<th>Reference accuracy</th>";
    if (cand_acc) out_ += "<th>Candidate accuracy</th>";
    out_ += "</tr>\n";
    for (const json& o : outputs) {
      fmt::format_to(O(), "<tr><td>{}</td>{}{}", E(Str(o, "index")), NameCell(Str(o, "reference_name")),
                     NameCell(Str(o, "candidate_name")));
      out_ += NumCell(&o, "mean_abs_diff", Kind::kValue) + NumCell(&o, "max_abs_diff", Kind::kValue) +
              NumCell(&o, "rmse", Kind::kValue) + NumCell(&o, "sqnr_db", Kind::kDb) +
              NumCell(&o, "cosine", Kind::kValue);
      if (top1) out_ += NumCell(&o, "top1_agreement", Kind::kPercent);
      if (top5) out_ += NumCell(&o, "top5_agreement", Kind::kPercent);
      if (ref_acc) out_ += NumCell(&o, "reference_accuracy", Kind::kPercent);
      if (cand_acc) out_ += NumCell(&o, "candidate_accuracy", Kind::kPercent);
      out_ += "</tr>\n";
    }
    out_ += "</table>\n";
    EndSection();
  }

  void Findings() {
    Section("findings", "Findings");
    const json& findings = Array(r_, "findings");
    if (findings.empty()) {
      Note("No model-level findings.");
      return EndSection();
    }
    out_ += "<ul class=\"findings\">\n";
    for (const json& f : findings) {
      fmt::format_to(O(), "<li><span class=\"cause\">{}</span>: {}", E(Str(f, "cause")), E(Str(f, "evidence")));
      const std::string remedy = Str(f, "remedy");
      if (!remedy.empty()) fmt::format_to(O(), "<br>Remedy: <code>{}</code>", E(remedy));
      out_ += "</li>\n";
    }
    out_ += "</ul>\n";
    EndSection();
  }

  // Ranked layers first (rank 1 = adds the most error), then the unranked ones in execution
  // order, which is the order the JSON lists them in.
  std::vector<size_t> RankOrder() const {
    const json& layers = Array(r_, "layers");
    std::vector<size_t> order(layers.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    auto key = [&](size_t i) {
      const auto rank = Number(layers[i], "rank");
      return rank && *rank > 0 ? *rank : std::numeric_limits<double>::infinity();
    };
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
    return order;
  }

  void Causes() {
    Section("causes", "Causes by layer");
    const json& layers = Array(r_, "layers");
    if (layers.empty()) {
      Note("No per-layer comparison in this report (run compare with --layers).");
      return EndSection();
    }
    // Widths in % of the page: the names are cut to fit theirs, evidence and remedy wrap.
    out_ +=
        "<table class=\"causes\">\n<colgroup><col style=\"width:4%\"><col style=\"width:11%\">"
        "<col style=\"width:14%\"><col style=\"width:9%\"><col style=\"width:6%\"><col style=\"width:6%\">"
        "<col style=\"width:11%\"><col style=\"width:9%\"><col style=\"width:16%\"><col style=\"width:14%\"></colgroup>\n"
        "<tr><th>Rank</th><th>Reference layer</th><th>Candidate tensor</th><th>Op</th>"
        "<th title=\"SQNR of the candidate's op fed the reference's inputs\">Isolated SQNR (dB)</th>"
        "<th title=\"SQNR of the candidate run end to end\">Accum. SQNR (dB)</th>"
        "<th title=\"isolated statistics on the candidate's integer grid\">Grid</th><th>Cause</th>"
        "<th>Evidence</th><th>Remedy</th></tr>\n";
    for (size_t i : RankOrder()) {
      const json& l = layers[i];
      const auto rank = Number(l, "rank");
      const std::string cause = Str(l, "cause");
      const json* isolated = Object(l, "isolated");
      fmt::format_to(O(), "<tr class=\"cause-{}\"><td class=\"num\">{}</td>{}", cause == "none" ? "none" : "some",
                     rank && *rank > 0 ? E(FormatValue(*rank)) : "&ndash;", NameCell(Str(l, "reference_layer")));
      out_ += NameCell(Str(l, "candidate_tensor"),
                       "aligned by " + Str(l, "aligned_by") + "; " + Str(l, "candidate_dtype"));
      fmt::format_to(O(), "<td>{}</td>", E(Str(l, "candidate_op")));
      // isolated is null when the candidate's ops could not be fed the reference's values.
      out_ += isolated != nullptr ? NumCell(isolated, "sqnr_db", Kind::kDb)
                                  : "<td class=\"num na\" title=\"not measured\">n/a</td>";
      out_ += NumCell(Object(l, "accumulated"), "sqnr_db", Kind::kDb);
      out_ += GridCell(isolated != nullptr ? isolated : Object(l, "accumulated"));
      const std::string flags = Str(l, "remedy_flags");
      fmt::format_to(O(), "<td class=\"cause\">{}</td><td class=\"evidence\">{}</td><td>{}{}</td></tr>\n", E(cause),
                     E(Str(l, "evidence")), E(Str(l, "remedy")),
                     flags.empty() ? "" : "<code class=\"flags\" title=\"quantlens convert flags\">" + E(flags) + "</code>");
    }
    out_ += "</table>\n";
    EndSection();
  }

  // The integer-grid statistics in one compact cell: error in quantization steps, the shares of
  // clipped reference and saturated candidate values, and how much of the grid is used. Float
  // tensors (all null or absent) get an empty cell.
  static std::string GridCell(const json* stats) {
    if (stats == nullptr) return "<td></td>";
    std::vector<std::string> parts;
    if (auto v = Number(*stats, "rmse_over_step")) parts.push_back(fmt::format("{:.2f} steps", *v));
    if (auto v = Number(*stats, "clipped_share"); v && *v > 0) parts.push_back(fmt::format("clip {:.2g}%", 100 * *v));
    if (auto v = Number(*stats, "saturated_share"); v && *v > 0) parts.push_back(fmt::format("sat {:.2g}%", 100 * *v));
    if (auto v = Number(*stats, "range_utilization")) parts.push_back(fmt::format("range {:.0f}%", 100 * *v));
    std::string text;
    for (const auto& p : parts) text += (text.empty() ? "" : "<br>") + E(p);
    return "<td class=\"grid-stats\">" + text + "</td>";
  }

  static std::optional<double> Sqnr(const json& layer, const char* which) {
    const json* stats = Object(layer, which);
    return stats == nullptr ? std::nullopt : Number(*stats, "sqnr_db");
  }

  void LayerPlot() {
    Section("layer-error", "Error along the network");
    const json& layers = Array(r_, "layers");
    LinePlot plot;
    plot.id = "plot-layer-sqnr";
    plot.title = "SQNR per layer (higher is better; gaps: identical or not measured)";
    plot.x_label = "layer (reference execution order)";
    plot.y_label = "SQNR (dB)";
    LineSeries accumulated{"accumulated", kAccumulatedColor, false, {}};
    LineSeries isolated{"isolated", kIsolatedColor, true, {}};
    for (const json& l : layers) {
      plot.x_names.push_back(Str(l, "reference_layer") + " (" + Str(l, "candidate_op") + ")");
      plot.tick_names.push_back(Shorten(Str(l, "reference_layer"), 24));
      accumulated.y.push_back(Sqnr(l, "accumulated"));
      isolated.y.push_back(Sqnr(l, "isolated"));
    }
    for (size_t i = 0; i < layers.size(); ++i) {
      const auto rank = Number(layers[i], "rank");
      if (!rank || *rank < 1 || *rank > static_cast<double>(kLabelledLayers)) continue;
      // Ranks come from the isolated SQNR, so the label sits on that point when there is one.
      const auto y = isolated.y[i] ? isolated.y[i] : accumulated.y[i];
      if (!y) continue;
      plot.labels.push_back(
          {i, *y, fmt::format("#{} {}", FormatValue(*rank), Shorten(Str(layers[i], "reference_layer"), 28))});
    }
    plot.series = {std::move(accumulated), std::move(isolated)};
    const std::string svg = layers.empty() ? "" : RenderLinePlot(plot);
    if (svg.empty()) {
      Note(layers.empty() ? "No per-layer data to plot." : "No layer has a finite SQNR to plot.");
    } else {
      out_ += "<figure>" + svg + "</figure>\n";
    }
    EndSection();
  }

  void Budget() {
    Section("budget", "Error budget");
    const json* budget = Object(r_, "budget");
    if (budget == nullptr) {
      const std::string note = Str(r_, "budget_note");
      Note(note.empty() ? "No error budget in this report (it needs --layers, and is left out when it cannot be computed)."
                        : "No error budget: " + note);
      return EndSection();
    }
    StackedBar bar;
    bar.id = "plot-budget";
    const auto total = Number(*budget, "total_mse");
    bar.title = "Share of the output error" + (total ? " (total MSE " + FormatValue(*total) + ")" : std::string());
    const auto& parts = kBudgetParts;
    const char* colors[] = {"#4e79a7", "#f28e2b", "#59a14f"};
    out_ += "<table class=\"budget\">\n<tr><th>Part</th><th>MSE</th><th>Share</th></tr>\n";
    for (size_t i = 0; i < std::size(parts); ++i) {
      const json* part = Object(*budget, parts[i].first);
      const auto mse = part == nullptr ? std::nullopt : Number(*part, "mse");
      const auto share = part == nullptr ? std::nullopt : Number(*part, "share");
      bar.segments.push_back(
          {parts[i].second, colors[i], mse ? "(MSE " + FormatValue(*mse) + ")" : "", share.value_or(0)});
      fmt::format_to(O(), "<tr><td>{}</td>{}{}</tr>\n", parts[i].second, NumCell(part, "mse", Kind::kValue),
                     NumCell(part, "share", Kind::kPercent));
    }
    fmt::format_to(O(), "<tr><td>total</td>{}<td></td></tr>\n</table>\n", NumCell(budget, "total_mse", Kind::kValue));
    const std::string svg = RenderStackedBar(bar);
    if (svg.empty()) {
      Note("Every share is zero: nothing to draw.");
    } else {
      out_ += "<figure>" + svg + "</figure>\n";
    }
    EndSection();
  }

  void Histograms() {
    Section("histograms", "Value histograms of the worst layers");
    const json& layers = Array(r_, "layers");
    std::string plots;
    int drawn = 0, broken = 0;
    for (size_t i : RankOrder()) {
      const json* h = Object(layers[i], "histogram");
      if (h == nullptr) continue;
      const auto edges = Numbers(Field(*h, "edges"));
      const auto ref = Numbers(Field(*h, "reference"));
      const auto cand = Numbers(Field(*h, "candidate"));
      Histogram hist;
      hist.id = fmt::format("plot-hist-{}", i);
      const auto rank = Number(layers[i], "rank");
      hist.title =
          (rank && *rank > 0 ? "#" + FormatValue(*rank) + " " : "") + Shorten(Str(layers[i], "reference_layer"), 36);
      hist.x_label = "value (" + Str(layers[i], "cause") + ")";
      std::string svg;
      if (edges && ref && cand) {
        hist.edges = *edges;
        hist.series = {{"reference", kReferenceColor, *ref}, {"candidate", kCandidateColor, *cand}};
        svg = RenderHistogram(hist);
      }
      if (svg.empty()) {
        ++broken;
        fmt::format_to(std::back_inserter(plots),
                       "<p class=\"note\">The histogram of {} cannot be drawn (edges not "
                       "increasing, counts not matching the bins, or all zero).</p>\n",
                       E(Str(layers[i], "reference_layer")));
      } else {
        ++drawn;
        plots += svg;
      }
    }
    if (drawn + broken == 0) {
      Note("No layer in this report carries a histogram (only the worst layers of a --layers run do).");
    } else {
      out_ += "<div class=\"plots\">\n" + plots + "</div>\n";
    }
    EndSection();
  }

  void Scatters() {
    Section("scatter", "Output values: candidate against reference");
    const json& outputs = Array(r_, "outputs");
    std::string plots;
    for (size_t i = 0; i < outputs.size(); ++i) {
      const std::string name = Str(outputs[i], "reference_name");
      const json* scatter = Object(outputs[i], "scatter");
      const auto ref = scatter == nullptr ? std::nullopt : Numbers(Field(*scatter, "reference"));
      const auto cand = scatter == nullptr ? std::nullopt : Numbers(Field(*scatter, "candidate"));
      std::string svg;
      if (ref && cand) {
        svg = RenderScatter({fmt::format("plot-scatter-{}", i),
                             "output " + Str(outputs[i], "index") + ": " + Shorten(name, 40), "reference value",
                             "candidate value", *ref, *cand});
      }
      if (svg.empty()) {
        fmt::format_to(std::back_inserter(plots), "<p class=\"note\">No value pairs to plot for output {}.</p>\n",
                       E(name));
      } else {
        plots += svg;
      }
    }
    if (outputs.empty()) {
      Note("No outputs.");
    } else {
      out_ += "<div class=\"plots\">\n" + plots + "</div>\n";
    }
    EndSection();
  }

  void Flips() {
    Section("flips", "Flipped samples");
    bool any = false;
    for (const json& o : Array(r_, "outputs")) {
      const json& flips = Array(o, "flips");
      if (flips.empty()) continue;
      any = true;
      fmt::format_to(O(), "<h3>Output {} ({}): {} flipped</h3>\n", E(Str(o, "index")), E(Str(o, "reference_name")),
                     flips.size());
      // Cards in a wrapping grid: a table row per flip wasted a page on a few dozen thumbnails.
      out_ += "<div class=\"flip-grid flips\">\n";
      for (const json& f : flips) {
        const std::string image = Str(f, "image");
        std::string cell;
        if (IsInlineImage(image)) {
          cell = fmt::format("<img class=\"sample\" src=\"{}\" alt=\"sample {}\">", E(image), E(Str(f, "sample")));
        } else if (!image.empty()) {
          cell = "<span class=\"note\">image left out: not an inline data URI</span>";
        }
        fmt::format_to(O(),
                       "<figure class=\"flip\">{}<figcaption>sample {}<br>class {} &rarr; {}</figcaption></figure>\n",
                       cell, E(Str(f, "sample")), E(Str(f, "reference_class")), E(Str(f, "candidate_class")));
      }
      out_ += "</div>\n";
    }
    if (!any) Note("No sample changed its class (or no output is a classifier).");
    EndSection();
  }

  void Fixes() {
    Section("fixes", "Fixes tried");
    const json& fixes = Array(r_, "fixes");
    if (fixes.empty()) {
      Note("No fixes were tried (run compare with --try-fixes).");
      return EndSection();
    }
    out_ +=
        "<table class=\"fixes\">\n<tr><th>Remedy</th><th>Command</th><th>SQNR before (dB)</th>"
        "<th>SQNR after (dB)</th><th>Top-1 before</th><th>Top-1 after</th><th>Note</th></tr>\n";
    for (const json& f : fixes) {
      const json* before = Object(f, "before");
      const json* after = Object(f, "after");
      fmt::format_to(O(), "<tr><td>{}</td><td><code>{}</code></td>", E(Str(f, "remedy")), E(Str(f, "command")));
      out_ += NumCell(before, "sqnr_db", Kind::kDb) + NumCell(after, "sqnr_db", Kind::kDb) +
              NumCell(before, "top1_agreement", Kind::kPercent) + NumCell(after, "top1_agreement", Kind::kPercent);
      const std::string error = Str(f, "error");
      fmt::format_to(O(), "<td>{}</td></tr>\n", error.empty() ? "" : "not applied: " + E(error));
    }
    out_ += "</table>\n";
    EndSection();
  }

  void Unmatched() {
    Section("unmatched", "Unmatched tensors");
    const json& unmatched = Array(r_, "unmatched");
    if (unmatched.empty()) {
      Note("None.");
      return EndSection();
    }
    // A long list (every folded batch norm of a converted model) is collapsed behind its count.
    const bool fold = unmatched.size() > 8;
    if (fold) fmt::format_to(O(), "<details><summary>{} unmatched tensors</summary>\n", unmatched.size());
    out_ += "<ul class=\"unmatched\">\n";
    for (const json& u : unmatched) {
      const std::string name = Str(u, "name");
      fmt::format_to(O(), "<li>{} <code title=\"{}\">{}</code>: {}</li>\n", E(Str(u, "side")), E(name),
                     E(ShortTensorName(name, 80)), E(Str(u, "reason")));
    }
    out_ += "</ul>\n";
    if (fold) out_ += "</details>\n";
    EndSection();
  }

  const json& r_;
  std::string out_;
};

}  // namespace

Result<std::string> RenderCompareHtml(const nlohmann::json& report) {
  if (!report.is_object()) return InvalidArgument("compare report: expected a JSON object, got {}", report.type_name());
  const json* schema = Field(report, "schema");
  if (schema == nullptr || !schema->is_string() || schema->get<std::string>() != "quantlens.compare") {
    return InvalidArgument("compare report: \"schema\" is {}, expected \"quantlens.compare\"",
                           schema == nullptr ? "missing" : schema->dump());
  }
  const json* version = Field(report, "schema_version");
  if (version == nullptr || !version->is_number_integer() || version->get<int64_t>() != 1) {
    return InvalidArgument("compare report: \"schema_version\" is {}, this quantlens renders version 1",
                           version == nullptr ? "missing" : version->dump());
  }
  // The accessors above never throw on a mistyped field; this only guards what they cannot
  // foresee (e.g. invalid UTF-8 in a dumped value), so a bad file is an error, not a crash.
  try {
    return Page(report).Render();
  } catch (const json::exception& e) {
    return InvalidArgument("compare report: {}", e.what());
  }
}

}  // namespace ql::report
