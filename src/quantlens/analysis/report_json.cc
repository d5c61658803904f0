#include "quantlens/analysis/report_json.h"

#include <cmath>

namespace ql::analysis {
namespace {

using nlohmann::json;

// JSON has no infinity or NaN: such numbers are null (the SQNR of identical tensors).
json Num(double v) { return std::isfinite(v) ? json(v) : json(); }
json Opt(const std::optional<double>& v) { return v ? Num(*v) : json(); }
double Ratio(int64_t a, int64_t b) { return b ? static_cast<double>(a) / static_cast<double>(b) : 0.0; }

json StatsJson(const TensorStats& s) {
  json j = {{"mean_error", Num(s.mean_error)}, {"mean_abs", Num(s.mean_abs)}, {"max_abs", Num(s.max_abs)},
            {"mse", Num(s.mse)},               {"sqnr_db", Num(s.sqnr_db)},   {"cosine", Num(s.cosine)},
            {"rmse_over_step", Opt(s.rmse_over_step)}, {"clipped_share", Opt(s.clipped_share)},
            {"saturated_share", Opt(s.saturated_share)}, {"range_utilization", Opt(s.range_utilization)},
            {"channel_bias_share", Num(s.channel_bias_share)}, {"nonfinite", s.nonfinite}};
  if (s.border_error_share) j["border_error_share"] = Num(*s.border_error_share);
  return j;
}

json Floats(const std::vector<float>& v) {
  json a = json::array();
  for (float x : v) a.push_back(Num(x));
  return a;
}

json MetricsJson(const FixMetrics& m) {
  json j = {{"sqnr_db", Num(m.sqnr_db)}};
  if (m.top1_agreement) j["top1_agreement"] = *m.top1_agreement;
  return j;
}

}  // namespace

json CompareReportJson(const CompareResult& r, const ReportInfo& info, const std::vector<FixResult>& fixes) {
  json j;
  j["schema"] = "quantlens.compare";
  j["schema_version"] = kReportSchemaVersion;
  j["reference"] = info.reference;
  j["candidate"] = info.candidate;
  j["reference_numerics"] = r.context.reference_numerics;
  j["candidate_numerics"] = r.context.candidate_numerics;
  j["data"] = r.data_description;
  j["samples"] = r.num_samples;
  j["outputs"] = json::array();
  for (size_t k = 0; k < r.outputs.size(); ++k) {
    const OutputComparison& o = r.outputs[k];
    const OutputMetrics& m = o.metrics;
    json e = {{"index", k},
              {"reference_name", o.reference_name},
              {"candidate_name", o.candidate_name},
              {"mean_abs_diff", Num(m.mean_abs)},
              {"max_abs_diff", Num(m.max_abs)},
              {"rmse", Num(m.rmse)},
              {"sqnr_db", Num(m.sqnr_db)},
              {"cosine", Num(m.cosine)}};
    json flips = json::array();
    if (m.classifier) {
      e["top1_agreement"] = Ratio(m.top1_agree, m.num_samples);
      e["top5_agreement"] = Ratio(m.top5_agree, m.num_samples);
      if (m.labelled) {
        e["reference_accuracy"] = Ratio(m.ref_correct, m.labelled);
        e["candidate_accuracy"] = Ratio(m.cand_correct, m.labelled);
      }
      for (const SampleResult& f : o.flips) {
        json fj = {{"sample", f.index}, {"reference_class", f.ref_class}, {"candidate_class", f.cand_class}};
        if (f.label) fj["label"] = *f.label;
        if (k == 0)
          for (const auto& [s, uri] : info.flip_images)
            if (s == f.index) fj["image"] = uri;
        flips.push_back(fj);
      }
    }
    e["flips"] = flips;
    json worst = json::array();
    for (const SampleResult& w : o.worst)
      worst.push_back({{"sample", w.index}, {"max_abs_diff", Num(w.max_abs)}, {"mean_abs_diff", Num(w.mean_abs)}});
    e["worst_samples"] = worst;
    e["scatter"] = {{"reference", Floats(o.scatter_reference)}, {"candidate", Floats(o.scatter_candidate)}};
    j["outputs"].push_back(e);
  }
  if (r.budget) {
    const ErrorBudget& b = *r.budget;
    auto part = [](const BudgetPart& p) { return json{{"mse", Num(p.mse)}, {"share", Num(p.share)}}; };
    j["budget"] = {{"samples", b.samples}, {"total_mse", Num(b.total_mse)}, {"weight_quantization", part(b.weight)},
                   {"activation_quantization", part(b.activation)}, {"kernel_numerics", part(b.kernel)}};
  } else {
    j["budget"] = nullptr;
    if (!r.budget_note.empty()) j["budget_note"] = r.budget_note;
  }
  j["layers"] = json::array();
  for (const LayerReport& l : r.layers) {
    json e = {{"rank", l.rank},
              {"reference_layer", l.pair.layer},
              {"node", l.pair.node},
              {"candidate_tensor", l.candidate_name},
              {"candidate_index", l.pair.candidate_tensor},
              {"candidate_op", l.candidate_op},
              {"candidate_dtype", std::string(ir::DTypeName(l.candidate_dtype))},
              {"aligned_by", std::string(AlignMethodName(l.pair.method))},
              {"accumulated", StatsJson(l.accumulated)},
              {"isolated", l.isolated ? StatsJson(*l.isolated) : json()},
              {"sqnr_drop_db", Num(l.sqnr_drop_db)},
              {"cause", std::string(CauseName(l.cause))},
              {"evidence", l.evidence},
              {"remedy", l.remedy.text}};
    if (l.remedy.kind == Remedy::Kind::kReconvert) e["remedy_flags"] = ConvertFlags(l.remedy);
    if (l.histogram && !l.histogram->edges.empty())
      e["histogram"] = {{"edges", l.histogram->edges}, {"reference", l.histogram->reference},
                        {"candidate", l.histogram->candidate}};
    j["layers"].push_back(e);
  }
  j["findings"] = json::array();
  for (const Finding& f : r.findings)
    j["findings"].push_back({{"cause", std::string(CauseName(f.cause))}, {"evidence", f.evidence},
                             {"remedy", f.remedy.text}});
  j["fixes"] = json::array();
  for (const FixResult& f : fixes) {
    json e = {{"cause", std::string(CauseName(f.cause))}, {"layer", f.layer}, {"remedy", f.remedy},
              {"command", f.command}, {"before", MetricsJson(f.before)}};
    if (f.after) e["after"] = MetricsJson(*f.after);
    if (!f.error.empty()) e["error"] = f.error;
    j["fixes"].push_back(e);
  }
  j["unmatched"] = json::array();
  for (const auto& u : r.unaligned_reference)
    j["unmatched"].push_back({{"side", "reference"}, {"name", u.name}, {"reason", u.reason}});
  for (const auto& u : r.unaligned_candidate)
    j["unmatched"].push_back({{"side", "candidate"}, {"name", u.name}, {"reason", u.reason}});
  return j;
}

}  // namespace ql::analysis
