// The receptive field of one convolution output pixel, gathered into a row in OHWI weight order:
// shared by the reference CONV_2D and the GEMM-backed variants, so both read the same patch.
#pragma once

#include <algorithm>
#include <cstdint>

#include "quantlens/kernels/conv_2d.h"

namespace ql::kern {

// Gathers the receptive field of output pixel (b, oy, ox) into `patch` in (kh, kw, cin) order,
// the order of one OHWI weight row. Taps in the padding are 0: a padded input equals the input
// zero point, so its corrected value (q - z_in) is 0.
template <typename T, typename P, typename Convert>
void GatherPatch(const ConvGeometry& g, const T* input, int b, int oy, int ox, P* patch,
                 Convert convert) {
  const int iy0 = oy * g.stride_h - g.pad_top;
  const int ix0 = ox * g.stride_w - g.pad_left;
  P* dst = patch;
  for (int ky = 0; ky < g.filter_h; ++ky) {
    const int iy = iy0 + ky * g.dilation_h;
    for (int kx = 0; kx < g.filter_w; ++kx, dst += g.in_c) {
      const int ix = ix0 + kx * g.dilation_w;
      if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w) {
        std::fill(dst, dst + g.in_c, P{0});
        continue;
      }
      const T* src = input + ((static_cast<int64_t>(b) * g.in_h + iy) * g.in_w + ix) * g.in_c;
      for (int c = 0; c < g.in_c; ++c) dst[c] = convert(src[c]);
    }
  }
}

}  // namespace ql::kern
