#pragma once

#include <optional>
#include <string_view>

namespace ql::ir {

enum class OpType : int {
#define QL_OP(name, code) k##name,
#include "quantlens/ir/ops.def"
#undef QL_OP
  kNumOpTypes
};

// "CONV_2D", as TFLite names it.
std::string_view OpTypeName(OpType t);
// The TFLite builtin code, or -1 for quantlens-internal operations.
int OpTypeTfliteCode(OpType t);
// Maps a TFLite builtin code to an OpType; nullopt if quantlens does not know the code.
std::optional<OpType> OpTypeFromTfliteCode(int code);

}  // namespace ql::ir
