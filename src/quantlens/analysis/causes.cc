// Cause classification: one cause per layer, chosen from the layer's isolated statistics (what
// the candidate's own ops do to the reference's values), in a fixed order of precedence. The
// rules and their thresholds are documented in docs/compare.md; each states the numbers it read
// as evidence, so a person can check the call.
#include <algorithm>
#include <cmath>
#include <set>

#include "quantlens/analysis/findings.h"

namespace ql::analysis {
namespace {

std::string Pct(double share) { return fmt::format("{:.2f}%", 100.0 * share); }
std::string Db(double v) { return std::isfinite(v) ? fmt::format("{:.1f} dB", v) : "inf dB"; }

bool SegmentHas(const LayerReport& l, std::initializer_list<std::string_view> types) {
  for (const std::string& op : l.segment_ops)
    for (std::string_view t : types)
      if (op == t) return true;
  return false;
}

// A data scale people recognise when the fitted one is close to it (1/255 for pixels).
double NiceScale(double s) {
  for (double nice : {1.0 / 255.0, 1.0 / 127.5, 255.0, 127.5, 1.0 / 256.0, 256.0, 1.0 / 128.0, 128.0})
    if (std::fabs(s / nice - 1.0) < 0.05) return nice;
  return s;
}

// " in dense_1 > batch_normalization_1 > activation_1, which the candidate computes as one
// FULLY_CONNECTED" (empty when nothing was fused).
std::string Fused(const LayerReport& l) {
  if (l.fused_layers.empty()) return "";
  return fmt::format(" in {} > {}, which the candidate computes as {}", fmt::join(l.fused_layers, " > "),
                     l.pair.layer, fmt::join(l.segment_ops, " > "));
}

Remedy Reconvert(std::string text) {
  Remedy r;
  r.kind = Remedy::Kind::kReconvert;
  r.text = std::move(text);
  return r;
}

Remedy Advice(std::string text) {
  Remedy r;
  r.kind = Remedy::Kind::kAdvice;
  r.text = std::move(text);
  return r;
}

}  // namespace

std::string_view CauseName(Cause c) {
  switch (c) {
    case Cause::kNone: return "none";
    case Cause::kRounding: return "rounding";
    case Cause::kClipping: return "clipping";
    case Cause::kWeightQuantization: return "weight-quantization";
    case Cause::kActivationApproximation: return "activation-approximation";
    case Cause::kPaddingOrResizeSemantics: return "padding-or-resize-semantics";
    case Cause::kFolding: return "folding";
    case Cause::kInputPreprocessing: return "input-preprocessing";
    case Cause::kFloat16Range: return "float16-range";
    case Cause::kKernelNumerics: return "kernel-numerics";
  }
  return "?";
}

std::string ConvertFlags(const Remedy& r) {
  std::string s = fmt::format("--mode {}", passes::ConvertModeName(r.mode));
  if (r.calibration) s += " --calibration-method " + passes::CalibrationName(*r.calibration);
  if (!r.per_channel && (r.mode == passes::ConvertMode::kInt8 || r.mode == passes::ConvertMode::kInt16x8))
    s += " --per-tensor";
  for (const std::string& l : r.keep_float) s += " --keep-float " + l;
  for (const std::string& l : r.int16) s += " --int16 " + l;
  return s;
}

void ClassifyLayer(LayerReport& l, const CauseContext& ctx) {
  const TensorStats& s = l.isolated ? *l.isolated : l.accumulated;
  const bool quantized = s.rmse_over_step.has_value();
  const std::string& layer = l.pair.layer;
  auto set = [&](Cause c, std::string evidence, Remedy remedy) {
    l.cause = c;
    l.evidence = std::move(evidence);
    l.remedy = std::move(remedy);
  };
  if (s.mse == 0 && s.nonfinite == 0) {
    set(Cause::kNone, "the candidate computes the reference's values exactly", {});
    return;
  }
  const double nsr = s.ref_power > 0 ? s.mse / s.ref_power : 1.0;

  // Model input: the data meets the candidate's input grid before any op runs.
  if (l.candidate_op == "INPUT") {
    if (quantized && s.clipped_share.value_or(0) > 0.01) {
      Remedy r;
      r.kind = Remedy::Kind::kRescaleData;
      const double span = s.ref_max - s.ref_min;
      r.data_scale = span > 0 ? NiceScale((s.range_hi - s.range_lo) / span) : 1.0;
      r.data_offset = s.range_lo - s.ref_min * r.data_scale;
      if (std::fabs(r.data_offset) < 1e-3 * (s.range_hi - s.range_lo)) r.data_offset = 0;
      r.text = fmt::format("feed the data as x * {:.6g}{}: the range the candidate's input expects",
                           r.data_scale, r.data_offset == 0 ? "" : fmt::format(" + {:.6g}", r.data_offset));
      set(Cause::kInputPreprocessing,
          fmt::format("{} of the input values lie outside the candidate input's range [{:.4g}, {:.4g}]; "
                      "the data spans [{:.4g}, {:.4g}]",
                      Pct(*s.clipped_share), s.range_lo, s.range_hi, s.ref_min, s.ref_max),
          r);
    } else {
      set(Cause::kRounding,
          fmt::format("input quantization: RMSE {:.2f} steps (uniform rounding gives 0.29)",
                      s.rmse_over_step.value_or(0)),
          Advice("none needed: the input grid is the candidate's contract"));
    }
    return;
  }
  if (ctx.same_graph) {
    set(Cause::kKernelNumerics,
        fmt::format("the same graph under {} and {}: the arithmetic differs here by RMSE {}{}, max {:.4g}",
                    ctx.reference_numerics, ctx.candidate_numerics,
                    quantized ? fmt::format("{:.3f} steps", *s.rmse_over_step) : fmt::format("{:.4g}", std::sqrt(s.mse)),
                    "", s.max_abs),
        Advice(fmt::format("evaluate with the numerics of the runtime you ship (--candidate-numerics); "
                           "{} and {} round differently", ctx.reference_numerics, ctx.candidate_numerics)));
    return;
  }
  const int64_t overflow = l.weights ? l.weights->float16_overflow : 0;
  if (s.nonfinite > 0 || overflow > 0 || (ctx.candidate_float16 && s.beyond_float16 > 0)) {
    std::string ev;
    if (overflow > 0) ev = fmt::format("{} weights of '{}' are inf or NaN in float16 (|w| > 65504); ", overflow,
                                       l.weights->tensor);
    if (s.nonfinite > 0) ev += fmt::format("{} candidate values are inf or NaN; ", s.nonfinite);
    if (s.beyond_float16 > 0) ev += fmt::format("{} reference values exceed float16's 65504; ", s.beyond_float16);
    ev.resize(ev.size() - 2);
    Remedy r = Reconvert(fmt::format("keep the model in float32 (float16 cannot hold these values)"));
    r.mode = passes::ConvertMode::kFloat32;
    set(Cause::kFloat16Range, ev, r);
    return;
  }
  if (quantized && s.clipped_share.value_or(0) >= 0.001 && s.clipped_error_share >= 0.25) {
    Remedy r = Reconvert("recalibrate so the range covers the values (minmax keeps every calibration value)");
    r.calibration = passes::CalibrationSpec{passes::CalibrationMethod::kMinMax, 99.99};
    set(Cause::kClipping,
        fmt::format("{} of the reference values lie outside the candidate's range [{:.4g}, {:.4g}] (the "
                    "reference spans [{:.4g}, {:.4g}]); they carry {} of the squared error",
                    Pct(*s.clipped_share), s.range_lo, s.range_hi, s.ref_min, s.ref_max,
                    Pct(s.clipped_error_share)),
        r);
    return;
  }
  if (quantized && l.weights && std::isfinite(l.weights->sqnr_db)) {
    const WeightEvidence& w = *l.weights;
    const double weight_nsr = std::pow(10.0, -w.sqnr_db / 10.0);
    // Weights this coarse dominate whatever else the layer does; finer ones must explain a
    // quarter of its error.
    if (w.sqnr_db < 20 || (w.sqnr_db < 40 && weight_nsr >= 0.25 * nsr)) {
      Remedy r = w.per_tensor ? Reconvert("per-channel weights: each output channel gets its own scale")
                              : Reconvert(fmt::format("keep '{}' in float", layer));
      if (!w.per_tensor) r.keep_float = {layer};
      set(Cause::kWeightQuantization,
          fmt::format("{} weights '{}': mean rounding noise {} below the weights over {} channels, "
                      "channel {} uses only {:.1f} levels ({}); isolated SQNR here {}",
                      w.per_tensor ? "per-tensor" : "per-channel", w.tensor, Db(w.sqnr_db), w.channels,
                      w.worst_channel, w.worst_channel_levels, Db(w.worst_channel_sqnr_db), Db(s.sqnr_db)),
          r);
      return;
    }
  }
  // An approximated activation: measured against the same op in float on the same inputs when
  // the float simulation ran (activation_error), else inferred from the error in steps.
  const bool approx_op =
      SegmentHas(l, {"LOGISTIC", "TANH", "SOFTMAX", "LOG_SOFTMAX", "HARD_SWISH", "EXP", "ELU", "GELU"});
  const bool approx_measured = l.activation_error && l.activation_error->rmse_over_step.value_or(0) > 0.6 &&
                               l.activation_error->mse >= 0.3 * s.mse;
  if (approx_op && (approx_measured || (!l.activation_error && (!quantized || *s.rmse_over_step > 0.6)))) {
    Remedy r = Reconvert(fmt::format("compute '{}' in int16 (finer lookup tables and grid)", layer));
    r.int16 = {layer};
    std::string how = l.activation_error
        ? fmt::format("{} is {:.2f} steps RMS from the same function computed in float on its own inputs "
                      "(rounding the result alone gives 0.29); it carries {} of this layer's squared error",
                      l.activation_op, *l.activation_error->rmse_over_step,
                      Pct(std::min(1.0, l.activation_error->mse / s.mse)))
        : fmt::format("a lookup-table or fixed-point activation ({}) is {} off", fmt::join(l.segment_ops, " > "),
                      quantized ? fmt::format("{:.2f} steps RMS", *s.rmse_over_step)
                                : fmt::format("{:.3g} RMS", std::sqrt(s.mse)));
    set(Cause::kActivationApproximation, how, r);
    return;
  }
  if (s.border_error_share && *s.border_error_share > std::max(0.5, 2.5 * s.border_fraction) &&
      SegmentHas(l, {"RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "PAD", "PADV2", "CONV_2D",
                     "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D", "TRANSPOSE_CONV", "MIRROR_PAD"})) {
    set(Cause::kPaddingOrResizeSemantics,
        fmt::format("{} of the squared error sits on the outermost rows and columns, which hold {} of the values",
                    Pct(*s.border_error_share), Pct(s.border_fraction)),
        Advice("check the layer's padding and resize conventions (align_corners, half_pixel_centers, "
               "'same' padding of even kernels) against the converter's"));
    return;
  }
  // A constant offset per channel: quantized, when it dominates an error above rounding; float,
  // when it stands above float32 rounding (which is ~120 dB below the signal).
  if ((quantized && s.channel_bias_share > 0.5 && s.sqnr_db < 40) ||
      (!quantized && s.channel_bias_share > 0.8 && s.sqnr_db < 80)) {
    Remedy r = Reconvert("convert with quantlens, which folds batch normalization into the preceding "
                         "layer's weights and bias");
    r.mode = quantized ? passes::ConvertMode::kInt8 : passes::ConvertMode::kFloat32;
    set(Cause::kFolding,
        fmt::format("a constant offset per channel explains {} of the squared error (mean error {:.4g}, max "
                    "{:.4g}){}: a bias or batch normalization folded wrongly or dropped",
                    Pct(s.channel_bias_share), s.mean_error, s.max_abs, Fused(l)),
        r);
    return;
  }
  if (quantized) {
    // int16 for this layer alone gains nothing: its int8 neighbours round its input and output to
    // the same grids again. The grids have to be int16 on both sides, so the remedy is int16x8.
    Remedy r = Reconvert("int16 activations (int16x8 mode): every grid 256x finer, int8 weights kept");
    r.mode = passes::ConvertMode::kInt16x8;
    const double step = std::sqrt(s.mse) / *s.rmse_over_step;
    std::string not_weights =
        l.weights && l.weights->sqnr_db >= 30 ? fmt::format(", weights fine ({} below them)", Db(l.weights->sqnr_db))
                                              : std::string();
    std::string ev = *s.rmse_over_step <= 0.6
        ? fmt::format("RMSE {:.2f} steps of {:.4g}: the output grid's own rounding (uniform rounding gives "
                      "0.29); no clipping ({}){}", *s.rmse_over_step, step, Pct(s.clipped_share.value_or(0)),
                      not_weights)
        : fmt::format("RMSE {:.2f} steps of {:.4g}: rounding of the int8 inputs and intermediate results of {} "
                      "grows through the computation; no clipping ({}){}", *s.rmse_over_step, step,
                      fmt::join(l.segment_ops, " > "), Pct(s.clipped_share.value_or(0)), not_weights);
    set(Cause::kRounding, ev + fmt::format("; isolated SQNR {}", Db(s.sqnr_db)), r);
    return;
  }
  set(Cause::kKernelNumerics,
      fmt::format("float results differ by RMSE {:.3g} (SQNR {}, relative {:.2g}): summation order or "
                  "float kernels' own approximations", std::sqrt(s.mse), Db(s.sqnr_db), std::sqrt(nsr)),
      Advice("nothing to fix in the conversion: float kernels sum in a different order"));
}

void RankLayers(std::vector<LayerReport>& layers) {
  std::vector<size_t> idx;
  for (size_t i = 0; i < layers.size(); ++i) {
    const TensorStats& s = layers[i].isolated ? *layers[i].isolated : layers[i].accumulated;
    layers[i].rank = 0;
    if (s.mse > 0 || s.nonfinite > 0) idx.push_back(i);
  }
  std::vector<std::pair<int, double>> key(layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    const TensorStats& s = layers[i].isolated ? *layers[i].isolated : layers[i].accumulated;
    key[i] = {s.nonfinite > 0 ? 0 : 1, s.sqnr_db};
  }
  // A layer is fed the reference's values on its input's grid. Where that grid itself loses
  // (clips, or is coarsened by an outlier weight channel, or the data does not fit the input),
  // the layer's isolated error is partly the grid's: it ranks right after the layer owning that
  // grid. Layers are in execution order, so this carries down chains.
  for (size_t i = 0; i < layers.size(); ++i) {
    for (size_t p : layers[i].input_layers) {
      if (p >= i) continue;
      const Cause c = layers[p].cause;
      if (c != Cause::kClipping && c != Cause::kWeightQuantization && c != Cause::kInputPreprocessing) continue;
      // A consumer amplifies its input grid's loss, but not by orders of magnitude: an error 20 dB
      // beyond the input layer's is the consumer's own.
      const auto bumped = std::make_pair(key[p].first, std::nextafter(key[p].second, INFINITY));
      if (key[i] < bumped && layers[i].cause != Cause::kNone && key[i].first == key[p].first &&
          key[p].second - key[i].second < 20.0) {
        key[i] = bumped;
        layers[i].evidence += fmt::format("; its input comes from '{}' ({}), whose grid this error partly "
                                          "inherits", layers[p].pair.layer, CauseName(c));
      }
    }
  }
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return key[a] < key[b]; });
  for (size_t r = 0; r < idx.size(); ++r) layers[idx[r]].rank = static_cast<int>(r + 1);
}

