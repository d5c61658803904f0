// Temporary: replaced by the TFLite reader.
#include "quantlens/formats/tflite/reader.h"

namespace ql::tflite {

Result<ir::Graph> ReadTfliteFile(const std::string& path) {
  return Unsupported("{}: TFLite reader not built yet", path);
}
Result<ir::Graph> ReadTfliteBuffer(std::span<const uint8_t> bytes, const std::string& source_name) {
  return Unsupported("{}: TFLite reader not built yet", source_name);
}

}  // namespace ql::tflite
