#include "quantlens/kernels/conv_2d.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <variant>

#include "quantlens/kernels/conv_int16.h"
#include "quantlens/kernels/conv_patch.h"
#include "quantlens/kernels/gemm_int8.h"
#include "quantlens/kernels/hybrid_kernels.h"
#include "quantlens/kernels/padding.h"

namespace ql::kern {

// ---------------------------------------------------------------------------------------------
// Shared pieces of the conv family.

namespace {

template <typename T>
std::vector<int16_t> PackWeights(const T* w, int64_t count, int32_t weight_offset) {
  std::vector<int16_t> packed(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i)
    packed[i] = static_cast<int16_t>(static_cast<int32_t>(w[i]) - weight_offset);
  return packed;
}

template <typename T, typename Acc>
void Conv2DQuantizedImpl(const ConvQuantParams& p, const ConvGeometry& g, const T* input,
                         const int16_t* weights, const int32_t* bias, T* output) {
  // Output pixels are processed in blocks of four (flattened over batch, rows and columns): their
  // patches are gathered side by side, then each weight row is read once for the whole block.
  constexpr int kBlock = 4;
  const int k = g.filter_h * g.filter_w * g.in_c;
  std::vector<int16_t> patches(static_cast<size_t>(k) * kBlock);
  std::vector<Acc> acc(static_cast<size_t>(g.out_c) * kBlock);
  const int32_t z_in = p.input_offset;
  auto convert = [z_in](T q) { return static_cast<int16_t>(static_cast<int32_t>(q) - z_in); };
  const int64_t pixels = static_cast<int64_t>(g.batch) * g.out_h * g.out_w;
  for (int64_t first = 0; first < pixels; first += kBlock) {
    const int count = static_cast<int>(std::min<int64_t>(kBlock, pixels - first));
    for (int j = 0; j < count; ++j) {
      const int64_t px = first + j;
      const int ox = static_cast<int>(px % g.out_w);
      const int oy = static_cast<int>((px / g.out_w) % g.out_h);
      const int b = static_cast<int>(px / (static_cast<int64_t>(g.out_w) * g.out_h));
      GatherPatch(g, input, b, oy, ox, patches.data() + static_cast<int64_t>(j) * k, convert);
    }
    const int16_t* w = weights;
    for (int oc = 0; oc < g.out_c; ++oc, w += k) {
      if (count == kBlock) {
        Acc s[kBlock];
        DotInt16x4<Acc>(patches.data(), k, w, k, s);
        for (int j = 0; j < kBlock; ++j) acc[static_cast<size_t>(j) * g.out_c + oc] = s[j];
      } else {
        for (int j = 0; j < count; ++j)
          acc[static_cast<size_t>(j) * g.out_c + oc] =
              DotInt16<Acc>(patches.data() + static_cast<int64_t>(j) * k, w, k);
      }
    }
    for (int j = 0; j < count; ++j)
      RequantizeRow(p, acc.data() + static_cast<size_t>(j) * g.out_c, bias, g.out_c,
                    output + (first + j) * g.out_c);
  }
}

template <typename T>
void Conv2DQuantized(const ConvQuantParams& p, const ConvGeometry& g, const T* input,
                     const int16_t* weights, const int32_t* bias, T* output) {
  if (DotNeedsWideAccumulator(static_cast<int64_t>(g.filter_h) * g.filter_w * g.in_c))
    Conv2DQuantizedImpl<T, int64_t>(p, g, input, weights, bias, output);
  else
    Conv2DQuantizedImpl<T, int32_t>(p, g, input, weights, bias, output);
}

int64_t WeightCount(const ConvGeometry& g) {
  return static_cast<int64_t>(g.out_c) * g.filter_h * g.filter_w * g.in_c;
}

bool IsFinitePositive(double v) { return std::isfinite(v) && v > 0.0; }

}  // namespace

std::vector<int16_t> PackWeightsInt8(const int8_t* w, int64_t count, int32_t weight_offset) {
  return PackWeights(w, count, weight_offset);
}
std::vector<int16_t> PackWeightsUInt8(const uint8_t* w, int64_t count, int32_t weight_offset) {
  return PackWeights(w, count, weight_offset);
}

Status CheckPerTensorQuant(const rt::KernelArgs& args, const rt::TensorRef& t, const char* role) {
  const ir::Quantization& q = t.quant();
  if (q.empty() || q.zero_point.empty())
    return InvalidModel("{}{} '{}' ({}) has no quantization parameters; a quantized {} needs a "
                        "scale and a zero point",
                        args.Where(), role, t.info->name, ir::DTypeName(t.dtype()), role);
  if (q.per_axis())
    return Unsupported("{}{} '{}' has {} scales (per-axis); only per-tensor quantization is "
                       "supported for the {}",
                       args.Where(), role, t.info->name, q.scale.size(), role);
  if (!IsFinitePositive(q.scale[0]))
    return InvalidModel("{}{} '{}' has scale {}; a scale must be finite and > 0", args.Where(),
                        role, t.info->name, q.scale[0]);
  int32_t qmin, qmax;
  QuantizedTypeRange(t.dtype(), &qmin, &qmax);
  if (q.zero_point[0] < qmin || q.zero_point[0] > qmax)
    return InvalidModel("{}{} '{}' has zero point {}, outside the {} range [{}, {}]", args.Where(),
                        role, t.info->name, q.zero_point[0], ir::DTypeName(t.dtype()), qmin, qmax);
  return Status::Ok();
}

Result<std::vector<QuantizedMultiplier>> ChannelMultipliers(const rt::KernelArgs& args,
                                                            const rt::TensorRef& input,
                                                            const rt::TensorRef& weights,
                                                            const rt::TensorRef& output,
                                                            int out_c, int channel_axis,
                                                            bool allow_per_axis,
                                                            MultiplierForm form) {
  const ir::Quantization& wq = weights.quant();
  if (wq.empty())
    return InvalidModel("{}weights '{}' ({}) have no quantization parameters", args.Where(),
                        weights.info->name, ir::DTypeName(weights.dtype()));
  const size_t n = wq.scale.size();
  if (n != 1) {
    if (!allow_per_axis)
      return Unsupported("{}weights '{}' have {} scales (per-axis); only per-tensor weights are "
                         "supported for {} weights of this op",
                         args.Where(), weights.info->name, n, ir::DTypeName(weights.dtype()));
    if (n != static_cast<size_t>(out_c) || wq.axis != channel_axis)
      return InvalidModel("{}weights '{}' have {} scales along axis {}; per-channel weights need "
                          "one scale per output channel ({}) along axis {}",
                          args.Where(), weights.info->name, n, wq.axis, out_c, channel_axis);
  }
  const float s_in = input.scale();
  const float s_out = output.scale();
  std::vector<QuantizedMultiplier> result(static_cast<size_t>(out_c));
  for (int c = 0; c < out_c; ++c) {
    const float s_w = wq.scale[n == 1 ? 0 : c];
    if (!IsFinitePositive(s_w))
      return InvalidModel("{}weights '{}' scale[{}] = {}; a scale must be finite and > 0",
                          args.Where(), weights.info->name, n == 1 ? 0 : c, s_w);
    double r = 0.0;
    if (form == MultiplierForm::kDoubleProduct) {
      r = static_cast<double>(s_in) * static_cast<double>(s_w) / static_cast<double>(s_out);
    } else {
      // The product is rounded to float32 before the division (the genuine kernels compute it
      // as float * float).
      const float product = s_in * s_w;
      r = static_cast<double>(product) / static_cast<double>(s_out);
    }
    if (!IsFinitePositive(r))
      return InvalidModel("{}channel {}: multiplier s_in*s_w/s_out = {}*{}/{} = {} is not finite "
                          "and > 0",
                          args.Where(), c, s_in, s_w, s_out, r);
    const QuantizedMultiplier m = QuantizeMultiplier(r);
    if (m.shift > 30)
      return Unsupported("{}channel {}: multiplier {} needs a left shift of {}; shifts above 30 "
                         "overflow int32 in every rounding variant",
                         args.Where(), c, r, m.shift);
    result[c] = m;
  }
  return result;
}

Result<int32_t> WeightZeroPoint(const rt::KernelArgs& args, const rt::TensorRef& weights) {
  const ir::Quantization& q = weights.quant();
  if (weights.dtype() == ir::DType::kInt8) {
    for (size_t i = 0; i < q.zero_point.size(); ++i)
      if (q.zero_point[i] != 0)
        return Unsupported("{}int8 weights '{}' have zero point {} at index {}; int8 weights "
                           "must be symmetric (zero point 0)",
                           args.Where(), weights.info->name, q.zero_point[i], i);
    return 0;
  }
  if (q.zero_point.empty())
    return InvalidModel("{}weights '{}' ({}) have no zero point", args.Where(), weights.info->name,
                        ir::DTypeName(weights.dtype()));
  const int64_t z = q.zero_point[0];
  if (z < 0 || z > 255)
    return InvalidModel("{}uint8 weights '{}' have zero point {}, outside [0, 255]", args.Where(),
                        weights.info->name, z);
  return static_cast<int32_t>(z);
}

Status QuantizedActivationBounds(const rt::KernelArgs& args, ir::Activation act,
                                 const rt::TensorRef& output, int32_t* act_min, int32_t* act_max) {
  switch (act) {
    case ir::Activation::kNone:
    case ir::Activation::kRelu:
    case ir::Activation::kRelu6:
    case ir::Activation::kReluN1To1:
      QuantizedActivationRange(act, output.scale(), output.zero_point(), output.dtype(), act_min,
                               act_max);
      if (*act_min > *act_max)
        return InvalidModel("{}fused {} on output scale {} zero point {} gives an empty range "
                            "[{}, {}]",
                            args.Where(), ir::ActivationName(act), output.scale(),
                            output.zero_point(), *act_min, *act_max);
      return Status::Ok();
    default:
      return Unsupported("{}fused activation {} is not supported on a quantized output",
                         args.Where(), ir::ActivationName(act));
  }
}

Status FloatActivationBounds(const rt::KernelArgs& args, ir::Activation act, float* act_min,
                             float* act_max) {
  switch (act) {
    case ir::Activation::kNone:
    case ir::Activation::kRelu:
    case ir::Activation::kRelu6:
    case ir::Activation::kReluN1To1:
      FloatActivationRange(act, act_min, act_max);
      return Status::Ok();
    default:
      return Unsupported("{}fused activation {} is not supported", args.Where(),
                         ir::ActivationName(act));
  }
}

Status UnsupportedTypes(const rt::KernelArgs& args, const rt::TensorRef& input,
                        const rt::TensorRef& weights, const rt::TensorRef& output,
                        const char* supported) {
  return Unsupported("{}input {} / weights {} / output {} is not a supported type combination "
                     "(supported: {})",
                     args.Where(), ir::DTypeName(input.dtype()), ir::DTypeName(weights.dtype()),
                     ir::DTypeName(output.dtype()), supported);
}

Status CheckNhwcInputOhwiWeights(const rt::KernelArgs& args, const rt::TensorRef& in,
                                 const rt::TensorRef& w) {
  if (in.rank() != 4 || w.rank() != 4)
    return InvalidModel("{}input {} and weights {} must both be 4-D (NHWC input, OHWI weights)",
                        args.Where(), ir::ShapeToString(in.shape), ir::ShapeToString(w.shape));
  QL_RETURN_IF_ERROR(CheckIndexable(args, in, "input"));
  QL_RETURN_IF_ERROR(CheckIndexable(args, w, "weights"));
  for (int i = 0; i < 4; ++i)
    if (w.dim(i) < 1 || (i > 0 && in.dim(i) < 1))
      return InvalidModel("{}input {} / weights {} have an empty dimension", args.Where(),
                          ir::ShapeToString(in.shape), ir::ShapeToString(w.shape));
  return Status::Ok();
}

Status CheckIndexable(const rt::KernelArgs& args, const rt::TensorRef& t, const char* role) {
  for (int64_t d : t.shape)
    if (d < 0)
      return InvalidModel("{}{} '{}' has unresolved shape {}", args.Where(), role, t.info->name,
                          ir::ShapeToString(t.shape));
  auto n = ir::CheckedNumElements(t.shape);
  if (!n.ok() || *n > std::numeric_limits<int32_t>::max())
    return Unsupported("{}{} '{}' of shape {} has 2^31 or more elements; the reference kernels "
                       "index with int",
                       args.Where(), role, t.info->name, ir::ShapeToString(t.shape));
  return Status::Ok();
}

Result<Rounding> GemmRoundingFor(const rt::KernelArgs& args, ir::DType dtype) {
  if (args.numerics == rt::OpNumerics::kXnnpack)
    return Unsupported("{}XNNPACK requantization (fp32) is not implemented for {}", args.Where(),
                       ir::DTypeName(dtype));
  return GemmRounding(args.numerics, dtype);
}

Status PrepareConvGeometry(const rt::KernelArgs& args, const ir::ConvAttrs& attrs,
                           const rt::TensorRef& in, int filter_h, int filter_w, int out_c,
                           ConvGeometry* g) {
  if (attrs.stride_h < 1 || attrs.stride_w < 1 || attrs.dilation_h < 1 || attrs.dilation_w < 1)
    return InvalidModel("{}strides ({}, {}) and dilations ({}, {}) must be >= 1", args.Where(),
                        attrs.stride_h, attrs.stride_w, attrs.dilation_h, attrs.dilation_w);
  g->batch = static_cast<int>(in.dim(0));
  g->in_h = static_cast<int>(in.dim(1));
  g->in_w = static_cast<int>(in.dim(2));
  g->in_c = static_cast<int>(in.dim(3));
  g->out_c = out_c;
  g->filter_h = filter_h;
  g->filter_w = filter_w;
  g->stride_h = attrs.stride_h;
  g->stride_w = attrs.stride_w;
  g->dilation_h = attrs.dilation_h;
  g->dilation_w = attrs.dilation_w;
  const PaddedDim ph = ComputePadding(g->in_h, filter_h, g->stride_h, g->dilation_h, attrs.padding);
  const PaddedDim pw = ComputePadding(g->in_w, filter_w, g->stride_w, g->dilation_w, attrs.padding);
  if (ph.out < 1 || pw.out < 1)
    return InvalidModel("{}input {}x{} is smaller than the dilated {}x{} filter (dilation {}x{}) "
                        "under VALID padding",
                        args.Where(), g->in_h, g->in_w, filter_h, filter_w, g->dilation_h,
                        g->dilation_w);
  // A filter whose dilated extent dwarfs the input would make int index arithmetic overflow.
  if ((static_cast<int64_t>(filter_h) - 1) * g->dilation_h > (int64_t{1} << 30) ||
      (static_cast<int64_t>(filter_w) - 1) * g->dilation_w > (int64_t{1} << 30) ||
      ph.out * g->stride_h > (int64_t{1} << 30) || pw.out * g->stride_w > (int64_t{1} << 30))
    return Unsupported("{}filter {}x{} with dilation {}x{} and strides {}x{} is too large to index",
                       args.Where(), filter_h, filter_w, g->dilation_h, g->dilation_w,
                       g->stride_h, g->stride_w);
  g->out_h = static_cast<int>(ph.out);
  g->out_w = static_cast<int>(pw.out);
  g->pad_top = static_cast<int>(ph.pad_before);
  g->pad_left = static_cast<int>(pw.pad_before);
  return Status::Ok();
}

Status CheckConvFamilyOperands(const rt::KernelArgs& args) {
  if (args.num_inputs() < 2 || args.num_inputs() > 3 || args.num_outputs() != 1)
    return InvalidModel("{}expects 2 or 3 inputs (input, weights, optional bias) and 1 output, "
                        "got {} and {}",
                        args.Where(), args.num_inputs(), args.num_outputs());
  if (!args.inputs[0] || !args.inputs[1])
    return InvalidModel("{}input and weights are required inputs", args.Where());
  return Status::Ok();
}

Status CheckBiasSize(const rt::KernelArgs& args, const rt::TensorRef& bias, int64_t out_c,
                     const char* per) {
  QL_RETURN_IF_ERROR(CheckIndexable(args, bias, "bias"));
  if (bias.num_elements() != out_c)
    return InvalidModel("{}bias '{}' has {} elements; it needs one per {} ({})", args.Where(),
                        bias.info->name, bias.num_elements(), per, out_c);
  return Status::Ok();
}

Status PrepareConvQuantParams(const rt::KernelArgs& args, ir::Activation act,
                              const rt::TensorRef& in, const rt::TensorRef& w,
                              const rt::TensorRef& out, const QuantizedConvSetup& setup,
                              std::vector<QuantizedMultiplier>* multipliers,
                              ConvQuantParams* params) {
  QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, in, "input"));
  QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, out, "output"));
  QL_ASSIGN_OR_RETURN(const int32_t z_w, WeightZeroPoint(args, w));
  QL_ASSIGN_OR_RETURN(*multipliers,
                      ChannelMultipliers(args, in, w, out, setup.out_c, setup.channel_axis,
                                         setup.allow_per_axis, setup.form));
  if (setup.always_double_rounding) {
    params->rounding = Rounding::kDouble;
  } else {
    QL_ASSIGN_OR_RETURN(params->rounding, GemmRoundingFor(args, in.dtype()));
  }
  params->input_offset = in.zero_point();
  params->weight_offset = z_w;
  params->output_offset = out.zero_point();
  params->multipliers = *multipliers;
  return QuantizedActivationBounds(args, act, out, &params->act_min, &params->act_max);
}

