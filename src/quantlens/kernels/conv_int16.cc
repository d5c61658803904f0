#include "quantlens/kernels/conv_int16.h"

#include <algorithm>
#include <cmath>

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

int32_t MultiplyByQuantizedMultiplierRuyPortable(int32_t x, QuantizedMultiplier m) {
  // |x * M| < 2^62 and total_shift >= 1 (ChannelMultipliers keeps m.shift <= 30): exact in int64.
  const int total_shift = 31 - m.shift;
  const int64_t r = (int64_t{x} * m.multiplier + (int64_t{1} << (total_shift - 1))) >> total_shift;
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(r)));
}

namespace {

inline int32_t Wrap32(int64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(v)); }

// One output value from the exact sum of products of channel c. The int32 kernels accumulate in
// wrapping int32 registers; the wrap of the exact sum is the same value.
inline int16_t Requantize16(const Int16ConvParams& p, int64_t sum, const void* bias, int c) {
  int32_t y = 0;
  switch (p.requant) {
    case Int16Requant::kReference64:
      y = MultiplyByQuantizedMultiplierInt64(
          sum + (bias ? static_cast<const int64_t*>(bias)[c] : 0), p.multipliers[c]);
      break;
    case Int16Requant::kRuy:
    case Int16Requant::kReference32: {
      const int32_t acc = Wrap32(sum + (bias ? static_cast<const int32_t*>(bias)[c] : 0));
      y = p.requant == Int16Requant::kRuy
              ? MultiplyByQuantizedMultiplierRuyPortable(acc, p.multipliers[c])
              : MultiplyByQuantizedMultiplierDouble(acc, p.multipliers[c]);
      break;
    }
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
  const int64_t offset = p.weight_offset;
  for (int b = 0; b < g.batch; ++b) {
    const int16_t* row = input + static_cast<int64_t>(b) * g.depth;
    for (int o = 0; o < g.out_units; ++o) {
      const int8_t* w = weights + static_cast<int64_t>(o) * g.depth;
      int64_t s = 0;
      for (int k = 0; k < g.depth; ++k) s += int64_t{row[k]} * (w[k] + offset);
      output[static_cast<int64_t>(b) * g.out_units + o] = Requantize16(p, s, bias, o);
    }
  }
}

namespace {

// TfLiteTensor::params, TFLite's legacy per-tensor parameters: the scale and zero point when the
// tensor has exactly one of each, otherwise 0 and 0. Several 2.9 checks read only these.
struct LegacyQuant {
  float scale = 0.0f;
  int64_t zero_point = 0;
};
LegacyQuant Legacy(const rt::TensorRef& t) {
  const ir::Quantization& q = t.quant();
  if (q.scale.size() == 1 && q.zero_point.size() == 1) return {q.scale[0], q.zero_point[0]};
  return {};
}

}  // namespace

Status PrepareInt16Conv(const rt::KernelArgs& args, ir::Activation act, const rt::TensorRef& in,
                        const rt::TensorRef& w, const rt::TensorRef* bias,
                        const rt::TensorRef& out, const Int16ConvSetup& setup,
                        std::vector<QuantizedMultiplier>* multipliers, Int16ConvParams* params) {
  const bool conv = setup.op == Int16ConvOp::kConv2D;
  const bool depthwise = setup.op == Int16ConvOp::kDepthwise;
  const bool fc = setup.op == Int16ConvOp::kFullyConnected;
  QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, in, "input"));
  QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, out, "output"));
  if (in.zero_point() != 0 || out.zero_point() != 0)
    return InvalidModel("{}int16 input and output need zero point 0 (got {} and {}), as TFLite "
                        "requires",
                        args.Where(), in.zero_point(), out.zero_point());
  if (depthwise && setup.depth_multiplier_option != setup.depth_multiplier)
    return InvalidModel("{}depth_multiplier option {} but the shapes give {} output channels per "
                        "input channel: TFLite 2.9's 16x8 kernel loops over the option's value "
                        "and would leave output channels unwritten or write past them",
                        args.Where(), setup.depth_multiplier_option, setup.depth_multiplier);

  // Weight zero points: CONV_2D's Prepare requires 0; FULLY_CONNECTED subtracts its legacy zero
  // point (and then takes the reference kernel); DEPTHWISE_CONV_2D's 16x8 kernel never reads it.
  const ir::Quantization& wq = w.quant();
  if (wq.empty())
    return InvalidModel("{}weights '{}' have no quantization parameters", args.Where(),
                        w.info->name);
  int64_t z_w = 0;
  if (conv) {
    for (size_t i = 0; i < wq.zero_point.size(); ++i)
      if (wq.zero_point[i] != 0)
        return InvalidModel("{}int8 weights '{}' have zero point {} at index {}; TFLite 2.9 "
                            "requires zero points 0 for a 16x8 CONV_2D",
                            args.Where(), w.info->name, wq.zero_point[i], i);
  } else if (fc) {
    z_w = Legacy(w).zero_point;
    if (z_w < -128 || z_w > 127)
      return InvalidModel("{}int8 weights '{}' have zero point {}, outside [-128, 127]",
                          args.Where(), w.info->name, z_w);
  }
  params->weight_offset = static_cast<int32_t>(-z_w);

  if (conv && !bias)
    return InvalidModel("{}16x8 CONV_2D without a bias: TFLite 2.9's CONV_2D requires one "
                        "(conv.cc: has_bias)",
                        args.Where());
  const bool int64_bias = bias && bias->dtype() == ir::DType::kInt64;
  if (bias) {
    const ir::DType bt = bias->dtype();
    if (!int64_bias && !(bt == ir::DType::kInt32 && !depthwise))
      return InvalidModel("{}16x8 {} needs an int64{} bias, got {}", args.Where(),
                          ir::OpTypeName(args.op.type), depthwise ? "" : " or int32",
                          ir::DTypeName(bt));
    if (!fc && Legacy(*bias).zero_point != 0)
      return InvalidModel("{}bias '{}' has zero point {}; TFLite requires 0", args.Where(),
                          bias->info->name, Legacy(*bias).zero_point);
  }
  if (depthwise || int64_bias) {
    params->requant = Int16Requant::kReference64;
  } else if (fc && z_w != 0) {
    params->requant = Int16Requant::kReference32;  // fully_connected.cc: has_non_zero_point
  } else {
    if (args.numerics == rt::OpNumerics::kXnnpack)
      return Unsupported("{}XNNPACK requantization is not implemented for 16x8", args.Where());
    params->requant = Int16Requant::kRuy;
  }
  QL_ASSIGN_OR_RETURN(*multipliers,
                      ChannelMultipliers(args, in, w, out, setup.out_c, depthwise ? 3 : 0,
                                         /*allow_per_axis=*/!fc,
                                         fc ? MultiplierForm::kFloatProduct
                                            : MultiplierForm::kDoubleProduct));
  if (fc) {
    // fully_connected.cc (GetQuantizedConvolutionMultipler): the bias' legacy scale must be
    // within 2% of an output step of s_in * s_w; a bias without a scale counts as scale 0.
    const double product = static_cast<double>(in.scale()) * static_cast<double>(Legacy(w).scale);
    const double bias_scale = bias ? static_cast<double>(Legacy(*bias).scale) : product;
    if (std::abs(product - bias_scale) / static_cast<double>(out.scale()) > 0.02)
      return InvalidModel("{}bias scale {} differs from input scale * weight scale {} by more "
                          "than 2% of the output scale {}, which TFLite 2.9 refuses",
                          args.Where(), bias_scale, product, out.scale());
  }
  if (params->requant == Int16Requant::kReference64)
    for (const QuantizedMultiplier& m : *multipliers)
      if (m.shift > 14)
        return Unsupported("{}16x8 multiplier s_in * s_w / s_out >= 2^14: TFLite's 64-bit "
                           "requantization cannot shift that far",
                           args.Where());
  params->multipliers = *multipliers;
  return QuantizedActivationBounds(args, act, out, &params->act_min, &params->act_max);
}

}  // namespace ql::kern
