// The 8-bit conv inner product compiled for AVX2. The loop is the portable one (conv_2d.cc); the
// target attribute lets the compiler use 256-bit multiply-adds (vpmaddwd) for it. Only this
// function carries the attribute, so no AVX2 code can leak into shared inline functions, and it
// runs only where the registry saw AVX2 (rt::HostCpuFeatures).
#include <cstdint>

#include "quantlens/kernels/conv_2d.h"

namespace ql::kern {

__attribute__((target("avx2"))) void ConvBlockDotAvx2(const int16_t* patches, int k, const int16_t* weights,
                                                      int out_c, int32_t* acc) {
  const int16_t* a0 = patches;
  const int16_t* a1 = patches + k;
  const int16_t* a2 = patches + 2 * static_cast<int64_t>(k);
  const int16_t* a3 = patches + 3 * static_cast<int64_t>(k);
  const int16_t* w = weights;
  for (int oc = 0; oc < out_c; ++oc, w += k) {
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int i = 0; i < k; ++i) {
      const int32_t wv = w[i];
      s0 += static_cast<int32_t>(a0[i]) * wv;
      s1 += static_cast<int32_t>(a1[i]) * wv;
      s2 += static_cast<int32_t>(a2[i]) * wv;
      s3 += static_cast<int32_t>(a3[i]) * wv;
    }
    acc[oc] = s0;
    acc[static_cast<size_t>(out_c) + oc] = s1;
    acc[2 * static_cast<size_t>(out_c) + oc] = s2;
    acc[3 * static_cast<size_t>(out_c) + oc] = s3;
  }
}

}  // namespace ql::kern

#include <immintrin.h>

namespace ql::kern {

// Eight output channels per step, one 256-bit lane each. For every channel the arithmetic is
// DotFloat's: part[j] += patch[i + j] * w[i + j] over full chunks of eight, the tail summed from
// zero, then tail + (((p0 + p1) + (p2 + p3)) + ((p4 + p5) + (p6 + p7))), then bias + that, then
// max with act_min and min with act_max in std::max/std::min's operand order. Multiplies and adds
// stay separate instructions (no FMA), as -ffp-contract=off keeps them in the reference.
__attribute__((target("avx2"))) void ConvPixelFloatAvx2(const float* patch, int k, const float* packed,
                                                        int out_c, const float* bias, float act_min,
                                                        float act_max, float* out) {
  const __m256 lo_v = _mm256_set1_ps(act_min), hi_v = _mm256_set1_ps(act_max);
  const int blocks = (out_c + 7) / 8;
  for (int blk = 0; blk < blocks; ++blk) {
    const float* w = packed + static_cast<size_t>(blk) * static_cast<size_t>(k) * 8;
    __m256 p0 = _mm256_setzero_ps(), p1 = p0, p2 = p0, p3 = p0, p4 = p0, p5 = p0, p6 = p0, p7 = p0;
    int i = 0;
    for (; i + 8 <= k; i += 8) {
      const float* wi = w + static_cast<size_t>(i) * 8;
      p0 = _mm256_add_ps(p0, _mm256_mul_ps(_mm256_set1_ps(patch[i + 0]), _mm256_loadu_ps(wi + 0)));
      p1 = _mm256_add_ps(p1, _mm256_mul_ps(_mm256_set1_ps(patch[i + 1]), _mm256_loadu_ps(wi + 8)));
      p2 = _mm256_add_ps(p2, _mm256_mul_ps(_mm256_set1_ps(patch[i + 2]), _mm256_loadu_ps(wi + 16)));
      p3 = _mm256_add_ps(p3, _mm256_mul_ps(_mm256_set1_ps(patch[i + 3]), _mm256_loadu_ps(wi + 24)));
      p4 = _mm256_add_ps(p4, _mm256_mul_ps(_mm256_set1_ps(patch[i + 4]), _mm256_loadu_ps(wi + 32)));
      p5 = _mm256_add_ps(p5, _mm256_mul_ps(_mm256_set1_ps(patch[i + 5]), _mm256_loadu_ps(wi + 40)));
      p6 = _mm256_add_ps(p6, _mm256_mul_ps(_mm256_set1_ps(patch[i + 6]), _mm256_loadu_ps(wi + 48)));
      p7 = _mm256_add_ps(p7, _mm256_mul_ps(_mm256_set1_ps(patch[i + 7]), _mm256_loadu_ps(wi + 56)));
    }
    __m256 tail = _mm256_setzero_ps();
    for (; i < k; ++i)
      tail = _mm256_add_ps(tail, _mm256_mul_ps(_mm256_set1_ps(patch[i]), _mm256_loadu_ps(w + static_cast<size_t>(i) * 8)));
    const __m256 lo = _mm256_add_ps(_mm256_add_ps(p0, p1), _mm256_add_ps(p2, p3));
    const __m256 hi = _mm256_add_ps(_mm256_add_ps(p4, p5), _mm256_add_ps(p6, p7));
    const __m256 dot = _mm256_add_ps(tail, _mm256_add_ps(lo, hi));
    const int n = out_c - blk * 8 < 8 ? out_c - blk * 8 : 8;
    alignas(32) float b[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    if (bias)
      for (int c = 0; c < n; ++c) b[c] = bias[blk * 8 + c];
    __m256 v = _mm256_add_ps(_mm256_load_ps(b), dot);
    v = _mm256_max_ps(lo_v, v);  // (act_min > v) ? act_min : v, as std::max(v, act_min)
    v = _mm256_min_ps(hi_v, v);  // (act_max < v) ? act_max : v, as std::min(v, act_max)
    if (n == 8) {
      _mm256_storeu_ps(out + blk * 8, v);
    } else {
      alignas(32) float r[8];
      _mm256_store_ps(r, v);
      for (int c = 0; c < n; ++c) out[blk * 8 + c] = r[c];
    }
  }
}

}  // namespace ql::kern
