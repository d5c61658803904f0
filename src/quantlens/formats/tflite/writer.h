// Writes an ir::Graph as a .tflite flatbuffer (schema version 3, identifier "TFL3") that the
// quantlens reader reads back into an equal graph (ir::DiffGraphs is empty) and that the genuine
// TFLite runtime runs. What is preserved, recomputed and refused: docs/tflite_writer.md.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "quantlens/ir/graph.h"

namespace ql::tflite {

struct WriteOptions {
  // Ops whose version is <= 0 always get the converter's version (ComputeOperatorCodeVersions in
  // formats/tflite/op_version.h: all ops of one builtin share the highest ComputeOpVersion among
  // them). With this set every op does, e.g. after a pass changed tensor types under the ops.
  bool recompute_op_versions = false;
  // Adds the "min_runtime_version" metadata entry TFLite's converter writes (the highest known
  // MinRuntimeVersion of the ops at their written versions, MinRuntimeVersionBuffer's 16 bytes)
  // when the graph has none. Off by default: a round trip must not add entries.
  bool add_min_runtime_version = false;
};

// Bounds the reader puts on a file's metadata and signatures (and the writer on what it writes):
// real converters write two or three metadata entries and one signature.
inline constexpr size_t kMaxMetadataEntries = 10'000;
inline constexpr size_t kMaxSignatureDefs = 10'000;

// The metadata entry holding ir::Graph::layer_outputs (Keras layer -> tensor), as JSON.
inline constexpr const char* kLayerMapMetadataName = "quantlens_layer_map";
// A layer map larger than this is refused by the reader (a map of a million layers with long
// names stays far below it).
inline constexpr size_t kMaxLayerMapBytes = size_t{256} << 20;

// The .tflite bytes of `g`. Refuses (with the op, layer or tensor and the rule) graphs that
// ir::VerifyGraph refuses, quantlens-internal ops (no TFLite builtin), attributes that TFLite's
// options cannot hold (e.g. SOFTMAX on a non-last axis, RELU with a threshold), and anything
// the quantlens reader would refuse on reading the result back (limits, 2 GiB).
Result<std::vector<uint8_t>> WriteTfliteBuffer(const ir::Graph& g, const WriteOptions& options = {});

// WriteTfliteBuffer, then an atomic write to `path` (temporary file + rename: an existing file is
// replaced only by a complete new one).
Status WriteTfliteFile(const ir::Graph& g, const std::string& path, const WriteOptions& options = {});

// The layer map as stored in the kLayerMapMetadataName entry:
// {"version":1,"outputs":[{"layer":"conv2d","node":0,"tensor":5},...]}. Refuses entries the
// decoder would refuse (`num_tensors` bounds the tensor indices) and names that are not UTF-8.
Result<std::vector<uint8_t>> EncodeLayerMap(const std::vector<ir::LayerOutput>& layer_outputs,
                                            int num_tensors);
// Parses a layer map strictly: JSON nesting, size, version, field types, non-empty layer names
// within limits::kMaxNameBytes, node >= 0, tensor in [0, num_tensors). Errors carry no prefix.
Result<std::vector<ir::LayerOutput>> DecodeLayerMap(std::span<const uint8_t> bytes, int num_tensors);

}  // namespace ql::tflite
