// Arithmetic of TFLite 2.9's int16 ("16x8") kernels that the 8-bit kernels do not share:
//  - CheckedLog2: TFLite's test for a power-of-two scale (it picks the POT paths of ADD/SUB,
//    LOGISTIC and TANH), a float32 log2 accepted within 1e-3 of an integer;
//  - gemmlowp's fixed-point tanh and logistic on int16 Q3.12 input (the POT paths of TANH and
//    LOGISTIC in the x86 build), every step in int16 with gemmlowp's rounding and saturation;
//  - the table-interpolation TANH / LOGISTIC of the general-scale paths;
//  - the 513-entry interpolation tables of SOFTMAX (exp and 1 / (1 + x)).
// docs/arithmetic.md section 8 states the contract; this file is normative for it.
#pragma once

#include <array>
#include <cstdint>

namespace ql::kern {

// TFLite's CheckedLog2: log2 computed as float32 log(x) * (1 / log(2)), rounded half away from
// zero into *log2; true when the fractional part is below 1e-3 in magnitude (so a scale within
// about 0.07% of a power of two counts as one).
bool CheckedLog2(float x, int* log2);

// --- gemmlowp fixed point on int16 -----------------------------------------------------------
// A raw int16 value q with `integer_bits` integer bits stands for q / 2^(15 - integer_bits).

// gemmlowp's SaturatingRoundingDoublingHighMul for int16: (a*b + nudge) / 2^15 truncated, with
// nudge = 2^14 for a*b >= 0 and 1 - 2^14 otherwise, i.e. floor((a*b + 2^14) / 2^15); only
// a = b = -32768 saturates (to 32767).
int16_t SaturatingRoundingDoublingHighMul16(int16_t a, int16_t b);
// gemmlowp's RoundingDivideByPOT on an int16 value: x / 2^exponent, ties away from zero.
int16_t RoundingDivideByPOT16(int16_t x, int exponent);
// gemmlowp's SaturatingRoundingMultiplyByPOT<exponent> for int16: a saturating left shift for
// exponent > 0, RoundingDivideByPOT16 for exponent < 0.
int16_t SaturatingRoundingMultiplyByPOT16(int16_t x, int exponent);

// gemmlowp::tanh and gemmlowp::logistic of a Q3.12 int16 value, returning Q0.15 (TFLite's
// optimized_ops::Tanh / Logistic for int16, used when the input scale is 2^-12 (or 2^-11 for
// TANH, after a saturating doubling)).
int16_t GemmlowpTanhQ3(int16_t x);
int16_t GemmlowpLogisticQ3(int16_t x);

// --- Table interpolation (reference_integer_ops::Logistic / Tanh for int16) ------------------
// Input rescaling chosen at Prepare: value = (q * multiplier + round) >> shift, which maps the
// input to 1/(3 * 4096) units (or, in the power-of-two case, multiplier 3 << shift, shift 0).
struct Int16LutActivation {
  int32_t multiplier = 0;
  int32_t shift = 0;
};
int16_t TableLogisticInt16(const Int16LutActivation& p, int16_t q);
int16_t TableTanhInt16(const Int16LutActivation& p, int16_t q);

// --- SOFTMAX tables ----------------------------------------------------------------------------
// 513 entries: 512 interpolation nodes over [input_min, input_max] and one extra for the last
// slope, holding round(f(x) * 32768) corrected by half the interpolation error at each interval
// midpoint, clamped to int16 (TFLite's gen_lut with a [-1, 1] output range, in double).
using Int16Lut = std::array<int16_t, 513>;
enum class Int16LutFunction { kExp, kOneOverOnePlusX };
Int16Lut MakeInt16Lut(Int16LutFunction f);
// Looks a value up with linear interpolation between nodes: node 256 + (x >> 7), slope to the
// next node, fraction x & 127, rounded (TFLite's generic_int16_table_lookup).
int16_t Int16LutLookup(const Int16Lut& lut, int16_t x);

}  // namespace ql::kern
