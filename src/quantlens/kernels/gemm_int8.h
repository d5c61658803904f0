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
// vector tables and the output stage.
struct Int8GemmPlan {
  static constexpr int kNr = 16;  // output channels per microkernel column block
  static constexpr int kMr = 4;   // rows per microkernel call
  int k = 0;                      // reduction length
  int k_pairs = 0;                // (k + 1) / 2: the microkernel takes two terms per step
  int n = 0;                      // output channels
  int n_blocks = 0;               // ceil(n / kNr)
  // [n_blocks][k_pairs][kNr][2]: for each pair of reduction terms, each channel's two weights
  // side by side (vpmaddwd's operand order); missing channels and the odd term are zero.
  std::vector<int16_t> packed;
  RequantTable requant;
  Rounding rounding = Rounding::kDouble;
  int32_t output_offset = 0, act_min = 0, act_max = 0;
  bool is_unsigned = false;
};

// Whether the GEMM reproduces the reference for these parameters: sums that fit int32
// (DotNeedsWideAccumulator) and vectorizable multipliers.
bool Int8GemmSupported(const ConvQuantParams& p, int64_t k);

// `weights` holds n rows of k values with the weight zero point already removed (PackWeights*).
Int8GemmPlan MakeInt8GemmPlan(const int16_t* weights, int n, int k, const ConvQuantParams& p,
                              bool is_unsigned);

// out[r * ldc + c] for r < m, c < n: requantize(bias[c] + sum_i a[r * lda + i] * w[c][i]).
// `a` rows hold k_pairs * 2 int16 values (the odd term, if any, is ignored: its weight is 0) and
// `lda` >= k_pairs * 2. `bias` may be null. Needs AVX2.
void Int8GemmAvx2(const Int8GemmPlan& plan, const int16_t* a, int64_t lda, int m,
                  const int32_t* bias, void* out, int64_t ldc);

// Rows of the conv GEMM for output pixels [first, first + count): each output pixel's receptive
// field, zero-point corrected, in OHWI weight order, padded taps 0 (as the reference's patch).
// Row r starts at rows + r * lda; the padding term past k is set to 0.
template <typename T>
void GatherConvRows(const ConvGeometry& g, const T* input, int32_t input_offset, int64_t first,
                    int count, int16_t* rows, int64_t lda);

// CONV_2D over 8-bit tensors with a prepared plan: tiles of output pixels split over the
// context's threads, each gathering its rows into its own part of the context's scratch. The
// kernel reserves Int8ConvScratchBytes at Prepare.
size_t Int8ConvScratchBytes(const Int8GemmPlan& plan, int threads);
template <typename T>
void Conv2DInt8Gemm(const ConvGeometry& g, int32_t input_offset, const Int8GemmPlan& plan,
                    const T* input, const int32_t* bias, T* output, const rt::KernelContext& ctx);

}  // namespace ql::kern
