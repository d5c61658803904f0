// Writes Keras 3 `.keras` archives: config.json, metadata.json and model.weights.h5 with the
// variables of each layer at layers/<snake_case class>[_k]/vars/<i> (k numbering the layers of a
// class inside their model, as Keras 3's saving_lib does). The archive is written to a temporary
// file in the destination's folder and renamed over `path`, so a failure never leaves a partial
// file behind.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "quantlens/formats/keras/h5_file.h"
#include "quantlens/util/status.h"

namespace ql::keras {

struct KerasV3Contents {
  // The model object of config.json: {"class_name": "Sequential"|"Functional", "config": {...}}.
  nlohmann::json config;
  std::string keras_version = "3.8.0";
  // Variables per layer weight path ("layers/conv2d", "layers/functional/layers/dense"), in
  // Keras's order (kernel, bias; gamma, beta, moving_mean, moving_variance; ...).
  std::map<std::string, std::vector<FloatArray>> vars;
};

Status WriteKerasV3(const std::string& path, const KerasV3Contents& contents);

// Reads the model at `src` (.h5 or .keras), keeps its config and Keras version, and writes it to
// `dst` in the Keras 3 archive layout.
Status ConvertToKerasV3(const std::string& src, const std::string& dst);

// The layer weight path of every layer of `model_config` (a model object), in layer order, with
// nested models' layers under their model's path. For building KerasV3Contents by hand.
Result<std::vector<std::pair<std::string, std::string>>> KerasV3LayerPaths(
    const nlohmann::json& model_config);  // (layer name, weight path)

}  // namespace ql::keras
