// Choosing quantization parameters as TensorFlow Lite's converter does: asymmetric activations with
// a nudged integer zero point, symmetric narrow-range weights (per-channel or per-tensor), and
// biases in the accumulator's scale. Pure functions over floats: the rewrite (quantize.cc) decides
// which tensor gets which.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "quantlens/ir/graph.h"
#include "quantlens/util/status.h"

namespace ql::passes {

// Activation parameters for the integer grid [qmin, qmax] covering [rmin, rmax] widened to hold 0
// (so that zero padding and ReLU's 0 are exact), with the zero point nudged to an integer the way
// TensorFlow's fake-quant support does it (from whichever end, min or max, loses less). A range of
// width 0 (a tensor that was always 0) gets scale 1/255 of a unit range so multipliers stay sane.
ir::Quantization AsymmetricActivationParams(float rmin, float rmax, int qmin, int qmax);

// Symmetric activation parameters (int16 activations of int16x8: zero point 0, [-32767, 32767]
// used, as TFLite requires).
ir::Quantization SymmetricActivationParams(float rmin, float rmax, int qmax);

// A float constant quantized to int8. `axis` < 0: one scale for the whole tensor; otherwise one
// per slice along `axis`. Symmetric in [-127, 127] (TFLite's rule for weights).
struct QuantizedWeights {
  std::vector<int8_t> values;
  std::vector<float> scales;
  int axis = 0;
};
QuantizedWeights QuantizeWeightsSymmetric(std::span<const float> w, const ir::Shape& shape, int axis);

// Requantizes slice `c` of already-quantized weights to a larger scale (used when a bias would
// overflow its accumulator type with the original weight scale).
void RescaleWeightSlice(std::span<const float> w, const ir::Shape& shape, QuantizedWeights& q, int c,
                        float new_scale);

// A float constant quantized asymmetrically per tensor over its own [min, max] (operands of ADD,
// MUL, ... that are constants rather than weights); int8, or int16 symmetric when `int16`.
ir::Quantization ConstantParams(std::span<const float> v, bool int16);

// Quantizes `v` with per-tensor `q` into int8/int16 values (round half away from zero, clamped).
std::vector<int8_t> QuantizeToInt8(std::span<const float> v, const ir::Quantization& q);
std::vector<int16_t> QuantizeToInt16(std::span<const float> v, const ir::Quantization& q);

// The bias of CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED / TRANSPOSE_CONV in the accumulator's
// scale input_scale * weight_scale[c], zero point 0: int32 for 8-bit activations, int64 for 16-bit.
// When a channel's bias does not fit int32, the channel's weight scale is raised until it does
// (`weights` is rewritten) and `adjusted` counts such channels.
struct QuantizedBias {
  std::vector<int64_t> values;
  std::vector<float> scales;
};
QuantizedBias QuantizeBias(std::span<const float> bias, float input_scale, QuantizedWeights& weights,
                           std::span<const float> float_weights, const ir::Shape& weight_shape,
                           bool int64_accumulator, int* adjusted);

// float32 -> IEEE half (round to nearest even), as TFLite's converter stores float16 weights.
uint16_t FloatToHalf(float f);

}  // namespace ql::passes
