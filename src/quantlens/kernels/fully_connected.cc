#include "quantlens/kernels/fully_connected.h"

#include "quantlens/kernels/conv_int16.h"
#include "quantlens/kernels/gemm_int8.h"
#include "quantlens/kernels/hybrid_kernels.h"

#include <algorithm>
#include <variant>
#include <vector>

namespace ql::kern {

namespace {

template <typename T, typename Acc>
void FullyConnectedQuantizedImpl(const ConvQuantParams& p, const FullyConnectedGeometry& g,
                                 const T* input, const int16_t* weights, const int32_t* bias,
                                 T* output) {
  const int k = g.depth;
  std::vector<int16_t> row(static_cast<size_t>(k));
  std::vector<Acc> acc(static_cast<size_t>(g.out_units));
  for (int b = 0; b < g.batch; ++b) {
    const T* src = input + static_cast<int64_t>(b) * k;
    for (int i = 0; i < k; ++i)
      row[i] = static_cast<int16_t>(static_cast<int32_t>(src[i]) - p.input_offset);
    T* out = output + static_cast<int64_t>(b) * g.out_units;
    const int16_t* w = weights;
    for (int o = 0; o < g.out_units; ++o, w += k) acc[o] = DotInt16<Acc>(row.data(), w, k);
    RequantizeRow(p, acc.data(), bias, g.out_units, out);
  }
}

template <typename T>
void FullyConnectedQuantized(const ConvQuantParams& p, const FullyConnectedGeometry& g,
                             const T* input, const int16_t* weights, const int32_t* bias,
                             T* output) {
  if (DotNeedsWideAccumulator(g.depth))
    FullyConnectedQuantizedImpl<T, int64_t>(p, g, input, weights, bias, output);
  else
    FullyConnectedQuantizedImpl<T, int32_t>(p, g, input, weights, bias, output);
}

}  // namespace

void FullyConnectedFloat32(const ConvFloatParams& p, const FullyConnectedGeometry& g,
                           const float* input, const float* weights, const float* bias,
                           float* output) {
  for (int b = 0; b < g.batch; ++b) {
    const float* row = input + static_cast<int64_t>(b) * g.depth;
    float* out = output + static_cast<int64_t>(b) * g.out_units;
    const float* w = weights;
    for (int o = 0; o < g.out_units; ++o, w += g.depth) {
      const float v = (bias ? bias[o] : 0.0f) + DotFloat(row, w, g.depth);
      out[o] = std::min(std::max(v, p.act_min), p.act_max);
    }
  }
}

void FullyConnectedInt8Packed(const ConvQuantParams& p, const FullyConnectedGeometry& g,
                              const int8_t* input, const int16_t* packed_weights,
                              const int32_t* bias, int8_t* output) {
  FullyConnectedQuantized(p, g, input, packed_weights, bias, output);
}

void FullyConnectedUInt8Packed(const ConvQuantParams& p, const FullyConnectedGeometry& g,
                               const uint8_t* input, const int16_t* packed_weights,
                               const int32_t* bias, uint8_t* output) {
  FullyConnectedQuantized(p, g, input, packed_weights, bias, output);
}

void FullyConnectedInt8(const ConvQuantParams& p, const FullyConnectedGeometry& g,
                        const int8_t* input, const int8_t* weights, const int32_t* bias,
                        int8_t* output) {
  const auto packed = PackWeightsInt8(weights, static_cast<int64_t>(g.out_units) * g.depth,
                                      p.weight_offset);
  FullyConnectedQuantized(p, g, input, packed.data(), bias, output);
}

void FullyConnectedUInt8(const ConvQuantParams& p, const FullyConnectedGeometry& g,
                         const uint8_t* input, const uint8_t* weights, const int32_t* bias,
                         uint8_t* output) {
  const auto packed = PackWeightsUInt8(weights, static_cast<int64_t>(g.out_units) * g.depth,
                                       p.weight_offset);
  FullyConnectedQuantized(p, g, input, packed.data(), bias, output);
}

namespace {

constexpr const char* kFcSupported =
    "float32/float32/float32 with float32 bias; float32/int8/float32 (hybrid) with float32 bias; "
    "int8/int8/int8 and uint8/uint8/uint8 with int32 bias and per-tensor "
    "weights; int16/int8/int16 (16x8) with int64 or int32 bias and per-tensor weights";

class FullyConnectedKernel : public rt::Kernel {
 public:
  explicit FullyConnectedKernel(bool avx2 = false) : avx2_(avx2) {}
  Status Prepare(const rt::KernelArgs& args) override;
  Status Eval(const rt::KernelArgs& args) override;

