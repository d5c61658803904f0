#include "quantlens/kernels/int16_math.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "quantlens/kernels/quant_math.h"

namespace ql::kern {

bool CheckedLog2(float x, int* log2) {
  // float32 throughout, as TFLite: log(x) times the float reciprocal of log(2).
  const float x_log2 = std::log(x) * (1.0f / std::log(2.0f));
  const float rounded = std::round(x_log2);
  *log2 = static_cast<int>(rounded);
  return std::fabs(x_log2 - rounded) < 1e-3f;
}

namespace {

// int16 arithmetic as gemmlowp's generic scalar code performs it: the operation in int, the
// result converted back to int16 (two's complement wrap).
inline int16_t Wrap16(int32_t v) { return static_cast<int16_t>(static_cast<uint16_t>(v)); }
inline int16_t Add16(int16_t a, int16_t b) { return Wrap16(int32_t{a} + b); }
inline int16_t Sub16(int16_t a, int16_t b) { return Wrap16(int32_t{a} - b); }
inline int16_t Neg16(int16_t a) { return Wrap16(-int32_t{a}); }
inline int16_t SaturatingAdd16(int16_t a, int16_t b) {
  return static_cast<int16_t>(std::clamp(int32_t{a} + b, int32_t{-32768}, int32_t{32767}));
}
inline int16_t Mul16(int16_t a, int16_t b) { return SaturatingRoundingDoublingHighMul16(a, b); }

// gemmlowp writes its constants as 32-bit fixed-point values and rounds them to 16 bits
// (RescaleConstantInitializer: RoundingDivideByPOT by 16).
inline int16_t Constant16(int32_t raw32) { return static_cast<int16_t>(RoundingDivideByPOT(raw32, 16)); }

// RoundingHalfSum for int16: (a + b + sign) / 2 with truncating division.
inline int16_t RoundingHalfSum16(int16_t a, int16_t b) {
  const int32_t sum = int32_t{a} + b;
  const int32_t sign = sum >= 0 ? 1 : -1;
  return static_cast<int16_t>((sum + sign) / 2);
}

constexpr int16_t kOneQ0 = 32767;  // FixedPoint<int16, 0>::One()

// exp(x) for x in [-1/4, 0), Q0.15 in and out: Taylor expansion around -1/8.
int16_t ExpOnIntervalQ0(int16_t a) {
  const int16_t exp_minus_one_eighth = Constant16(1895147668);  // exp(-1/8) in Q0.31
  const int16_t one_third = Constant16(715827883);              // 1/3 in Q0.31
  const int16_t x = Add16(a, int16_t{1 << 12});                 // a + 1/8
  const int16_t x2 = Mul16(x, x);
  const int16_t x3 = Mul16(x2, x);
  const int16_t x4 = Mul16(x2, x2);
  const int16_t x4_over_4 = SaturatingRoundingMultiplyByPOT16(x4, -2);
  const int16_t poly = SaturatingRoundingMultiplyByPOT16(
      Add16(Mul16(Add16(x4_over_4, x3), one_third), x2), -1);
  return SaturatingAdd16(exp_minus_one_eighth, Mul16(exp_minus_one_eighth, Add16(x, poly)));
}

// exp(x) for x <= 0 given with `integer_bits` integer bits; result Q0.15. The input is split
// into a part in [-1/4, 0) and multiples of 1/4 .. 16 applied by a barrel of constant factors.
int16_t ExpOnNegativeValues(int16_t a, int integer_bits) {
  const int fractional_bits = 15 - integer_bits;
  const int16_t one_quarter = static_cast<int16_t>(1 << (fractional_bits - 2));
  const int16_t mask = static_cast<int16_t>(one_quarter - 1);
  const int16_t a_mod_quarter_minus_quarter = Sub16(static_cast<int16_t>(a & mask), one_quarter);
  int16_t result =
      ExpOnIntervalQ0(SaturatingRoundingMultiplyByPOT16(a_mod_quarter_minus_quarter, integer_bits));
  const int16_t remainder = Sub16(a_mod_quarter_minus_quarter, a);
  // exp(-2^e) in Q0.31 for e = -2 .. 4.
  static constexpr int32_t kExpOfMinusPowerOfTwo[] = {1672461947, 1302514674, 790015084,
                                                      290630308,  39332535,   720401, 242};
  for (int e = -2; e <= 4; ++e) {
    if (integer_bits <= e) break;
    const int shift = fractional_bits + e;
    if (remainder & (1 << shift)) result = Mul16(result, Constant16(kExpOfMinusPowerOfTwo[e + 2]));
  }
  return a == 0 ? kOneQ0 : result;
}

// Newton-Raphson reciprocal of (1 + a) / 2 for a in (0, 1), Q0.15 in, Q2.13 out (3 iterations
// from the initial guess 48/17 - 32/17 * d).
int16_t HalfReciprocalNewtonQ2(int16_t a) {
  const int16_t half_denominator = RoundingHalfSum16(a, kOneQ0);
  const int16_t c48_17 = Constant16(1515870810);    // 48/17 in Q2.29
  const int16_t cm32_17 = Constant16(-1010580540);  // -32/17 in Q2.29
  constexpr int16_t kOneQ2 = 1 << 13;
  int16_t x = Add16(c48_17, Mul16(half_denominator, cm32_17));
  for (int i = 0; i < 3; ++i) {
    const int16_t one_minus = Sub16(kOneQ2, Mul16(half_denominator, x));
    x = Add16(x, SaturatingRoundingMultiplyByPOT16(Mul16(x, one_minus), 2));
  }
  return x;
}

}  // namespace

int16_t SaturatingRoundingDoublingHighMul16(int16_t a, int16_t b) {
  if (a == b && a == std::numeric_limits<int16_t>::min()) return std::numeric_limits<int16_t>::max();
  const int32_t ab = int32_t{a} * int32_t{b};
  const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
  return static_cast<int16_t>((ab + nudge) / (1 << 15));
}

int16_t RoundingDivideByPOT16(int16_t x, int exponent) {
  if (exponent <= 0) return x;
  const int32_t mask = (1 << exponent) - 1;
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return Wrap16((int32_t{x} >> exponent) + (remainder > threshold ? 1 : 0));
}

int16_t SaturatingRoundingMultiplyByPOT16(int16_t x, int exponent) {
  if (exponent < 0) return RoundingDivideByPOT16(x, -exponent);
  if (exponent == 0) return x;
  const int32_t threshold = (1 << (15 - exponent)) - 1;
  if (x > threshold) return std::numeric_limits<int16_t>::max();
  if (x < -threshold) return std::numeric_limits<int16_t>::min();
  return Wrap16(int32_t{x} * (1 << exponent));
}

int16_t GemmlowpTanhQ3(int16_t x) {
  if (x == 0) return 0;
  const bool negative = x < 0;
  const int16_t n = negative ? x : Neg16(x);
  // -tanh(n) = (1 - exp(2n)) / (1 + exp(2n)); 2n is n read with 4 integer bits.
  const int16_t e = ExpOnNegativeValues(n, 4);
  constexpr int16_t kOneQ2 = 1 << 13;
  const int16_t t = SaturatingRoundingMultiplyByPOT16(Sub16(HalfReciprocalNewtonQ2(e), kOneQ2), 2);
  return negative ? Neg16(t) : t;
}

int16_t GemmlowpLogisticQ3(int16_t x) {
  if (x == 0) return Constant16(1 << 30);  // one half
  const bool positive = x > 0;
  const int16_t abs_x = positive ? x : Neg16(x);
  // 1 / (1 + exp(-|x|)): the Q2.13 half reciprocal read as Q1.14, rescaled to Q0.15.
  const int16_t r = SaturatingRoundingMultiplyByPOT16(
      HalfReciprocalNewtonQ2(ExpOnNegativeValues(Neg16(abs_x), 3)), 1);
  return positive ? r : Sub16(kOneQ0, r);
}

namespace {

// TFLite's sigmoid_table_uint16: sigmoid(i / 24) in Q0.16 for i = 0 .. 255, shared by the int16
// LOGISTIC and TANH kernels (tanh(x) = 2 sigmoid(2x) - 1). The entries are TFLite's own constants
// (they are not a plain rounding of the function, so they cannot be regenerated); the
// differential test covers every entry.
constexpr uint16_t kSigmoidTable[256] = {
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794,
    41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443,
    48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169, 53581, 53983, 54374,
    54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433, 57724, 58007, 58280, 58544,
    58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110, 61279,
    61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990,
    63090, 63186, 63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030,
    64090, 64148, 64204, 64257, 64308, 64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652,
    64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019,
    65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234,
    65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360,
    65367, 65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476,
    65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498, 65500, 65501,
    65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513, 65514, 65515, 65516,
    65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
    65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529,
    65529, 65530, 65530, 65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532,
    65532, 65532, 65532, 65533, 65533, 65533, 65533, 65533, 65533, 65533, 65533, 65534, 65534,
    65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535};

// The rescaled input: (q * multiplier + round) >> shift in int32 (the power-of-two form is
// multiplier 3 << shift without a shift).
inline int32_t RescaleInput(const Int16LutActivation& p, int16_t q) {
  int32_t multiplier = p.multiplier, shift = p.shift;
  if (multiplier == 0) {
    multiplier = 3 << shift;
    shift = 0;
  }
  const int32_t round = shift > 0 ? 1 << (shift - 1) : 0;
  return (int32_t{q} * multiplier + round) >> shift;
}

}  // namespace

int16_t TableLogisticInt16(const Int16LutActivation& p, int16_t q) {
  const int32_t v = RescaleInput(p, q);
  const uint32_t abs_v = static_cast<uint32_t>(std::abs(v));
  // 9 fractional bits between table nodes; interpolation in unsigned Q0.25.
  const uint32_t node = abs_v >> 9;
  uint32_t r;
  if (node >= 255) {
    r = 0x7FFFu << 10;
  } else {
    const uint32_t lo = kSigmoidTable[node], hi = kSigmoidTable[node + 1];
    r = (lo << 9) + (abs_v & 0x1FFu) * (hi - lo);
  }
  r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1;
  return static_cast<int16_t>(static_cast<uint16_t>(r >> 10));
}

int16_t TableTanhInt16(const Int16LutActivation& p, int16_t q) {
  const int32_t v = RescaleInput(p, q);
  const uint32_t abs_v = static_cast<uint32_t>(std::abs(v));
  // 8 fractional bits between nodes (tanh(x) = 2 sigmoid(2x) - 1 doubles the argument).
  const uint32_t node = abs_v >> 8;
  int32_t r;
  if (node >= 255) {
    r = 0xFFFF << 8;
  } else {
    const uint32_t lo = kSigmoidTable[node], hi = kSigmoidTable[node + 1];
    r = static_cast<int32_t>((lo << 8) + (abs_v & 0xFFu) * (hi - lo));
  }
  r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
  return static_cast<int16_t>(static_cast<uint16_t>(static_cast<uint32_t>(r >> 8)));
}

Int16Lut MakeInt16Lut(Int16LutFunction f) {
  const bool exp_fn = f == Int16LutFunction::kExp;
  const double lo = exp_fn ? -10.0 : 0.0, hi = exp_fn ? 0.0 : 1.0;
  auto fn = [exp_fn](double x) { return exp_fn ? std::exp(x) : 1.0 / (1.0 + x); };
  // Output range [-1, 1] over 65536 codes: one unit is 1/32768.
  constexpr double kScale = 32768.0;
  auto clamp16 = [](double v) { return static_cast<int16_t>(std::min(std::max(v, -32768.0), 32767.0)); };
  Int16Lut lut{};
  const double step = (hi - lo) / 512.0, half_step = step / 2.0;
  for (int i = 0; i < 512; ++i) {
    const double v = fn(lo + i * step);
    const double v_mid = fn(lo + i * step + half_step);
    const double v_next = fn(lo + (i + 1) * step);
    const double sample = std::round(v * kScale);
    // Shift each node by half the error linear interpolation makes at the interval midpoint.
    const double interpolated_mid = std::round((v_next * kScale + std::round(v * kScale)) / 2.0);
    const double mid = std::round(v_mid * kScale);
    const double bias = std::round((interpolated_mid - mid) / 2.0);
    lut[static_cast<size_t>(i)] = clamp16(sample - bias);
  }
  lut[512] = clamp16(std::round(fn(hi) * kScale));
  return lut;
}

int16_t Int16LutLookup(const Int16Lut& lut, int16_t x) {
  const int index = 256 + (int32_t{x} >> 7);
  const int32_t offset = x & 0x7F;
  const int32_t base = lut[static_cast<size_t>(index)];
  const int16_t slope = Wrap16(int32_t{lut[static_cast<size_t>(index) + 1]} - base);
  const int32_t delta = (slope * offset + 64) >> 7;
  return Wrap16(base + delta);
}

}  // namespace ql::kern
