// The 8-bit GEMM behind the optimized CONV_2D and FULLY_CONNECTED kernels: rows of
// zero-point-corrected int16 inputs times packed int16 weights, accumulated exactly in int32,
// requantized with the reference's rounding (requant_avx2.h) and stored as int8 or uint8. Integer
// sums are exact in any order, so the result is the reference kernel's, byte for byte.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "quantlens/kernels/conv_2d.h"
#include "quantlens/kernels/requant_avx2.h"

namespace ql::kern {

// Prepared once from static weights: the weights packed for the microkernel, the multipliers as
// vector tables and the output stage. The reduction runs over `taps` filter taps of `channels`
// input channels each (a FULLY_CONNECTED is one tap of `depth` channels); each tap's channels are
// padded to an even count so that the microkernel takes them in pairs.
struct Int8GemmPlan {
  static constexpr int kNr = 16;  // output channels per microkernel column block
  static constexpr int kMr = 4;   // rows (output pixels) per microkernel call
  int taps = 1;
  int channels = 0;               // input channels per tap
  int channels_padded = 0;        // rounded up to even
  int k_pairs = 0;                // taps * channels_padded / 2
  int n = 0;                      // output channels
  int n_blocks = 0;               // ceil(n / kNr)
  // [n_blocks][k_pairs][kNr][2]: for each pair of reduction terms, each channel's two weights
  // side by side (vpmaddwd's operand order); missing channels and padding terms are zero.
  std::vector<int16_t> packed;
  RequantTable requant;
  Rounding rounding = Rounding::kDouble;
  int32_t output_offset = 0, act_min = 0, act_max = 0;
  bool is_unsigned = false;
};

// Whether the GEMM reproduces the reference for these parameters: sums that fit int32
// (DotNeedsWideAccumulator over `k` terms) and vectorizable multipliers.
bool Int8GemmSupported(const ConvQuantParams& p, int64_t k);

// `weights` holds n rows of taps * channels values ([n][tap][channel], OHWI order for a conv) with
// the weight zero point already removed (PackWeights*).
Int8GemmPlan MakeInt8GemmPlan(const int16_t* weights, int n, int taps, int channels,
                              const ConvQuantParams& p, bool is_unsigned);

// Indirect GEMM: out[r * ldc + c] for r < m, c < n is requantize(bias[c] + sum over taps t and
// channels i of rows[r * taps + t][i] * w[c][t][i]). Each row pointer addresses one tap's
// channels_padded int16 inputs, zero-point corrected (a tap in the padding points at zeros).
// `bias` may be null. Needs AVX2.
void Int8GemmAvx2(const Int8GemmPlan& plan, const int16_t* const* rows, int m, const int32_t* bias,
                  void* out, int64_t ldc);

// CONV_2D (and FULLY_CONNECTED, as a 1x1 convolution over its rows) over 8-bit tensors with a
// prepared plan: the input is converted once to zero-point-corrected int16 in the context's
// scratch, then tiles of output pixels are split over the context's threads, each building the
// tap pointers of its tile. The kernel reserves Int8ConvScratchBytes at Prepare.
size_t Int8ConvScratchBytes(const ConvGeometry& g, const Int8GemmPlan& plan, int threads);
template <typename T>
void Conv2DInt8Gemm(const ConvGeometry& g, int32_t input_offset, const Int8GemmPlan& plan,
                    const T* input, const int32_t* bias, T* output, const rt::KernelContext& ctx);

}  // namespace ql::kern
