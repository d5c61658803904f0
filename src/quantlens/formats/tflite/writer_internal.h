// Internal to the TFLite writer: one op's ir::Attrs -> its builtin options table (the inverse of
// options.cc), and IR dtypes -> TFLite tensor types.
#pragma once

#include "quantlens/ir/graph.h"
#include "tflite_schema_generated.h"

namespace ql::tflite {

// Maps an IR dtype to a TFLite tensor type; error for kUnknown.
Result<::tflite::TensorType> TfliteTypeFrom(ir::DType t);

// What an operator's builtin_options fields are set to.
struct BuiltinOptionsOut {
  ::tflite::BuiltinOptions type = ::tflite::BuiltinOptions::NONE;
  flatbuffers::Offset<void> table;
};

// Checks that TFLite's options can hold `op.attrs` exactly as the reader will read them back:
// an attribute TFLite has no field for must have its default value, values the reader refuses
// (stride 0, ...) are refused. Errors carry no prefix; the caller names file and op. Writes
// nothing to any builder, so all ops can be checked before building starts.
Status CheckBuiltinOptions(const ir::Graph& g, const ir::Op& op);

// Builds the options table of `op` into `fbb` (CheckBuiltinOptions must have passed). Ops whose
// TFLite options table has no fields get the empty table when TFLite's converter writes one
// (PAD, EXP, ...) and none when it writes none (QUANTIZE, RELU, ...).
BuiltinOptionsOut BuildBuiltinOptions(flatbuffers::FlatBufferBuilder& fbb, const ir::Graph& g,
                                      const ir::Op& op);

}  // namespace ql::tflite
