// Comparing two models on the same data: a Keras model and its TFLite conversion, two TFLite files,
// or one file under two numerics profiles. Each model is fed in its own input type (float data is
// quantized with an integer model's input scale and zero point) and outputs are compared as
// dequantized floats, one sample at a time.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "quantlens/analysis/metrics.h"
#include "quantlens/io/feed.h"
#include "quantlens/io/sample_source.h"
#include "quantlens/ir/graph.h"
#include "quantlens/runtime/interpreter.h"
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
// The two interpreters of a comparison and the samples they are fed, each model in its own input
// type: float data is quantized with an integer model's input parameters, and data that does not
// fit a quantized reference input as it is (uint8 pixels for an int8 input) is read as float values.
class ModelPair {
 public:
  // Error when either model cannot run, when their input counts differ, or when the data cannot
  // be read for them. With `same_outputs`, also when their output counts differ.
  static Result<std::unique_ptr<ModelPair>> Open(const ir::Graph& reference, const ir::Graph& candidate,
                                                 const CompareOptions& options, bool same_outputs);
  rt::Interpreter& reference() { return *ref_; }
  rt::Interpreter& candidate() { return *cand_; }
  io::SampleSource& source() { return *source_; }
  // Sets sample `s` as both models' inputs (does not invoke).
  Status Feed(int64_t s);

 private:
  ModelPair() = default;
  const ir::Graph* reference_graph_ = nullptr;
  std::string data_;
  std::unique_ptr<rt::Interpreter> ref_, cand_;
  std::unique_ptr<io::SampleSource> source_;
  std::vector<io::InputSpec> ref_specs_, cand_specs_;
  ir::Graph float_view_;  // the reference with float inputs, when the data is read as float
  bool via_float_ = false;
};

}  // namespace ql::analysis