std::vector<int16_t> PackStaticWeights(const rt::TensorRef& w, int32_t weight_offset) {
  if (!w.is_static || !w.data) return {};
  return w.dtype() == ir::DType::kInt8
             ? PackWeightsInt8(w.as<int8_t>(), w.num_elements(), weight_offset)
             : PackWeightsUInt8(w.as<uint8_t>(), w.num_elements(), weight_offset);
}

// ---------------------------------------------------------------------------------------------
// CONV_2D reference math.

void Conv2DFloat32(const ConvFloatParams& p, const ConvGeometry& g, const float* input,
                   const float* weights, const float* bias, float* output) {
  const int k = g.filter_h * g.filter_w * g.in_c;
  std::vector<float> patch(static_cast<size_t>(k));
  auto convert = [](float v) { return v; };
  float* out = output;
  for (int b = 0; b < g.batch; ++b) {
    for (int oy = 0; oy < g.out_h; ++oy) {
      for (int ox = 0; ox < g.out_w; ++ox, out += g.out_c) {
        GatherPatch(g, input, b, oy, ox, patch.data(), convert);
        const float* w = weights;
        for (int oc = 0; oc < g.out_c; ++oc, w += k) {
          const float v = (bias ? bias[oc] : 0.0f) + DotFloat(patch.data(), w, k);
          out[oc] = std::min(std::max(v, p.act_min), p.act_max);
        }
      }
    }
  }
}

