// Inline SVG plots for the HTML report. Each Render* function returns one <svg> element as text,
// drawn entirely from the data it is given (no scripts, fonts or images), so the report opens
// offline and the plots survive being saved, mailed or printed.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ql::report {

// Escapes & < > " ' so that strings from a report (layer names, paths, evidence) are always text
// in HTML and SVG, never markup, in element content and in quoted attribute values alike.
std::string HtmlEscape(std::string_view s);

// A short readable form of a value for axis ticks and tooltips ("0.25", "1.2e-05", "-3").
std::string FormatValue(double v);

struct LineSeries {
  std::string name;
  std::string color;  // a CSS colour, e.g. "#1f77b4"
  bool dashed = false;
  // One value per x position; nullopt (and any non-finite value) is skipped: the line is broken
  // there instead of being drawn through a value that does not exist.
  std::vector<std::optional<double>> y;
};

// A text label attached to one point (x position, y value), e.g. the worst layers.
struct PointLabel {
  size_t x = 0;
  double y = 0;
  std::string text;
};

struct LinePlot {
  std::string id, title, x_label, y_label;
  std::vector<std::string> x_names;  // tooltip text per x position (may be shorter than the series)
  // Short names drawn (rotated) under the x axis, one per position; with none, or with too many
  // positions to fit, the axis shows numbered ticks instead.
  std::vector<std::string> tick_names;
  std::vector<LineSeries> series;
  std::vector<PointLabel> labels;
};

struct BarSegment {
  std::string name, color, detail;  // detail: shown in the legend and tooltip (e.g. the MSE)
  double share = 0;                 // fraction of the bar; negative and non-finite count as 0
};

struct StackedBar {
  std::string id, title;
  std::vector<BarSegment> segments;
};

struct HistogramSeries {
  std::string name, color;
  std::vector<double> counts;  // one per bin
};

struct Histogram {
  std::string id, title, x_label;
  std::vector<double> edges;  // bins + 1 increasing values
  std::vector<HistogramSeries> series;
};

struct Scatter {
  std::string id, title, x_label, y_label;
  std::vector<double> x, y;  // pairs; non-finite pairs are left out
};

// Each returns an empty string when there is nothing drawable (no finite point, mismatched
// sizes, edges not increasing); the caller then writes a note instead of an empty frame.
std::string RenderLinePlot(const LinePlot& plot);
std::string RenderStackedBar(const StackedBar& bar);
std::string RenderHistogram(const Histogram& hist);
// Both axes share one range so that the y = x line (drawn) is the diagonal: points off it are
// the candidate's error.
std::string RenderScatter(const Scatter& scatter);

}  // namespace ql::report
