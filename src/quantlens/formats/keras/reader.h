// Reads Keras models (.h5 in the Keras 2 and Keras 3 legacy layouts; .keras v3 archives) and lowers
// them to float ir::Graphs whose tensors are tagged with Keras layer names.
#pragma once

#include <string>

#include "quantlens/ir/graph.h"

namespace ql::keras {

Result<ir::Graph> ReadKerasModel(const std::string& path);

}  // namespace ql::keras
