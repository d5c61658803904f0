// Reads Keras models (.h5 in the Keras 2 and Keras 3 legacy layouts; .keras v3 archives) and lowers
// them to float ir::Graphs whose tensors are tagged with Keras layer names.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "quantlens/formats/keras/keras_lowering.h"
#include "quantlens/ir/graph.h"

namespace ql::keras {

Result<ir::Graph> ReadKerasModel(const std::string& path);

// The graph plus what `quantlens inspect` shows about the Keras model.
struct KerasModelInfo {
  std::string container;      // "h5" or "keras"
  std::string keras_version;  // as stored; empty if the file has none
  std::string backend;        // .h5 only
  std::string model_class;    // Sequential / Functional
  std::string model_name;
  ir::Graph graph;
  std::vector<KerasLayerInfo> layers;  // one row per layer call
};

Result<KerasModelInfo> ReadKerasModelInfo(const std::string& path);
// The same for a file held in memory (the bytes of a .h5 or a .keras file, told apart by their
// signature); `name` is used in messages.
Result<KerasModelInfo> ReadKerasModelInfoFromBuffer(std::span<const uint8_t> bytes,
                                                    const std::string& name);

}  // namespace ql::keras
