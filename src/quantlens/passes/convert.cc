#include "quantlens/passes/convert.h"

#include <algorithm>
#include <set>

#include "quantlens/formats/tflite/writer.h"
#include "quantlens/passes/bias_correction.h"
#include "quantlens/passes/graph_edit.h"
#include "quantlens/runtime/interpreter.h"

namespace ql::passes {
namespace {

using ir::DType;

// A .tflite that already went through a converter's quantization: converting it again would
// quantize quantized values. (Float TFLite files are the accepted TFLite input.)
Status CheckFloatModel(const ir::Graph& g) {
  for (const ir::Tensor& t : g.tensors) {
    if (!t.quant.empty() && (t.dtype == DType::kInt8 || t.dtype == DType::kUInt8 ||
                             t.dtype == DType::kInt16 || t.dtype == DType::kInt32))
      return Unsupported("{} is already quantized (tensor '{}' is {} with a scale); convert takes a "
                         "Keras model or a float .tflite", g.source_path, t.name, ir::DTypeName(t.dtype));
    if (t.dtype == DType::kFloat16 && t.is_constant)
      return Unsupported("{} already stores float16 weights (tensor '{}'); convert takes a Keras "
                         "model or a float32 .tflite", g.source_path, t.name);
  }
  return Status::Ok();
}

bool IsIntegerMode(ConvertMode m) { return m == ConvertMode::kInt8 || m == ConvertMode::kInt16x8; }

Result<std::set<int>> ResolveLayers(const ir::Graph& g, const std::vector<std::string>& names,
                                    const char* flag) {
  std::set<int> ops;
  for (const std::string& n : names) {
    QL_ASSIGN_OR_RETURN(std::vector<int> found, OpsForLayer(g, n, flag));
    ops.insert(found.begin(), found.end());
  }
  return ops;
}

}  // namespace

Result<ConvertMode> ParseConvertMode(const std::string& text) {
  if (text == "float32") return ConvertMode::kFloat32;
  if (text == "float16") return ConvertMode::kFloat16;
  if (text == "dynamic") return ConvertMode::kDynamic;
  if (text == "int8") return ConvertMode::kInt8;
  if (text == "int16x8") return ConvertMode::kInt16x8;
  return InvalidArgument("--mode '{}' is not one of float32, float16, dynamic, int8, int16x8", text);
}

std::string_view ConvertModeName(ConvertMode m) {
  switch (m) {
    case ConvertMode::kFloat32: return "float32";
    case ConvertMode::kFloat16: return "float16";
    case ConvertMode::kDynamic: return "dynamic";
    case ConvertMode::kInt8: return "int8";
    case ConvertMode::kInt16x8: return "int16x8";
  }
  return "?";
}

Result<std::vector<int>> OpsForLayer(const ir::Graph& g, const std::string& name, const char* flag) {
  std::set<int> ops;
  for (int i = 0; i < static_cast<int>(g.ops.size()); ++i) {
    if (g.ops[i].layer == name) ops.insert(i);
    for (int t : g.ops[i].outputs)
      if (g.tensors[t].name == name) ops.insert(i);
  }
  // A layer folded into another op (BatchNormalization into its Conv2D) is found through the map
  // of layer outputs: the op that now computes it.
  for (const ir::LayerOutput& lo : g.layer_outputs)
    if (lo.layer == name) {
      const int p = ProducerOf(g, lo.tensor);
      if (p >= 0) ops.insert(p);
    }
  if (!ops.empty()) return std::vector<int>(ops.begin(), ops.end());
  std::vector<std::string> known;
  for (const ir::Op& op : g.ops)
    if (!op.layer.empty() && std::find(known.begin(), known.end(), op.layer) == known.end())
      known.push_back(op.layer);
  std::string list;
  for (size_t i = 0; i < known.size() && i < 12; ++i) list += (i ? ", " : "") + known[i];
  if (known.size() > 12) list += fmt::format(", ... ({} in all)", known.size());
  if (known.empty()) return NotFound("{} '{}': no op or tensor has that name", flag, name);
  return NotFound("{} '{}': no layer or tensor has that name; layers: {}", flag, name, list);
}

Result<ConvertResult> ConvertModel(const ir::Graph& model, const ConvertOptions& options) {
  QL_RETURN_IF_ERROR(CheckFloatModel(model));
  const bool integer = IsIntegerMode(options.mode);
  if (integer && options.calibration.empty())
    return InvalidArgument("--mode {} needs --calibration DATA (samples of the model's input)",
                           ConvertModeName(options.mode));
  if (!integer && !options.calibration.empty())
    return InvalidArgument("--calibration is used by --mode int8 and int16x8 only, not {}",
                           ConvertModeName(options.mode));
  if (!integer && options.bias_correction)
    return InvalidArgument("--bias-correction applies to --mode int8 and int16x8 only");
  if (!integer && (!options.keep_float.empty() || !options.int16.empty()))
    return InvalidArgument("--keep-float and --int16 apply to --mode int8 and int16x8 only");
  if (!integer && (options.input_type != DType::kFloat32 || options.output_type != DType::kFloat32))
    return InvalidArgument("--input-type/--output-type other than float32 need --mode int8 or int16x8");

  ConvertResult res;
  QL_ASSIGN_OR_RETURN(ir::Graph legal, LegalizeForTflite(model, {}, &res.legalize));
  tflite::WriteOptions wo;
  wo.recompute_op_versions = true;  // types changed under the ops: versions follow the new types
  wo.add_min_runtime_version = true;
  QL_ASSIGN_OR_RETURN(std::vector<uint8_t> float_bytes, tflite::WriteTfliteBuffer(legal, wo));
  res.float_bytes = float_bytes.size();

  switch (options.mode) {
    case ConvertMode::kFloat32:
      res.graph = std::move(legal);
      res.bytes = std::move(float_bytes);
      break;
    case ConvertMode::kFloat16: {
      QL_ASSIGN_OR_RETURN(res.graph, ConvertFloat16Weights(legal, &res.quantize));
      break;
    }
    case ConvertMode::kDynamic: {
      QL_ASSIGN_OR_RETURN(res.graph, ConvertDynamicRange(legal, !options.per_tensor, 1024, &res.quantize));
      break;
    }
    case ConvertMode::kInt8:
    case ConvertMode::kInt16x8: {
      QuantizeOptions q;
      q.activations = options.mode == ConvertMode::kInt16x8 ? Precision::kInt16 : Precision::kInt8;
      q.per_channel = !options.per_tensor;
      q.input_type = options.input_type;
      q.output_type = options.output_type;
      QL_ASSIGN_OR_RETURN(q.keep_float_ops, ResolveLayers(legal, options.keep_float, "--keep-float"));
      QL_ASSIGN_OR_RETURN(q.int16_ops, ResolveLayers(legal, options.int16, "--int16"));
      QL_RETURN_IF_ERROR(CheckQuantizeOptions(q));
      for (int op : q.int16_ops)
        if (q.keep_float_ops.count(op))
          return InvalidArgument("{} is named by both --keep-float and --int16", legal.OpLabel(op));
      // The sample shapes the float model resolves to (batch 1).
      QL_ASSIGN_OR_RETURN(auto interp, rt::Interpreter::Create(legal));
      std::vector<ir::Shape> shapes;
      for (int i = 0; i < interp->num_inputs(); ++i) shapes.push_back(interp->input(i).shape);
      interp.reset();
      QL_ASSIGN_OR_RETURN(auto source, io::OpenSampleSource(options.calibration, legal, shapes, options.data));
      CalibrationOptions co;
      co.spec = options.method;
      co.num_bins = options.calibration_bins;
      co.target_bits = q.activations == Precision::kInt16 ? 16 : 8;
      co.progress = options.progress;
      co.interpreter.threads = options.threads;
      QL_ASSIGN_OR_RETURN(CalibrationResult cal, Calibrate(legal, *source, co));
      res.calibration_description = source->description();
      res.calibration_samples = cal.num_samples;
      res.calibration_seconds = cal.seconds;
      std::map<int, std::vector<double>> means;
      if (options.bias_correction) {
        QL_ASSIGN_OR_RETURN(means, MeasureInputChannelMeans(legal, *source));
        q.input_means = &means;
      }
      QL_ASSIGN_OR_RETURN(res.graph, QuantizeGraph(legal, cal.ranges, q, &res.quantize));
      break;
    }
  }
  // What is written must run: the engine reproduces TFLite 2.9, so a refusal here is a file the
  // genuine runtime would refuse too (or a kernel quantlens lacks): say so instead of writing it.
  {
    auto check = rt::Interpreter::Create(res.graph);
    if (!check.ok())
      return Status(StatusCode::kUnsupported,
                    "the converted model does not run: " + check.status().message());
  }
  if (res.bytes.empty()) {
    QL_ASSIGN_OR_RETURN(res.bytes, tflite::WriteTfliteBuffer(res.graph, wo));
  }
  return res;
}

}  // namespace ql::passes
