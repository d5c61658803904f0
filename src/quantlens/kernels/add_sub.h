// Quantized ADD and SUB: the parameters the reference (add_sub.cc) and the AVX2 loop
// (add_sub_avx2.cc) share.
#pragma once

#include <cstdint>

#include "quantlens/kernels/quant_math.h"

namespace ql::kern {

// Quantized ADD/SUB parameters. Both inputs are brought to a common fixed-point scale
// 2*max(s1, s2) / 2^left_shift, added there, then rescaled to the output.
struct QuantizedAddSubParams {
  int32_t input1_offset = 0;  // -z1
  int32_t input2_offset = 0;  // -z2
  int left_shift = 20;        // 8-bit inputs (int16: 15): (q - z) * 2^shift still fits in int32
  QuantizedMultiplier input1_multiplier;  // s1 / (2 max)
  QuantizedMultiplier input2_multiplier;  // s2 / (2 max)
  QuantizedMultiplier output_multiplier;  // 2 max / (2^20 s_out)
  int32_t output_offset = 0;
  int32_t act_min = 0, act_max = 0;
  bool subtract = false;
};

// The 8-bit elementwise loop over equal shapes with AVX2, sixteen elements per step, lane for
// lane the reference element's arithmetic (three double-rounding multiplies). Returns how many
// leading elements it wrote (a multiple of 16); the caller does the rest.
int64_t QuantizedAddSub8Avx2(const QuantizedAddSubParams& p, const int8_t* a, const int8_t* b,
                             int8_t* out, int64_t n);
int64_t QuantizedAddSub8Avx2(const QuantizedAddSubParams& p, const uint8_t* a, const uint8_t* b,
                             uint8_t* out, int64_t n);

}  // namespace ql::kern
