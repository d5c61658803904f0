// QuantizedAddSub8Avx2 (add_sub.h): sixteen 8-bit elements per step. Each input is widened to
// int32, offset and shifted left by 20, rescaled by its multiplier with gemmlowp double rounding,
// added or subtracted, rescaled to the output (double rounding again), offset and clamped:
// QuantizedAddSubElement's steps, lane for lane.
#include <immintrin.h>

#include "quantlens/kernels/add_sub.h"
#include "quantlens/kernels/requant_avx2.h"

namespace ql::kern {

namespace {

QL_AVX2_INLINE Requant8 Uniform(QuantizedMultiplier m) {
  return {_mm256_set1_epi32(m.multiplier), _mm256_set1_epi32(m.shift > 0 ? m.shift : 0),
          _mm256_set1_epi32(m.shift > 0 ? 0 : -m.shift), _mm256_set1_epi32(31 - m.shift)};
}

template <bool kUnsigned>
QL_AVX2_INLINE __m256i Widen8(const void* p) {
  const __m128i v = _mm_loadl_epi64(static_cast<const __m128i*>(p));
  return kUnsigned ? _mm256_cvtepu8_epi32(v) : _mm256_cvtepi8_epi32(v);
}

struct AddSubVectors {
  Requant8 m1, m2, mo;
  __m256i off1, off2;
  __m128i shift;
  bool subtract;
};

// Eight elements up to the output rescale (before the output offset and clamp).
template <bool kUnsigned>
QL_AVX2_INLINE __m256i AddSub8(const AddSubVectors& v, const void* x, const void* y) {
  const __m256i s1 = _mm256_sll_epi32(_mm256_add_epi32(Widen8<kUnsigned>(x), v.off1), v.shift);
  const __m256i s2 = _mm256_sll_epi32(_mm256_add_epi32(Widen8<kUnsigned>(y), v.off2), v.shift);
  const __m256i a1 = RequantDouble8(s1, v.m1), a2 = RequantDouble8(s2, v.m2);
  return RequantDouble8(v.subtract ? _mm256_sub_epi32(a1, a2) : _mm256_add_epi32(a1, a2), v.mo);
}

template <bool kUnsigned, typename T>
QL_AVX2 int64_t AddSubImpl(const QuantizedAddSubParams& p, const T* a, const T* b, T* out, int64_t n) {
  const AddSubVectors v{Uniform(p.input1_multiplier), Uniform(p.input2_multiplier),
                        Uniform(p.output_multiplier), _mm256_set1_epi32(p.input1_offset),
                        _mm256_set1_epi32(p.input2_offset), _mm_cvtsi32_si128(p.left_shift),
                        p.subtract};
  const __m256i out_off = _mm256_set1_epi32(p.output_offset);
  const __m256i lo = _mm256_set1_epi32(p.act_min), hi = _mm256_set1_epi32(p.act_max);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i bytes = PackClamped16<kUnsigned>(AddSub8<kUnsigned>(v, a + i, b + i),
                                                   AddSub8<kUnsigned>(v, a + i + 8, b + i + 8),
                                                   out_off, lo, hi);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), bytes);
  }
  return i;
}

}  // namespace

int64_t QuantizedAddSub8Avx2(const QuantizedAddSubParams& p, const int8_t* a, const int8_t* b,
                             int8_t* out, int64_t n) {
  return AddSubImpl<false>(p, a, b, out, n);
}

int64_t QuantizedAddSub8Avx2(const QuantizedAddSubParams& p, const uint8_t* a, const uint8_t* b,
                             uint8_t* out, int64_t n) {
  return AddSubImpl<true>(p, a, b, out, n);
}

}  // namespace ql::kern