std::vector<float> PackFloatWeightsBy8(const float* w, int out_c, int64_t k) {
  const int blocks = (out_c + 7) / 8;
  std::vector<float> packed(static_cast<size_t>(blocks) * static_cast<size_t>(k) * 8, 0.0f);
  for (int oc = 0; oc < out_c; ++oc)
    for (int64_t i = 0; i < k; ++i)
      packed[(static_cast<size_t>(oc / 8) * static_cast<size_t>(k) + static_cast<size_t>(i)) * 8 + oc % 8] =
          w[static_cast<int64_t>(oc) * k + i];
  return packed;
}

void Conv2DFloat32PackedAvx2(const ConvFloatParams& p, const ConvGeometry& g, const float* input,
                             const float* packed, const float* bias, float* output,
                             const rt::KernelContext& ctx) {
  const int k = g.filter_h * g.filter_w * g.in_c;
  auto convert = [](float v) { return v; };
  const int64_t rows = static_cast<int64_t>(g.batch) * g.out_h;
  ctx.ParallelFor(rows, [&](int64_t r0, int64_t r1, int worker) {
    float* patch = static_cast<float*>(ctx.scratch()) + static_cast<int64_t>(worker) * k;
    float* out = output + r0 * g.out_w * g.out_c;
    for (int64_t row = r0; row < r1; ++row) {
      const int b = static_cast<int>(row / g.out_h), oy = static_cast<int>(row % g.out_h);
      for (int ox = 0; ox < g.out_w; ++ox, out += g.out_c) {
        GatherPatch(g, input, b, oy, ox, patch, convert);
        ConvPixelFloatAvx2(patch, k, packed, g.out_c, bias, p.act_min, p.act_max, out);
      }
    }
  });
}

