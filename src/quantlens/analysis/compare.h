// Comparing two models on the same data: a Keras model and its TFLite conversion, two TFLite files,
// or one file under two numerics profiles. Each model is fed in its own input type (float data is
// quantized with an integer model's input scale and zero point) and outputs are compared as
// dequantized floats, one sample at a time.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "quantlens/analysis/metrics.h"
#include "quantlens/io/feed.h"
#include "quantlens/io/sample_source.h"
#include "quantlens/ir/graph.h"
#include "quantlens/runtime/numerics.h"

namespace ql::analysis {

struct CompareOptions {
  std::string data;                  // see io::OpenSampleSource
  io::SampleSourceOptions data_options;
  rt::Profile reference_profile = rt::Profile::kTfliteX86;
  rt::Profile candidate_profile = rt::Profile::kTfliteX86;
  size_t worst_samples = 5;
  std::function<void(int64_t done, int64_t total)> progress;
};

struct OutputComparison {
  std::string reference_name, candidate_name;
  OutputMetrics metrics;
  std::vector<SampleResult> worst;
  std::vector<SampleResult> flips;  // classifiers: samples whose top-1 class changed
};

struct CompareResult {
  std::string data_description;
  int64_t num_samples = 0;
  std::vector<OutputComparison> outputs;
};

Result<CompareResult> CompareModels(const ir::Graph& reference, const ir::Graph& candidate,
                                    const CompareOptions& options);

// --- Shared with per-layer comparison (layer_compare.h) ---
// One sample made for `reference_input` (the reference graph's input tensor), converted to the
// candidate's input `spec` exactly as CompareModels feeds it. `where` names the sample in errors.
Result<io::Array> SampleForCandidate(const io::Array& sample, const ir::Tensor& reference_input,
                                     const io::InputSpec& spec, const std::string& where);

}  // namespace ql::analysis
