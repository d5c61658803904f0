// CONV_2D: reference arithmetic (pure functions over params, geometry and raw pointers) and the
// pieces the conv family shares (DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV): geometry,
// requantization parameters, weight packing and Prepare-time validation helpers.
// The integer contract (accumulator, multiplier formation, rounding, clamp) is in
// docs/arithmetic.md; the fixed-point helpers themselves are in quant_math.h.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "quantlens/kernels/quant_math.h"
#include "quantlens/runtime/kernel.h"
#include "quantlens/util/status.h"

namespace ql::kern {

// NHWC input and output; CONV_2D weights are OHWI ([out_c, filter_h, filter_w, in_c]),
// DEPTHWISE_CONV_2D weights are 1HWO ([1, filter_h, filter_w, in_c * depth_multiplier]).
// Every size fits in int (Prepare refuses tensors of 2^31 elements or more).
struct ConvGeometry {
  int batch = 1;
  int in_h = 1, in_w = 1, in_c = 1;
  int filter_h = 1, filter_w = 1;
  int out_h = 1, out_w = 1, out_c = 1;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0;  // taps before the first input row / column (SAME padding)
  int depth_multiplier = 1;       // depthwise only: output channel o reads input channel o / dm
};

// Requantization of int32 accumulators to an 8-bit output:
//   y = clamp(MultiplyByQuantizedMultiplier(acc, multipliers[c], rounding) + output_offset,
//             act_min, act_max)
// with acc = bias[c] + sum (q_in - input_offset) * (q_w - weight_offset).
// `multipliers` has one entry per output channel (per-tensor weights repeat the same entry).
struct ConvQuantParams {
  int32_t input_offset = 0;   // input zero point
  int32_t weight_offset = 0;  // weight zero point (0 for int8 weights)
  int32_t output_offset = 0;  // output zero point
  std::span<const QuantizedMultiplier> multipliers;
  Rounding rounding = Rounding::kDouble;
  int32_t act_min = 0, act_max = 0;
};

struct ConvFloatParams {
  float act_min = 0.0f, act_max = 0.0f;
};

// Requantizes one row of accumulators (one per output channel, bias added here) into `out`.
// The rounding is chosen once per row rather than per element, so the inner loop inlines one
// fixed-point variant.
template <typename T, typename Acc, typename Apply>
inline void RequantizeRowWith(const ConvQuantParams& p, const Acc* acc, const int32_t* bias,
                              int n, T* out, Apply apply) {
  for (int c = 0; c < n; ++c) {
    const int64_t sum = static_cast<int64_t>(acc[c]) + (bias ? bias[c] : 0);
    // Wrap as the genuine kernels' 32-bit registers would (reachable only with hostile sizes:
    // see DotNeedsWideAccumulator).
    const int32_t x = static_cast<int32_t>(static_cast<uint32_t>(sum));
    int64_t y = static_cast<int64_t>(apply(x, p.multipliers[c])) + p.output_offset;
    y = y < p.act_min ? p.act_min : (y > p.act_max ? p.act_max : y);
    out[c] = static_cast<T>(y);
  }
}

template <typename T, typename Acc>
inline void RequantizeRow(const ConvQuantParams& p, const Acc* acc, const int32_t* bias, int n,
                          T* out) {
  switch (p.rounding) {
    case Rounding::kDouble:
      return RequantizeRowWith(p, acc, bias, n, out, [](int32_t x, QuantizedMultiplier m) {
        return MultiplyByQuantizedMultiplierDouble(x, m);
      });
    case Rounding::kRuyX86:
      return RequantizeRowWith(p, acc, bias, n, out, [](int32_t x, QuantizedMultiplier m) {
        return MultiplyByQuantizedMultiplierRuyX86(x, m);
      });
    case Rounding::kSingle:
      return RequantizeRowWith(p, acc, bias, n, out, [](int32_t x, QuantizedMultiplier m) {
        return MultiplyByQuantizedMultiplierSingle(x, m);
      });
  }
}

// Weights with their zero point removed, widened to int16 (|q - z| <= 255 for 8-bit types), in
// the same order as the source. Done once at Prepare for static weights.
std::vector<int16_t> PackWeightsInt8(const int8_t* w, int64_t count, int32_t weight_offset);
std::vector<int16_t> PackWeightsUInt8(const uint8_t* w, int64_t count, int32_t weight_offset);

// Whether a dot product of `k` terms, each |a*b| <= 255*255, can leave int32. Such products are
// accumulated in int64 and wrapped to int32 as the genuine kernels' int32 registers would.
inline bool DotNeedsWideAccumulator(int64_t k) { return k > (int64_t{INT32_MAX} / (255 * 255)); }

// Dot product of zero-point-corrected 8-bit values. With Acc = int32_t GCC turns this into
// pmaddwd; Acc = int64_t is the slow path for sums that could leave int32.
template <typename Acc>
inline Acc DotInt16(const int16_t* a, const int16_t* b, int n) {
  Acc sum = 0;
  for (int i = 0; i < n; ++i) sum += static_cast<Acc>(a[i]) * static_cast<Acc>(b[i]);
  return sum;
}

// Four dot products sharing one weight row: patches a[0..3] (each `n` long, `stride` apart)
// against `b`. Loading each weight once for four output pixels is what keeps large 1x1 convs
// from re-streaming their whole weight matrix from L2 per pixel.
template <typename Acc>
inline void DotInt16x4(const int16_t* a, int64_t stride, const int16_t* b, int n, Acc* out4) {
  const int16_t* a0 = a;
  const int16_t* a1 = a + stride;
  const int16_t* a2 = a + 2 * stride;
  const int16_t* a3 = a + 3 * stride;
  Acc s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (int i = 0; i < n; ++i) {
    const Acc w = b[i];
    s0 += static_cast<Acc>(a0[i]) * w;
    s1 += static_cast<Acc>(a1[i]) * w;
    s2 += static_cast<Acc>(a2[i]) * w;
    s3 += static_cast<Acc>(a3[i]) * w;
  }
  out4[0] = s0;
  out4[1] = s1;
  out4[2] = s2;
  out4[3] = s3;
}

// Float dot product with eight partial sums: the compiler may not reorder a single float sum, so
// without them the loop stays scalar. The order differs from a strict left-to-right sum by a few
// ulps, inside the float comparison tolerance.
inline float DotFloat(const float* a, const float* b, int n) {
  float part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) part[j] += a[i + j] * b[i + j];
  float sum = 0.0f;
  for (; i < n; ++i) sum += a[i] * b[i];
  const float lo = (part[0] + part[1]) + (part[2] + part[3]);
  const float hi = (part[4] + part[5]) + (part[6] + part[7]);
  return sum + (lo + hi);
}