 private:
  ir::DType dtype_ = ir::DType::kUnknown;
  FullyConnectedGeometry geom_;
  ConvFloatParams float_params_;
  ConvQuantParams quant_params_;
  std::vector<QuantizedMultiplier> multipliers_;
  std::vector<int16_t> packed_weights_;
  bool has_bias_ = false;
  // The AVX2 variant: 8-bit with static weights runs the GEMM of gemm_int8.h, the input rows
  // seen as the pixels of a 1x1 convolution.
  bool avx2_ = false;
  bool use_gemm_ = false;
  ConvGeometry gemm_geom_;
  Int8GemmPlan gemm_plan_;
  // Hybrid (float32 input and output, int8 weights): weights are packed into packed_weights_.
  bool hybrid_ = false;
  HybridParams hybrid_params_;
  std::vector<float> hybrid_scales_;
  std::vector<int32_t> hybrid_row_sums_;
  HybridScratch hybrid_scratch_;
  Int16ConvParams int16_params_;  // 16x8: multipliers in multipliers_
};

Status FullyConnectedKernel::Prepare(const rt::KernelArgs& args) {
  QL_RETURN_IF_ERROR(CheckConvFamilyOperands(args));
  const auto* attrs = std::get_if<ir::FullyConnectedAttrs>(&args.op.attrs);
  if (!attrs) return InvalidModel("{}has no fully-connected options", args.Where());
  const rt::TensorRef& in = args.in(0);
  const rt::TensorRef& w = args.in(1);
  const rt::TensorRef* bias = args.num_inputs() == 3 ? args.inputs[2] : nullptr;
  rt::TensorRef& out = args.out(0);
  has_bias_ = bias != nullptr;

  if (w.rank() != 2)
    return InvalidModel("{}weights {} must be 2-D [output units, input depth]", args.Where(),
                        ir::ShapeToString(w.shape));
  if (in.rank() < 1)
    return InvalidModel("{}input must have at least one dimension", args.Where());
  QL_RETURN_IF_ERROR(CheckIndexable(args, in, "input"));
  QL_RETURN_IF_ERROR(CheckIndexable(args, w, "weights"));
  const int64_t units = w.dim(0), depth = w.dim(1);
  if (units < 1 || depth < 1)
    return InvalidModel("{}weights {} have an empty dimension", args.Where(),
                        ir::ShapeToString(w.shape));
  const int64_t n = in.num_elements();
  if (n % depth != 0)
    return InvalidModel("{}input {} has {} elements, not a multiple of the weights' input depth "
                        "{}",
                        args.Where(), ir::ShapeToString(in.shape), n, depth);
  geom_.depth = static_cast<int>(depth);
  geom_.out_units = static_cast<int>(units);
  geom_.batch = static_cast<int>(n / depth);
  if (attrs->keep_num_dims) {
    // The output keeps the input's leading dimensions; only the last one becomes `units`.
    if (in.dim(in.rank() - 1) != depth)
      return InvalidModel("{}keep_num_dims needs the input's last dimension ({}) to equal the "
                          "weights' input depth ({})",
                          args.Where(), in.dim(in.rank() - 1), depth);
    out.shape = in.shape;
    out.shape.back() = units;
  } else {
    out.shape = {geom_.batch, units};
  }
  QL_RETURN_IF_ERROR(CheckIndexable(args, out, "output"));
  if (bias) QL_RETURN_IF_ERROR(CheckBiasSize(args, *bias, units, "output unit"));

  dtype_ = in.dtype();
  hybrid_ = false;
  const ir::DType wt = w.dtype(), ot = out.dtype();
  if (dtype_ == ir::DType::kFloat32 && wt == ir::DType::kFloat32 && ot == ir::DType::kFloat32) {
    if (bias && bias->dtype() != ir::DType::kFloat32)
      return InvalidModel("{}float32 fully-connected needs a float32 bias, got {}", args.Where(),
                          ir::DTypeName(bias->dtype()));
    return FloatActivationBounds(args, attrs->activation, &float_params_.act_min,
                                 &float_params_.act_max);
  }
  if (dtype_ == ir::DType::kFloat32 && wt == ir::DType::kInt8 && ot == ir::DType::kFloat32) {
    // TFLite 2.9 fully_connected.cc EvalHybrid: per-row symmetric input quantization, or
    // asymmetric when the op's asymmetric_quantize_inputs option is set; the weights' legacy
    // per-tensor scale (0 for per-channel weights: the output is then the activated bias).
    if (bias && bias->dtype() != ir::DType::kFloat32)
      return InvalidModel("{}hybrid fully-connected (float32 input, int8 weights) needs a "
                          "float32 bias, got {}",
                          args.Where(), ir::DTypeName(bias->dtype()));
    QL_RETURN_IF_ERROR(PrepareHybridWeights(args, w, geom_.out_units, /*channel_axis=*/0,
                                            HybridOp::kFullyConnected,
                                            attrs->asymmetric_quantize_inputs, &hybrid_params_,
                                            &hybrid_scales_, &hybrid_row_sums_));
    QL_RETURN_IF_ERROR(FloatActivationBounds(args, attrs->activation, &hybrid_params_.act_min,
                                             &hybrid_params_.act_max));
    packed_weights_ = PackWeightsInt8(w.as<int8_t>(), w.num_elements(), 0);
    hybrid_ = true;
    return Status::Ok();
  }
  if (dtype_ == ir::DType::kInt16 && wt == ir::DType::kInt8 && ot == ir::DType::kInt16) {
    // TFLite 2.9 fully_connected.cc EvalQuantized with int16 input: reference kernel for an
    // int64 bias or a weight zero point, ruy otherwise; float32-product multiplier as for int8.
    Int16ConvSetup setup;
    setup.op = Int16ConvOp::kFullyConnected;
    setup.out_c = geom_.out_units;
    return PrepareInt16Conv(args, attrs->activation, in, w, bias, out, setup, &multipliers_,
                            &int16_params_);
  }
  const bool is_int8 = dtype_ == ir::DType::kInt8 && wt == ir::DType::kInt8 && ot == ir::DType::kInt8;
  const bool is_uint8 =
      dtype_ == ir::DType::kUInt8 && wt == ir::DType::kUInt8 && ot == ir::DType::kUInt8;
  if (!is_int8 && !is_uint8) return UnsupportedTypes(args, in, w, out, kFcSupported);
  if (bias && bias->dtype() != ir::DType::kInt32)
    return InvalidModel("{}quantized fully-connected needs an int32 bias, got {}", args.Where(),
                        ir::DTypeName(bias->dtype()));

  QuantizedConvSetup setup;
  setup.out_c = geom_.out_units;
  setup.channel_axis = 0;
  // Per-channel FULLY_CONNECTED weights are newer than the builds we reproduce: refused, and the
  // multiplier uses the float32 product for both 8-bit types (docs/arithmetic.md).
  setup.allow_per_axis = false;
  setup.form = MultiplierForm::kFloatProduct;
  QL_RETURN_IF_ERROR(PrepareConvQuantParams(args, attrs->activation, in, w, out, setup,
                                            &multipliers_, &quant_params_));
  packed_weights_ = PackStaticWeights(w, quant_params_.weight_offset);
  use_gemm_ = avx2_ && !packed_weights_.empty() && Int8GemmSupported(quant_params_, geom_.depth);
  if (use_gemm_) {
    gemm_geom_ = ConvGeometry{};
    gemm_geom_.in_w = gemm_geom_.out_w = geom_.batch;
    gemm_geom_.in_c = geom_.depth;
    gemm_geom_.out_c = geom_.out_units;
    gemm_plan_ = MakeInt8GemmPlan(packed_weights_.data(), geom_.out_units, /*taps=*/1, geom_.depth,
                                  quant_params_, dtype_ == ir::DType::kUInt8);
    QL_RETURN_IF_ERROR(
        args.ctx->ReserveScratch(Int8ConvScratchBytes(gemm_geom_, gemm_plan_, args.ctx->threads())));
    packed_weights_ = {};
  }
  return Status::Ok();
}

Status FullyConnectedKernel::Eval(const rt::KernelArgs& args) {
  const rt::TensorRef& in = args.in(0);
  const rt::TensorRef& w = args.in(1);
  const rt::TensorRef* bias = has_bias_ ? args.inputs[2] : nullptr;
  rt::TensorRef& out = args.out(0);
  if (!in.data || !w.data || !out.data || (bias && !bias->data))
    return Internal("{}a tensor has no data at Eval", args.Where());
  if (hybrid_) {
    HybridFullyConnected(hybrid_params_, geom_, in.as<float>(), packed_weights_.data(),
                         bias ? bias->as<float>() : nullptr, out.mut<float>(), &hybrid_scratch_);
    return Status::Ok();
  }
  switch (dtype_) {
    case ir::DType::kInt16:
      FullyConnectedInt16(int16_params_, geom_, in.as<int16_t>(), w.as<int8_t>(),
                          bias ? bias->data : nullptr, out.mut<int16_t>());
      return Status::Ok();
    case ir::DType::kFloat32:
      FullyConnectedFloat32(float_params_, geom_, in.as<float>(), w.as<float>(),
                            bias ? bias->as<float>() : nullptr, out.mut<float>());
      return Status::Ok();
    case ir::DType::kInt8: {
      const int32_t* b = bias ? bias->as<int32_t>() : nullptr;
      if (use_gemm_)
        Conv2DInt8Gemm(gemm_geom_, quant_params_.input_offset, gemm_plan_, in.as<int8_t>(), b,
                       out.mut<int8_t>(), *args.ctx);
      else if (!packed_weights_.empty())
        FullyConnectedInt8Packed(quant_params_, geom_, in.as<int8_t>(), packed_weights_.data(), b,
                                 out.mut<int8_t>());
      else
        FullyConnectedInt8(quant_params_, geom_, in.as<int8_t>(), w.as<int8_t>(), b,
                           out.mut<int8_t>());
      return Status::Ok();
    }
    case ir::DType::kUInt8: {
      const int32_t* b = bias ? bias->as<int32_t>() : nullptr;
      if (use_gemm_)
        Conv2DInt8Gemm(gemm_geom_, quant_params_.input_offset, gemm_plan_, in.as<uint8_t>(), b,
                       out.mut<uint8_t>(), *args.ctx);
      else if (!packed_weights_.empty())
        FullyConnectedUInt8Packed(quant_params_, geom_, in.as<uint8_t>(), packed_weights_.data(),
                                  b, out.mut<uint8_t>());
      else
        FullyConnectedUInt8(quant_params_, geom_, in.as<uint8_t>(), w.as<uint8_t>(), b,
                            out.mut<uint8_t>());
      return Status::Ok();
    }
    default:
      return Internal("{}Eval reached with unprepared type {}", args.Where(),
                      ir::DTypeName(dtype_));
  }
}

}  // namespace

std::unique_ptr<rt::Kernel> MakeFullyConnected() {
  return std::make_unique<FullyConnectedKernel>();
}
std::unique_ptr<rt::Kernel> MakeFullyConnectedAvx2() {
  return std::make_unique<FullyConnectedKernel>(true);
}

}  // namespace ql::kern
