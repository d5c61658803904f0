#include "quantlens/kernels/conv_int16.h"

#include <algorithm>

#include "quantlens/ir/op_type.h"

namespace ql::kern {

int32_t MultiplyByQuantizedMultiplierInt64(int64_t x, QuantizedMultiplier m) {
  // The multiplier keeps only its top 16 bits, rounded; then one rounding shift.
  const int64_t reduced = m.multiplier < 0x7FFF0000 ? (m.multiplier + (1 << 15)) >> 16 : 0x7FFF;
  const int total_shift = 15 - m.shift;  // Prepare keeps m.shift <= 14
  // Wrapping arithmetic: only hostile accumulators beyond 2^47 could overflow here.
  const uint64_t product = static_cast<uint64_t>(x) * static_cast<uint64_t>(reduced);
  const int64_t rounded = static_cast<int64_t>(product + (uint64_t{1} << (total_shift - 1)));
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(rounded >> total_shift)));
}

namespace {

inline int32_t Wrap32(int64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(v)); }

// One output value from the exact sum of products of channel c.
inline int16_t Requantize16(const Int16ConvParams& p, int64_t sum, const void* bias, int c) {
  int32_t y;
  if (p.int64_bias) {
    const int64_t acc = sum + (bias ? static_cast<const int64_t*>(bias)[c] : 0);
    y = MultiplyByQuantizedMultiplierInt64(acc, p.multipliers[c]);
  } else {
    // An int32 accumulator: the wrap of the exact sum, plus the bias with int32 wrap-around.
    const int32_t acc = Wrap32(sum + (bias ? static_cast<const int32_t*>(bias)[c] : 0));
    y = MultiplyByQuantizedMultiplier(acc, p.multipliers[c], p.int32_rounding);
  }
  return static_cast<int16_t>(std::clamp(y, p.act_min, p.act_max));
}

}  // namespace

void Conv2DInt16(const Int16ConvParams& p, const ConvGeometry& g, const int16_t* input,
                 const int8_t* weights, const void* bias, int16_t* output) {
  std::vector<int64_t> acc(static_cast<size_t>(g.out_c));
  int16_t* out = output;
  for (int b = 0; b < g.batch; ++b)
    for (int oy = 0; oy < g.out_h; ++oy)
      for (int ox = 0; ox < g.out_w; ++ox, out += g.out_c) {
        std::fill(acc.begin(), acc.end(), int64_t{0});
        const int iy0 = oy * g.stride_h - g.pad_top, ix0 = ox * g.stride_w - g.pad_left;
        for (int ky = 0; ky < g.filter_h; ++ky) {
          const int iy = iy0 + ky * g.dilation_h;
          if (iy < 0 || iy >= g.in_h) continue;  // padding is the zero point, 0
          for (int kx = 0; kx < g.filter_w; ++kx) {
            const int ix = ix0 + kx * g.dilation_w;
            if (ix < 0 || ix >= g.in_w) continue;
            const int16_t* src =
                input + ((static_cast<int64_t>(b) * g.in_h + iy) * g.in_w + ix) * g.in_c;
            for (int oc = 0; oc < g.out_c; ++oc) {
              const int8_t* w =
                  weights + ((static_cast<int64_t>(oc) * g.filter_h + ky) * g.filter_w + kx) * g.in_c;
              int64_t s = 0;
              for (int ic = 0; ic < g.in_c; ++ic) s += int64_t{src[ic]} * w[ic];
              acc[oc] += s;
            }
          }
        }
        for (int oc = 0; oc < g.out_c; ++oc) out[oc] = Requantize16(p, acc[oc], bias, oc);
      }
}

