#include "quantlens/kernels/depthwise_avx2.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

namespace ql::kern {

bool DepthwiseAvx2Supported(const ConvGeometry& g, const ConvQuantParams& p) {
  return g.depth_multiplier == 1 &&
         !DotNeedsWideAccumulator(static_cast<int64_t>(g.filter_h) * g.filter_w) &&
         static_cast<int64_t>(g.filter_h) * g.filter_w <= DepthwisePlan::kMaxTaps &&
         RequantTableVectorizable(p.multipliers);
}

DepthwisePlan MakeDepthwisePlan(const ConvGeometry& g, const int16_t* weights,
                                const ConvQuantParams& p, bool is_unsigned, const int32_t* static_bias) {
  constexpr int nb = DepthwisePlan::kBlock;
  DepthwisePlan plan;
  plan.taps = g.filter_h * g.filter_w;
  plan.tap_pairs = (plan.taps + 1) / 2;
  plan.channel_blocks = (g.out_c + nb - 1) / nb;
  plan.packed.assign(static_cast<size_t>(plan.tap_pairs) * plan.channel_blocks * 32, 0);
  for (int t = 0; t < plan.taps; ++t)
    for (int c = 0; c < g.out_c; ++c) {
      const int in_block = c % nb;
      // unpacklo holds block channels 0-3 (low lane) and 8-11 (high lane), unpackhi 4-7, 12-15.
      const int half = (in_block % 8) / 4;           // 0: unpacklo vector, 1: unpackhi vector
      const int lane = in_block / 8;                 // 128-bit lane
      const int pos = lane * 4 + in_block % 4;       // channel slot within the vector
      const size_t base = (static_cast<size_t>(t / 2) * plan.channel_blocks + static_cast<size_t>(c / nb)) * 32;
      plan.packed[base + static_cast<size_t>(half) * 16 + static_cast<size_t>(pos) * 2 + static_cast<size_t>(t % 2)] =
          weights[static_cast<int64_t>(t) * g.out_c + c];
    }
  plan.requant = MakeRequantTable(p.multipliers, nb);
  plan.rounding = p.rounding;
  plan.input_offset = p.input_offset;
  plan.output_offset = p.output_offset;
  plan.act_min = p.act_min;
  plan.act_max = p.act_max;
  plan.is_unsigned = is_unsigned;
  plan.zero_row.assign(static_cast<size_t>(g.out_c) + nb, static_cast<uint8_t>(p.input_offset));
  if (static_bias) {
    plan.bias.assign(static_cast<size_t>(plan.channel_blocks) * nb, 0);
    std::copy(static_bias, static_bias + g.out_c, plan.bias.begin());
  }
  return plan;
}

namespace {

template <bool kUnsigned>
QL_AVX2_INLINE __m256i Load16Corrected(const void* p, __m256i offset) {
  const __m128i bytes = _mm_loadu_si128(static_cast<const __m128i*>(p));
  const __m256i wide = kUnsigned ? _mm256_cvtepu8_epi16(bytes) : _mm256_cvtepi8_epi16(bytes);
  return _mm256_sub_epi16(wide, offset);
}

// Output rows [row_begin, row_end) of the batch's rows (b * out_h + oy).
template <Rounding R, bool kUnsigned, typename T>
QL_AVX2 void DepthwiseImpl(const DepthwisePlan& plan, const ConvGeometry& g, const T* input,
                           const int32_t* bias, T* output, int64_t row_begin, int64_t row_end) {
  constexpr int nb = DepthwisePlan::kBlock;
  const int channels = g.out_c;
  const int full_blocks = channels / nb;
  const __m256i in_offset = _mm256_set1_epi16(static_cast<int16_t>(plan.input_offset));
  const __m256i out_offset = _mm256_set1_epi32(plan.output_offset);
  const __m256i lo = _mm256_set1_epi32(plan.act_min), hi = _mm256_set1_epi32(plan.act_max);
  // A tap in the padding reads the plan's row of input zero points, whose corrected value is 0.
  const T* zero_row = reinterpret_cast<const T*>(plan.zero_row.data());
  const T* tap[DepthwisePlan::kMaxTaps + 1];
  alignas(32) int32_t bias_block[nb];
  T* out = output + row_begin * g.out_w * channels;
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int b = static_cast<int>(row / g.out_h), oy = static_cast<int>(row % g.out_h);
      for (int ox = 0; ox < g.out_w; ++ox, out += channels) {
        const int iy0 = oy * g.stride_h - g.pad_top, ix0 = ox * g.stride_w - g.pad_left;
        for (int t = 0; t < plan.tap_pairs * 2; ++t) {
          const int iy = iy0 + (t / g.filter_w) * g.dilation_h;
          const int ix = ix0 + (t % g.filter_w) * g.dilation_w;
          const bool inside = t < plan.taps && iy >= 0 && iy < g.in_h && ix >= 0 && ix < g.in_w;
          tap[t] = inside ? input + ((static_cast<int64_t>(b) * g.in_h + iy) * g.in_w + ix) * channels
                          : zero_row;
        }
        for (int cb = 0; cb < plan.channel_blocks; ++cb) {
          const int c0 = cb * nb;
          const bool full = cb < full_blocks;
          const int valid = full ? nb : channels - c0;
          __m256i acc_lo = _mm256_setzero_si256(), acc_hi = _mm256_setzero_si256();
          const __m256i* w = reinterpret_cast<const __m256i*>(plan.packed.data()) +
                             static_cast<size_t>(cb) * 2;
          for (int j = 0; j < plan.tap_pairs; ++j, w += static_cast<size_t>(plan.channel_blocks) * 2) {
            __m256i x0, x1;
            if (full) {
              x0 = Load16Corrected<kUnsigned>(tap[2 * j] + c0, in_offset);
              x1 = Load16Corrected<kUnsigned>(tap[2 * j + 1] + c0, in_offset);
            } else {
              // The last, partial block: copy its channels so no load passes the row's end.
              T buf0[nb], buf1[nb];
              std::fill(buf0, buf0 + nb, static_cast<T>(plan.input_offset));
              std::fill(buf1, buf1 + nb, static_cast<T>(plan.input_offset));
              std::memcpy(buf0, tap[2 * j] + c0, static_cast<size_t>(valid) * sizeof(T));
              std::memcpy(buf1, tap[2 * j + 1] + c0, static_cast<size_t>(valid) * sizeof(T));
              x0 = Load16Corrected<kUnsigned>(buf0, in_offset);
              x1 = Load16Corrected<kUnsigned>(buf1, in_offset);
            }
            acc_lo = _mm256_add_epi32(acc_lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, x1),
                                                                 _mm256_loadu_si256(w)));
            acc_hi = _mm256_add_epi32(acc_hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, x1),
                                                                 _mm256_loadu_si256(w + 1)));
          }
          // Back to channel order: [0-3 | 8-11] and [4-7 | 12-15] to [0-7] and [8-15].
          __m256i a = _mm256_permute2x128_si256(acc_lo, acc_hi, 0x20);
          __m256i c = _mm256_permute2x128_si256(acc_lo, acc_hi, 0x31);
          if (bias && !plan.bias.empty()) {
            a = _mm256_add_epi32(a, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(plan.bias.data() + c0)));
            c = _mm256_add_epi32(c, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(plan.bias.data() + c0 + 8)));
          } else if (bias) {
            std::fill(bias_block, bias_block + nb, 0);
            std::copy(bias + c0, bias + c0 + valid, bias_block);
            a = _mm256_add_epi32(a, _mm256_load_si256(reinterpret_cast<const __m256i*>(bias_block)));
            c = _mm256_add_epi32(c, _mm256_load_si256(reinterpret_cast<const __m256i*>(bias_block + 8)));
          }
          const __m128i bytes =
              PackClamped16<kUnsigned>(Requant8Lanes<R>(a, LoadRequant8(plan.requant, c0)),
                                       Requant8Lanes<R>(c, LoadRequant8(plan.requant, c0 + 8)),
                                       out_offset, lo, hi);
          if (full) {
            _mm_storeu_si128(reinterpret_cast<__m128i*>(out + c0), bytes);
          } else {
            alignas(16) uint8_t tmp[nb];
            _mm_store_si128(reinterpret_cast<__m128i*>(tmp), bytes);
            std::memcpy(out + c0, tmp, static_cast<size_t>(valid));
          }
        }
      }
  }
}

