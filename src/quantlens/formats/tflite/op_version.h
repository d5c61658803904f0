// Operator-code versions and minimum runtime versions, computed as TensorFlow Lite 2.9's converter
// computes them (tensorflow/lite/tools/versioning), so files quantlens writes declare exactly what
// the runtime must support and nothing newer.
#pragma once

#include <string>

#include "quantlens/ir/graph.h"

namespace ql::tflite {

// The operator-code version TFLite 2.9's converter gives `op` (types, quantization, options and
// shapes of its tensors in `g`). Ops without a TFLite builtin (quantlens-internal) return 1.
int ComputeOpVersion(const ir::Graph& g, const ir::Op& op);

// TFLite's minimum runtime version ("1.14.0") for builtin `type` at `version`; empty if TFLite 2.9
// does not know the pair.
std::string MinRuntimeVersion(ir::OpType type, int version);

}  // namespace ql::tflite
