// Piecewise-linear activations: RELU, RELU6, RELU_N1_TO_1, LEAKY_RELU (float32, int8, uint8;
// RELU, RELU6 and LEAKY_RELU also int16 with zero points 0, as TFLite 2.9), PRELU and HARD_SWISH
// (float32). Quantized forms requantize with G, as TFLite's ReluX and QuantizeLeakyRelu do; their
// multipliers are formed in float32 (TFLite divides the float scales and only then widens to
// double).
#include <algorithm>
#include <cmath>

#include "quantlens/kernels/binary_kernel.h"
#include "quantlens/kernels/elementwise_common.h"
#include "quantlens/kernels/elementwise_kernels.h"
#include "quantlens/kernels/quant_math.h"

namespace ql::kern {
namespace {

enum class ReluKind { kRelu, kRelu6, kReluN1To1 };

struct QuantizedReluParams {
  int32_t input_zero_point = 0;
  int32_t output_zero_point = 0;
  QuantizedMultiplier multiplier;  // float32(s_in / s_out)
  int32_t act_min = 0, act_max = 0;
};

inline int32_t QuantizedReluElement(const QuantizedReluParams& p, int32_t q) {
  const int32_t v =
      p.output_zero_point + MultiplyByQuantizedMultiplierDouble(q - p.input_zero_point, p.multiplier);
  return std::clamp(v, p.act_min, p.act_max);
}

// Input and output of one quantized dtype with per-tensor parameters; int16 ones symmetric.
Status CheckQuantizedUnary(const rt::KernelArgs& args) {
  QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, args.in(0), "input"));
  QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, args.out(0), "output"));
  if (args.in(0).dtype() == ir::DType::kInt16 &&
      (args.in(0).zero_point() != 0 || args.out(0).zero_point() != 0))
    return InvalidModel("{}int16 input and output need zero point 0 (got {} and {}), as TFLite "
                        "requires",
                        args.Where(), args.in(0).zero_point(), args.out(0).zero_point());
  return Status::Ok();
}

// TFLite 2.9 has int16 RELU, RELU6 and LEAKY_RELU, but no int16 RELU_N1_TO_1.
bool SupportedDType(ir::DType t, bool int16_ok) {
  return t == ir::DType::kFloat32 || t == ir::DType::kInt8 || t == ir::DType::kUInt8 ||
         (int16_ok && t == ir::DType::kInt16);
}