void DepthwiseConv2DInt16(const Int16ConvParams& p, const ConvGeometry& g, const int16_t* input,
                          const int8_t* weights, const void* bias, int16_t* output) {
  std::vector<int64_t> acc(static_cast<size_t>(g.out_c));
  int16_t* out = output;
  for (int b = 0; b < g.batch; ++b)
    for (int oy = 0; oy < g.out_h; ++oy)
      for (int ox = 0; ox < g.out_w; ++ox, out += g.out_c) {
        std::fill(acc.begin(), acc.end(), int64_t{0});
        const int iy0 = oy * g.stride_h - g.pad_top, ix0 = ox * g.stride_w - g.pad_left;
        for (int ky = 0; ky < g.filter_h; ++ky) {
          const int iy = iy0 + ky * g.dilation_h;
          if (iy < 0 || iy >= g.in_h) continue;
          for (int kx = 0; kx < g.filter_w; ++kx) {
            const int ix = ix0 + kx * g.dilation_w;
            if (ix < 0 || ix >= g.in_w) continue;
            const int16_t* src =
                input + ((static_cast<int64_t>(b) * g.in_h + iy) * g.in_w + ix) * g.in_c;
            const int8_t* w = weights + (static_cast<int64_t>(ky) * g.filter_w + kx) * g.out_c;
            for (int o = 0; o < g.out_c; ++o)
              acc[o] += int64_t{src[o / g.depth_multiplier]} * w[o];
          }
        }
        for (int o = 0; o < g.out_c; ++o) out[o] = Requantize16(p, acc[o], bias, o);
      }
}

void FullyConnectedInt16(const Int16ConvParams& p, const FullyConnectedGeometry& g,
                         const int16_t* input, const int8_t* weights, const void* bias,
                         int16_t* output) {
  for (int b = 0; b < g.batch; ++b) {
    const int16_t* row = input + static_cast<int64_t>(b) * g.depth;
    for (int o = 0; o < g.out_units; ++o) {
      const int8_t* w = weights + static_cast<int64_t>(o) * g.depth;
      int64_t s = 0;
      for (int k = 0; k < g.depth; ++k) s += int64_t{row[k]} * w[k];
      output[static_cast<int64_t>(b) * g.out_units + o] = Requantize16(p, s, bias, o);
    }
  }
}

Status PrepareInt16Conv(const rt::KernelArgs& args, ir::Activation act, const rt::TensorRef& in,
                        const rt::TensorRef& w, const rt::TensorRef* bias,
                        const rt::TensorRef& out, const Int16ConvSetup& setup,
                        std::vector<QuantizedMultiplier>* multipliers, Int16ConvParams* params) {
  QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, in, "input"));
  QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, out, "output"));
  if (in.zero_point() != 0 || out.zero_point() != 0)
    return InvalidModel("{}int16 input and output need zero point 0 (got {} and {}), as TFLite "
                        "requires",
                        args.Where(), in.zero_point(), out.zero_point());
  QL_ASSIGN_OR_RETURN(const int32_t z_w, WeightZeroPoint(args, w));
  (void)z_w;  // 0: int8 weights are symmetric
  if (bias) {
    const ir::DType bt = bias->dtype();
    if (bt != ir::DType::kInt64 && !(setup.allow_int32_bias && bt == ir::DType::kInt32))
      return InvalidModel("{}16x8 {} needs an int64{} bias, got {}", args.Where(),
                          ir::OpTypeName(args.op.type),
                          setup.allow_int32_bias ? " or int32" : "", ir::DTypeName(bt));
    if (!bias->quant().zero_point.empty() && bias->zero_point() != 0)
      return InvalidModel("{}bias zero point {} must be 0", args.Where(), bias->zero_point());
    params->int64_bias = bt == ir::DType::kInt64;
  } else {
    params->int64_bias = true;
  }
  params->int32_rounding = Rounding::kDouble;
  if (setup.gemm_int32 && !params->int64_bias) {
    if (args.numerics == rt::OpNumerics::kXnnpack)
      return Unsupported("{}XNNPACK requantization is not implemented for 16x8", args.Where());
    // ruy's x86 SIMD kernels take only 8-bit operands: an int16 x int8 product runs on its
    // portable C++ kernel in both builds, which rounds once (S). Measured: G and R each miss
    // ties on the differential test, S matches both profiles.
    params->int32_rounding = Rounding::kSingle;
  }
  QL_ASSIGN_OR_RETURN(*multipliers,
                      ChannelMultipliers(args, in, w, out, setup.out_c, setup.channel_axis,
                                         setup.allow_per_axis, setup.form));
  for (const QuantizedMultiplier& m : *multipliers)
    if (m.shift > 14)
      return Unsupported("{}16x8 multiplier s_in * s_w / s_out >= 2^14: TFLite's 64-bit "
                         "requantization cannot shift that far",
                         args.Where());
  params->multipliers = *multipliers;
  return QuantizedActivationBounds(args, act, out, &params->act_min, &params->act_max);
}

}  // namespace ql::kern
