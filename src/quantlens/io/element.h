// Reading and writing single elements of any io::Array dtype as double. Used where data crosses
// dtypes (feeding inputs, summaries, top-k), never in kernels: it trades speed for generality.
#pragma once

#include <cstdint>

#include "quantlens/ir/dtype.h"

namespace ql::io {

// IEEE 754 binary16 <-> binary32. FloatToHalf rounds to nearest even and keeps inf/NaN.
float HalfToFloat(uint16_t h);
uint16_t FloatToHalf(float f);

// Element `i` of raw little-endian data of type `t` as a double (bool: 0 or 1). `t` must have a
// fixed size (not kString/kUnknown); the caller guarantees `i` is in range.
double LoadAsDouble(ir::DType t, const uint8_t* data, int64_t i);
// Stores `v` into element `i`. For integer types `v` must already be an in-range integer value.
void StoreFromDouble(ir::DType t, uint8_t* data, int64_t i, double v);

}  // namespace ql::io
