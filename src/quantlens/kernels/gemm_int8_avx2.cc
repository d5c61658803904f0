// The 8-bit indirect GEMM's AVX2 microkernel (gemm_int8.h): each row reads every filter tap through
// its own pointer. Each step takes two reduction terms: a row's pair of int16 inputs is broadcast as one int32 and vpmaddwd multiplies it with sixteen
// channels' weight pairs, giving eight int32 partial sums per vector. Four rows by sixteen
// channels are accumulated in eight registers starting from the bias; int32 addition wraps
// exactly as the reference's (acc + bias) does, and no sum can leave int32 on the way
// (Int8GemmSupported), so the accumulators are the reference's.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "quantlens/kernels/gemm_int8.h"

namespace ql::kern {

namespace {

QL_AVX2_INLINE __m256i BroadcastPair(const int16_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return _mm256_set1_epi32(v);
}

QL_AVX2_INLINE __m256i Load8(const int32_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

template <Rounding R, bool kUnsigned>
QL_AVX2 void GemmImpl(const Int8GemmPlan& plan, const int16_t* const* rows, int m,
                      const int32_t* bias, uint8_t* out, int64_t ldc) {
  constexpr int nr = Int8GemmPlan::kNr, mr = Int8GemmPlan::kMr;
  const __m256i offset = _mm256_set1_epi32(plan.output_offset);
  const __m256i lo = _mm256_set1_epi32(plan.act_min), hi = _mm256_set1_epi32(plan.act_max);
  const int taps = plan.taps, tap_pairs = plan.channels_padded / 2;
  for (int nb = 0; nb < plan.n_blocks; ++nb) {
    const int c0 = nb * nr;
    const int valid = std::min(nr, plan.n - c0);
    alignas(32) int32_t bias_block[nr] = {};
    if (bias) std::copy(bias + c0, bias + c0 + valid, bias_block);
    const __m256i b0 = Load8(bias_block), b1 = Load8(bias_block + 8);
    const Requant8 q0 = LoadRequant8(plan.requant, c0), q1 = LoadRequant8(plan.requant, c0 + 8);
    const __m256i* wb = reinterpret_cast<const __m256i*>(
        plan.packed.data() + static_cast<size_t>(nb) * static_cast<size_t>(plan.k_pairs) * nr * 2);
    for (int r = 0; r < m; r += mr) {
      const int count = std::min(mr, m - r);
      // Missing rows of the last group repeat row 0; their results are not stored.
      const int16_t* const* p0 = rows + static_cast<size_t>(r) * taps;
      const int16_t* const* p1 = count > 1 ? p0 + taps : p0;
      const int16_t* const* p2 = count > 2 ? p0 + 2 * taps : p0;
      const int16_t* const* p3 = count > 3 ? p0 + 3 * taps : p0;
      __m256i c00 = b0, c01 = b1, c10 = b0, c11 = b1, c20 = b0, c21 = b1, c30 = b0, c31 = b1;
      const __m256i* w = wb;
      for (int t = 0; t < taps; ++t) {
        const int16_t* a0 = p0[t];
        const int16_t* a1 = p1[t];
        const int16_t* a2 = p2[t];
        const int16_t* a3 = p3[t];
        for (int kp = 0; kp < tap_pairs; ++kp, w += 2) {
          const __m256i w0 = _mm256_loadu_si256(w);
          const __m256i w1 = _mm256_loadu_si256(w + 1);
          __m256i x = BroadcastPair(a0 + 2 * kp);
          c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(x, w0));
          c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(x, w1));
          x = BroadcastPair(a1 + 2 * kp);
          c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(x, w0));
          c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(x, w1));
          x = BroadcastPair(a2 + 2 * kp);
          c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(x, w0));
          c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(x, w1));
          x = BroadcastPair(a3 + 2 * kp);
          c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(x, w0));
          c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(x, w1));
        }
      }
      const __m256i acc[mr][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
      for (int i = 0; i < count; ++i) {
        const __m128i bytes = PackClamped16<kUnsigned>(Requant8Lanes<R>(acc[i][0], q0),
                                                       Requant8Lanes<R>(acc[i][1], q1), offset, lo, hi);
        uint8_t* dst = out + (r + i) * ldc + c0;
        if (valid == nr) {
          _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), bytes);
        } else {
          alignas(16) uint8_t tmp[nr];
          _mm_store_si128(reinterpret_cast<__m128i*>(tmp), bytes);
          std::memcpy(dst, tmp, static_cast<size_t>(valid));
        }
      }
    }
  }
}

template <bool kUnsigned>
void GemmFor(const Int8GemmPlan& plan, const int16_t* const* rows, int m, const int32_t* bias,
             uint8_t* out, int64_t ldc) {
  switch (plan.rounding) {
    case Rounding::kDouble:
      return GemmImpl<Rounding::kDouble, kUnsigned>(plan, rows, m, bias, out, ldc);
    case Rounding::kRuyX86:
      return GemmImpl<Rounding::kRuyX86, kUnsigned>(plan, rows, m, bias, out, ldc);
    case Rounding::kSingle:
      return GemmImpl<Rounding::kSingle, kUnsigned>(plan, rows, m, bias, out, ldc);
  }
}

}  // namespace

void Int8GemmAvx2(const Int8GemmPlan& plan, const int16_t* const* rows, int m, const int32_t* bias,
                  void* out, int64_t ldc) {
  auto* o = static_cast<uint8_t*>(out);
  if (plan.is_unsigned)
    GemmFor<true>(plan, rows, m, bias, o, ldc);
  else
    GemmFor<false>(plan, rows, m, bias, o, ldc);
}

}  // namespace ql::kern
