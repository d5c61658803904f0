// Where a layer's stored variables come from. Keras saves them in creation order (trainable
// first, then non-trainable) and loads them back by position; both stores return them in that
// order:
// - legacy HDF5 (.h5, Keras 2 and Keras 3's legacy writer): group model_weights/<layer name>, whose
//   `weight_names` attribute lists the datasets in order;
// - Keras 3 (model.weights.h5 inside .keras): layers/<snake_case class>[_k]/vars/<i>, where k
//   numbers the layers of that class inside their model, not the layer's name.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "quantlens/formats/keras/h5_file.h"

namespace ql::keras {

// Identifies a layer for both stores.
struct WeightLocator {
  std::vector<std::string> names;  // layer names from the top model down to the layer
  std::string v3_path;             // "layers/conv2d_1", "layers/functional/layers/dense"
};

class WeightStore {
 public:
  virtual ~WeightStore() = default;
  // The layer's variables in Keras's order; empty if the file stores none for it.
  virtual Result<std::vector<FloatArray>> Load(const WeightLocator& loc) = 0;
  virtual const std::string& label() const = 0;
};

// `file` must outlive the store. `weights_root` is the group holding the per-layer groups
// ("model_weights" in full-model files).
std::unique_ptr<WeightStore> MakeLegacyH5Store(const H5File& file, std::string weights_root);
std::unique_ptr<WeightStore> MakeKeras3Store(const H5File& file);

// Keras's naming.to_snake_case: "Conv2D" -> "conv2d", "BatchNormalization" ->
// "batch_normalization", "PReLU" -> "p_re_lu".
std::string KerasSnakeCase(const std::string& class_name);

}  // namespace ql::keras
