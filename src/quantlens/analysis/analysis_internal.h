// Pieces of the comparison shared between its source files, not part of the library's interface.
#pragma once

#include <optional>

#include "quantlens/analysis/compare.h"
#include "quantlens/analysis/findings.h"
#include "quantlens/passes/graph_edit.h"

namespace ql::analysis {

// weight_evidence.cc: the weights of the op computing `tensor` (through QUANTIZE, RESHAPE, ReLU).
std::optional<WeightEvidence> WeightEvidenceFor(const ir::Graph& g, const passes::UseDef& ud, int tensor);

// value_align.cc: the last resort of alignment. Reference layers still unaligned are matched with
// unpaired candidate tensors of the same size by the cosine similarity of their values on the
// first `samples` samples (fed through `pair`): the best match above 0.98 cosine with norms within
// 1.5x, each candidate tensor used once; ties (identical values) pair in execution order. Matched layers move from
// align.unaligned_reference to align.pairs (method kValueCorrelation; pairs stay in the
// reference's execution order). Clears the interpreters' observers.
Status AlignByValues(const ir::Graph& reference, const ir::Graph& candidate, ModelPair& pair,
                     LayerAlignment& align, int64_t samples = 2);

}  // namespace ql::analysis
