// NumPy .npy files (format versions 1.0, 2.0 and 3.0): little-endian, C order. Supported dtypes:
// bool, int8, uint8, int16, int32, int64, float16, float32, float64. Everything else (unicode and
// byte strings, objects, big-endian multi-byte types, Fortran order) is refused with kUnsupported,
// so callers such as the .npz reader can tell "not for us" from "broken file" (kInvalidArgument).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "quantlens/io/array.h"
#include "quantlens/util/status.h"

namespace ql::io {

// Parses a whole .npy image. `source` names the data in messages ("x.npz: member y.npy").
// Checks the magic, the header length against the buffer, the header dictionary, the shape
// product for overflow, and that the data size is exactly shape product * element size.
Result<Array> ParseNpy(std::span<const uint8_t> bytes, const std::string& source);

// The preamble and header alone, with every check ParseNpy makes on them: lets a reader of a large
// file (io/sample_source.h) read the data piecewise. `bytes` must hold at least the header; the
// data is neither needed nor checked.
struct NpyHeader {
  ir::DType dtype = ir::DType::kUnknown;
  ir::Shape shape;
  std::string descr;       // as written, e.g. "<f4"
  size_t data_offset = 0;  // where the data starts
};
Result<NpyHeader> ParseNpyHeader(std::span<const uint8_t> bytes, const std::string& source);
Result<Array> ReadNpyFile(const std::string& path);

// Serializes `a` (version 1.0 header unless the header needs 2.0). Fails for kUnknown/kString
// dtypes or a data size that does not match the shape.
Result<std::vector<uint8_t>> SerializeNpy(const Array& a);
// Writes atomically (see atomic_file.h).
Status WriteNpyFile(const std::string& path, const Array& a);

// NumPy's descriptor for a dtype: "<f4", "|i1", ...; empty for types .npy cannot hold here.
std::string NpyDescr(ir::DType t);

}  // namespace ql::io
