// Internal to the TFLite reader: converts one operator's builtin options table into typed
// ir::Attrs, and names TFLite enums for messages.
#pragma once

#include <string>

#include "quantlens/ir/graph.h"
#include "tflite_schema_generated.h"

namespace ql::tflite {

// Maps a TFLite tensor type to an IR dtype; error for types quantlens has no dtype for.
Result<ir::DType> DTypeFromTflite(::tflite::TensorType t);

// "UNIDIRECTIONAL_SEQUENCE_LSTM" for code 44; "unknown" for codes past the schema's last entry.
std::string TfliteBuiltinName(int code);

// Builds the attrs of `op` (type already resolved to `type`) from its builtin options. `g` gives
// access to tensor dtypes for ops whose attrs default to their tensors' types. Errors carry no
// prefix; the caller adds "file: op N (NAME): ".
Result<ir::Attrs> ParseBuiltinOptions(const ::tflite::Operator& op, ir::OpType type,
                                      const ir::Graph& g, const std::vector<int>& inputs,
                                      const std::vector<int>& outputs);

}  // namespace ql::tflite
