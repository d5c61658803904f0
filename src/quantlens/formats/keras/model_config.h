// The Keras model description (the `model_config` attribute of an .h5 file, or config.json of a
// .keras archive) parsed into plain structs: layers with their class, name, config object and
// inbound connections, for Sequential and Functional models (nested models included). Both the
// Keras 2 and the Keras 3 spellings of connections are read.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "quantlens/util/status.h"

namespace ql::keras {

// Which Keras wrote the file: some defaults and formulas differ (hard_sigmoid, leaky_relu).
enum class KerasFlavor { kKeras2, kKeras3 };

// One tensor produced by a layer call: output `tensor` of call `node` of `layer`.
struct KerasTensorRef {
  std::string layer;
  int node = 0;
  int tensor = 0;
};

struct ModelSpec;

struct LayerSpec {
  std::string class_name;
  std::string name;
  nlohmann::json config;  // the layer's "config" object
  // Functional models: the inputs of each call of the layer, in call order. Empty for Sequential.
  std::vector<std::vector<KerasTensorRef>> inbound_nodes;
  // Why the connections could not be read, reported only if the layer is otherwise lowerable
  // (so a Lambda layer is refused for being a Lambda, not for its odd call arguments).
  std::string inbound_error;
  std::unique_ptr<ModelSpec> model;  // set when the layer is itself a Sequential/Functional model
};

struct ModelSpec {
  std::string class_name;  // "Sequential", "Functional" or "Model"
  std::string name;
  std::vector<LayerSpec> layers;
  std::vector<KerasTensorRef> inputs;   // Functional: input_layers
  std::vector<KerasTensorRef> outputs;  // Functional: output_layers
  // Sequential without an InputLayer: the shape Keras built it with (Keras 3 build_config), or
  // empty.
  std::vector<int64_t> build_input_shape;
  bool sequential() const { return class_name == "Sequential"; }
};

// True for the class names Keras uses for whole models.
bool IsModelClass(const std::string& class_name);

// Parses a model object {"class_name": ..., "config": {...}}. `where` names the file.
Result<ModelSpec> ParseModelConfig(const nlohmann::json& model, const std::string& where);

// Keras 2 or 3, from a version string ("2.4.0", "3.8.0"); Keras 3 when unparsable but the
// config uses Keras 3 spellings (dtype policies as objects).
KerasFlavor FlavorFromVersion(const std::string& keras_version, const nlohmann::json& model_config);

}  // namespace ql::keras
