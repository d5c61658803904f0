#include "quantlens/io/results.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <limits>

#include "quantlens/io/element.h"

namespace ql::io {

Result<std::vector<double>> Dequantize(const Array& a, const ir::Quantization& quant) {
  if (ir::DTypeSize(a.dtype) == 0) {
    return Unsupported("cannot read values of dtype {}", ir::DTypeName(a.dtype));
  }
  const int64_t n = a.num_elements();
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[i] = LoadAsDouble(a.dtype, a.data.data(), i);
  if (quant.empty() || !ir::IsInteger(a.dtype)) return out;
  if (!quant.per_axis()) {
    const double scale = quant.scale[0];
    const double zp = quant.zero_point.empty() ? 0.0 : static_cast<double>(quant.zero_point[0]);
    for (double& v : out) v = scale * (v - zp);
    return out;
  }
  if (quant.axis < 0 || quant.axis >= static_cast<int>(a.shape.size()) ||
      a.shape[quant.axis] != static_cast<int64_t>(quant.scale.size())) {
    return InvalidArgument("per-axis quantization with {} scales on axis {} does not fit shape {}",
                           quant.scale.size(), quant.axis, ir::ShapeToString(a.shape));
  }
  int64_t inner = 1;
  for (size_t d = quant.axis + 1; d < a.shape.size(); ++d) inner *= a.shape[d];
  const int64_t channels = a.shape[quant.axis];
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = (i / inner) % channels;
    const double zp = c < static_cast<int64_t>(quant.zero_point.size())
                          ? static_cast<double>(quant.zero_point[c]) : 0.0;
    out[i] = quant.scale[c] * (out[i] - zp);
  }
  return out;
}

std::vector<ScoredClass> TopK(const std::vector<double>& scores, int k) {
  std::vector<ScoredClass> all(scores.size());
  for (size_t i = 0; i < scores.size(); ++i) all[i] = {static_cast<int64_t>(i), scores[i]};
  const size_t kk = std::min(all.size(), static_cast<size_t>(std::max(k, 0)));
  // NaN scores sort last so they never hide a real class.
  auto better = [](const ScoredClass& a, const ScoredClass& b) {
    const bool an = std::isnan(a.score), bn = std::isnan(b.score);
    if (an != bn) return bn;
    if (!an && a.score != b.score) return a.score > b.score;
    return a.index < b.index;
  };
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(kk), all.end(), better);
  all.resize(kk);
  return all;
}

Result<std::vector<std::string>> ReadLabels(const std::string& path) {
  std::ifstream f(path);
  if (!f) return NotFound("{}: cannot open labels file", path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(f, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
    if (lines.size() > 10'000'000) return InvalidArgument("{}: more than 10 million label lines", path);
  }
  // "<index> <label>" files: every non-empty line starts with digits followed by a separator.
  bool indexed = false;
  std::vector<std::pair<int64_t, std::string>> entries;
  for (const std::string& l : lines) {
    if (l.empty()) continue;
    size_t p = 0;
    while (p < l.size() && std::isdigit(static_cast<unsigned char>(l[p]))) ++p;
    if (p == 0 || p > 9 || p == l.size() || (l[p] != ' ' && l[p] != '\t' && l[p] != ':')) {
      indexed = false;
      entries.clear();
      break;
    }
    size_t q = p + 1;
    while (q < l.size() && (l[q] == ' ' || l[q] == '\t')) ++q;
    entries.emplace_back(std::stoll(l.substr(0, p)), l.substr(q));
    indexed = true;
  }
  if (!indexed) return lines;
  std::vector<std::string> labels;
  for (auto& [index, label] : entries) {
    if (index >= static_cast<int64_t>(labels.size())) labels.resize(static_cast<size_t>(index) + 1);
    labels[static_cast<size_t>(index)] = std::move(label);
  }
  return labels;
}

std::vector<std::string> AlignLabels(std::vector<std::string> labels, int64_t num_classes) {
  if (num_classes > 0 && static_cast<int64_t>(labels.size()) == num_classes + 1 && !labels.empty() &&
      (labels[0] == "background" || labels[0] == "unlabeled")) {
    labels.erase(labels.begin());
  }
  return labels;
}

std::string SummarizeArray(const Array& a, const ir::Quantization& quant, int max_values) {
  std::string s = fmt::format("{} {}", ir::DTypeName(a.dtype), ir::ShapeToString(a.shape));
  if (ir::DTypeSize(a.dtype) == 0) return s;
  const int64_t n = a.num_elements();
  if (n == 0) return s + " (empty)";
  auto fmt_value = [&](double v) {
    return ir::IsFloat(a.dtype) ? fmt::format("{:.6g}", v) : fmt::format("{}", v);
  };
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  int64_t nan_count = 0;
  std::string first;
  for (int64_t i = 0; i < n; ++i) {
    double v = LoadAsDouble(a.dtype, a.data.data(), i);
    if (std::isnan(v)) {
      ++nan_count;
    } else {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    if (i < max_values) {
      if (i) first += ", ";
      first += fmt_value(v);
    }
  }
  if (n > max_values) first += ", ...";
  s += fmt::format(" first [{}]", first);
  if (nan_count < n) s += fmt::format(" min {} max {}", fmt_value(lo), fmt_value(hi));
  if (nan_count) s += fmt::format(" ({} NaN)", nan_count);
  if (!quant.empty() && !quant.per_axis() && ir::IsInteger(a.dtype) && nan_count < n) {
    const double zp = quant.zero_point.empty() ? 0.0 : static_cast<double>(quant.zero_point[0]);
    s += fmt::format(" (real {:.6g} .. {:.6g})", quant.scale[0] * (lo - zp), quant.scale[0] * (hi - zp));
  }
  return s;
}

}  // namespace ql::io