// --- CONV_2D reference math. `bias` may be null (no bias). ---
void Conv2DFloat32(const ConvFloatParams& p, const ConvGeometry& g, const float* input,
                   const float* weights, const float* bias, float* output);
void Conv2DInt8(const ConvQuantParams& p, const ConvGeometry& g, const int8_t* input,
                const int8_t* weights, const int32_t* bias, int8_t* output);
void Conv2DUInt8(const ConvQuantParams& p, const ConvGeometry& g, const uint8_t* input,
                 const uint8_t* weights, const int32_t* bias, uint8_t* output);
// Float CONV_2D vectorized across output channels, eight at a time, each channel computing exactly
// DotFloat's sums in DotFloat's order (eight partial sums over the patch, the tail, then the
// pairwise combination) and then bias + sum and the clamp: the reference's bits. Weights are
// packed by PackFloatWeightsBy8 into [out_c / 8][k][8] (missing channels zero).
std::vector<float> PackFloatWeightsBy8(const float* w, int out_c, int64_t k);
// Output rows split over the context's threads; scratch: one k-float patch per thread.
void Conv2DFloat32PackedAvx2(const ConvFloatParams& p, const ConvGeometry& g, const float* input,
                             const float* packed, const float* bias, float* output,
                             const rt::KernelContext& ctx);
// One output pixel of it (conv_2d_avx2.cc): `patch` (k values) against every channel block.
void ConvPixelFloatAvx2(const float* patch, int k, const float* packed, int out_c, const float* bias,
                        float act_min, float act_max, float* out);

// The same arithmetic on weights packed by PackWeights*(weights, count, p.weight_offset).
void Conv2DInt8Packed(const ConvQuantParams& p, const ConvGeometry& g, const int8_t* input,
                      const int16_t* packed_weights, const int32_t* bias, int8_t* output);
void Conv2DUInt8Packed(const ConvQuantParams& p, const ConvGeometry& g, const uint8_t* input,
                       const int16_t* packed_weights, const int32_t* bias, uint8_t* output);

// --- Prepare-time helpers shared by the conv family. Each error names the op via args.Where(). ---

// How the real multiplier s_in * s_w / s_out is formed (docs/arithmetic.md: the two forms give
// different M for some scale sets, and each op/type uses one of them).
enum class MultiplierForm {
  kDoubleProduct,  // (double)s_in * (double)s_w / (double)s_out
  kFloatProduct,   // (double)(float)(s_in * s_w) / (double)s_out
};

// Checks that `t` carries one finite positive scale and a zero point inside `t`'s type range.
Status CheckPerTensorQuant(const rt::KernelArgs& args, const rt::TensorRef& t, const char* role);

// One QuantizedMultiplier per output channel from the input, weight and output scales.
// Weight quantization is per-tensor, or per-axis along `channel_axis` with `out_c` scales (only
// when `allow_per_axis`). Rejects non-finite or non-positive multipliers and multipliers >= 2^30
// (shift > 30 would shift past int32 in every rounding variant).
Result<std::vector<QuantizedMultiplier>> ChannelMultipliers(const rt::KernelArgs& args,
                                                            const rt::TensorRef& input,
                                                            const rt::TensorRef& weights,
                                                            const rt::TensorRef& output,
                                                            int out_c, int channel_axis,
                                                            bool allow_per_axis,
                                                            MultiplierForm form);

