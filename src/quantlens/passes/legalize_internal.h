// Shared between the legalization pass files (legalize.cc: driver, fusion, identities, constant
// folding, naming; legalize_batchnorm.cc; legalize_lower.cc). Not part of the public API.
#pragma once

#include <string>
#include <vector>

#include "quantlens/ir/graph.h"
#include "quantlens/passes/graph_edit.h"
#include "quantlens/passes/legalize.h"
#include "quantlens/util/status.h"

namespace ql::passes::legalize_detail {

struct Ctx {
  ir::Graph& g;
  const LegalizeOptions& opts;
  LegalizeReport& report;
};

// The passes, in the order LegalizeForTflite runs them. Each leaves a valid graph behind (dead
// tensors stay until the final Compact).
Status FoldConstants(Ctx& c);
Status RemoveIdentities(Ctx& c);
Status FoldBatchNorms(Ctx& c);       // BATCH_NORM into the preceding conv / dense op
Status LowerBatchNorms(Ctx& c);      // the remaining BATCH_NORMs to MUL + ADD
Status LowerInternalOps(Ctx& c);     // HARD_SIGMOID, SWISH, SOFTPLUS, SOFTSIGN, SELU, LAYER_NORM, RELU attrs, SOFTMAX axis
Status FuseActivations(Ctx& c);
// Names every tensor: layer outputs after their layer, constants "<layer>/kernel" etc.
void NameTensors(ir::Graph& g);

// "model.h5: layer 'dense_1' (op BATCH_NORM): " for error messages; the Keras class is named
// where the op type implies it.
std::string Where(const ir::Graph& g, int op_index);
// The op's name in reports: its Keras layer, or "op 12 (RELU)" when it has none.
std::string OpName(const ir::Graph& g, int op_index);
// True if tensor t is a float32 constant without quantization parameters.
bool IsFloatConstant(const ir::Graph& g, int t);
// Removes every layer_outputs entry pointing at `tensor` (its value is no longer materialized,
// e.g. a convolution's output before the batch norm folded into it). Returns the layers removed.
std::vector<std::string> DropLayerOutputs(ir::Graph& g, int tensor);

}  // namespace ql::passes::legalize_detail
