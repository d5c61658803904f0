// Temporary: replaced by the Keras reader (issue 3).
#include "quantlens/formats/keras/reader.h"

namespace ql::keras {

Result<ir::Graph> ReadKerasModel(const std::string& path) {
  return Unsupported("{}: Keras models are not readable yet", path);
}

}  // namespace ql::keras
