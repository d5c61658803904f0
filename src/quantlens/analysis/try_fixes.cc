#include "quantlens/analysis/try_fixes.h"

#include <set>

namespace ql::analysis {
namespace {

bool HasInt16Activations(const ir::Graph& g) {
  for (const ir::Tensor& t : g.tensors)
    if (!t.is_constant && t.dtype == ir::DType::kInt16 && !t.quant.empty()) return true;
  return false;
}

std::string FixKey(const Remedy& r) {
  if (r.kind == Remedy::Kind::kRescaleData) return fmt::format("rescale {} {}", r.data_scale, r.data_offset);
  return ConvertFlags(r);
}

}  // namespace

FixMetrics MetricsOf(const CompareResult& r) {
  FixMetrics m;
  if (r.outputs.empty()) return m;
  const OutputMetrics& o = r.outputs[0].metrics;
  m.sqnr_db = o.sqnr_db;
  if (o.classifier && o.num_samples > 0)
    m.top1_agreement = static_cast<double>(o.top1_agree) / static_cast<double>(o.num_samples);
  return m;
}

Result<std::vector<FixResult>> TryFixes(const ir::Graph& reference, const ir::Graph& candidate,
                                        const CompareResult& result, const CompareOptions& options,
                                        const TryFixOptions& fix_options) {
  // Remedies in order of importance: model-level findings, then layers by rank.
  std::vector<std::pair<const Remedy*, std::pair<Cause, std::string>>> wanted;
  for (const Finding& f : result.findings) wanted.push_back({&f.remedy, {f.cause, ""}});
  std::vector<const LayerReport*> ranked;
  for (const LayerReport& l : result.layers)
    if (l.rank > 0) ranked.push_back(&l);
  std::sort(ranked.begin(), ranked.end(), [](auto* a, auto* b) { return a->rank < b->rank; });
  for (const LayerReport* l : ranked) wanted.push_back({&l->remedy, {l->cause, l->pair.layer}});

  const bool int16 = HasInt16Activations(candidate);
  std::vector<FixResult> out;
  std::set<std::string> tried;
  CompareOptions eval = options;
  eval.layers = false;
  eval.progress = nullptr;
  for (const auto& [remedy_ptr, who] : wanted) {
    if (out.size() >= fix_options.max_fixes) break;
    Remedy remedy = *remedy_ptr;
    if (remedy.kind != Remedy::Kind::kReconvert && remedy.kind != Remedy::Kind::kRescaleData) continue;
    // A candidate that already has int16 activations is compared with int16x8 reconversions.
    if (remedy.kind == Remedy::Kind::kReconvert && int16 && remedy.mode == passes::ConvertMode::kInt8)
      remedy.mode = passes::ConvertMode::kInt16x8;
    if (!tried.insert(FixKey(remedy)).second) continue;
    FixResult fr;
    fr.cause = who.first;
    fr.layer = who.second;
    fr.remedy = remedy.text;
    fr.before = MetricsOf(result);
    Result<CompareResult> after = InvalidArgument("not run");
    if (remedy.kind == Remedy::Kind::kRescaleData) {
      fr.command = fmt::format("feed the data as x * {:.6g} + {:.6g} (image folders: --scale {:.6g} --offset {:.6g})",
                               remedy.data_scale, remedy.data_offset, remedy.data_scale, remedy.data_offset);
      CompareOptions o = eval;
      o.data_scale = options.data_scale * remedy.data_scale;
      o.data_offset = options.data_offset * remedy.data_scale + remedy.data_offset;
      after = CompareModels(reference, candidate, o);
    } else {
      const std::string calib = fix_options.calibration.empty() ? options.data : fix_options.calibration;
      fr.command = fmt::format("quantlens convert {} -o fixed.tflite {} --calibration {}{}",
                               fix_options.reference_path, ConvertFlags(remedy),
                               fix_options.calibration.empty() ? fix_options.data_label : fix_options.calibration,
                               fix_options.data_flags);
      if (!result.context.reference_is_source) {
        fr.error = "the reference is quantized; reconverting needs the float model it came from";
        out.push_back(std::move(fr));
        continue;
      }
      passes::ConvertOptions co;
      co.mode = remedy.mode;
      if (co.mode == passes::ConvertMode::kInt8 || co.mode == passes::ConvertMode::kInt16x8) {
        co.calibration = calib;
        co.data = options.data_options;
      }
      if (remedy.calibration) co.method = *remedy.calibration;
      co.per_tensor = !remedy.per_channel;
      co.keep_float = remedy.keep_float;
      co.int16 = remedy.int16;
      auto converted = passes::ConvertModel(reference, co);
      if (!converted.ok()) {
        fr.error = converted.status().message();
        out.push_back(std::move(fr));
        continue;
      }
      after = CompareModels(reference, converted->graph, eval);
    }
    if (after.ok()) {
      fr.after = MetricsOf(*after);
    } else {
      fr.error = after.status().message();
    }
    out.push_back(std::move(fr));
  }
  return out;
}

}  // namespace ql::analysis
