// The 16x8 conv family (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED with int16 activations, int8
// weights, int64 or int32 bias), as TFLite 2.9's reference_integer_ops run it: an accumulator of
// the bias type summing q_in * q_w (all zero points are 0), requantized per output channel:
//  - int64 bias: int64 accumulator, TFLite's 64-bit MultiplyByQuantizedMultiplier, which first
//    rounds the multiplier to 16 bits: M16 = M < 0x7FFF0000 ? (M + 2^15) >> 16 : 0x7FFF, then
//    y = (x * M16 + 2^(14 - e)) >> (15 - e) (one rounding, ties toward +inf);
//  - int32 bias: int32 accumulator (wrapping), requantized with G (FULLY_CONNECTED: reference
//    kernel) or, for CONV_2D, which 2.9 sends through ruy's portable int16 kernel in both builds,
//    single rounding S;
// then clamped to the activation range. docs/arithmetic.md section 8 is the contract.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "quantlens/kernels/conv_2d.h"
#include "quantlens/kernels/fully_connected.h"

namespace ql::kern {

// TFLite's MultiplyByQuantizedMultiplier(int64_t x, ...), see above.
int32_t MultiplyByQuantizedMultiplierInt64(int64_t x, QuantizedMultiplier m);

struct Int16ConvParams {
  std::span<const QuantizedMultiplier> multipliers;  // one per output channel
  int32_t act_min = -32768, act_max = 32767;
  bool int64_bias = true;  // the bias (and accumulator) type; int32 otherwise
  Rounding int32_rounding = Rounding::kDouble;  // applied to int32 accumulators
};

// `bias` points to int64_t or int32_t values (per `int64_bias`), or is null.
void Conv2DInt16(const Int16ConvParams& p, const ConvGeometry& g, const int16_t* input,
                 const int8_t* weights, const void* bias, int16_t* output);
void DepthwiseConv2DInt16(const Int16ConvParams& p, const ConvGeometry& g, const int16_t* input,
                          const int8_t* weights, const void* bias, int16_t* output);
void FullyConnectedInt16(const Int16ConvParams& p, const FullyConnectedGeometry& g,
                         const int16_t* input, const int8_t* weights, const void* bias,
                         int16_t* output);

// Prepare for the 16x8 form of a conv-family op: int16 input and output with zero point 0, int8
// weights (symmetric; per-channel along `channel_axis` when `allow_per_axis`), an int64 or int32
// bias with zero point 0, per-channel multipliers in `form`, the activation clamp.
struct Int16ConvSetup {
  int out_c = 1;
  int channel_axis = 0;
  bool allow_per_axis = true;
  bool allow_int32_bias = true;
  bool gemm_int32 = false;  // int32-bias path goes through ruy (CONV_2D): single rounding S
  MultiplierForm form = MultiplierForm::kDoubleProduct;
};
Status PrepareInt16Conv(const rt::KernelArgs& args, ir::Activation act, const rt::TensorRef& in,
                        const rt::TensorRef& w, const rt::TensorRef* bias,
                        const rt::TensorRef& out, const Int16ConvSetup& setup,
                        std::vector<QuantizedMultiplier>* multipliers, Int16ConvParams* params);

}  // namespace ql::kern
