// Operator-code versions and minimum runtime versions, computed as TensorFlow Lite 2.9's converter
// computes them (tensorflow/lite/tools/versioning), so files quantlens writes declare exactly what
// the runtime must support and nothing newer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "quantlens/ir/graph.h"

namespace ql::tflite {

// The operator-code version TFLite 2.9's converter gives `op` (types, quantization, options and
// shapes of its tensors in `g`). Ops without a TFLite builtin (quantlens-internal) return 1.
//
// These are TFLite 2.9's versioning rules (tools/versioning/op_version.cc), which its converter
// applies to every model it exports and its MLIR quantizer (float, int8, dynamic range) re-applies.
// Two known cases where a TFLite 2.9 file can carry other versions:
// - int16 activations (int16x8): TFLite 2.9 quantizes these with its older quantizer
//   (tools/optimize calibrate_and_quantize), which raises versions from its own per-op table
//   instead. The rules here test int16 *weights* for CONV_2D (4), DEPTHWISE_CONV_2D (5) and
//   FULLY_CONNECTED (7), so int16x8 forms of these get their int8-free fall-through version;
//   ADD/SUB int16 without power-of-two scales get 3/5.
// - dynamic-range files from the older weight quantizer (tools/optimize/quantize_weights.cc)
//   mark every CONV_2D/FULLY_CONNECTED code hybrid, even ops whose weights stayed float.
int ComputeOpVersion(const ir::Graph& g, const ir::Op& op);

// The version each op's OperatorCode carries in a file TFLite 2.9's converter writes: element i
// is for g.ops[i]. The converter shares one OperatorCode between all ops of a builtin (CUSTOM: of
// a custom code), created at version 1, and raises it to the highest ComputeOpVersion among those
// ops (tools/versioning UpdateOpVersion). So a FULLY_CONNECTED without bias (version 6) lifts the
// code of every FULLY_CONNECTED in the model to 6. Writers that want the converter's bytes use
// these versions, one OperatorCode per builtin.
std::vector<int> ComputeOperatorCodeVersions(const ir::Graph& g);

// TFLite's minimum runtime version ("1.14.0") for builtin `type` at `version`; empty if TFLite 2.9
// does not know the pair (CUSTOM, quantlens-internal ops, versions TFLite 2.9 never assigns).
std::string MinRuntimeVersion(ir::OpType type, int version);

// Orders runtime version strings numerically, component by component ("1.14.0" > "1.5.0");
// a version that is a prefix of another is the smaller ("2.3" < "2.3.0"). <0, 0 or >0.
int CompareRuntimeVersions(std::string_view a, std::string_view b);

// The model's minimum runtime version, as TFLite 2.9's converter computes it for the
// "min_runtime_version" metadata (tools/versioning UpdateMinimumRuntimeVersionForModel): the
// highest MinRuntimeVersion over the ops, each at its ComputeOperatorCodeVersions version,
// compared numerically; pairs TFLite does not know (CUSTOM ops) are skipped. Empty if no op has
// a known minimum (e.g. a graph of only custom ops).
std::string ModelMinRuntimeVersion(const ir::Graph& g);
// The same over the versions a writer actually writes: versions[i] for g.ops[i] (e.g. the ops'
// own ir::Op::version on a round trip). Sizes must match; an op without a version is skipped.
std::string ModelMinRuntimeVersion(const ir::Graph& g, const std::vector<int>& versions);

// What a writer stores as the "min_runtime_version" metadata entry: TFLite's converter gives the
// entry its own buffer of exactly kMinRuntimeVersionBytes bytes, holds the version's characters
// first and fills the rest with NUL bytes (no terminator beyond the padding; an empty version
// leaves all 16 bytes 0). A version of 16 characters or more is not written by TFLite (the buffer
// keeps its zeros); MinRuntimeVersionBuffer does the same.
inline constexpr size_t kMinRuntimeVersionBytes = 16;
inline constexpr const char* kMinRuntimeVersionMetadataName = "min_runtime_version";
std::vector<uint8_t> MinRuntimeVersionBuffer(std::string_view version);

}  // namespace ql::tflite