void Conv2DInt8Packed(const ConvQuantParams& p, const ConvGeometry& g, const int8_t* input,
                      const int16_t* packed_weights, const int32_t* bias, int8_t* output) {
  Conv2DQuantized(p, g, input, packed_weights, bias, output);
}

void Conv2DUInt8Packed(const ConvQuantParams& p, const ConvGeometry& g, const uint8_t* input,
                       const int16_t* packed_weights, const int32_t* bias, uint8_t* output) {
  Conv2DQuantized(p, g, input, packed_weights, bias, output);
}

void Conv2DInt8(const ConvQuantParams& p, const ConvGeometry& g, const int8_t* input,
                const int8_t* weights, const int32_t* bias, int8_t* output) {
  const std::vector<int16_t> packed = PackWeightsInt8(weights, WeightCount(g), p.weight_offset);
  Conv2DQuantized(p, g, input, packed.data(), bias, output);
}

void Conv2DUInt8(const ConvQuantParams& p, const ConvGeometry& g, const uint8_t* input,
                 const uint8_t* weights, const int32_t* bias, uint8_t* output) {
  const std::vector<int16_t> packed = PackWeightsUInt8(weights, WeightCount(g), p.weight_offset);
  Conv2DQuantized(p, g, input, packed.data(), bias, output);
}

