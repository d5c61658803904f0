// Fixed-point helpers shared by every integer kernel. Names state the exact arithmetic; the
// contract (which rounding each TFLite build uses where) is in docs/arithmetic.md.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "quantlens/ir/attrs.h"
#include "quantlens/ir/dtype.h"
#include "quantlens/runtime/numerics.h"

namespace ql::kern {

// A real multiplier r > 0 as M * 2^(shift - 31), M in [2^30, 2^31 - 1] (TFLite's
// QuantizeMultiplier): frexp, M = round-half-away(q * 2^31) in double, carry when M hits 2^31,
// and r below 2^-31 becomes (0, 0).
struct QuantizedMultiplier {
  int32_t multiplier = 0;
  int shift = 0;  // positive: left shift
};
QuantizedMultiplier QuantizeMultiplier(double real_multiplier);

// gemmlowp's SaturatingRoundingDoublingHighMul: floor((a*b + 2^30) / 2^31), i.e. the high half of
// 2ab rounded half toward +inf; only a = b = INT32_MIN saturates (to INT32_MAX).
inline int32_t SaturatingRoundingDoublingHighMul(int32_t a, int32_t b) {
  if (a == b && a == std::numeric_limits<int32_t>::min()) return std::numeric_limits<int32_t>::max();
  int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  // gemmlowp divides (ab + nudge) by 2^31 truncating toward zero; with the nudge above this is
  // floor((ab + 2^30) / 2^31) for both signs.
  return static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));
}

// gemmlowp's RoundingDivideByPOT: x / 2^exponent rounded half away from zero.
inline int32_t RoundingDivideByPOT(int32_t x, int exponent) {
  if (exponent <= 0) return x;
  const int32_t mask = static_cast<int32_t>((int64_t{1} << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// G: TFLite's MultiplyByQuantizedMultiplier in a build without TFLITE_SINGLE_ROUNDING
// (gemmlowp-style double rounding): SRDHM(x * 2^ls, M) then RoundingDivideByPOT by rs.
inline int32_t MultiplyByQuantizedMultiplierDouble(int32_t x, QuantizedMultiplier m) {
  const int ls = m.shift > 0 ? m.shift : 0;
  const int rs = m.shift > 0 ? 0 : -m.shift;
  // Left shift in wrapping int32 arithmetic, as TFLite does (x * (1 << ls)).
  const int32_t shifted = static_cast<int32_t>(static_cast<uint32_t>(x) << ls);
  return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(shifted, m.multiplier), rs);
}

// R: ruy's x86 SIMD kernels (AVX2/AVX-512): t = floor((x*2^ls*M + 2^30) / 2^31) without
// saturation, then floor((t + 2^(rs-1)) / 2^rs): the second rounding breaks ties toward +inf,
// unlike G, which breaks them away from zero.
inline int32_t MultiplyByQuantizedMultiplierRuyX86(int32_t x, QuantizedMultiplier m) {
  const int ls = m.shift > 0 ? m.shift : 0;
  const int rs = m.shift > 0 ? 0 : -m.shift;
  const int64_t shifted = static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(x) << ls));
  const int64_t t = (shifted * m.multiplier + (int64_t{1} << 30)) >> 31;
  if (rs == 0) return static_cast<int32_t>(t);
  const int64_t round = int64_t{1} << (rs - 1);
  // The kernel adds the rounding term in int32; past the top it wraps to this value.
  if (t > std::numeric_limits<int32_t>::max() - round) return static_cast<int32_t>(int64_t{1} << (31 - rs));
  return static_cast<int32_t>((t + round) >> rs);
}

// S: single rounding (TFLITE_SINGLE_ROUNDING, ruy's portable kernel):
// floor((x*M + 2^(30-shift)) / 2^(31-shift)) in 64 bits, one rounding half toward +inf.
inline int32_t MultiplyByQuantizedMultiplierSingle(int32_t x, QuantizedMultiplier m) {
  const int total_shift = 31 - m.shift;
  const int64_t round = int64_t{1} << (total_shift - 1);
  int64_t r = (static_cast<int64_t>(x) * m.multiplier + round) >> total_shift;
  if (r > std::numeric_limits<int32_t>::max()) r = std::numeric_limits<int32_t>::max();
  if (r < std::numeric_limits<int32_t>::min()) r = std::numeric_limits<int32_t>::min();
  return static_cast<int32_t>(r);
}

enum class Rounding { kDouble /*G*/, kRuyX86 /*R*/, kSingle /*S*/ };

inline int32_t MultiplyByQuantizedMultiplier(int32_t x, QuantizedMultiplier m, Rounding r) {
  switch (r) {
    case Rounding::kDouble: return MultiplyByQuantizedMultiplierDouble(x, m);
    case Rounding::kRuyX86: return MultiplyByQuantizedMultiplierRuyX86(x, m);
    case Rounding::kSingle: return MultiplyByQuantizedMultiplierSingle(x, m);
  }
  return 0;
}

// The rounding a GEMM-backed op (CONV_2D, FULLY_CONNECTED) uses for `dtype` under `numerics`.
// Depthwise and every non-GEMM op use kDouble in both builtin builds.
Rounding GemmRounding(rt::OpNumerics numerics, ir::DType dtype);

// std::round: half away from zero (TfLiteRound).
inline float RoundHalfAway(float x) { return std::round(x); }
inline double RoundHalfAway(double x) { return std::round(x); }

// Integer min/max of the quantized type.
void QuantizedTypeRange(ir::DType dtype, int32_t* qmin, int32_t* qmax);

// Clamp bounds for a fused activation on a quantized output (TFLite's
// CalculateActivationRangeQuantized): the type range intersected with the activation's range,
// the bounds quantized as zp + round-half-away(v / scale) with v / scale in float32.
void QuantizedActivationRange(ir::Activation act, float scale, int32_t zero_point, ir::DType dtype,
                              int32_t* act_min, int32_t* act_max);

// Float clamp bounds for a fused activation (RELU: [0, inf), RELU6: [0, 6], ...).
void FloatActivationRange(ir::Activation act, float* act_min, float* act_max);

}  // namespace ql::kern