// Weight zero point: int8 weights must have 0 (symmetric); uint8 weights one per-tensor value.
Result<int32_t> WeightZeroPoint(const rt::KernelArgs& args, const rt::TensorRef& weights);

// Clamp bounds for a fused activation on a quantized or float output; TANH/SIGN_BIT are refused.
Status QuantizedActivationBounds(const rt::KernelArgs& args, ir::Activation act,
                                 const rt::TensorRef& output, int32_t* act_min, int32_t* act_max);
Status FloatActivationBounds(const rt::KernelArgs& args, ir::Activation act, float* act_min,
                             float* act_max);

// "input int8 / weights float32 / output int8 is not a supported type combination for this op
// (supported: ...)".
Status UnsupportedTypes(const rt::KernelArgs& args, const rt::TensorRef& input,
                        const rt::TensorRef& weights, const rt::TensorRef& output,
                        const char* supported);

// Fills `g` (input dims, strides, dilations, SAME/VALID padding, output size) for a 4-D NHWC
// input and a filter_h x filter_w window producing `out_c` channels. Refuses strides or
// dilations < 1 and a VALID window larger than the input.
Status PrepareConvGeometry(const rt::KernelArgs& args, const ir::ConvAttrs& attrs,
                           const rt::TensorRef& in, int filter_h, int filter_w, int out_c,
                           ConvGeometry* g);

// Refuses tensors whose element count does not fit the int indexing the reference math uses.
Status CheckIndexable(const rt::KernelArgs& args, const rt::TensorRef& t, const char* role);

// CONV_2D and TRANSPOSE_CONV operands: a 4-D NHWC input and 4-D OHWI weights, both indexable,
// with no empty dimension (the batch may be 0).
Status CheckNhwcInputOhwiWeights(const rt::KernelArgs& args, const rt::TensorRef& in,
                                 const rt::TensorRef& w);

// Rounding for the requantization of a GEMM-backed op (CONV_2D, FULLY_CONNECTED); refuses the
// XNNPACK profile, whose fp32 requantization is not implemented here.
Result<Rounding> GemmRoundingFor(const rt::KernelArgs& args, ir::DType dtype);

// The operand checks CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED share: 2 or 3 inputs
// (input, weights, optional bias), both of the first two present, and 1 output.
Status CheckConvFamilyOperands(const rt::KernelArgs& args);

// Refuses a bias that cannot be indexed or does not hold one element per output channel
// (`per` names the channel for the message: "output channel", "output unit").
Status CheckBiasSize(const rt::KernelArgs& args, const rt::TensorRef& bias, int64_t out_c,
                     const char* per);

// What differs between the conv-family ops in the int8/uint8 half of Prepare.
struct QuantizedConvSetup {
  int out_c = 1;          // one multiplier per output channel (or output unit)
  int channel_axis = 0;   // weights axis that per-channel scales run along
  bool allow_per_axis = false;
  MultiplierForm form = MultiplierForm::kDoubleProduct;
  // GEMM-backed ops (CONV_2D, FULLY_CONNECTED) leave this false and take GemmRoundingFor, after
  // the multipliers are formed; DEPTHWISE_CONV_2D requantizes with gemmlowp double rounding in
  // every build and sets it.
  bool always_double_rounding = false;
};

// The int8/uint8 half of a conv-family Prepare, once the type combination and the bias type are
// known good: per-tensor input/output quantization, weight zero point, per-channel multipliers,
// rounding and fused-activation clamp. Fills `params`; `multipliers` owns what
// params->multipliers points to.
Status PrepareConvQuantParams(const rt::KernelArgs& args, ir::Activation act,
                              const rt::TensorRef& in, const rt::TensorRef& w,
                              const rt::TensorRef& out, const QuantizedConvSetup& setup,
                              std::vector<QuantizedMultiplier>* multipliers,
                              ConvQuantParams* params);

// Static int8/uint8 weights minus `weight_offset` (PackWeights*), or empty when the weights are
// computed at run time (Eval then packs per call).
std::vector<int16_t> PackStaticWeights(const rt::TensorRef& w, int32_t weight_offset);

std::unique_ptr<rt::Kernel> MakeConv2D();
// CONV_2D with AVX2 (the CPU must have it): the 8-bit GEMM of gemm_int8.h and the float kernel
// vectorized across output channels.
std::unique_ptr<rt::Kernel> MakeConv2DAvx2();
// TRANSPOSE_CONV (float32 only), defined in transpose_conv.cc. Weights are OHWI; g.in_* is the
// input, g.out_* the output, pad_top/pad_left the forward convolution's padding.
void TransposeConv2DFloat32(const ConvFloatParams& p, const ConvGeometry& g, const float* input,
                            const float* weights, const float* bias, float* output);
std::unique_ptr<rt::Kernel> MakeTransposeConv();

}  // namespace ql::kern