std::vector<Finding> ModelFindings(const std::vector<LayerReport>& layers, const CauseContext& ctx,
                                   const std::optional<ErrorBudget>& budget) {
  std::vector<Finding> out;
  std::set<Cause> done;
  for (const LayerReport& l : layers) {
    if (l.cause == Cause::kInputPreprocessing && done.insert(l.cause).second)
      out.push_back({l.cause, fmt::format("input '{}': {}", l.pair.layer, l.evidence), l.remedy});
  }
  if (ctx.same_graph) {
    int64_t differing = 0;
    for (const LayerReport& l : layers) differing += l.cause == Cause::kKernelNumerics;
    out.push_back({Cause::kKernelNumerics,
                   fmt::format("both sides run the same graph; {} of {} aligned layers differ only because "
                               "{} and {} round differently", differing, layers.size(),
                               ctx.reference_numerics, ctx.candidate_numerics),
                   Advice("evaluate with the numerics of the runtime you ship")});
  } else if (budget && budget->kernel.share > 0.5) {
    out.push_back({Cause::kKernelNumerics,
                   fmt::format("{} of the output error comes from integer kernel numerics, beyond what "
                               "rounding weights and activations explains", Pct(budget->kernel.share)),
                   Advice("compare under the other numerics profile to see the runtime's share")});
  }
  for (Cause c : {Cause::kFolding, Cause::kFloat16Range}) {
    for (const LayerReport& l : layers) {
      if (l.cause != c || done.count(c)) continue;
      done.insert(c);
      int64_t more = 0;
      for (const LayerReport& m : layers) more += m.cause == c;
      out.push_back({c, fmt::format("first at layer '{}' ({} layer(s) in all): {}", l.pair.layer, more, l.evidence),
                     l.remedy});
    }
  }
  return out;
}

}  // namespace ql::analysis
