// FULLY_CONNECTED: reference arithmetic over raw pointers, and the kernel factory.
// The input is read as [batch, K] rows (K = weights dimension 1), weights as [out, K] rows, so
// both dot-product operands are contiguous.
#pragma once

#include <cstdint>
#include <memory>

#include "quantlens/kernels/conv_2d.h"

namespace ql::kern {

struct FullyConnectedGeometry {
  int batch = 1;      // rows of the flattened input
  int depth = 1;      // K: input row length = weights dimension 1
  int out_units = 1;  // weights dimension 0
};

// `bias` may be null. ConvQuantParams::multipliers has one entry per output unit.
void FullyConnectedFloat32(const ConvFloatParams& p, const FullyConnectedGeometry& g,
                           const float* input, const float* weights, const float* bias,
                           float* output);
void FullyConnectedInt8(const ConvQuantParams& p, const FullyConnectedGeometry& g,
                        const int8_t* input, const int8_t* weights, const int32_t* bias,
                        int8_t* output);
void FullyConnectedUInt8(const ConvQuantParams& p, const FullyConnectedGeometry& g,
                         const uint8_t* input, const uint8_t* weights, const int32_t* bias,
                         uint8_t* output);
// The same on weights packed by PackWeights*(weights, out_units * depth, p.weight_offset).
void FullyConnectedInt8Packed(const ConvQuantParams& p, const FullyConnectedGeometry& g,
                              const int8_t* input, const int16_t* packed_weights,
                              const int32_t* bias, int8_t* output);
void FullyConnectedUInt8Packed(const ConvQuantParams& p, const FullyConnectedGeometry& g,
                               const uint8_t* input, const int16_t* packed_weights,
                               const int32_t* bias, uint8_t* output);

std::unique_ptr<rt::Kernel> MakeFullyConnected();
// FULLY_CONNECTED with the 8-bit GEMM of gemm_int8.h (the CPU must have AVX2).
std::unique_ptr<rt::Kernel> MakeFullyConnectedAvx2();

}  // namespace ql::kern
