// Reads a .tflite flatbuffer (subgraph 0) into an ir::Graph. The flatbuffers verifier runs
// first; then every index and buffer reference is checked. Errors name the file, the op index and
// opcode where relevant, and what is wrong.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "quantlens/ir/graph.h"

namespace ql::tflite {

Result<ir::Graph> ReadTfliteFile(const std::string& path);
// `source_name` is used in messages and as Graph::source_path.
Result<ir::Graph> ReadTfliteBuffer(std::span<const uint8_t> bytes, const std::string& source_name);

}  // namespace ql::tflite
