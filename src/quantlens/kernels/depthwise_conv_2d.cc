#include "quantlens/kernels/depthwise_conv_2d.h"

#include "quantlens/kernels/conv_int16.h"
#include "quantlens/kernels/depthwise_avx2.h"
#include "quantlens/kernels/hybrid_kernels.h"

#include <algorithm>
#include <variant>
#include <vector>

namespace ql::kern {

namespace {

// Accumulates one output pixel's per-channel sums over the in-bounds taps; padded taps are
// skipped because their corrected value (q - z_in) is 0. Channels are the contiguous inner loop,
// so for depth_multiplier 1 each tap is one vectorizable multiply-add over the channel row.
template <typename T, typename W, typename Acc, typename Convert>
void AccumulateDepthwisePixel(const ConvGeometry& g, const T* input, const W* weights, int b,
                              int oy, int ox, Acc* acc, Convert convert) {
  std::fill(acc, acc + g.out_c, Acc{0});
  const int iy0 = oy * g.stride_h - g.pad_top;
  const int ix0 = ox * g.stride_w - g.pad_left;
  const int dm = g.depth_multiplier;
  for (int ky = 0; ky < g.filter_h; ++ky) {
    const int iy = iy0 + ky * g.dilation_h;
    if (iy < 0 || iy >= g.in_h) continue;
    for (int kx = 0; kx < g.filter_w; ++kx) {
      const int ix = ix0 + kx * g.dilation_w;
      if (ix < 0 || ix >= g.in_w) continue;
      const T* src = input + ((static_cast<int64_t>(b) * g.in_h + iy) * g.in_w + ix) * g.in_c;
      const W* w = weights + (static_cast<int64_t>(ky) * g.filter_w + kx) * g.out_c;
      if (dm == 1) {
        for (int c = 0; c < g.in_c; ++c)
          acc[c] += static_cast<Acc>(convert(src[c])) * static_cast<Acc>(w[c]);
      } else {
        for (int ic = 0; ic < g.in_c; ++ic) {
          const Acc v = static_cast<Acc>(convert(src[ic]));
          Acc* a = acc + static_cast<int64_t>(ic) * dm;
          const W* wr = w + static_cast<int64_t>(ic) * dm;
          for (int m = 0; m < dm; ++m) a[m] += v * static_cast<Acc>(wr[m]);
        }
      }
    }
  }
}

template <typename T, typename Acc>
void DepthwiseQuantizedImpl(const ConvQuantParams& p, const ConvGeometry& g, const T* input,
                            const int16_t* weights, const int32_t* bias, T* output) {
  std::vector<Acc> acc(static_cast<size_t>(g.out_c));
  const int32_t z_in = p.input_offset;
  // int16 (|q - z| <= 255) so that the products are int16 x int16 widening multiplies, which
  // SSE2 vectorizes; an int32 x int32 multiply it cannot.
  auto convert = [z_in](T q) { return static_cast<int16_t>(static_cast<int32_t>(q) - z_in); };
  T* out = output;
  for (int b = 0; b < g.batch; ++b) {
    for (int oy = 0; oy < g.out_h; ++oy) {
      for (int ox = 0; ox < g.out_w; ++ox, out += g.out_c) {
        AccumulateDepthwisePixel(g, input, weights, b, oy, ox, acc.data(), convert);
        RequantizeRow(p, acc.data(), bias, g.out_c, out);
      }
    }
  }
}

template <typename T>
void DepthwiseQuantized(const ConvQuantParams& p, const ConvGeometry& g, const T* input,
                        const int16_t* weights, const int32_t* bias, T* output) {
  // Each channel sums filter_h * filter_w products.
  if (DotNeedsWideAccumulator(static_cast<int64_t>(g.filter_h) * g.filter_w))
    DepthwiseQuantizedImpl<T, int64_t>(p, g, input, weights, bias, output);
  else
    DepthwiseQuantizedImpl<T, int32_t>(p, g, input, weights, bias, output);
}

int64_t DepthwiseWeightCount(const ConvGeometry& g) {
  return static_cast<int64_t>(g.filter_h) * g.filter_w * g.out_c;
}

}  // namespace

void DepthwiseConv2DFloat32(const ConvFloatParams& p, const ConvGeometry& g, const float* input,
                            const float* weights, const float* bias, float* output) {
  std::vector<float> acc(static_cast<size_t>(g.out_c));
  auto convert = [](float v) { return v; };
  float* out = output;
  for (int b = 0; b < g.batch; ++b) {
    for (int oy = 0; oy < g.out_h; ++oy) {
      for (int ox = 0; ox < g.out_w; ++ox, out += g.out_c) {
        AccumulateDepthwisePixel(g, input, weights, b, oy, ox, acc.data(), convert);
        for (int c = 0; c < g.out_c; ++c) {
          const float v = (bias ? bias[c] : 0.0f) + acc[c];
          out[c] = std::min(std::max(v, p.act_min), p.act_max);
        }
      }
    }
  }
}

void DepthwiseConv2DInt8Packed(const ConvQuantParams& p, const ConvGeometry& g,
                               const int8_t* input, const int16_t* packed_weights,
                               const int32_t* bias, int8_t* output) {
  DepthwiseQuantized(p, g, input, packed_weights, bias, output);
}

void DepthwiseConv2DUInt8Packed(const ConvQuantParams& p, const ConvGeometry& g,
                                const uint8_t* input, const int16_t* packed_weights,
                                const int32_t* bias, uint8_t* output) {
  DepthwiseQuantized(p, g, input, packed_weights, bias, output);
}

void DepthwiseConv2DInt8(const ConvQuantParams& p, const ConvGeometry& g, const int8_t* input,
                         const int8_t* weights, const int32_t* bias, int8_t* output) {
  const auto packed = PackWeightsInt8(weights, DepthwiseWeightCount(g), p.weight_offset);
  DepthwiseQuantized(p, g, input, packed.data(), bias, output);
}

void DepthwiseConv2DUInt8(const ConvQuantParams& p, const ConvGeometry& g, const uint8_t* input,
                          const uint8_t* weights, const int32_t* bias, uint8_t* output) {
  const auto packed = PackWeightsUInt8(weights, DepthwiseWeightCount(g), p.weight_offset);
  DepthwiseQuantized(p, g, input, packed.data(), bias, output);
}

namespace {

constexpr const char* kDepthwiseSupported =
    "float32/float32/float32 with float32 bias; float32/int8/float32 (hybrid) with float32 bias "
    "and per-channel weights; int8/int8/int8 with int32 bias and per-tensor or per-channel "
    "weights; uint8/uint8/uint8 with int32 bias and per-tensor weights; int16/int8/int16 (16x8) "
    "with int64 or int32 bias";

class DepthwiseConv2DKernel : public rt::Kernel {
 public:
  explicit DepthwiseConv2DKernel(bool avx2 = false) : avx2_(avx2) {}
  Status Prepare(const rt::KernelArgs& args) override;
  Status Eval(const rt::KernelArgs& args) override;

