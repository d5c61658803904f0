// Requantization of eight int32 accumulators at once, with AVX2, lane for lane the arithmetic of
// quant_math.h's MultiplyByQuantizedMultiplier{Double,RuyX86,Single} (docs/arithmetic.md): the
// optimized 8-bit kernels accumulate exactly in int32 and requantize here, so they produce the
// reference kernels' bytes under every numerics profile. Every function carries the avx2 target
// attribute and is only called from code that runs where rt::HostCpuFeatures() saw AVX2; the
// header may be included anywhere.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <span>
#include <vector>

#include "quantlens/kernels/quant_math.h"

#define QL_AVX2 __attribute__((target("avx2")))
#define QL_AVX2_INLINE __attribute__((target("avx2"), always_inline)) inline

namespace ql::kern {

// Per-channel multipliers split into vector-friendly arrays, padded with zeros to a multiple of
// `pad` channels (M = 0 requantizes to 0; the padded lanes are never stored).
struct RequantTable {
  std::vector<int32_t> mult;         // M
  std::vector<int32_t> left_shift;   // max(shift, 0)
  std::vector<int32_t> right_shift;  // max(-shift, 0)
  std::vector<int32_t> total_shift;  // 31 - shift (single rounding)
};
RequantTable MakeRequantTable(std::span<const QuantizedMultiplier> m, int pad);
// Whether every multiplier's shifts are inside what the vector code handles (right shifts up to
// 31; every QuantizeMultiplier result of a multiplier >= 2^-31 is).
bool RequantTableVectorizable(std::span<const QuantizedMultiplier> m);

struct Requant8 {
  __m256i mult, left, right, total;
};

QL_AVX2_INLINE Requant8 LoadRequant8(const RequantTable& t, int c) {
  return {_mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.mult.data() + c)),
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.left_shift.data() + c)),
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.right_shift.data() + c)),
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.total_shift.data() + c))};
}

// floor((a * m + 2^30) / 2^31) per lane: gemmlowp's SaturatingRoundingDoublingHighMul for m > 0
// (its one saturating case, a = m = INT32_MIN, needs m < 0) and ruy's x86 high multiply. The
// result fits int32, so bits 31..62 of the 64-bit sum are it, whatever the sign.
QL_AVX2_INLINE __m256i HighMulRound(__m256i a, __m256i m) {
  const __m256i round = _mm256_set1_epi64x(int64_t{1} << 30);
  __m256i even = _mm256_add_epi64(_mm256_mul_epi32(a, m), round);
  __m256i odd = _mm256_add_epi64(
      _mm256_mul_epi32(_mm256_srli_epi64(a, 32), _mm256_srli_epi64(m, 32)), round);
  even = _mm256_srli_epi64(even, 31);  // the result in each even lane's low half
  odd = _mm256_slli_epi64(odd, 1);     // the result in each odd lane's high half
  return _mm256_blend_epi32(even, odd, 0xAA);
}

// G: SRDHM(x << left, M), then RoundingDivideByPOT(., right) (half away from zero).
QL_AVX2_INLINE __m256i RequantDouble8(__m256i x, const Requant8& q) {
  const __m256i v = HighMulRound(_mm256_sllv_epi32(x, q.left), q.mult);
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, q.right), one);
  const __m256i rem = _mm256_and_si256(v, mask);
  // (mask >> 1) + (v < 0): the compare gives -1 where v < 0.
  const __m256i thr =
      _mm256_sub_epi32(_mm256_srai_epi32(mask, 1), _mm256_cmpgt_epi32(_mm256_setzero_si256(), v));
  return _mm256_sub_epi32(_mm256_srav_epi32(v, q.right), _mm256_cmpgt_epi32(rem, thr));
}

