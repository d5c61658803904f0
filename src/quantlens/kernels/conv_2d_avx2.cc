// Float CONV_2D's AVX2 pixel kernel. Only this function carries the target attribute, so no AVX2
// code can leak into shared inline functions, and it runs only where the registry saw AVX2
// (rt::HostCpuFeatures). The 8-bit path is the GEMM of gemm_int8_avx2.cc.
#include "quantlens/kernels/conv_2d.h"

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