template <bool kUnsigned, typename T>
void DepthwiseFor(const DepthwisePlan& plan, const ConvGeometry& g, const T* input,
                  const int32_t* bias, T* output, const rt::KernelContext& ctx) {
  ctx.ParallelFor(static_cast<int64_t>(g.batch) * g.out_h, [&](int64_t r0, int64_t r1, int) {
    switch (plan.rounding) {
      case Rounding::kDouble: return DepthwiseImpl<Rounding::kDouble, kUnsigned>(plan, g, input, bias, output, r0, r1);
      case Rounding::kRuyX86: return DepthwiseImpl<Rounding::kRuyX86, kUnsigned>(plan, g, input, bias, output, r0, r1);
      case Rounding::kSingle: return DepthwiseImpl<Rounding::kSingle, kUnsigned>(plan, g, input, bias, output, r0, r1);
    }
  });
}

}  // namespace

void DepthwiseInt8Avx2(const DepthwisePlan& plan, const ConvGeometry& g, const int8_t* input,
                       const int32_t* bias, int8_t* output, const rt::KernelContext& ctx) {
  DepthwiseFor<false>(plan, g, input, bias, output, ctx);
}

void DepthwiseUInt8Avx2(const DepthwisePlan& plan, const ConvGeometry& g, const uint8_t* input,
                        const int32_t* bias, uint8_t* output, const rt::KernelContext& ctx) {
  DepthwiseFor<true>(plan, g, input, bias, output, ctx);
}

}  // namespace ql::kern

