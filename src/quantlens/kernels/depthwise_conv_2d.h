// DEPTHWISE_CONV_2D: reference arithmetic over raw pointers, and the kernel factory.
// Weights are 1HWO ([1, filter_h, filter_w, in_c * depth_multiplier]); output channel o reads
// input channel o / depth_multiplier. Requantization is always gemmlowp double rounding (G) in
// both builtin builds (docs/arithmetic.md), so ConvQuantParams::rounding is kDouble here.
#pragma once

#include <cstdint>
#include <memory>

#include "quantlens/kernels/conv_2d.h"

namespace ql::kern {

// `bias` may be null. Quantized variants take raw weights; the *Packed variants take weights
// packed by PackWeights*(weights, count, p.weight_offset).
void DepthwiseConv2DFloat32(const ConvFloatParams& p, const ConvGeometry& g, const float* input,
                            const float* weights, const float* bias, float* output);
void DepthwiseConv2DInt8(const ConvQuantParams& p, const ConvGeometry& g, const int8_t* input,
                         const int8_t* weights, const int32_t* bias, int8_t* output);
void DepthwiseConv2DUInt8(const ConvQuantParams& p, const ConvGeometry& g, const uint8_t* input,
                          const uint8_t* weights, const int32_t* bias, uint8_t* output);
void DepthwiseConv2DInt8Packed(const ConvQuantParams& p, const ConvGeometry& g,
                               const int8_t* input, const int16_t* packed_weights,
                               const int32_t* bias, int8_t* output);
void DepthwiseConv2DUInt8Packed(const ConvQuantParams& p, const ConvGeometry& g,
                                const uint8_t* input, const int16_t* packed_weights,
                                const int32_t* bias, uint8_t* output);

std::unique_ptr<rt::Kernel> MakeDepthwiseConv2D();
// DEPTHWISE_CONV_2D with the 8-bit AVX2 kernel of depthwise_avx2.h (the CPU must have AVX2).
std::unique_ptr<rt::Kernel> MakeDepthwiseConv2DAvx2();

}  // namespace ql::kern