class ReluKernel final : public rt::Kernel {
 public:
  explicit ReluKernel(ReluKind kind) : kind_(kind) {}

  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(PrepareUnaryShape(args));
    const ir::DType t = args.in(0).dtype();
    const bool int16_ok = kind_ != ReluKind::kReluN1To1;
    if (t != args.out(0).dtype() || !SupportedDType(t, int16_ok)) {
      return UnsupportedTypes(args, int16_ok
                                        ? "float32, int8, uint8, int16 (input and output of one dtype)"
                                        : "float32, int8, uint8 (input and output of one dtype)");
    }
    QL_RETURN_IF_ERROR(PrepareKerasOptions(args));
    if (t == ir::DType::kFloat32) return Status::Ok();
    if (keras_max_ >= 0.0f) {
      return Unsupported("{}RELU with max_value {} on quantized tensors has no TFLite kernel",
                         args.Where(), keras_max_);
    }
    QL_RETURN_IF_ERROR(CheckQuantizedUnary(args));
    const float ratio = args.in(0).scale() / args.out(0).scale();
    p_.multiplier = QuantizeMultiplier(static_cast<double>(ratio));
    p_.input_zero_point = args.in(0).zero_point();
    p_.output_zero_point = args.out(0).zero_point();
    const ir::Activation act = kind_ == ReluKind::kRelu    ? ir::Activation::kRelu
                               : kind_ == ReluKind::kRelu6 ? ir::Activation::kRelu6
                                                           : ir::Activation::kReluN1To1;
    QuantizedActivationRange(act, args.out(0).scale(), p_.output_zero_point, t, &p_.act_min,
                             &p_.act_max);
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    switch (args.in(0).dtype()) {
      case ir::DType::kFloat32: EvalFloat(args); return Status::Ok();
      case ir::DType::kInt8:
        ApplyUnary<int8_t>(args, [&](int8_t q) { return static_cast<int8_t>(QuantizedReluElement(p_, q)); });
        return Status::Ok();
      case ir::DType::kUInt8:
        ApplyUnary<uint8_t>(args, [&](uint8_t q) { return static_cast<uint8_t>(QuantizedReluElement(p_, q)); });
        return Status::Ok();
      case ir::DType::kInt16:
        ApplyUnary<int16_t>(args, [&](int16_t q) { return static_cast<int16_t>(QuantizedReluElement(p_, q)); });
        return Status::Ok();
      default: return UnsupportedTypes(args, "float32, int8, uint8, int16");
    }
  }

 private:
  // Keras lowers ReLU(max_value=m) to RELU with ActivationAttrs::max_value, and a ReLU with a
  // threshold to RELU with threshold, alpha (negative slope) and max_value: TFLite has no such op,
  // so only the float kernel takes them.
  Status PrepareKerasOptions(const rt::KernelArgs& args) {
    const auto* a = std::get_if<ir::ActivationAttrs>(&args.op.attrs);
    if (a == nullptr || kind_ != ReluKind::kRelu) return Status::Ok();
    if (!std::isfinite(a->threshold) || !std::isfinite(a->alpha))
      return InvalidModel("{}RELU threshold {} and negative slope {} must be finite", args.Where(),
                          a->threshold, a->alpha);
    if (a->alpha != 0.0f && a->threshold == 0.0f)
      return Unsupported("{}RELU with a negative slope and no threshold is LEAKY_RELU", args.Where());
    keras_max_ = a->max_value;
    keras_threshold_ = a->threshold;
    keras_slope_ = a->alpha;
    if (keras_threshold_ != 0.0f && args.in(0).dtype() != ir::DType::kFloat32)
      return Unsupported("{}RELU with threshold {} on quantized tensors has no TFLite kernel",
                         args.Where(), keras_threshold_);
    return Status::Ok();
  }

  // Keras's relu(x, negative_slope, max_value, threshold) with a threshold, in Keras's own order:
  // x * (x > threshold), clipped to [0, max_value] when there is a max_value, minus
  // negative_slope * relu(threshold - x). (Without max_value, values in (threshold, 0) stay negative.)
  static float KerasThresholdRelu(float x, float threshold, float slope, float max_value) {
    float y = x > threshold ? x : 0.0f;
    if (max_value >= 0.0f) y = std::min(std::max(y, 0.0f), max_value);
    if (slope != 0.0f) y -= slope * std::max(threshold - x, 0.0f);
    return y;
  }

  void EvalFloat(const rt::KernelArgs& args) const {
    switch (kind_) {
      case ReluKind::kRelu:
        if (keras_threshold_ != 0.0f) {
          const float t = keras_threshold_, k = keras_slope_, m = keras_max_;
          ApplyUnary<float>(args, [t, k, m](float x) { return KerasThresholdRelu(x, t, k, m); });
        } else if (keras_max_ >= 0.0f) {
          const float m = keras_max_;
          ApplyUnary<float>(args, [m](float x) { return std::min(std::max(x, 0.0f), m); });
        } else {
          ApplyUnary<float>(args, [](float x) { return std::max(0.0f, x); });
        }
        return;
      case ReluKind::kRelu6:
        ApplyUnary<float>(args, [](float x) { return std::min(std::max(0.0f, x), 6.0f); });
        return;
      case ReluKind::kReluN1To1:
        ApplyUnary<float>(args, [](float x) { return x > 1.0f ? 1.0f : x < -1.0f ? -1.0f : x; });
        return;
    }
  }

  ReluKind kind_;
  float keras_max_ = -1.0f;
  float keras_threshold_ = 0.0f;
  float keras_slope_ = 0.0f;
  QuantizedReluParams p_;
};