namespace ql::kern {

// Float depthwise (depth multiplier 1), eight channels per vector. Per channel the arithmetic is
// the reference's: the products of the in-bounds taps added in (ky, kx) order starting from 0,
// then bias + sum, then the clamp in std::max/std::min's operand order; so the bits are equal.
namespace {

QL_AVX2 void DepthwiseFloatRows(const ConvFloatParams& p, const ConvGeometry& g, const float* input,
                                const float* weights, const float* bias, float* output,
                                int64_t row_begin, int64_t row_end) {
  const int channels = g.out_c;
  const int vec_end = channels / 8 * 8;
  const __m256 lo = _mm256_set1_ps(p.act_min), hi = _mm256_set1_ps(p.act_max);
  float* out = output + row_begin * g.out_w * channels;
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int b = static_cast<int>(row / g.out_h), oy = static_cast<int>(row % g.out_h);
      for (int ox = 0; ox < g.out_w; ++ox, out += channels) {
        const int iy0 = oy * g.stride_h - g.pad_top, ix0 = ox * g.stride_w - g.pad_left;
        for (int c = 0; c < vec_end; c += 8) {
          __m256 acc = _mm256_setzero_ps();
          for (int ky = 0; ky < g.filter_h; ++ky) {
            const int iy = iy0 + ky * g.dilation_h;
            if (iy < 0 || iy >= g.in_h) continue;
            for (int kx = 0; kx < g.filter_w; ++kx) {
              const int ix = ix0 + kx * g.dilation_w;
              if (ix < 0 || ix >= g.in_w) continue;
              const float* src = input + ((static_cast<int64_t>(b) * g.in_h + iy) * g.in_w + ix) * channels + c;
              const float* w = weights + (static_cast<int64_t>(ky) * g.filter_w + kx) * channels + c;
              acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_loadu_ps(src), _mm256_loadu_ps(w)));
            }
          }
          const __m256 bv = bias ? _mm256_loadu_ps(bias + c) : _mm256_setzero_ps();
          __m256 v = _mm256_add_ps(bv, acc);
          v = _mm256_min_ps(hi, _mm256_max_ps(lo, v));
          _mm256_storeu_ps(out + c, v);
        }
        for (int c = vec_end; c < channels; ++c) {
          float acc = 0.0f;
          for (int ky = 0; ky < g.filter_h; ++ky) {
            const int iy = iy0 + ky * g.dilation_h;
            if (iy < 0 || iy >= g.in_h) continue;
            for (int kx = 0; kx < g.filter_w; ++kx) {
              const int ix = ix0 + kx * g.dilation_w;
              if (ix < 0 || ix >= g.in_w) continue;
              acc += input[((static_cast<int64_t>(b) * g.in_h + iy) * g.in_w + ix) * channels + c] *
                     weights[(static_cast<int64_t>(ky) * g.filter_w + kx) * channels + c];
            }
          }
          const float v = (bias ? bias[c] : 0.0f) + acc;
          out[c] = std::min(std::max(v, p.act_min), p.act_max);
        }
      }
  }
}

}  // namespace

void DepthwiseFloatAvx2(const ConvFloatParams& p, const ConvGeometry& g, const float* input,
                        const float* weights, const float* bias, float* output,
                        const rt::KernelContext& ctx) {
  ctx.ParallelFor(static_cast<int64_t>(g.batch) * g.out_h, [&](int64_t r0, int64_t r1, int) {
    DepthwiseFloatRows(p, g, input, weights, bias, output, r0, r1);
  });
}

}  // namespace ql::kern
