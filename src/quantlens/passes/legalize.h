// Legalization: turns the float graph the Keras readers produce into the graph TensorFlow's
// converter would emit before quantizing: only TFLite builtin ops, batch normalization folded into
// the preceding convolution or dense layer (or MUL + ADD where it cannot be), standalone
// activations fused into the op before them, identities and constant subgraphs removed, and
// quantlens-internal ops (BATCH_NORM, HARD_SIGMOID, LAYER_NORM, SELU, SOFTPLUS, SOFTSIGN, SWISH,
// Keras RELU with max_value) lowered to builtins. docs/conversion_passes.md gives each rule and
// where it differs from TensorFlow's converter.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "quantlens/ir/graph.h"
#include "quantlens/util/status.h"

namespace ql::passes {

struct LegalizeOptions {
  // Each pass can be turned off (to compare a converter's output against a partial legalization);
  // lowering internal ops and the final checks always run.
  bool fold_batch_norm = true;    // into CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED / TRANSPOSE_CONV
  bool fuse_activations = true;   // RELU / RELU6 / RELU_N1_TO_1 into the op's fused-activation slot
  bool remove_identities = true;  // RESHAPE to the same shape, CAST to the same type, ...
  bool fold_constants = true;     // ops whose inputs are all constant become constants
  // Constant folding leaves an op alone when one of its outputs would hold more elements than
  // this (TILE or a broadcast can turn a small constant into a huge one).
  int64_t max_folded_elements = int64_t{1} << 22;
};

struct LegalizeReport {
  // Human-readable, in the order done: "folded batch_normalization_3 into conv2d_3".
  std::vector<std::string> actions;
  int ops_before = 0;
  int ops_after = 0;
  int batch_norms_folded = 0;   // into the preceding op's weights and bias
  int batch_norms_lowered = 0;  // to MUL + ADD
  int activations_fused = 0;
  int identities_removed = 0;
  int constants_folded = 0;
  int ops_lowered = 0;          // internal ops (and Keras-only attributes) replaced by builtins
  int dead_ops_removed = 0;

  // "41 -> 29 ops: 7 batch norms folded, 7 activations fused, ..." (one line).
  std::string Summary() const;
};

// Returns the legalized copy of `g` (which is not changed). Errors: Unsupported naming the Keras
// layer and what cannot be expressed with TFLite builtins (e.g. a ReLU with a threshold);
// Internal if the result fails ir::VerifyGraph.
Result<ir::Graph> LegalizeForTflite(const ir::Graph& g, const LegalizeOptions& opts = {},
                                    LegalizeReport* report = nullptr);

}  // namespace ql::passes