// LEAKY_RELU: x > 0 ? x : alpha * x in float32; quantized, non-negative (q - z_in) is rescaled by
// s_in/s_out and negative by alpha*s_in/s_out (both float32 products/quotients), then clamped to
// the type range.
class LeakyReluKernel final : public rt::Kernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(PrepareUnaryShape(args));
    const ir::DType t = args.in(0).dtype();
    if (t != args.out(0).dtype() || !SupportedDType(t, true)) {
      return UnsupportedTypes(args, "float32, int8, uint8, int16 (input and output of one dtype)");
    }
    alpha_ = AttrsOr<ir::ActivationAttrs>(args.op).alpha;
    if (!std::isfinite(alpha_)) {
      return InvalidModel("{}alpha {} is not finite", args.Where(), alpha_);
    }
    if (t == ir::DType::kFloat32) return Status::Ok();
    QL_RETURN_IF_ERROR(CheckQuantizedUnary(args));
    const float s_in = args.in(0).scale(), s_out = args.out(0).scale();
    const float alpha_ratio = s_in * alpha_ / s_out;
    const float identity_ratio = s_in / s_out;
    alpha_multiplier_ = QuantizeMultiplier(static_cast<double>(alpha_ratio));
    identity_multiplier_ = QuantizeMultiplier(static_cast<double>(identity_ratio));
    z_in_ = args.in(0).zero_point();
    z_out_ = args.out(0).zero_point();
    QuantizedTypeRange(t, &qmin_, &qmax_);
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    switch (args.in(0).dtype()) {
      case ir::DType::kFloat32: {
        const float a = alpha_;
        ApplyUnary<float>(args, [a](float x) { return x > 0 ? x : x * a; });
        return Status::Ok();
      }
      case ir::DType::kInt8:
        ApplyUnary<int8_t>(args, [&](int8_t q) { return static_cast<int8_t>(Quantized(q)); });
        return Status::Ok();
      case ir::DType::kUInt8:
        ApplyUnary<uint8_t>(args, [&](uint8_t q) { return static_cast<uint8_t>(Quantized(q)); });
        return Status::Ok();
      case ir::DType::kInt16:
        ApplyUnary<int16_t>(args, [&](int16_t q) { return static_cast<int16_t>(Quantized(q)); });
        return Status::Ok();
      default: return UnsupportedTypes(args, "float32, int8, uint8, int16");
    }
  }

 private:
  int32_t Quantized(int32_t q) const {
    const int32_t v = q - z_in_;
    const QuantizedMultiplier& m = v >= 0 ? identity_multiplier_ : alpha_multiplier_;
    return std::clamp(z_out_ + MultiplyByQuantizedMultiplierDouble(v, m), qmin_, qmax_);
  }

  float alpha_ = 0.0f;
  QuantizedMultiplier alpha_multiplier_, identity_multiplier_;
  int32_t z_in_ = 0, z_out_ = 0, qmin_ = 0, qmax_ = 0;
};

// PRELU (float32): x >= 0 ? x : x * alpha, alpha broadcast against x; the output keeps x's shape.
class PreluKernel final : public BinaryElementwiseKernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(PrepareBroadcast(args));
    if (!SameDTypes(args) || args.out(0).dtype() != ir::DType::kFloat32) {
      return UnsupportedTypes(args, "float32 input, alpha and output");
    }
    if (args.out(0).shape != args.in(0).shape) {
      return InvalidModel("{}alpha of shape {} broadcasts input {} to {}; PRELU's output must "
                          "keep the input's shape",
                          args.Where(), ir::ShapeToString(args.in(1).shape),
                          ir::ShapeToString(args.in(0).shape),
                          ir::ShapeToString(args.out(0).shape));
    }
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    Apply(args.in(0).as<float>(), args.in(1).as<float>(), args.out(0).mut<float>(),
          [](float x, float a) { return x >= 0.0f ? x : x * a; });
    return Status::Ok();
  }
};

// HARD_SWISH (float32): x * min(6, max(0, x + 3)) / 6, multiply first, then divide by 6.
// TFLite's int8/uint8 HARD_SWISH is a dedicated int16 fixed-point pipeline, not implemented.
class HardSwishKernel final : public rt::Kernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(PrepareUnaryShape(args));
    if (args.in(0).dtype() != ir::DType::kFloat32 || args.out(0).dtype() != ir::DType::kFloat32) {
      return UnsupportedTypes(args, "float32 (quantized HARD_SWISH is not implemented)");
    }
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    ApplyUnary<float>(args, [](float x) {
      return x * std::min(6.0f, std::max(0.0f, x + 3.0f)) / 6.0f;
    });
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<rt::Kernel> MakeReluKernel() { return std::make_unique<ReluKernel>(ReluKind::kRelu); }
std::unique_ptr<rt::Kernel> MakeRelu6Kernel() {
  return std::make_unique<ReluKernel>(ReluKind::kRelu6);
}
std::unique_ptr<rt::Kernel> MakeReluN1To1Kernel() {
  return std::make_unique<ReluKernel>(ReluKind::kReluN1To1);
}
std::unique_ptr<rt::Kernel> MakeLeakyReluKernel() { return std::make_unique<LeakyReluKernel>(); }
std::unique_ptr<rt::Kernel> MakePreluKernel() { return std::make_unique<PreluKernel>(); }
std::unique_ptr<rt::Kernel> MakeHardSwishKernel() { return std::make_unique<HardSwishKernel>(); }

}  // namespace ql::kern
