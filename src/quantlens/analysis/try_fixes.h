// `quantlens compare --try-fixes`: applies the remedies of the worst layers and of the model-level
// findings, each on its own, and measures the outputs again. A reconversion goes through
// passes::ConvertModel exactly as `quantlens convert` with the same flags would; a preprocessing
// change re-runs the comparison with the data rescaled.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "quantlens/analysis/compare.h"

namespace ql::analysis {

struct FixMetrics {
  double sqnr_db = 0;
  std::optional<double> top1_agreement;
};

struct FixResult {
  Cause cause = Cause::kNone;
  std::string layer;    // the layer whose remedy it is (empty for model-level findings)
  std::string remedy;   // Remedy::text
  std::string command;  // how to apply it by hand
  FixMetrics before;
  std::optional<FixMetrics> after;
  std::string error;    // why it could not be applied
};

struct TryFixOptions {
  std::string reference_path;  // for the printed commands
  std::string data_label;      // the --data argument as given
  std::string data_flags;      // image flags of the data (" --resize 96x96 --scale 0.0039"), for commands
  // Calibration data for reconversions; empty: the comparison data (optimistic: the same samples
  // calibrate and evaluate).
  std::string calibration;
  size_t max_fixes = 3;
};

// `reference` and `candidate` are the graphs `result` compared with `options` (which must have had
// layers on). Remedies that need a float source model are reported with an error when the
// reference is itself quantized.
Result<std::vector<FixResult>> TryFixes(const ir::Graph& reference, const ir::Graph& candidate,
                                        const CompareResult& result, const CompareOptions& options,
                                        const TryFixOptions& fix_options);

// Output 0's SQNR and (classifiers) top-1 agreement.
FixMetrics MetricsOf(const CompareResult& r);

}  // namespace ql::analysis
