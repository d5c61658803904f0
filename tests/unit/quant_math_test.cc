// Fixed-point helpers at their edges: powers of two plus and minus one, ties of both signs, and
// the one saturating case. Each expected value carries the reason it is right.
#include "quantlens/kernels/quant_math.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace ql::kern {
namespace {

constexpr int32_t kOneHalfQ31 = int32_t{1} << 30;  // 0.5 in Q31, the smallest normalized M

TEST(QuantizeMultiplier, PowersOfTwo) {
  // frexp(2^k) = (0.5, k + 1), so M = 0.5 * 2^31 = 2^30 and shift = k + 1.
  for (int k = -31; k <= 20; ++k) {
    const QuantizedMultiplier m = QuantizeMultiplier(std::ldexp(1.0, k));
    EXPECT_EQ(m.multiplier, kOneHalfQ31) << "2^" << k;
    EXPECT_EQ(m.shift, k + 1) << "2^" << k;
  }
}

TEST(QuantizeMultiplier, BelowTwoToTheMinus31IsZero) {
  // 2^-32 has exponent -31 (still representable); 2^-33 has -32, below the floor: (0, 0).
  EXPECT_EQ(QuantizeMultiplier(std::ldexp(1.0, -32)).shift, -31);
  const QuantizedMultiplier m = QuantizeMultiplier(std::ldexp(1.0, -33));
  EXPECT_EQ(m.multiplier, 0);
  EXPECT_EQ(m.shift, 0);
  EXPECT_EQ(QuantizeMultiplier(0.0).multiplier, 0);
}

TEST(QuantizeMultiplier, JustBelowOneCarries) {
  // 1 - 2^-40: q * 2^31 = 2^31 - 2^-9 rounds to 2^31, which does not fit, so M halves to 2^30 and
  // the exponent goes up: the result equals QuantizeMultiplier(1.0).
  const QuantizedMultiplier m = QuantizeMultiplier(1.0 - std::ldexp(1.0, -40));
  EXPECT_EQ(m.multiplier, kOneHalfQ31);
  EXPECT_EQ(m.shift, 1);
}

TEST(QuantizeMultiplier, LargestMantissa) {
  // (2^31 - 1) / 2^31 is exactly representable: M = 2^31 - 1, shift 0, no carry.
  const QuantizedMultiplier m = QuantizeMultiplier((std::ldexp(1.0, 31) - 1) / std::ldexp(1.0, 31));
  EXPECT_EQ(m.multiplier, std::numeric_limits<int32_t>::max());
  EXPECT_EQ(m.shift, 0);
  // Just above one half: 0.5 + 2^-32 -> q * 2^31 = 2^30 + 0.5, rounded half away = 2^30 + 1.
  const QuantizedMultiplier h = QuantizeMultiplier(0.5 + std::ldexp(1.0, -32));
  EXPECT_EQ(h.multiplier, kOneHalfQ31 + 1);
  EXPECT_EQ(h.shift, 0);
}

TEST(RoundingDivideByPOT, TiesGoAwayFromZero) {
  EXPECT_EQ(RoundingDivideByPOT(3, 1), 2);    // 1.5 -> 2
  EXPECT_EQ(RoundingDivideByPOT(-3, 1), -2);  // -1.5 -> -2 (away from zero, not toward +inf)
  EXPECT_EQ(RoundingDivideByPOT(-6, 2), -2);  // -1.5 -> -2
  EXPECT_EQ(RoundingDivideByPOT(-2, 2), -1);  // -0.5 -> -1
  EXPECT_EQ(RoundingDivideByPOT(2, 2), 1);    // 0.5 -> 1
  EXPECT_EQ(RoundingDivideByPOT(-5, 2), -1);  // -1.25 -> -1 (no tie)
  EXPECT_EQ(RoundingDivideByPOT(-7, 2), -2);  // -1.75 -> -2
  EXPECT_EQ(RoundingDivideByPOT(7, 0), 7);    // exponent 0 is the identity
  EXPECT_EQ(RoundingDivideByPOT(std::numeric_limits<int32_t>::min(), 31), -1);  // exactly -1
}

TEST(SaturatingRoundingDoublingHighMul, OnlyMinTimesMinSaturates) {
  constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
  constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
  // (-1) * (-1) in Q31 is +1, which Q31 cannot hold: the only saturating input.
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(kMin, kMin), kMax);
  // -2^31 * (2^31 - 1) / 2^31 = -(2^31 - 1) exactly: no rounding, no saturation.
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(kMin, kMax), -kMax);
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(kMax, kMax), kMax - 1);  // (2^31-1)^2/2^31 = 2^31 - 2 + 2^-31
}

TEST(SaturatingRoundingDoublingHighMul, TiesRoundTowardPlusInfinity) {
  // a * 2^30 / 2^31 = a / 2: odd a gives a tie, broken toward +inf for both signs.
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(1, kOneHalfQ31), 1);    // 0.5 -> 1
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(-1, kOneHalfQ31), 0);   // -0.5 -> 0
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(-3, kOneHalfQ31), -1);  // -1.5 -> -1
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(3, kOneHalfQ31), 2);    // 1.5 -> 2
}

// TFLITE_NUMERICS §2 table: multiplier 0.25 (M = 2^30, shift -1). The three roundings differ on
// exactly these accumulators.
TEST(MultiplyByQuantizedMultiplier, QuarterTable) {
  const QuantizedMultiplier quarter = QuantizeMultiplier(0.25);
  ASSERT_EQ(quarter.multiplier, kOneHalfQ31);
  ASSERT_EQ(quarter.shift, -1);
  struct Row { int32_t x, g, r, s; };
  // G: SRDHM gives x/2 rounded half up, then /2 rounded half away: 5 -> 3 -> 2; -6 -> -3 -> -2;
  //    -3 -> -1 -> -1.
  // R: the same first stage, then /2 rounded half toward +inf: 5 -> 3 -> 2; -6 -> -3 -> -1;
  //    -3 -> -1 -> 0.
  // S: one rounding of x/4 half up: 1.25 -> 1; -1.5 -> -1; -0.75 -> -1.
  for (const Row& row : {Row{5, 2, 2, 1}, Row{-6, -2, -1, -1}, Row{-3, -1, 0, -1}}) {
    EXPECT_EQ(MultiplyByQuantizedMultiplierDouble(row.x, quarter), row.g) << row.x;
    EXPECT_EQ(MultiplyByQuantizedMultiplierRuyX86(row.x, quarter), row.r) << row.x;
    EXPECT_EQ(MultiplyByQuantizedMultiplierSingle(row.x, quarter), row.s) << row.x;
  }
}

TEST(MultiplyByQuantizedMultiplier, PositiveShift) {
  // 2.5 = 0.625 * 2^2: shift 2. 3 * 2.5 = 7.5 and -3 * 2.5 = -7.5 are ties; all three variants
  // round them toward +inf (G and R in SRDHM, S in its single rounding).
  const QuantizedMultiplier m = QuantizeMultiplier(2.5);
  ASSERT_EQ(m.shift, 2);
  for (Rounding r : {Rounding::kDouble, Rounding::kRuyX86, Rounding::kSingle}) {
    EXPECT_EQ(MultiplyByQuantizedMultiplier(3, m, r), 8);
    EXPECT_EQ(MultiplyByQuantizedMultiplier(-3, m, r), -7);
    EXPECT_EQ(MultiplyByQuantizedMultiplier(100, m, r), 250);
  }
}

}  // namespace
}  // namespace ql::kern
