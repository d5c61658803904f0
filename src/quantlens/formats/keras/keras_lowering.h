// Lowers a parsed Keras model to a float32 ir::Graph: one graph input per model input (batch -1),
// layers lowered in Keras's own call order, every layer output recorded in graph.layer_outputs.
#pragma once

#include <string>
#include <vector>

#include "quantlens/formats/keras/model_config.h"
#include "quantlens/formats/keras/weight_store.h"
#include "quantlens/ir/graph.h"

namespace ql::keras {

// One call of a layer, for `quantlens inspect`.
struct KerasLayerInfo {
  std::string name;  // "submodel/layer" inside nested models
  std::string class_name;
  int node = 0;
  std::vector<ir::Shape> output_shapes;  // batch -1
  int64_t params = 0;                    // stored weight values (counted on the first call only)
  std::vector<std::string> inbound;      // "layer" or "layer:node" of each input
};

// `file` names the model in messages; `format` is recorded in the graph. `layers`, if not null,
// receives one row per layer call in lowering order.
Result<ir::Graph> LowerKerasModel(const ModelSpec& model, WeightStore& store, KerasFlavor flavor,
                                  const std::string& file, ir::SourceFormat format,
                                  std::vector<KerasLayerInfo>* layers = nullptr);

}  // namespace ql::keras