 private:
  ir::DType dtype_ = ir::DType::kUnknown;
  ConvGeometry geom_;
  ConvFloatParams float_params_;
  ConvQuantParams quant_params_;
  std::vector<QuantizedMultiplier> multipliers_;
  std::vector<int16_t> packed_weights_;
  bool has_bias_ = false;
  bool hybrid_ = false;
  HybridParams hybrid_params_;
  std::vector<float> hybrid_scales_;
  std::vector<int32_t> hybrid_row_sums_;
  HybridScratch hybrid_scratch_;
  Int16ConvParams int16_params_;  // 16x8: multipliers in multipliers_
  bool avx2_ = false;             // the AVX2 variant: 8-bit with static weights runs the plan
  bool use_plan_ = false;
  DepthwisePlan plan_;
};

Status DepthwiseConv2DKernel::Prepare(const rt::KernelArgs& args) {
  QL_RETURN_IF_ERROR(CheckConvFamilyOperands(args));
  const auto* attrs = std::get_if<ir::ConvAttrs>(&args.op.attrs);
  if (!attrs) return InvalidModel("{}has no convolution options", args.Where());
  const rt::TensorRef& in = args.in(0);
  const rt::TensorRef& w = args.in(1);
  const rt::TensorRef* bias = args.num_inputs() == 3 ? args.inputs[2] : nullptr;
  rt::TensorRef& out = args.out(0);
  has_bias_ = bias != nullptr;

  if (in.rank() != 4 || w.rank() != 4)
    return InvalidModel("{}input {} and weights {} must both be 4-D (NHWC input, 1HWO weights)",
                        args.Where(), ir::ShapeToString(in.shape), ir::ShapeToString(w.shape));
  QL_RETURN_IF_ERROR(CheckIndexable(args, in, "input"));
  QL_RETURN_IF_ERROR(CheckIndexable(args, w, "weights"));
  for (int i = 1; i < 4; ++i)
    if (w.dim(i) < 1 || in.dim(i) < 1)
      return InvalidModel("{}input {} / weights {} have an empty dimension", args.Where(),
                          ir::ShapeToString(in.shape), ir::ShapeToString(w.shape));
  if (w.dim(0) != 1)
    return InvalidModel("{}depthwise weights {} must have shape [1, h, w, channels]",
                        args.Where(), ir::ShapeToString(w.shape));
  // The depth_multiplier option is redundant with the shapes, and some converters write it
  // inconsistently; the genuine runtime derives it from the shapes, so do we.
  const int64_t in_c = in.dim(3), out_c = w.dim(3);
  if (out_c % in_c != 0)
    return InvalidModel("{}weights have {} output channels, not a multiple of the {} input "
                        "channels",
                        args.Where(), out_c, in_c);

  ConvGeometry& g = geom_;
  QL_RETURN_IF_ERROR(PrepareConvGeometry(args, *attrs, in, static_cast<int>(w.dim(1)),
                                         static_cast<int>(w.dim(2)), static_cast<int>(out_c), &g));
  g.depth_multiplier = static_cast<int>(out_c / in_c);
  out.shape = {g.batch, g.out_h, g.out_w, g.out_c};
  QL_RETURN_IF_ERROR(CheckIndexable(args, out, "output"));
  if (bias) QL_RETURN_IF_ERROR(CheckBiasSize(args, *bias, g.out_c, "output channel"));

  dtype_ = in.dtype();
  hybrid_ = false;
  const ir::DType wt = w.dtype(), ot = out.dtype();
  if (dtype_ == ir::DType::kFloat32 && wt == ir::DType::kFloat32 && ot == ir::DType::kFloat32) {
    if (bias && bias->dtype() != ir::DType::kFloat32)
      return InvalidModel("{}float32 depthwise convolution needs a float32 bias, got {}",
                          args.Where(), ir::DTypeName(bias->dtype()));
    return FloatActivationBounds(args, attrs->activation, &float_params_.act_min,
                                 &float_params_.act_max);
  }
  if (dtype_ == ir::DType::kFloat32 && wt == ir::DType::kInt8 && ot == ir::DType::kFloat32) {
    // TFLite 2.9 depthwise_conv.cc EvalHybridPerChannel: every batch image quantized
    // asymmetrically, per-channel weight scales, float bias read unconditionally.
    if (!bias)
      return Unsupported("{}hybrid depthwise convolution without a bias: TFLite 2.9's kernel "
                         "reads the bias unconditionally (it crashes without one)",
                         args.Where());
    if (bias->dtype() != ir::DType::kFloat32)
      return InvalidModel("{}hybrid depthwise convolution (float32 input, int8 weights) needs a "
                          "float32 bias, got {}",
                          args.Where(), ir::DTypeName(bias->dtype()));
    QL_RETURN_IF_ERROR(PrepareHybridWeights(args, w, g.out_c, /*channel_axis=*/3,
                                            HybridOp::kDepthwise, /*asymmetric_inputs=*/true,
                                            &hybrid_params_, &hybrid_scales_, &hybrid_row_sums_));
    QL_RETURN_IF_ERROR(FloatActivationBounds(args, attrs->activation, &hybrid_params_.act_min,
                                             &hybrid_params_.act_max));
    hybrid_ = true;
    return Status::Ok();
  }
  if (dtype_ == ir::DType::kInt16 && wt == ir::DType::kInt8 && ot == ir::DType::kInt16) {
    // TFLite 2.9 depthwise_conv.cc EvalQuantizedPerChannel16x8.
    Int16ConvSetup setup;
    setup.op = Int16ConvOp::kDepthwise;
    setup.out_c = g.out_c;
    setup.depth_multiplier_option = attrs->depth_multiplier;
    setup.depth_multiplier = g.depth_multiplier;
    return PrepareInt16Conv(args, attrs->activation, in, w, bias, out, setup, &multipliers_,
                            &int16_params_);
  }
  const bool is_int8 = dtype_ == ir::DType::kInt8 && wt == ir::DType::kInt8 && ot == ir::DType::kInt8;
  const bool is_uint8 =
      dtype_ == ir::DType::kUInt8 && wt == ir::DType::kUInt8 && ot == ir::DType::kUInt8;
  if (!is_int8 && !is_uint8) return UnsupportedTypes(args, in, w, out, kDepthwiseSupported);
  if (bias && bias->dtype() != ir::DType::kInt32)
    return InvalidModel("{}quantized depthwise convolution needs an int32 bias, got {}",
                        args.Where(), ir::DTypeName(bias->dtype()));
  if (args.numerics == rt::OpNumerics::kXnnpack)
    return Unsupported("{}XNNPACK requantization (fp32) is not implemented for {}", args.Where(),
                       ir::DTypeName(dtype_));

  QuantizedConvSetup setup;
  setup.out_c = g.out_c;
  setup.channel_axis = 3;
  setup.allow_per_axis = is_int8;
  setup.form = is_int8 ? MultiplierForm::kDoubleProduct : MultiplierForm::kFloatProduct;
  // Both builtin builds requantize depthwise with gemmlowp double rounding, whatever the type.
  setup.always_double_rounding = true;
  QL_RETURN_IF_ERROR(PrepareConvQuantParams(args, attrs->activation, in, w, out, setup,
                                            &multipliers_, &quant_params_));
  packed_weights_ = PackStaticWeights(w, quant_params_.weight_offset);
  use_plan_ = avx2_ && !packed_weights_.empty() && DepthwiseAvx2Supported(g, quant_params_);
  if (use_plan_) {
    plan_ = MakeDepthwisePlan(g, packed_weights_.data(), quant_params_, is_uint8,
                              bias && bias->is_static && bias->data ? bias->as<int32_t>() : nullptr);
    packed_weights_ = {};
  }
  return Status::Ok();
}

Status DepthwiseConv2DKernel::Eval(const rt::KernelArgs& args) {
  const rt::TensorRef& in = args.in(0);
  const rt::TensorRef& w = args.in(1);
  const rt::TensorRef* bias = has_bias_ ? args.inputs[2] : nullptr;
  rt::TensorRef& out = args.out(0);
  if (!in.data || !w.data || !out.data || (bias && !bias->data))
    return Internal("{}a tensor has no data at Eval", args.Where());
  if (hybrid_) {
    HybridDepthwiseConv2D(hybrid_params_, geom_, in.as<float>(), w.as<int8_t>(),
                          bias->as<float>(), out.mut<float>(), &hybrid_scratch_);
    return Status::Ok();
  }
  switch (dtype_) {
    case ir::DType::kInt16:
      DepthwiseConv2DInt16(int16_params_, geom_, in.as<int16_t>(), w.as<int8_t>(),
                           bias ? bias->data : nullptr, out.mut<int16_t>());
      return Status::Ok();
    case ir::DType::kFloat32:
      if (avx2_ && geom_.depth_multiplier == 1) {
        DepthwiseFloatAvx2(float_params_, geom_, in.as<float>(), w.as<float>(),
                           bias ? bias->as<float>() : nullptr, out.mut<float>(), *args.ctx);
        return Status::Ok();
      }
      DepthwiseConv2DFloat32(float_params_, geom_, in.as<float>(), w.as<float>(),
                             bias ? bias->as<float>() : nullptr, out.mut<float>());
      return Status::Ok();
    case ir::DType::kInt8: {
      const int32_t* b = bias ? bias->as<int32_t>() : nullptr;
      if (use_plan_)
        DepthwiseInt8Avx2(plan_, geom_, in.as<int8_t>(), b, out.mut<int8_t>(), *args.ctx);
      else if (!packed_weights_.empty())
        DepthwiseConv2DInt8Packed(quant_params_, geom_, in.as<int8_t>(), packed_weights_.data(),
                                  b, out.mut<int8_t>());
      else
        DepthwiseConv2DInt8(quant_params_, geom_, in.as<int8_t>(), w.as<int8_t>(), b,
                            out.mut<int8_t>());
      return Status::Ok();
    }
    case ir::DType::kUInt8: {
      const int32_t* b = bias ? bias->as<int32_t>() : nullptr;
      if (use_plan_)
        DepthwiseUInt8Avx2(plan_, geom_, in.as<uint8_t>(), b, out.mut<uint8_t>(), *args.ctx);
      else if (!packed_weights_.empty())
        DepthwiseConv2DUInt8Packed(quant_params_, geom_, in.as<uint8_t>(),
                                   packed_weights_.data(), b, out.mut<uint8_t>());
      else
        DepthwiseConv2DUInt8(quant_params_, geom_, in.as<uint8_t>(), w.as<uint8_t>(), b,
                             out.mut<uint8_t>());
      return Status::Ok();
    }
    default:
      return Internal("{}Eval reached with unprepared type {}", args.Where(),
                      ir::DTypeName(dtype_));
  }
}

}  // namespace

std::unique_ptr<rt::Kernel> MakeDepthwiseConv2D() {
  return std::make_unique<DepthwiseConv2DKernel>();
}
std::unique_ptr<rt::Kernel> MakeDepthwiseConv2DAvx2() {
  return std::make_unique<DepthwiseConv2DKernel>(true);
}

}  // namespace ql::kern
