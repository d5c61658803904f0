#include "quantlens/io/element.h"

#include <cmath>
#include <cstring>

namespace ql::io {
namespace {

template <typename T>
T LoadRaw(const uint8_t* data, int64_t i) {
  T v;
  std::memcpy(&v, data + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
  return v;
}
template <typename T>
void StoreRaw(uint8_t* data, int64_t i, T v) {
  std::memcpy(data + i * static_cast<int64_t>(sizeof(T)), &v, sizeof(T));
}

}  // namespace

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const int exp = (h >> 10) & 0x1F;
  const uint32_t mant = h & 0x3FF;
  uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);  // inf or NaN (payload kept)
  } else if (exp != 0) {
    bits = sign | (static_cast<uint32_t>(exp - 15 + 127) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;  // signed zero
  } else {
    // Subnormal half: value = mant * 2^-24, exactly representable as a normal float.
    float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

uint16_t FloatToHalf(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  const uint32_t abs = bits & 0x7FFFFFFFu;
  if (abs >= 0x7F800000u) {  // inf or NaN; make sure a NaN stays a NaN
    return sign | 0x7C00 | (abs > 0x7F800000u ? 0x200 : 0);
  }
  if (abs >= 0x477FF000u) return sign | 0x7C00;  // rounds to above 65504: overflow to inf
  if (abs < 0x38800000u) {
    // Result is subnormal (or zero): round |f| / 2^-24 to nearest even, in float where it is exact
    // enough (|f| < 2^-14, so |f| * 2^24 < 1024 and nearbyint rounds half to even).
    float a;
    std::memcpy(&a, &abs, sizeof(a));
    return sign | static_cast<uint16_t>(std::nearbyint(std::ldexp(a, 24)));
  }
  // Normal: drop 13 mantissa bits with round to nearest even; a mantissa carry rolls into the
  // exponent, which is the correct result.
  uint32_t rebased = abs - (uint32_t{127 - 15} << 23);
  uint32_t round = 0xFFF + ((rebased >> 13) & 1);
  return sign | static_cast<uint16_t>((rebased + round) >> 13);
}

double LoadAsDouble(ir::DType t, const uint8_t* data, int64_t i) {
  using ir::DType;
  switch (t) {
    case DType::kFloat32: return LoadRaw<float>(data, i);
    case DType::kFloat64: return LoadRaw<double>(data, i);
    case DType::kFloat16: return HalfToFloat(LoadRaw<uint16_t>(data, i));
    case DType::kInt8: return LoadRaw<int8_t>(data, i);
    case DType::kUInt8: return LoadRaw<uint8_t>(data, i);
    case DType::kInt16: return LoadRaw<int16_t>(data, i);
    case DType::kInt32: return LoadRaw<int32_t>(data, i);
    case DType::kInt64: return static_cast<double>(LoadRaw<int64_t>(data, i));
    case DType::kBool: return data[i] != 0 ? 1.0 : 0.0;
    default: return 0.0;
  }
}

void StoreFromDouble(ir::DType t, uint8_t* data, int64_t i, double v) {
  using ir::DType;
  switch (t) {
    case DType::kFloat32: StoreRaw<float>(data, i, static_cast<float>(v)); break;
    case DType::kFloat64: StoreRaw<double>(data, i, v); break;
    case DType::kFloat16: StoreRaw<uint16_t>(data, i, FloatToHalf(static_cast<float>(v))); break;
    case DType::kInt8: StoreRaw<int8_t>(data, i, static_cast<int8_t>(v)); break;
    case DType::kUInt8: StoreRaw<uint8_t>(data, i, static_cast<uint8_t>(v)); break;
    case DType::kInt16: StoreRaw<int16_t>(data, i, static_cast<int16_t>(v)); break;
    case DType::kInt32: StoreRaw<int32_t>(data, i, static_cast<int32_t>(v)); break;
    case DType::kInt64: StoreRaw<int64_t>(data, i, static_cast<int64_t>(v)); break;
    case DType::kBool: data[i] = v != 0.0 ? 1 : 0; break;
    default: break;
  }
}

}  // namespace ql::io
