// Per-layer comparison: where in the network a candidate's error enters, named by source-model
// (Keras) layer. Each reference layer output is aligned with the candidate tensor carrying the
// same layer's output; both models run on every sample and the aligned tensors are compared as
// dequantized floats. The layer that loses the most SQNR relative to the previous aligned layer
// is where the error enters.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "quantlens/analysis/compare.h"
#include "quantlens/analysis/metrics.h"
#include "quantlens/ir/graph.h"

namespace ql::analysis {

enum class AlignMethod {
  kLayerMap,       // both graphs' layer_outputs (Keras reader; `quantlens convert` metadata)
  kTensorName,     // a candidate tensor named exactly like the layer
  kConverterName,  // TensorFlow converter names with a "/<layer>/" segment (the first one named)
  kGraphIO,        // a graph input or output, by position (no layer map in the candidate)
};
std::string_view AlignMethodName(AlignMethod m);

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
};

struct LayerAlignment {
  std::vector<LayerPair> pairs;  // in the reference's execution order
  std::vector<UnalignedLayer> unaligned_reference;
  std::vector<UnalignedLayer> unaligned_candidate;
};

// Aligns `reference`'s layer outputs (it must have layer_outputs) with tensors of `candidate`.
// Pairs must agree in element count; graph inputs align too (they are captured after feeding).
Result<LayerAlignment> AlignLayers(const ir::Graph& reference, const ir::Graph& candidate);

struct LayerComparison {
  LayerPair pair;
  std::string candidate_name;  // the candidate tensor's name
  ir::DType candidate_dtype = ir::DType::kUnknown;
  OutputMetrics metrics;
  // SQNR of the previous aligned layer minus this one (0 for the first; +inf-aware: a finite
  // SQNR after an infinite one is a drop of +inf).
  double sqnr_drop_db = 0;
};

struct LayerCompareResult {
  std::string data_description;
  int64_t num_samples = 0;
  std::vector<LayerComparison> layers;  // reference execution order
  std::vector<UnalignedLayer> unaligned_reference;
  std::vector<UnalignedLayer> unaligned_candidate;
};

// Runs both models on every sample of options.data (fed as CompareModels feeds them) and
// accumulates metrics for every aligned pair. Memory: one sample's aligned tensors.
Result<LayerCompareResult> CompareLayers(const ir::Graph& reference, const ir::Graph& candidate,
                                         const CompareOptions& options);

// Indices into result.layers of the `k` largest SQNR drops, largest first (ties: earlier first).
std::vector<size_t> WorstSqnrDrops(const LayerCompareResult& result, size_t k);

}  // namespace ql::analysis
