// DEPTHWISE_CONV_2D over 8-bit tensors with AVX2 (depth multiplier 1): sixteen channels per step,
// two filter taps per vpmaddwd (each channel's inputs at tap t and t + 1 interleaved with its two
// weights), exact int32 sums, then the reference's requantization (requant_avx2.h). The bytes are
// the reference kernel's.
#pragma once

#include <cstdint>
#include <vector>

#include "quantlens/kernels/conv_2d.h"
#include "quantlens/kernels/requant_avx2.h"

namespace ql::kern {

struct DepthwisePlan {
  static constexpr int kBlock = 16;    // channels per step
  static constexpr int kMaxTaps = 64;  // filter_h * filter_w (7x7 and below)
  int taps = 0, tap_pairs = 0, channel_blocks = 0;
  // [tap_pairs][channel_blocks][32]: for channels 0-3 and 8-11 of the block, then 4-7 and 12-15
  // (vpunpck{l,h}wd's lane order), each channel's weights at taps 2j and 2j + 1 side by side;
  // missing taps and channels are 0.
  std::vector<int16_t> packed;
  RequantTable requant;
  Rounding rounding = Rounding::kDouble;
  int32_t input_offset = 0, output_offset = 0, act_min = 0, act_max = 0;
  bool is_unsigned = false;
  std::vector<uint8_t> zero_row;  // channels + kBlock bytes of the input zero point
  // The bias padded with zeros to whole blocks, when it is a constant (the usual case); empty
  // otherwise, and Eval pads the bias it is given block by block.
  std::vector<int32_t> bias;
};

// Depth multiplier 1, sums that fit int32 and vectorizable multipliers.
bool DepthwiseAvx2Supported(const ConvGeometry& g, const ConvQuantParams& p);

// `weights`: [filter_h][filter_w][channels], the weight zero point removed (PackWeights*).
// `static_bias`: the bias when it is a constant, else null.
DepthwisePlan MakeDepthwisePlan(const ConvGeometry& g, const int16_t* weights,
                                const ConvQuantParams& p, bool is_unsigned, const int32_t* static_bias);

// Output rows are split over the context's threads.
void DepthwiseInt8Avx2(const DepthwisePlan& plan, const ConvGeometry& g, const int8_t* input,
                       const int32_t* bias, int8_t* output, const rt::KernelContext& ctx);
void DepthwiseUInt8Avx2(const DepthwisePlan& plan, const ConvGeometry& g, const uint8_t* input,
                        const int32_t* bias, uint8_t* output, const rt::KernelContext& ctx);

// Float32 depthwise, depth multiplier 1, eight channels per vector with the reference's per-channel
// order of operations (bit-exact).
void DepthwiseFloatAvx2(const ConvFloatParams& p, const ConvGeometry& g, const float* input,
                        const float* weights, const float* bias, float* output,
                        const rt::KernelContext& ctx);

}  // namespace ql::kern
