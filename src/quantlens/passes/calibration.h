// Calibration for post-training quantization: runs a float graph over representative samples and
// chooses a [min, max] range for every float activation, by one of four methods (docs/calibration.md
// gives each formula). It is an interpreter observer: the interpreter runs unchanged and the
// calibrator sees each op's outputs right after the op ran.
//
// Memory is bounded by the histograms (num_bins counters per float tensor), never by the number of
// samples. Everything runs on one thread with integer counts and exact min/max, so the same graph
// and samples give the same ranges bit for bit.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "quantlens/io/sample_source.h"
#include "quantlens/ir/graph.h"
#include "quantlens/runtime/interpreter.h"
#include "quantlens/util/status.h"

namespace ql::passes {

struct TensorRange {
  float min = 0, max = 0;
  bool observed = false;
};

enum class CalibrationMethod { kMinMax, kPercentile, kEntropy, kMse };

struct CalibrationSpec {
  CalibrationMethod method = CalibrationMethod::kMinMax;
  double percentile = 99.99;  // kPercentile only: 0 < percentile <= 100
};

// "minmax", "percentile:99.9" ("percentile" alone means 99.99), "entropy", "mse"; an error names
// the accepted forms.
Result<CalibrationSpec> ParseCalibrationMethod(const std::string& text);
// The text ParseCalibrationMethod accepts for `spec`: "minmax", "percentile:99.99", ...
std::string CalibrationName(const CalibrationSpec&);

struct CalibrationOptions {
  CalibrationSpec spec;
  int num_bins = 2048;     // histogram resolution for percentile / entropy / mse (16 .. 1<<20)
  int target_bits = 8;     // 8 (int8 activations) or 16 (int16x8): the grid entropy and mse optimise for
  // After each sample. Histogram methods run the samples twice (ranges, then histograms), so
  // `total` is 2 x num_samples for them and num_samples for minmax.
  std::function<void(int64_t done, int64_t total)> progress;
  rt::InterpreterOptions interpreter;
};

struct CalibrationResult {
  std::vector<TensorRange> ranges;  // indexed by tensor index of the graph; observed for every float
                                    // graph input and every float op output
  int64_t num_samples = 0;
  double seconds = 0;
  // Things the user should know but that do not stop calibration, one line each, e.g. an op output
  // that held NaN or Inf (those values are left out of its range).
  std::vector<std::string> warnings;
};

// Runs `graph` (float) over every sample and returns each float tensor's chosen range.
Result<CalibrationResult> Calibrate(const ir::Graph& graph, io::SampleSource& samples,
                                    const CalibrationOptions& options);

// The range-choosing step alone, on a histogram already collected; exposed for tests and tools.
// `counts` bins [lo, hi] evenly (bin k covers [lo + k*w, lo + (k+1)*w), w = (hi - lo) / bins; the
// last bin includes hi). For kPercentile and kEntropy it must be the histogram of |x| (lo = 0,
// hi = max |x|); for kMse the histogram of x (lo = observed min, hi = observed max). The result is
// never wider than [observed_min, observed_max]; for kMinMax it is exactly that.
struct Histogram {
  double lo = 0, hi = 0;
  std::vector<uint64_t> counts;
};
Result<TensorRange> ChooseRange(const Histogram& histogram, float observed_min, float observed_max,
                                const CalibrationSpec& spec, int target_bits);

}  // namespace ql::passes
