// IEEE 754 binary16 -> binary32, exact for every input (every half is representable as a float):
// zeros keep their sign, subnormals are normalized, infinities stay infinite and NaNs keep their
// sign and payload (shifted into the float's mantissa; no quiet bit is forced).
#pragma once

#include <bit>
#include <cstdint>

namespace ql::kern {

inline float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1Fu;
  uint32_t mantissa = h & 0x3FFu;
  uint32_t bits;
  if (exponent == 0x1Fu) {
    // Inf (mantissa 0) or NaN: all-ones float exponent, payload in the top mantissa bits.
    bits = sign | 0x7F800000u | (mantissa << 13);
  } else if (exponent != 0) {
    // Normal: rebias the exponent from 15 to 127.
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;  // +-0
  } else {
    // Subnormal half: value = mantissa * 2^-24. Shift the leading 1 up to the implicit bit
    // position (bit 10), lowering the exponent once per shift.
    int e = -14;  // exponent of a half subnormal's bit 10
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --e;
    }
    mantissa &= 0x3FFu;
    bits = sign | (static_cast<uint32_t>(e + 127) << 23) | (mantissa << 13);
  }
  return std::bit_cast<float>(bits);
}

}  // namespace ql::kern
