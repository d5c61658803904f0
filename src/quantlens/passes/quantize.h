// Post-training quantization of a TFLite-builtin float graph (after LegalizeForTflite): the
// rewrites `quantlens convert` applies for --mode float16, dynamic, int8 and int16x8, with the
// per-layer choices TensorFlow's converter hides (per-tensor weights, layers kept float, layers in
// int16). Every op created gets version 0: the TFLite writer computes versions as TFLite does.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "quantlens/ir/graph.h"
#include "quantlens/passes/calibration.h"
#include "quantlens/util/status.h"

namespace ql::passes {

enum class Precision { kFloat, kInt8, kInt16 };
std::string_view PrecisionName(Precision p);

struct QuantizeOptions {
  // The default precision of quantizable ops: kInt8 (--mode int8) or kInt16 (--mode int16x8).
  Precision activations = Precision::kInt8;
  bool per_channel = true;  // CONV_2D / DEPTHWISE_CONV_2D / TRANSPOSE_CONV weights
  // Type of the model's inputs and outputs: float32 keeps QUANTIZE / DEQUANTIZE at the edges;
  // int8 or uint8 make the edges integer (uint8 through one extra QUANTIZE, as TensorFlow does).
  ir::DType input_type = ir::DType::kFloat32;
  ir::DType output_type = ir::DType::kFloat32;
  // Per-op overrides, by index into the float graph's ops: keep float / run with int16 activations.
  std::set<int> keep_float_ops;
  std::set<int> int16_ops;
  // Empirical bias correction: per-channel means of the float inputs of weighted ops (by tensor
  // index, from MeasureInputChannelMeans); null: no correction, as TensorFlow's converter.
  const std::map<int, std::vector<double>>* input_means = nullptr;
};

struct QuantizeReport {
  // (op type, precision) -> count, over the written graph (QUANTIZE/DEQUANTIZE included).
  std::map<std::pair<std::string, std::string>, int> op_counts;
  // Ops that stayed float because no integer kernel of the requested precision exists in TFLite.
  std::vector<std::string> fallbacks;
  // Ranges a user should look at: never observed, very wide, or collapsed to a point.
  std::vector<std::string> suspicious_ranges;
  int bias_scale_adjustments = 0;
  int bias_corrections = 0;  // ops whose bias absorbed the mean shift of weight rounding
};

// Checks options that do not depend on the data (input/output types against the mode), so callers
// can refuse them before spending time on calibration.
Status CheckQuantizeOptions(const QuantizeOptions& options);

// Full-integer quantization with activation ranges from calibration (`ranges` indexed by the
// float graph's tensor indices).
Result<ir::Graph> QuantizeGraph(const ir::Graph& float_graph, const std::vector<TensorRange>& ranges,
                                const QuantizeOptions& options, QuantizeReport* report = nullptr);

// float16 weights: every float32 constant becomes a FLOAT16 tensor read through DEQUANTIZE.
Result<ir::Graph> ConvertFloat16Weights(const ir::Graph& float_graph, QuantizeReport* report = nullptr);

// Dynamic range: weights of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED with at least
// `min_elements` values become int8 (symmetric; per-channel for convolutions when `per_channel`),
// activations stay float and the hybrid kernels quantize them on the fly.
Result<ir::Graph> ConvertDynamicRange(const ir::Graph& float_graph, bool per_channel,
                                      int64_t min_elements = 1024, QuantizeReport* report = nullptr);

// Whether TFLite 2.9 has a kernel for `type` with activations of `p` (the rewrite keeps other ops
// float and says so).
bool HasIntegerKernel(ir::OpType type, Precision p);

}  // namespace ql::passes