// ---------------------------------------------------------------------------------------------
// CONV_2D kernel.

namespace {

constexpr const char* kConvSupported =
    "float32/float32/float32 with float32 bias; float32/int8/float32 (hybrid) with float32 bias "
    "and per-tensor or per-channel weights; int8/int8/int8 with int32 bias and per-tensor or "
    "per-channel weights; uint8/uint8/uint8 with int32 bias and per-tensor weights; "
    "int16/int8/int16 (16x8) with int64 or int32 bias";

class Conv2DKernel : public rt::Kernel {
 public:
  explicit Conv2DKernel(bool avx2 = false) : avx2_(avx2) {}
  Status Prepare(const rt::KernelArgs& args) override;
  Status Eval(const rt::KernelArgs& args) override;

 private:
  Status PrepareHybrid(const rt::KernelArgs& args, const ir::ConvAttrs& attrs,
                       const rt::TensorRef& w, const rt::TensorRef* bias);

  ir::DType dtype_ = ir::DType::kUnknown;
  ConvGeometry geom_;
  ConvFloatParams float_params_;
  ConvQuantParams quant_params_;
  std::vector<QuantizedMultiplier> multipliers_;  // quant_params_.multipliers points here
  std::vector<int16_t> packed_weights_;           // static 8-bit weights minus their zero point
  bool has_bias_ = false;
  // Hybrid (float32 input and output, int8 weights): weights are packed into packed_weights_.
  bool hybrid_ = false;
  HybridParams hybrid_params_;
  std::vector<float> hybrid_scales_;
  std::vector<int32_t> hybrid_row_sums_;
  HybridScratch hybrid_scratch_;
  Int16ConvParams int16_params_;  // 16x8: multipliers in multipliers_
  // The AVX2 variant: float32 with static weights runs Conv2DFloat32PackedAvx2, 8-bit with static
  // weights the GEMM (gemm_int8.h) where Int8GemmSupported.
  bool avx2_ = false;
  std::vector<float> float_packed_;  // PackFloatWeightsBy8 of the static float weights
  bool use_gemm_ = false;
  Int8GemmPlan gemm_plan_;
};

Status Conv2DKernel::Prepare(const rt::KernelArgs& args) {
  QL_RETURN_IF_ERROR(CheckConvFamilyOperands(args));
  const auto* attrs = std::get_if<ir::ConvAttrs>(&args.op.attrs);
  if (!attrs) return InvalidModel("{}has no convolution options", args.Where());
  const rt::TensorRef& in = args.in(0);
  const rt::TensorRef& w = args.in(1);
  const rt::TensorRef* bias = args.num_inputs() == 3 ? args.inputs[2] : nullptr;
  rt::TensorRef& out = args.out(0);
  has_bias_ = bias != nullptr;

  QL_RETURN_IF_ERROR(CheckNhwcInputOhwiWeights(args, in, w));
  if (in.dim(3) != w.dim(3)) {
    if (in.dim(3) % w.dim(3) == 0)
      return Unsupported("{}input has {} channels and weights {}: grouped convolution is not "
                         "supported",
                         args.Where(), in.dim(3), w.dim(3));
    return InvalidModel("{}input channels {} must equal weights dimension 3 ({})", args.Where(),
                        in.dim(3), w.dim(3));
  }
  ConvGeometry& g = geom_;
  QL_RETURN_IF_ERROR(PrepareConvGeometry(args, *attrs, in, static_cast<int>(w.dim(1)),
                                         static_cast<int>(w.dim(2)), static_cast<int>(w.dim(0)),
                                         &g));
  out.shape = {g.batch, g.out_h, g.out_w, g.out_c};
  QL_RETURN_IF_ERROR(CheckIndexable(args, out, "output"));

  if (bias) QL_RETURN_IF_ERROR(CheckBiasSize(args, *bias, g.out_c, "output channel"));

  dtype_ = in.dtype();
  hybrid_ = false;
  const ir::DType wt = w.dtype(), ot = out.dtype();
  if (dtype_ == ir::DType::kFloat32 && wt == ir::DType::kFloat32 && ot == ir::DType::kFloat32) {
    if (bias && bias->dtype() != ir::DType::kFloat32)
      return InvalidModel("{}float32 convolution needs a float32 bias, got {}", args.Where(),
                          ir::DTypeName(bias->dtype()));
    float_packed_.clear();
    if (avx2_ && w.is_static) {
      float_packed_ = PackFloatWeightsBy8(w.as<float>(), g.out_c, WeightCount(g) / g.out_c);
      // One gathered patch per thread.
      QL_RETURN_IF_ERROR(args.ctx->ReserveScratch(static_cast<size_t>(WeightCount(g) / g.out_c) *
                                                  sizeof(float) * static_cast<size_t>(args.ctx->threads())));
    }
    return FloatActivationBounds(args, attrs->activation, &float_params_.act_min,
                                 &float_params_.act_max);
  }
  if (dtype_ == ir::DType::kFloat32 && wt == ir::DType::kInt8 && ot == ir::DType::kFloat32)
    return PrepareHybrid(args, *attrs, w, bias);
  if (dtype_ == ir::DType::kInt16 && wt == ir::DType::kInt8 && ot == ir::DType::kInt16) {
    // TFLite 2.9 conv.cc EvalQuantizedPerChannel16x8: reference kernel for an int64 bias, ruy
    // for an int32 one.
    Int16ConvSetup setup;
    setup.op = Int16ConvOp::kConv2D;
    setup.out_c = g.out_c;
    return PrepareInt16Conv(args, attrs->activation, in, w, bias, out, setup, &multipliers_,
                            &int16_params_);
  }
  const bool is_int8 = dtype_ == ir::DType::kInt8 && wt == ir::DType::kInt8 && ot == ir::DType::kInt8;
  const bool is_uint8 =
      dtype_ == ir::DType::kUInt8 && wt == ir::DType::kUInt8 && ot == ir::DType::kUInt8;
  if (!is_int8 && !is_uint8) return UnsupportedTypes(args, in, w, out, kConvSupported);
  if (bias && bias->dtype() != ir::DType::kInt32)
    return InvalidModel("{}quantized convolution needs an int32 bias, got {}", args.Where(),
                        ir::DTypeName(bias->dtype()));

  QuantizedConvSetup setup;
  setup.out_c = g.out_c;
  setup.channel_axis = 0;
  setup.allow_per_axis = is_int8;
  // int8 multipliers use the double product, uint8 the float32 product (docs/arithmetic.md).
  setup.form = is_int8 ? MultiplierForm::kDoubleProduct : MultiplierForm::kFloatProduct;
  QL_RETURN_IF_ERROR(PrepareConvQuantParams(args, attrs->activation, in, w, out, setup,
                                            &multipliers_, &quant_params_));
  packed_weights_ = PackStaticWeights(w, quant_params_.weight_offset);
  const int k = g.filter_h * g.filter_w * g.in_c;
  use_gemm_ = avx2_ && !packed_weights_.empty() && Int8GemmSupported(quant_params_, k);
  if (use_gemm_) {
    gemm_plan_ = MakeInt8GemmPlan(packed_weights_.data(), g.out_c, g.filter_h * g.filter_w, g.in_c,
                                  quant_params_, is_uint8);
    QL_RETURN_IF_ERROR(args.ctx->ReserveScratch(Int8ConvScratchBytes(g, gemm_plan_, args.ctx->threads())));
    packed_weights_ = {};  // the plan holds its own copy
  }
  return Status::Ok();
}

// TFLite 2.9 conv.cc: int8 weights with several distinct scales take EvalHybridPerChannel
// (asymmetric input rows), otherwise EvalHybrid (symmetric input rows).
Status Conv2DKernel::PrepareHybrid(const rt::KernelArgs& args, const ir::ConvAttrs& attrs,
                                   const rt::TensorRef& w, const rt::TensorRef* bias) {
  if (bias && bias->dtype() != ir::DType::kFloat32)
    return InvalidModel("{}hybrid convolution (float32 input, int8 weights) needs a float32 "
                        "bias, got {}",
                        args.Where(), ir::DTypeName(bias->dtype()));
  // TFLite versions differ on dilated hybrid convolution (older ones hand the GEMM dilation 1
  // while sizing the output with the real one); no corpus model has one, so it is not guessed.
  if (attrs.dilation_h != 1 || attrs.dilation_w != 1)
    return Unsupported("{}hybrid convolution with dilation {}x{} is not supported (only 1x1)",
                       args.Where(), attrs.dilation_h, attrs.dilation_w);
  QL_RETURN_IF_ERROR(PrepareHybridWeights(args, w, geom_.out_c, /*channel_axis=*/0,
                                          /*allow_per_channel=*/true,
                                          /*asymmetric_inputs=*/false, &hybrid_params_,
                                          &hybrid_scales_, &hybrid_row_sums_));
  QL_RETURN_IF_ERROR(FloatActivationBounds(args, attrs.activation, &hybrid_params_.act_min,
                                           &hybrid_params_.act_max));
  packed_weights_ = PackWeightsInt8(w.as<int8_t>(), w.num_elements(), 0);
  hybrid_ = true;
  return Status::Ok();
}

Status Conv2DKernel::Eval(const rt::KernelArgs& args) {
  const rt::TensorRef& in = args.in(0);
  const rt::TensorRef& w = args.in(1);
  const rt::TensorRef* bias = has_bias_ ? args.inputs[2] : nullptr;
  rt::TensorRef& out = args.out(0);
  if (!in.data || !w.data || !out.data || (bias && !bias->data))
    return Internal("{}a tensor has no data at Eval", args.Where());
  if (hybrid_) {
    HybridConv2D(hybrid_params_, geom_, in.as<float>(), packed_weights_.data(),
                 bias ? bias->as<float>() : nullptr, out.mut<float>(), &hybrid_scratch_);
    return Status::Ok();
  }
  switch (dtype_) {
    case ir::DType::kFloat32:
      if (!float_packed_.empty()) {
        Conv2DFloat32PackedAvx2(float_params_, geom_, in.as<float>(), float_packed_.data(),
                                bias ? bias->as<float>() : nullptr, out.mut<float>(), *args.ctx);
      } else {
        Conv2DFloat32(float_params_, geom_, in.as<float>(), w.as<float>(),
                      bias ? bias->as<float>() : nullptr, out.mut<float>());
      }
      return Status::Ok();
    case ir::DType::kInt16:
      Conv2DInt16(int16_params_, geom_, in.as<int16_t>(), w.as<int8_t>(),
                  bias ? bias->data : nullptr, out.mut<int16_t>());
      return Status::Ok();
    case ir::DType::kInt8: {
      const int32_t* b = bias ? bias->as<int32_t>() : nullptr;
      if (use_gemm_)
        Conv2DInt8Gemm(geom_, quant_params_.input_offset, gemm_plan_, in.as<int8_t>(), b,
                       out.mut<int8_t>(), *args.ctx);
      else if (!packed_weights_.empty())
        Conv2DInt8Packed(quant_params_, geom_, in.as<int8_t>(), packed_weights_.data(), b,
                         out.mut<int8_t>());
      else
        Conv2DInt8(quant_params_, geom_, in.as<int8_t>(), w.as<int8_t>(), b, out.mut<int8_t>());
      return Status::Ok();
    }
    case ir::DType::kUInt8: {
      const int32_t* b = bias ? bias->as<int32_t>() : nullptr;
      if (use_gemm_)
        Conv2DInt8Gemm(geom_, quant_params_.input_offset, gemm_plan_, in.as<uint8_t>(), b,
                       out.mut<uint8_t>(), *args.ctx);
      else if (!packed_weights_.empty())
        Conv2DUInt8Packed(quant_params_, geom_, in.as<uint8_t>(), packed_weights_.data(), b,
                          out.mut<uint8_t>());
      else
        Conv2DUInt8(quant_params_, geom_, in.as<uint8_t>(), w.as<uint8_t>(), b,
                    out.mut<uint8_t>());
      return Status::Ok();
    }
    default:
      return Internal("{}Eval reached with unprepared type {}", args.Where(),
                      ir::DTypeName(dtype_));
  }
}

}  // namespace

std::unique_ptr<rt::Kernel> MakeConv2D() { return std::make_unique<Conv2DKernel>(); }
std::unique_ptr<rt::Kernel> MakeConv2DAvx2() { return std::make_unique<Conv2DKernel>(true); }

}  // namespace ql::kern
