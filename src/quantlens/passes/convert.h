// The whole conversion `quantlens convert` performs, as one library call so that other commands
// (compare --try-fixes) apply remedies exactly as the user would: legalize the model to TFLite
// builtins, calibrate, quantize, check that the engine runs the result, and serialize it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "quantlens/io/sample_source.h"
#include "quantlens/ir/graph.h"
#include "quantlens/passes/calibration.h"
#include "quantlens/passes/legalize.h"
#include "quantlens/passes/quantize.h"

namespace ql::passes {

enum class ConvertMode { kFloat32, kFloat16, kDynamic, kInt8, kInt16x8 };
Result<ConvertMode> ParseConvertMode(const std::string& text);
std::string_view ConvertModeName(ConvertMode m);

struct ConvertOptions {
  ConvertMode mode = ConvertMode::kInt8;
  // Calibration data (int8 and int16x8 only): see io::OpenSampleSource for the accepted forms.
  std::string calibration;
  io::SampleSourceOptions data;
  CalibrationSpec method;
  int calibration_bins = 2048;
  bool per_tensor = false;
  // Empirical bias correction (passes/bias_correction.h): one more pass over the calibration data.
  bool bias_correction = false;
  ir::DType input_type = ir::DType::kFloat32;
  ir::DType output_type = ir::DType::kFloat32;
  // Keras layer names or tensor names.
  std::vector<std::string> keep_float;
  std::vector<std::string> int16;
  std::function<void(int64_t done, int64_t total)> progress;
  int threads = 1;  // for the calibration runs (the result does not depend on it)
};

struct ConvertResult {
  ir::Graph graph;             // what was written
  std::vector<uint8_t> bytes;  // the .tflite file
  size_t float_bytes = 0;      // size of the float32 conversion of the same model, for comparison
  LegalizeReport legalize;
  QuantizeReport quantize;
  std::string calibration_description;
  int64_t calibration_samples = 0;
  double calibration_seconds = 0;
};

// Converts `model` (a Keras graph, or a float TFLite graph) as `options` say. Every user error
// (bad data, unknown layer names, a mode the model cannot take) is reported before anything is
// produced; the result is checked to run in quantlens's engine (which reproduces TFLite 2.9).
Result<ConvertResult> ConvertModel(const ir::Graph& model, const ConvertOptions& options);

// Ops of `g` whose Keras layer (Op::layer) or one of whose output tensors is named `name`.
// Error listing known layer names when none matches.
Result<std::vector<int>> OpsForLayer(const ir::Graph& g, const std::string& name, const char* flag);

}  // namespace ql::passes
