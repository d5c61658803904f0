#include "quantlens/report/svg_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <iterator>

namespace ql::report {
namespace {

// Room for tick labels on the left and below; above, the title and under it the legend (one row
// each, so a long layer name in the title cannot run into the legend).
constexpr double kLeft = 64, kRight = 16, kTop = 46, kBottom = 48;
constexpr double kTitleY = 16, kLegendY = 24;
// Up to this many line-plot positions each get a rotated name under the axis.
constexpr size_t kMaxNamedTicks = 64;

struct Range {
  double lo = 0, hi = 0;
  bool empty = true;
  void Add(double v) {
    if (!std::isfinite(v)) return;
    if (empty) {
      lo = hi = v;
      empty = false;
    } else {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  // A little air around the data, and a non-zero span when every value is the same (a flat
  // series must still map to pixels without dividing by zero).
  Range Padded(double fraction) const {
    Range r = *this;
    double span = hi - lo;
    if (!(span > 0)) span = std::max(std::fabs(lo) * 0.1, 1.0);
    r.lo = lo - span * fraction;
    r.hi = hi + span * fraction;
    if (r.lo == r.hi) r.hi = r.lo + 1;  // values so large that the padding was lost in rounding
    return r;
  }
};

// Tick positions at 1, 2 or 5 times a power of ten, about `target` of them over [lo, hi].
std::vector<double> NiceTicks(double lo, double hi, int target) {
  std::vector<double> ticks;
  if (!(hi > lo) || !std::isfinite(hi - lo)) return ticks;
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  // Counting in integer multiples avoids accumulating 0.1 + 0.1 + ... rounding into the labels.
  const double first = std::ceil(lo / step);
  for (double k = first; k * step <= hi + step * 1e-9 && ticks.size() < 64; k += 1) ticks.push_back(k * step);
  return ticks;
}

std::string Px(double v) { return fmt::format("{:.1f}", v); }

// Maps data coordinates to pixels inside the margins and writes the shared frame parts.
class Frame {
 public:
  // `bottom` is the room below the plot area: more when the x labels are rotated names.
  Frame(double width, double height, Range x, Range y, double bottom = kBottom)
      : w_(width), h_(height), bottom_(bottom), x_(x), y_(y) {}
  double X(double v) const { return kLeft + (v - x_.lo) / (x_.hi - x_.lo) * (w_ - kLeft - kRight); }
  double Y(double v) const { return h_ - bottom_ - (v - y_.lo) / (y_.hi - y_.lo) * (h_ - kTop - bottom_); }
  double left() const { return kLeft; }
  double right() const { return w_ - kRight; }
  double top() const { return kTop; }
  double bottom() const { return h_ - bottom_; }

  void Open(std::string& out, const std::string& id, const std::string& title) const {
    fmt::format_to(std::back_inserter(out),
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"{0}\" class=\"plot\" viewBox=\"0 0 {1} {2}\" "
                   "width=\"{1}\" height=\"{2}\" role=\"img\" aria-label=\"{3}\">\n<title>{3}</title>\n"
                   "<text class=\"plot-title\" x=\"{4}\" y=\"{5}\">{3}</text>\n",
                   HtmlEscape(id), w_, h_, HtmlEscape(title), Px(kLeft), kTitleY);
  }

  // Grid lines at the y ticks, both axes with tick labels, and the axis titles. `x_ticks` are
  // data values; `x_text` gives each one's label.
  // `y_ticks` (position in data units, label) replaces the linear ticks, e.g. for a log axis.
  // With `rotate_x` the x labels are drawn at -45 degrees so that many long names do not overlap.
  template <typename XText>
  void Axes(std::string& out, const std::vector<double>& x_ticks, XText x_text, const std::string& x_label,
            const std::string& y_label, std::vector<std::pair<double, std::string>> y_ticks = {},
            bool rotate_x = false) const {
    auto o = std::back_inserter(out);
    out += "<g class=\"axes\">\n";
    if (y_ticks.empty()) {
      for (double t : NiceTicks(y_.lo, y_.hi, 6)) y_ticks.emplace_back(t, FormatValue(t));
    }
    for (const auto& [t, text] : y_ticks) {
      const std::string y = Px(Y(t));
      fmt::format_to(o, "<line class=\"grid\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>", Px(left()), Px(right()), y,
                     y);
      fmt::format_to(o, "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\" dy=\"0.32em\">{}</text>\n",
                     Px(left() - 6), y, HtmlEscape(text));
    }
    for (double t : x_ticks) {
      const std::string x = Px(X(t));
      fmt::format_to(o, "<line class=\"tickmark\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>", x, x, Px(bottom()),
                     Px(bottom() + 5));
      if (rotate_x) {
        fmt::format_to(o,
                       "<text class=\"tick\" text-anchor=\"end\" transform=\"translate({} {}) rotate(-45)\">{}</text>\n",
                       x, Px(bottom() + 12), HtmlEscape(x_text(t)));
      } else {
        fmt::format_to(o, "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x,
                       Px(bottom() + 18), HtmlEscape(x_text(t)));
      }
    }
    fmt::format_to(o, "<rect class=\"frame\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>\n", Px(left()), Px(top()),
                   Px(right() - left()), Px(bottom() - top()));
    fmt::format_to(o, "<text class=\"axis-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                   Px((left() + right()) / 2), Px(h_ - 8), HtmlEscape(x_label));
    fmt::format_to(o,
                   "<text class=\"axis-label\" transform=\"translate(14 {}) rotate(-90)\" "
                   "text-anchor=\"middle\">{}</text>\n</g>\n",
                   Px((top() + bottom()) / 2), HtmlEscape(y_label));
  }

  // Legend entries right-aligned between the title and the plot area; each carries its series
  // number so the report's small script can toggle that series when the entry is clicked.
  void Legend(std::string& out, const std::vector<std::pair<std::string, std::string>>& entries) const {
    double x = right();
    std::string items;
    for (size_t i = entries.size(); i-- > 0;) {
      const double text_w = 7.0 * static_cast<double>(entries[i].first.size()) + 24;
      x -= text_w;
      items.insert(0, fmt::format("<g class=\"legend-item\" data-series=\"{}\"><rect x=\"{}\" y=\"{}\" width=\"12\" "
                                  "height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text></g>",
                                  i, Px(x), kLegendY, HtmlEscape(entries[i].second), Px(x + 16), kLegendY + 10,
                                  HtmlEscape(entries[i].first)));
    }
    out += "<g class=\"legend\">" + items + "</g>\n";
  }

 private:
  double w_, h_, bottom_;
  Range x_, y_;
};

std::optional<double> Finite(const std::optional<double>& v) {
  if (v && std::isfinite(*v)) return v;
  return std::nullopt;
}

}  // namespace

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return "0";  // also turns -0 into "0"
  return fmt::format("{:.4g}", v);
}

std::string RenderLinePlot(const LinePlot& p) {
  size_t n = 0;
  Range y;
  for (const auto& s : p.series) {
    n = std::max(n, s.y.size());
    for (const auto& v : s.y) {
      if (auto f = Finite(v)) y.Add(*f);
    }
  }
  if (y.empty) return "";
  for (const auto& l : p.labels) y.Add(l.y);
  // Categories centred in their slot: one layer still gets a visible position.
  Range x{-0.5, static_cast<double>(n) - 0.5, false};
  // Every position gets its name under the axis while the names still fit side by side
  // (rotated, about 14 px apart); beyond that, numbered ticks and the names in the tooltips.
  const bool named = !p.tick_names.empty() && n <= kMaxNamedTicks;
  size_t longest = 0;
  if (named) {
    for (const auto& t : p.tick_names) longest = std::max(longest, t.size());
  }
  // A 45-degree label of k characters (about 6.5 px each at 11 px) needs k * 6.5 * 0.71 px.
  const double bottom = named ? 40 + 4.6 * static_cast<double>(std::min<size_t>(longest, 40)) : kBottom;
  const Frame f(1180, 340 + bottom, x, y.Padded(0.08), bottom);
  std::string out;
  auto o = std::back_inserter(out);
  f.Open(out, p.id, p.title);
  std::vector<double> x_ticks;
  if (named) {
    for (size_t i = 0; i < n; ++i) x_ticks.push_back(static_cast<double>(i));
  } else {
    for (double t : NiceTicks(0, std::max(1.0, static_cast<double>(n) - 1), 10)) {
      if (t == std::floor(t) && t <= static_cast<double>(n) - 1) x_ticks.push_back(t);
    }
  }
  f.Axes(
      out, x_ticks,
      [&](double t) {
        const auto i = static_cast<size_t>(t);
        return named && i < p.tick_names.size() ? p.tick_names[i] : FormatValue(t);
      },
      p.x_label, p.y_label, {}, named);

  std::vector<std::pair<std::string, std::string>> legend;
  for (size_t si = 0; si < p.series.size(); ++si) {
    const LineSeries& s = p.series[si];
    legend.emplace_back(s.name, s.color);
    // One path with a new sub-path after every gap, so a skipped value is visibly a gap.
    std::string d;
    bool pen_down = false;
    for (size_t i = 0; i < s.y.size(); ++i) {
      const auto v = Finite(s.y[i]);
      if (!v) {
        pen_down = false;
        continue;
      }
      fmt::format_to(std::back_inserter(d), "{}{} {} ", pen_down ? "L" : "M", Px(f.X(static_cast<double>(i))),
                     Px(f.Y(*v)));
      pen_down = true;
    }
    fmt::format_to(o, "<g class=\"series\" data-series=\"{}\" fill=\"{}\" stroke=\"{}\">\n", si, HtmlEscape(s.color),
                   HtmlEscape(s.color));
    fmt::format_to(o, "<path fill=\"none\" stroke-width=\"1.8\"{} d=\"{}\"/>\n",
                   s.dashed ? " stroke-dasharray=\"6 3\"" : "", d);
    for (size_t i = 0; i < s.y.size(); ++i) {
      const auto v = Finite(s.y[i]);
      if (!v) continue;
      const std::string name = i < p.x_names.size() ? p.x_names[i] : FormatValue(static_cast<double>(i));
      fmt::format_to(o, "<circle cx=\"{}\" cy=\"{}\" r=\"2.6\" stroke=\"none\"><title>{}: {} = {}</title></circle>\n",
                     Px(f.X(static_cast<double>(i))), Px(f.Y(*v)), HtmlEscape(name), HtmlEscape(s.name),
                     HtmlEscape(FormatValue(*v)));
    }
    out += "</g>\n";
  }
  // Labels last, so they are drawn over the lines. Near the edges the text is anchored inwards
  // so it stays inside the plot. Neighbouring worst layers are often adjacent, so each label
  // takes the first of a few heights (above, then below the point) where its box does not
  // overlap a label already placed; a thin leader line ties a moved label to its point.
  struct Box {
    double x0, x1, y0, y1;
  };
  std::vector<Box> placed;
  out += "<g class=\"point-labels\">\n";
  for (const auto& l : p.labels) {
    if (!std::isfinite(l.y)) continue;
    const double px = f.X(static_cast<double>(l.x));
    const double py = f.Y(l.y);
    const double w = 6.6 * static_cast<double>(l.text.size());
    const bool start = px < f.left() + 80, end = !start && px > f.right() - 80;
    const char* anchor = start ? "start" : end ? "end" : "middle";
    const double x0 = start ? px : end ? px - w : px - w / 2;
    double ty = std::max(f.top() + 12, py - 9);
    for (double dy : {-9.0, -23.0, -37.0, 20.0, 34.0, 48.0, -51.0}) {
      const double cand = std::clamp(py + dy, f.top() + 12, f.bottom() - 4);
      const bool clash = std::any_of(placed.begin(), placed.end(), [&](const Box& b) {
        return x0 < b.x1 && x0 + w > b.x0 && cand - 11 < b.y1 && cand + 2 > b.y0;
      });
      if (!clash) {
        ty = cand;
        break;
      }
    }
    placed.push_back({x0, x0 + w, ty - 11, ty + 2});
    fmt::format_to(o, "<circle class=\"label-mark\" cx=\"{}\" cy=\"{}\" r=\"5\"/>", Px(px), Px(py));
    if (std::fabs(ty - (py - 9)) > 1) {
      fmt::format_to(o, "<line class=\"label-leader\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>", Px(px),
                     Px(ty < py ? py - 5 : py + 5), Px(px), Px(ty < py ? ty + 2 : ty - 11));
    }
    fmt::format_to(o, "<text class=\"point-label\" x=\"{}\" y=\"{}\" text-anchor=\"{}\">{}</text>\n", Px(px),
                   Px(ty), anchor, HtmlEscape(l.text));
  }
  out += "</g>\n";
  f.Legend(out, legend);
  out += "</svg>\n";
  return out;
}

std::string RenderStackedBar(const StackedBar& b) {
  std::vector<double> shares;
  double total = 0;
  for (const auto& s : b.segments) {
    const double v = std::isfinite(s.share) && s.share > 0 ? s.share : 0.0;
    shares.push_back(v);
    total += v;
  }
  if (!(total > 0)) return "";
  constexpr double kW = 860, kH = 130, kX0 = 20, kX1 = 840, kBarY = 34, kBarH = 36;
  std::string out;
  auto o = std::back_inserter(out);
  fmt::format_to(o,
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"{0}\" class=\"plot\" viewBox=\"0 0 {1} {2}\" "
                 "width=\"{1}\" height=\"{2}\" role=\"img\" aria-label=\"{3}\">\n<title>{3}</title>\n"
                 "<text class=\"plot-title\" x=\"{4}\" y=\"20\">{3}</text>\n",
                 HtmlEscape(b.id), kW, kH, HtmlEscape(b.title), kX0);
  double x = kX0;
  double legend_x = kX0;
  for (size_t i = 0; i < b.segments.size(); ++i) {
    const BarSegment& s = b.segments[i];
    // Normalised by the total, so shares that do not quite sum to 1 still fill the bar.
    const double share = shares[i] / total;
    const double w = share * (kX1 - kX0);
    const std::string pct = fmt::format("{:.1f}%", 100 * share);
    fmt::format_to(o, "<g class=\"series\" data-series=\"{}\">", i);
    if (w > 0) {
      fmt::format_to(o,
                     "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}: {} {}</title></rect>",
                     Px(x), kBarY, Px(w), kBarH, HtmlEscape(s.color), HtmlEscape(s.name), pct, HtmlEscape(s.detail));
      // The percentage inside the segment only when it fits.
      if (w > 48) {
        fmt::format_to(o, "<text class=\"bar-text\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", Px(x + w / 2),
                       kBarY + kBarH / 2 + 5, pct);
      }
    }
    out += "</g>\n";
    const std::string entry = fmt::format("{} {} {}", s.name, pct, s.detail);
    fmt::format_to(o,
                   "<g class=\"legend-item\" data-series=\"{}\"><rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" "
                   "fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text></g>\n",
                   i, Px(legend_x), kBarY + kBarH + 18, HtmlEscape(s.color), Px(legend_x + 16), kBarY + kBarH + 28,
                   HtmlEscape(entry));
    legend_x += 7.0 * static_cast<double>(entry.size()) + 40;
    x += w;
  }
  out += "</svg>\n";
  return out;
}

std::string RenderHistogram(const Histogram& h) {
  const auto& e = h.edges;
  if (e.size() < 2) return "";
  for (size_t i = 0; i < e.size(); ++i) {
    if (!std::isfinite(e[i]) || (i > 0 && !(e[i] > e[i - 1]))) return "";
  }
  const size_t bins = e.size() - 1;
  double max_count = 0;
  for (const auto& s : h.series) {
    if (s.counts.size() != bins) return "";
    for (double c : s.counts) {
      if (!std::isfinite(c) || c < 0) return "";
      max_count = std::max(max_count, c);
    }
  }
  if (!(max_count > 0)) return "";
  // After a ReLU most values sit in the bin at 0, and on a linear axis every other bin is a flat
  // line at the bottom: the tail, where rounding and clipping show, is invisible. When one bin
  // dwarfs the rest of its series the counts are drawn on a log(1 + count) axis instead.
  bool log_y = false;
  for (const auto& s : h.series) {
    std::vector<double> sorted = s.counts;
    std::sort(sorted.begin(), sorted.end(), std::greater<>());
    if (sorted.size() >= 2 && sorted[0] > 4 * sorted[1]) log_y = true;
  }
  auto count_y = [log_y](double c) { return log_y ? std::log10(1 + c) : c; };
  const Range x{e.front(), e.back(), false};
  const Range y{0, count_y(max_count) * 1.08, false};
  const Frame f(400, 290, x, y);
  std::string out;
  auto o = std::back_inserter(out);
  f.Open(out, h.id, h.title);
  std::vector<std::pair<double, std::string>> y_ticks;
  if (log_y) {
    // 0 and 1 would sit a few pixels apart: the first decade tick is 10.
    y_ticks.emplace_back(0, "0");
    for (double c = 10; c <= max_count; c *= 10) y_ticks.emplace_back(count_y(c), FormatValue(c));
  }
  f.Axes(
      out, NiceTicks(x.lo, x.hi, 5), [](double t) { return FormatValue(t); }, h.x_label,
      log_y ? "count (log scale)" : "count", std::move(y_ticks));
  std::vector<std::pair<std::string, std::string>> legend;
  for (size_t si = 0; si < h.series.size(); ++si) {
    const HistogramSeries& s = h.series[si];
    legend.emplace_back(s.name, s.color);
    // A step outline closed along the base: translucent fills keep both series readable where
    // they overlap, the outline shows each one's exact bin heights.
    std::string d = fmt::format("M {} {} ", Px(f.X(e[0])), Px(f.Y(0)));
    for (size_t b = 0; b < bins; ++b) {
      const std::string top = Px(f.Y(count_y(s.counts[b])));
      fmt::format_to(std::back_inserter(d), "L {} {} L {} {} ", Px(f.X(e[b])), top, Px(f.X(e[b + 1])), top);
    }
    fmt::format_to(std::back_inserter(d), "L {} {} Z", Px(f.X(e[bins])), Px(f.Y(0)));
    fmt::format_to(o,
                   "<g class=\"series\" data-series=\"{}\"><path d=\"{}\" fill=\"{}\" fill-opacity=\"0.25\" "
                   "stroke=\"{}\" stroke-width=\"1.4\"><title>{}</title></path></g>\n",
                   si, d, HtmlEscape(s.color), HtmlEscape(s.color), HtmlEscape(s.name));
  }
  f.Legend(out, legend);
  out += "</svg>\n";
  return out;
}

std::string RenderScatter(const Scatter& s) {
  if (s.x.size() != s.y.size()) return "";
  Range r;
  size_t points = 0;
  for (size_t i = 0; i < s.x.size(); ++i) {
    if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
    r.Add(s.x[i]);
    r.Add(s.y[i]);
    ++points;
  }
  if (points == 0) return "";
  const Range pr = r.Padded(0.05);
  // Inner area square (460 - 64 - 16 = 474 - 46 - 48 = 380): y = x is the 45-degree diagonal.
  const Frame f(460, 474, pr, pr);
  std::string out;
  auto o = std::back_inserter(out);
  f.Open(out, s.id, s.title);
  f.Axes(
      out, NiceTicks(pr.lo, pr.hi, 6), [](double t) { return FormatValue(t); }, s.x_label, s.y_label);
  fmt::format_to(o, "<line class=\"identity\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"><title>y = x</title></line>\n",
                 Px(f.X(pr.lo)), Px(f.Y(pr.lo)), Px(f.X(pr.hi)), Px(f.Y(pr.hi)));
  out += "<g class=\"series\" data-series=\"0\" fill=\"#1f77b4\" fill-opacity=\"0.55\">\n";
  for (size_t i = 0; i < s.x.size(); ++i) {
    if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
    fmt::format_to(o, "<circle cx=\"{}\" cy=\"{}\" r=\"2\"/>", Px(f.X(s.x[i])), Px(f.Y(s.y[i])));
    if (i % 16 == 15) out += '\n';
  }
  out += "\n</g>\n";
  f.Legend(out, {{fmt::format("{} value pairs", points), "#1f77b4"}});
  out += "</svg>\n";
  return out;
}

}  // namespace ql::report
