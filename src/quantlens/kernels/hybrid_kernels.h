// Dynamic-range ("hybrid") CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED: float32 activations,
// int8 constant weights, float32 bias and output, as TFLite 2.9's builtin kernels run them
// (conv.cc EvalHybrid / EvalHybridPerChannel, depthwise_conv.cc EvalHybridPerChannel,
// fully_connected.cc EvalHybrid). At every Eval the float input is quantized to int8 per batch
// row with a scale computed from that row's values, an int32 GEMM runs on the int8 operands, and
// each accumulator is scaled back to float:
//   per-tensor weights:  out = clamp((0 + float(acc) * (s_row * s_w)) + bias[c])
//   per-channel weights: out = clamp(float(acc - z_row * rowsum_w[c]) * (s_w[c] * s_row) + bias[c])
//   DEPTHWISE:           out = clamp((float(acc) * s_row) * s_w[c] + bias[c]), acc summing
//                        w * (q - z_row) over the in-bounds taps only
//   FULLY_CONNECTED:     out = act(bias[c] + float(acc - z_row * rowsum_w[c]) * (s_row * s_w))
// Integer sums are exact whatever their order, so with the genuine float operation order spelled
// out here (one product, one sum, each rounded to float32) the result is bit-exact.
// docs/arithmetic.md section 6 states the contract; this file is normative for it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "quantlens/kernels/conv_2d.h"
#include "quantlens/kernels/fully_connected.h"

namespace ql::kern {

// TFLite's SymmetricQuantizeFloats: range = max|x|; scale = range / 127 and
// q = clamp(round_half_away(x * (127 / range)), -127, 127) (the inverse is one float division,
// then one float product per value, not x / scale). An all-zero row gets scale 1 and q = 0.
// Returns the scale.
float SymmetricQuantizeFloats(const float* x, int n, int8_t* q);

// TFLite's AsymmetricQuantizeFloats: [rmin, rmax] = [min(0, min x), max(0, max x)] in double;
// scale = (rmax - rmin) / 255; the zero point comes from whichever end (qmin = -128 or qmax = 127)
// has the smaller |q| + |r / scale|, is clamped to [-128, 127] (inclusive comparisons) and
// otherwise rounded half away from zero; scale is stored as float and
// q = clamp(round_half_away(float(z) + x * float(1.0 / double(scale))), -128, 127).
// rmin == rmax (an all-zero row) gives scale 1, zero point 0 and q = 0.
void AsymmetricQuantizeFloats(const float* x, int n, int8_t* q, float* scale, int32_t* zero_point);

// How an op quantizes its input rows and scales its accumulators back.
enum class HybridMode {
  kPerTensorSymmetric,  // one weight scale; rows quantized symmetrically
  kPerTensorAsymmetric,  // FULLY_CONNECTED with asymmetric_quantize_inputs
  kPerChannelAsymmetric,  // CONV_2D with per-channel weight scales (always asymmetric inputs)
};

struct HybridParams {
  HybridMode mode = HybridMode::kPerTensorSymmetric;
  // One scale (per-tensor modes) or one per output channel (kPerChannelAsymmetric).
  std::span<const float> weight_scales;
  // Sum of each weight row (one per output channel), used to remove the input zero point; empty
  // in the symmetric mode.
  std::span<const int32_t> weight_row_sums;
  float act_min = 0.0f, act_max = 0.0f;
};

// Scratch the reference functions reuse between calls (sized on first use).
struct HybridScratch {
  std::vector<int8_t> quantized;    // the quantized input, same layout as the input
  std::vector<float> row_scales;    // one per batch row
  std::vector<int32_t> row_zero_points;
  std::vector<int16_t> patches;     // CONV_2D im2col block
  std::vector<int32_t> acc;
};

// Sums of each of `rows` rows of `cols` int8 weights (TFLite's ReductionSumVector).
std::vector<int32_t> WeightRowSums(const int8_t* w, int rows, int cols);

// CONV_2D on OHWI int8 `weights` packed by PackWeightsInt8(weights, count, 0). Each batch image
// (in_h * in_w * in_c values) is one quantization row; padding taps hold the row's zero point.
// `bias` may be null (0). Dilation must be 1 (the kernel refuses other values at Prepare).
void HybridConv2D(const HybridParams& p, const ConvGeometry& g, const float* input,
                  const int16_t* packed_weights, const float* bias, float* output,
                  HybridScratch* scratch);

// FULLY_CONNECTED on [out_units, depth] int8 `weights`; each input row of `depth` values is one
// quantization row. If the whole input is zero the output is act(bias) without quantizing, as
// upstream short-cuts it. `bias` may be null (0).
void HybridFullyConnected(const HybridParams& p, const FullyConnectedGeometry& g,
                          const float* input, const int16_t* packed_weights, const float* bias,
                          float* output, HybridScratch* scratch);

// DEPTHWISE_CONV_2D on 1HWO int8 `weights` with per-channel scales (params.weight_scales, one
// per output channel); each batch image is one asymmetric quantization row. `bias` must not be
// null (TFLite 2.9's kernel reads it unconditionally; the op refuses a missing bias).
void HybridDepthwiseConv2D(const HybridParams& p, const ConvGeometry& g, const float* input,
                           const int8_t* weights, const float* bias, float* output,
                           HybridScratch* scratch);

// Which op's weight rules PrepareHybridWeights applies.
enum class HybridOp {
  kConv2D,          // per-tensor, or per-channel (axis 0) with scales not all equal
  kDepthwise,       // per-channel (axis 3): exactly one scale per output channel, always
  kFullyConnected,  // one scale; several scales give TFLite's legacy scale 0 (see below)
};

// Prepare-time validation: int8 weights (uint8 refused), symmetric (zero point 0), finite positive
// scales, and the op's rule above. CONV_2D with several identical scales is refused (upstream then
// takes the per-tensor path with the legacy single scale, which such a tensor does not have).
// FULLY_CONNECTED in TFLite 2.9 has no per-channel hybrid path: it scales by the tensor's legacy
// scale, which is 0 for a per-axis tensor, so the output is act(bias) whatever the input; that is
// what quantlens computes too (converters must not write such files for 2.9). Fills `params`
// except the activation bounds; `scales` and `row_sums` own what the spans point to.
Status PrepareHybridWeights(const rt::KernelArgs& args, const rt::TensorRef& weights, int out_c,
                            int channel_axis, HybridOp op, bool asymmetric_inputs,
                            HybridParams* params, std::vector<float>* scales,
                            std::vector<int32_t>* row_sums);
// The CONV_2D (allow_per_channel) / per-tensor-only form used before DEPTHWISE was added.
Status PrepareHybridWeights(const rt::KernelArgs& args, const rt::TensorRef& weights, int out_c,
                            int channel_axis, bool allow_per_channel, bool asymmetric_inputs,
                            HybridParams* params, std::vector<float>* scales,
                            std::vector<int32_t>* row_sums);

}  // namespace ql::kern