// R: the same high multiply, then (t + 2^(right-1)) >> right with ties toward +inf; where the
// int32 add would pass INT32_MAX the result is 2^(31 - right), as the scalar version states.
QL_AVX2_INLINE __m256i RequantRuyX86_8(__m256i x, const Requant8& q) {
  const __m256i t = HighMulRound(_mm256_sllv_epi32(x, q.left), q.mult);
  const __m256i one = _mm256_set1_epi32(1);
  // right = 0: a count of -1 is out of range and shifts to 0, so no rounding term.
  const __m256i round = _mm256_sllv_epi32(one, _mm256_sub_epi32(q.right, one));
  const __m256i res = _mm256_srav_epi32(_mm256_add_epi32(t, round), q.right);
  const __m256i over =
      _mm256_cmpgt_epi32(t, _mm256_sub_epi32(_mm256_set1_epi32(INT32_MAX), round));
  const __m256i wrapped = _mm256_sllv_epi32(one, _mm256_sub_epi32(_mm256_set1_epi32(31), q.right));
  return _mm256_blendv_epi8(res, wrapped, over);
}

// Arithmetic right shift of 64-bit lanes by per-lane counts (AVX2 has only the logical one).
QL_AVX2_INLINE __m256i Sra64(__m256i v, __m256i count) {
  const __m256i sign = _mm256_cmpgt_epi64(_mm256_setzero_si256(), v);
  return _mm256_xor_si256(_mm256_srlv_epi64(_mm256_xor_si256(v, sign), count), sign);
}

QL_AVX2_INLINE __m256i ClampToInt32(__m256i v) {
  const __m256i hi = _mm256_set1_epi64x(INT32_MAX), lo = _mm256_set1_epi64x(INT32_MIN);
  v = _mm256_blendv_epi8(v, hi, _mm256_cmpgt_epi64(v, hi));
  return _mm256_blendv_epi8(v, lo, _mm256_cmpgt_epi64(lo, v));
}

// S: (x * M + 2^(total-1)) >> total in 64 bits, saturated to int32.
QL_AVX2_INLINE __m256i RequantSingle8(__m256i x, const Requant8& q) {
  const __m256i low = _mm256_set1_epi64x(0xFFFFFFFF);
  const __m256i one = _mm256_set1_epi64x(1);
  const __m256i te = _mm256_and_si256(q.total, low), to = _mm256_srli_epi64(q.total, 32);
  __m256i even = _mm256_mul_epi32(x, q.mult);
  __m256i odd = _mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(q.mult, 32));
  even = _mm256_add_epi64(even, _mm256_sllv_epi64(one, _mm256_sub_epi64(te, one)));
  odd = _mm256_add_epi64(odd, _mm256_sllv_epi64(one, _mm256_sub_epi64(to, one)));
  even = ClampToInt32(Sra64(even, te));
  odd = ClampToInt32(Sra64(odd, to));
  return _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
}

template <Rounding R>
QL_AVX2_INLINE __m256i Requant8Lanes(__m256i x, const Requant8& q) {
  if constexpr (R == Rounding::kDouble) return RequantDouble8(x, q);
  else if constexpr (R == Rounding::kRuyX86) return RequantRuyX86_8(x, q);
  else return RequantSingle8(x, q);
}

// Output offset and clamp, then sixteen int32 lanes (two vectors: channels 0-7, 8-15) to sixteen
// bytes in channel order. The clamp bounds lie inside the 8-bit type, so the saturating packs
// never saturate.
template <bool kUnsigned>
QL_AVX2_INLINE __m128i PackClamped16(__m256i a, __m256i b, __m256i offset, __m256i lo, __m256i hi) {
  a = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(a, offset), lo), hi);
  b = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(b, offset), lo), hi);
  // packs_epi32 interleaves 128-bit halves: [a0-3 b0-3 | a4-7 b4-7]; restore [a0-7 | b0-7].
  const __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8);
  const __m256i bytes = kUnsigned ? _mm256_packus_epi16(w, w) : _mm256_packs_epi16(w, w);
  // Each half now holds its eight bytes twice; take the first copy of each.
  return _mm256_castsi256_si128(_mm256_permute4x64_epi64(bytes, 0x08));
}

}  // namespace ql::kern
