#include "quantlens/analysis/fail_if.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace ql::analysis {
namespace {

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// Short names people type, mapped to the report's keys.
std::string Canonical(const std::string& m) {
  if (m == "max_abs") return "max_abs_diff";
  if (m == "mean_abs") return "mean_abs_diff";
  if (m == "top1") return "top1_agreement";
  if (m == "top5") return "top5_agreement";
  if (m == "sqnr") return "sqnr_db";
  return m;
}

}  // namespace

const std::vector<std::string>& FailIfMetrics() {
  static const std::vector<std::string> m = {
      "top1_agreement", "top5_agreement", "sqnr_db",           "max_abs_diff",      "mean_abs_diff",
      "rmse",           "cosine",         "reference_accuracy", "candidate_accuracy", "accuracy_drop"};
  return m;
}

Result<std::vector<FailCondition>> ParseFailIf(const std::string& expr) {
  std::vector<FailCondition> out;
  size_t start = 0;
  while (start <= expr.size()) {
    size_t comma = expr.find(',', start);
    if (comma == std::string::npos) comma = expr.size();
    const std::string text = Trim(expr.substr(start, comma - start));
    start = comma + 1;
    if (text.empty())
      return InvalidArgument("--fail-if '{}': empty condition (conditions are joined with ',')", expr);
    const size_t op_pos = text.find_first_of("<>");
    if (op_pos == std::string::npos)
      return InvalidArgument("--fail-if '{}': no comparison (<, <=, >, >=) in it; example: top1_agreement<0.99",
                             text);
    FailCondition c;
    c.text = text;
    c.metric = Canonical(Trim(text.substr(0, op_pos)));
    size_t vpos = op_pos + 1;
    c.op = text.substr(op_pos, 1);
    if (vpos < text.size() && text[vpos] == '=') {
      c.op += "=";
      ++vpos;
    }
    bool known = false;
    for (const std::string& m : FailIfMetrics()) known |= m == c.metric;
    if (!known)
      return InvalidArgument("--fail-if '{}': unknown metric '{}' (known: {})", text, c.metric,
                             fmt::join(FailIfMetrics(), ", "));
    const std::string v = Trim(text.substr(vpos));
    char* end = nullptr;
    c.value = std::strtod(v.c_str(), &end);
    if (v.empty() || end != v.c_str() + v.size() || !std::isfinite(c.value))
      return InvalidArgument("--fail-if '{}': '{}' is not a number", text, v);
    out.push_back(c);
    if (comma == expr.size()) break;
  }
  return out;
}

Result<std::vector<std::string>> EvaluateFailIf(const std::vector<FailCondition>& conditions,
                                                const nlohmann::json& report) {
  std::vector<std::string> held;
  const nlohmann::json& outputs = report.at("outputs");
  for (const FailCondition& c : conditions) {
    bool found = false;
    for (size_t k = 0; k < outputs.size(); ++k) {
      const nlohmann::json& o = outputs[k];
      double v = 0;
      if (c.metric == "accuracy_drop") {
        if (!o.contains("reference_accuracy") || !o.contains("candidate_accuracy")) continue;
        v = o["reference_accuracy"].get<double>() - o["candidate_accuracy"].get<double>();
      } else if (!o.contains(c.metric)) {
        continue;
      } else if (o[c.metric].is_null()) {
        v = INFINITY;  // SQNR of identical outputs
      } else {
        v = o[c.metric].get<double>();
      }
      found = true;
      const bool holds = c.op == "<" ? v < c.value : c.op == "<=" ? v <= c.value
                       : c.op == ">" ? v > c.value : v >= c.value;
      if (holds) held.push_back(fmt::format("{} (output {}: {:.6g})", c.text, k, v));
    }
    if (!found)
      return InvalidArgument("--fail-if '{}': no output has {} ({})", c.text, c.metric,
                             c.metric.find("accuracy") != std::string::npos
                                 ? "accuracy needs labels: a .npz with 'y'"
                                 : "agreement needs classifier outputs");
  }
  return held;
}

}  // namespace ql::analysis
