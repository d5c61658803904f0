// Loads any model file quantlens reads, by its content (TFLite identifier, HDF5 signature, zip).
#pragma once

#include <string>

#include "quantlens/ir/graph.h"

namespace ql {

Result<ir::Graph> LoadModel(const std::string& path);

}  // namespace ql
