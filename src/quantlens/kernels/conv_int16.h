// The 16x8 conv family (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED with int16 activations, int8
// weights, an int64, int32 or absent bias), as TFLite 2.9's builtin kernels run it. The bias type
// picks the kernel, and with it the accumulator and the requantization (Int16Requant):
//  - int64 bias, and DEPTHWISE_CONV_2D always: reference_integer_ops with an int64 accumulator and
//    TFLite's 64-bit MultiplyByQuantizedMultiplier, which first rounds the multiplier to 16 bits:
//    M16 = M < 0x7FFF0000 ? (M + 2^15) >> 16 : 0x7FFF, then y = (x * M16 + 2^(14 - e)) >> (15 - e)
//    (one rounding, ties toward +inf);
//  - int32 or no bias on CONV_2D / FULLY_CONNECTED: optimized_integer_ops, i.e. ruy, whose x86
//    SIMD kernels (2.9's ruy) take only int8 x int8, so int8 x int16 runs ruy's portable C++ kernel
//    in both builds: int32 accumulator (wrapping), bias added in int32, single rounding S, the
//    64-bit result truncated to int32 (it wraps rather than saturates when the multiplier is > 1);
//  - FULLY_CONNECTED with int32 or no bias and a non-zero weight zero point: reference kernel with
//    an int32 accumulator and gemmlowp double rounding G.
// Then the clamp to the fused activation range. docs/arithmetic.md §8 and §9 are the contract.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "quantlens/kernels/conv_2d.h"
#include "quantlens/kernels/fully_connected.h"

namespace ql::kern {

// TFLite's MultiplyByQuantizedMultiplier(int64_t x, ...), see above. Needs m.shift <= 14.
int32_t MultiplyByQuantizedMultiplierInt64(int64_t x, QuantizedMultiplier m);
// ruy's portable MultiplyByQuantizedMultiplier: S computed in 64 bits, the result truncated to
// int32 (two's complement wrap, no saturation).
int32_t MultiplyByQuantizedMultiplierRuyPortable(int32_t x, QuantizedMultiplier m);

enum class Int16Requant {
  kReference64,  // int64 accumulator + bias, MultiplyByQuantizedMultiplierInt64
  kRuy,          // int32 accumulator + bias (wrapping), MultiplyByQuantizedMultiplierRuyPortable
  kReference32,  // int32 accumulator + bias (wrapping), G
};

struct Int16ConvParams {
  std::span<const QuantizedMultiplier> multipliers;  // one per output channel
  int32_t act_min = -32768, act_max = 32767;
  Int16Requant requant = Int16Requant::kReference64;
  // FULLY_CONNECTED only: TFLite's weights_offset (minus the weights' zero point), added to every
  // weight. CONV_2D refuses a non-zero weight zero point; DEPTHWISE_CONV_2D ignores it, as 2.9 does.
  int32_t weight_offset = 0;
};

// `bias` points to int64_t values for kReference64, int32_t values otherwise, or is null.
void Conv2DInt16(const Int16ConvParams& p, const ConvGeometry& g, const int16_t* input,
                 const int8_t* weights, const void* bias, int16_t* output);
void DepthwiseConv2DInt16(const Int16ConvParams& p, const ConvGeometry& g, const int16_t* input,
                          const int8_t* weights, const void* bias, int16_t* output);
void FullyConnectedInt16(const Int16ConvParams& p, const FullyConnectedGeometry& g,
                         const int16_t* input, const int8_t* weights, const void* bias,
                         int16_t* output);

enum class Int16ConvOp { kConv2D, kDepthwise, kFullyConnected };

struct Int16ConvSetup {
  Int16ConvOp op = Int16ConvOp::kConv2D;
  int out_c = 1;
  // DEPTHWISE_CONV_2D: TFLite 2.9's 16x8 kernel loops over the depth_multiplier option, not over
  // the multiplier the shapes imply; a file where they differ is refused.
  int depth_multiplier_option = 1;
  int depth_multiplier = 1;
};

// Prepare for the 16x8 form of a conv-family op: what TFLite 2.9's Prepare checks for an int16
// input (zero points 0, bias types, FULLY_CONNECTED's bias-scale check, CONV_2D's required bias),
// per-channel multipliers formed as for int8 (CONV_2D / DEPTHWISE double product, FULLY_CONNECTED
// float32 product), the kernel choice and the activation clamp.
Status PrepareInt16Conv(const rt::KernelArgs& args, ir::Activation act, const rt::TensorRef& in,
                        const rt::TensorRef& w, const rt::TensorRef* bias,
                        const rt::TensorRef& out, const Int16ConvSetup& setup,
                        std::vector<QuantizedMultiplier>* multipliers, Int16ConvParams* params);

}  // namespace ql::kern
