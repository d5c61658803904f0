#include "quantlens/formats/model_loader.h"

#include <cstring>
#include <fstream>

#include "quantlens/formats/keras/reader.h"
#include "quantlens/formats/tflite/reader.h"

namespace ql {

Result<ir::Graph> LoadModel(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return NotFound("{}: cannot open file", path);
  char head[8] = {};
  f.read(head, sizeof(head));
  const auto got = f.gcount();
  if (got >= 8 && std::memcmp(head + 4, "TFL3", 4) == 0) return tflite::ReadTfliteFile(path);
  if (got >= 8 && std::memcmp(head, "\x89HDF\r\n\x1a\n", 8) == 0) return keras::ReadKerasModel(path);
  if (got >= 4 && std::memcmp(head, "PK\x03\x04", 4) == 0) return keras::ReadKerasModel(path);
  // Fall back on the extension, so a truncated or odd file still gets the right reader's message.
  auto ends_with = [&](const char* ext) {
    size_t n = std::strlen(ext);
    return path.size() >= n && path.compare(path.size() - n, n, ext) == 0;
  };
  if (ends_with(".tflite")) return tflite::ReadTfliteFile(path);
  if (ends_with(".h5") || ends_with(".keras") || ends_with(".hdf5")) return keras::ReadKerasModel(path);
  return InvalidModel("{}: not a TFLite flatbuffer, HDF5 file or .keras archive (unrecognized header)", path);
}

}  // namespace ql
