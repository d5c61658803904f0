// Output size and leading padding of one spatial dimension under TFLite's SAME / VALID rules.
// Shared by convolution, depthwise, transpose convolution and pooling, so that every windowed op
// agrees on where the window starts.
#pragma once

#include <algorithm>
#include <cstdint>

#include "quantlens/ir/attrs.h"

namespace ql::kern {

struct PaddedDim {
  int64_t out = 0;         // output size; <= 0 when a VALID window does not fit (caller rejects)
  int64_t pad_before = 0;  // taps before the first input element; the odd extra one goes after
};

// `in` input size, `filter` window size, `stride` and `dilation` >= 1 (callers validate them:
// this function returns {0, 0} otherwise rather than dividing by zero).
//   SAME:  out = ceil(in / stride); total = max((out - 1) * stride + eff - in, 0);
//          pad_before = floor(total / 2), so an odd total puts the extra tap at the end.
//   VALID: out = floor((in - eff) / stride) + 1, no padding.
// eff = (filter - 1) * dilation + 1 is the dilated window extent.
inline PaddedDim ComputePadding(int64_t in, int64_t filter, int stride, int dilation,
                                ir::Padding padding) {
  if (stride < 1 || dilation < 1 || filter < 1 || in < 0) return {};
  const int64_t eff = (filter - 1) * dilation + 1;
  PaddedDim r;
  if (padding == ir::Padding::kSame) {
    r.out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>((r.out - 1) * stride + eff - in, 0);
    r.pad_before = total / 2;
  } else {
    // Written so that in < eff gives out <= 0 (floor division of a negative numerator is not
    // needed: any negative difference already means "does not fit").
    r.out = in >= eff ? (in - eff) / stride + 1 : 0;
    r.pad_before = 0;
  }
  return r;
}

}  // namespace ql::kern
