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
