// Comparing two models on the same data: a Keras model and its TFLite conversion, two TFLite files,
// or one file under two numerics profiles. Each model is fed in its own input type (float data is
// quantized with an integer model's input scale and zero point) and outputs are compared as
// dequantized floats, one sample at a time.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "quantlens/analysis/findings.h"
#include "quantlens/analysis/layer_compare.h"
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
  bool reference_kernels = false;  // both models on the reference kernels only
  int threads = 1;                 // threads each model's ops may use (results do not depend on it)
  size_t worst_samples = 5;
  // Float data is fed as data * data_scale + data_offset (--try-fixes tries other preprocessing).
  double data_scale = 1, data_offset = 0;
  // Per-layer analysis: alignment, accumulated and isolated error, causes, error budget.
  bool layers = false;
  bool budget = true;             // with layers: the two float runs of the error budget
  // The budget is an estimate of three noise powers: it runs on at most this many evenly spaced
  // samples (0: all), which keeps the analysis within 3x the cost of running both models.
  int64_t budget_samples = 32;
  size_t histogram_layers = 6;    // worst layers that get a histogram
  size_t scatter_points = 2000;   // value pairs kept per output for the scatter plot
  size_t flip_images = 12;        // flipped samples whose input is kept for the report
  std::function<void(int64_t done, int64_t total)> progress;
};

struct OutputComparison {
  std::string reference_name, candidate_name;
  OutputMetrics metrics;
  std::vector<SampleResult> worst;
  std::vector<SampleResult> flips;  // classifiers: samples whose top-1 class changed
  std::vector<float> scatter_reference, scatter_candidate;  // evenly sampled value pairs
};

struct CompareResult {
  std::string data_description;
  int64_t num_samples = 0;
  std::vector<OutputComparison> outputs;
  // The first input of the first flipped samples of output 0 (as fed to the reference), for
  // reports that show them.
  std::vector<std::pair<int64_t, io::Array>> flip_inputs;
  // With options.layers:
  std::vector<LayerReport> layers;  // reference execution order
  std::vector<UnalignedLayer> unaligned_reference, unaligned_candidate;
  std::optional<ErrorBudget> budget;
  std::string budget_note;  // why there is no budget
  std::vector<Finding> findings;
  CauseContext context;
};

// Runs both models on every sample of options.data and compares their outputs; with
// options.layers also every aligned layer (findings.h). Errors: a model that cannot run,
// different input or output counts, data that fits neither model.
Result<CompareResult> CompareModels(const ir::Graph& reference, const ir::Graph& candidate,
                                    const CompareOptions& options);

// The values of a runtime tensor as floats (quantized tensors dequantized).
Result<std::vector<float>> TensorValues(const rt::TensorRef& t);

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
  // The first reference input of the last Feed, as read from the data (before conversion).
  const io::Array& last_sample() const { return last_sample_; }

 private:
  ModelPair() = default;
  const ir::Graph* reference_graph_ = nullptr;
  std::string data_;
  std::unique_ptr<rt::Interpreter> ref_, cand_;
  std::unique_ptr<io::SampleSource> source_;
  std::vector<io::InputSpec> ref_specs_, cand_specs_;
  ir::Graph float_view_;  // the reference with float inputs, when the data is read as float
  bool via_float_ = false;
  double data_scale_ = 1, data_offset_ = 0;
  io::Array last_sample_;
};

}  // namespace ql::analysis
