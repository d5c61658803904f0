// Layer alignment: which candidate tensor carries which reference (Keras) layer's output, so that
// per-layer error can be named by the user's layer names (compare.h runs the comparison).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "quantlens/ir/graph.h"

namespace ql::analysis {

enum class AlignMethod {
  kLayerMap,       // both graphs' layer_outputs (Keras reader; `quantlens convert` metadata)
  kTensorName,     // a candidate tensor named exactly like the layer
  kConverterName,  // TensorFlow converter names with a "/<layer>/" segment (the first one named)
  kGraphIO,        // a graph input or output, by position (no layer map in the candidate)
  kValueCorrelation,  // last resort: the unpaired candidate tensor whose values match (analysis_internal.h)
};
std::string_view AlignMethodName(AlignMethod m);

// Position of each tensor in execution order: graph inputs first (by input index), then op
// outputs by op index and output position. Constants and unproduced tensors are absent.
std::map<int, int64_t> ExecutionOrder(const ir::Graph& g);

struct LayerPair {
  std::string layer;
  int node = 0;
  int reference_tensor = -1;
  int candidate_tensor = -1;
  AlignMethod method = AlignMethod::kLayerMap;
};

struct UnalignedLayer {
  std::string name;    // layer name (or candidate tensor name when the candidate has no layer map)
  std::string reason;
  // Reference side: the layer output it stands for (-1 when the reference does not compute it).
  std::string layer;
  int node = 0;
  int tensor = -1;
};

struct LayerAlignment {
  std::vector<LayerPair> pairs;  // in the reference's execution order
  std::vector<UnalignedLayer> unaligned_reference;
  std::vector<UnalignedLayer> unaligned_candidate;
};

// Aligns `reference`'s layer outputs (it must have layer_outputs) with tensors of `candidate`.
// Pairs must agree in element count; graph inputs align too (they are captured after feeding).
Result<LayerAlignment> AlignLayers(const ir::Graph& reference, const ir::Graph& candidate);

}  // namespace ql::analysis
