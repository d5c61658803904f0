// What `quantlens compare` concludes about each aligned layer and about the model as a whole: the
// error statistics, one cause chosen from the evidence, and a remedy quantlens can apply
// (`--try-fixes` applies it through `convert`, or by changing the data's preprocessing).
// docs/compare.md explains each cause and the rule that picks it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "quantlens/analysis/layer_compare.h"
#include "quantlens/analysis/tensor_stats.h"
#include "quantlens/passes/calibration.h"
#include "quantlens/passes/convert.h"

namespace ql::analysis {

enum class Cause {
  kNone,                     // no error, or too little to matter
  kRounding,                 // error about half a quantization step: the grid itself
  kClipping,                 // reference values beyond the candidate's range
  kWeightQuantization,       // coarse weight grid (per-tensor scale with an outlier channel)
  kActivationApproximation,  // lookup-table / fixed-point exp, logistic, tanh, softmax, ...
  kPaddingOrResizeSemantics, // error concentrated on the border rows and columns
  kFolding,                  // a per-channel offset: batch norm or bias folded wrongly or lossily
  kInputPreprocessing,       // the data's range or layout is not what the candidate's input expects
  kFloat16Range,             // float16 overflow or underflow
  kKernelNumerics,           // same graph, different arithmetic (rounding mode, summation order)
};
std::string_view CauseName(Cause c);  // "weight-quantization", ...

// A remedy, as people read it and as `--try-fixes` applies it.
struct Remedy {
  enum class Kind {
    kNone,
    kReconvert,    // convert the reference again with the options below
    kRescaleData,  // feed data * data_scale + data_offset
    kAdvice,       // nothing quantlens can apply by itself
  };
  Kind kind = Kind::kNone;
  std::string text;
  // kReconvert.
  passes::ConvertMode mode = passes::ConvertMode::kInt8;
  std::optional<passes::CalibrationSpec> calibration;
  bool per_channel = true;
  std::vector<std::string> keep_float, int16;  // layer names
  // kRescaleData.
  double data_scale = 1, data_offset = 0;
};

// The `quantlens convert` flags of a kReconvert remedy ("--mode int8 --calibration-method minmax
// --int16 conv2d_3"), without model, output and data.
std::string ConvertFlags(const Remedy& r);

// Static evidence about the weights of the op that computes a candidate tensor.
struct WeightEvidence {
  std::string tensor;          // weight tensor name
  bool per_tensor = false;     // one scale for several output channels
  int64_t channels = 0;
  double sqnr_db = 0;          // 10 log10(mean over channels of signal / rounding noise)^-1 ...
  int64_t worst_channel = -1;  // the channel with the fewest levels in use
  double worst_channel_levels = 0;  // its max |w| in quantization steps
  double worst_channel_sqnr_db = 0;
  int64_t float16_overflow = 0;     // float16 weights that are inf or NaN
};

struct LayerReport {
  LayerPair pair;
  std::string candidate_name;
  std::string candidate_op;  // type of the op writing the candidate tensor ("INPUT" for inputs)
  std::vector<std::string> segment_ops;  // op types between the previous aligned tensors and this one
  // Reference layers computed on the way to this one that have no aligned output of their own
  // (the converter fused them: "dense_1", "batch_normalization_1" for "activation_1"), in order.
  std::vector<std::string> fused_layers;
  // Positions (in the report's layer list) of the aligned layers whose outputs feed this one.
  std::vector<size_t> input_layers;
  ir::DType candidate_dtype = ir::DType::kUnknown;
  TensorStats accumulated;
  std::optional<TensorStats> isolated;
  // The worst approximated activation (LOGISTIC, SOFTMAX, ...) of the segment, against the same op
  // run in float on the candidate's own inputs (isolated run; needs the float simulation).
  std::optional<TensorStats> activation_error;
  std::string activation_op;
  double sqnr_drop_db = 0;  // accumulated SQNR of the previous layer minus this one's
  std::optional<WeightEvidence> weights;
  int rank = 0;  // 1 = adds the most error; 0 = adds none
  Cause cause = Cause::kNone;
  std::string evidence;
  Remedy remedy;
  std::optional<Histogram> histogram;
};

struct Finding {
  Cause cause = Cause::kNone;
  std::string evidence;
  Remedy remedy;
};

struct BudgetPart {
  double mse = 0;
  double share = 0;
};
struct ErrorBudget {
  int64_t samples = 0;  // the samples it was measured on (CompareOptions::budget_samples)
  double total_mse = 0;
  BudgetPart weight, activation, kernel;
};

// What the classification knows about the comparison as a whole.
struct CauseContext {
  bool same_graph = false;          // one file under two profiles, or identical graphs
  std::string reference_numerics, candidate_numerics;
  bool reference_is_source = false; // a float model `convert` can take (remedies can be applied)
  bool candidate_float16 = false;   // the candidate has float16 weights
};

// Picks cause, evidence and remedy for `layer` from its statistics (isolated first).
void ClassifyLayer(LayerReport& layer, const CauseContext& ctx);
// Model-level findings: input preprocessing, kernel numerics, folding and float16 summaries.
std::vector<Finding> ModelFindings(const std::vector<LayerReport>& layers, const CauseContext& ctx,
                                   const std::optional<ErrorBudget>& budget);
// Ranks layers by the error they add (isolated SQNR, lowest first); rank 0 for those adding none.
void RankLayers(std::vector<LayerReport>& layers);

}  // namespace ql::analysis
