// MUL: float32 and int32/int64 with a fused clamp; int8/uint8 as
// y = clamp(G((q1 - z1)(q2 - z2); r) + z_out) with r formed entirely in float32
// (TFLITE_NUMERICS §2/§3 "MUL": the double-precision r misses every element of a probe where
// the two differ). int16 operands (TFLite 2.9's 16x8 MUL) use the same formula and must have zero
// points 0.
#include <algorithm>

#include "quantlens/kernels/binary_kernel.h"
#include "quantlens/kernels/elementwise_kernels.h"
#include "quantlens/kernels/quant_math.h"

namespace ql::kern {
namespace {

struct QuantizedMulParams {
  int32_t input1_offset = 0;  // -z1
  int32_t input2_offset = 0;  // -z2
  int32_t output_offset = 0;
  QuantizedMultiplier output_multiplier;  // float32(float32(s1 * s2) / s_out)
  int32_t act_min = 0, act_max = 0;
};

inline int32_t QuantizedMulElement(const QuantizedMulParams& p, int32_t q1, int32_t q2) {
  const int32_t product = (q1 + p.input1_offset) * (q2 + p.input2_offset);
  const int32_t out =
      MultiplyByQuantizedMultiplierDouble(product, p.output_multiplier) + p.output_offset;
  return std::clamp(out, p.act_min, p.act_max);
}

// The MUL multiplier as TFLite forms it: every step in float32, widened only at the end.
inline double MulRealMultiplier(float s1, float s2, float s_out) {
  const float product = s1 * s2;
  const float ratio = product / s_out;
  return static_cast<double>(ratio);
}

class MulKernel final : public FusedClampBinaryKernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(PrepareFusedClamp(args, kSupported));
    switch (args.out(0).dtype()) {
      case ir::DType::kFloat32:
      case ir::DType::kInt32:
      case ir::DType::kInt64:
        return Status::Ok();
      case ir::DType::kInt8:
      case ir::DType::kUInt8:
      case ir::DType::kInt16: {
        QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, args.in(0), "input 0"));
        QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, args.in(1), "input 1"));
        QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, args.out(0), "output"));
        if (args.out(0).dtype() == ir::DType::kInt16 &&
            (args.in(0).zero_point() != 0 || args.in(1).zero_point() != 0 ||
             args.out(0).zero_point() != 0))
          return InvalidModel("{}int16 operands need zero point 0 (got {}, {} -> {}), as TFLite "
                              "requires",
                              args.Where(), args.in(0).zero_point(), args.in(1).zero_point(),
                              args.out(0).zero_point());
        // TFLite 2.9's int16 broadcast (BroadcastMul4DSlow) aborts the process beyond 4-D.
        if (args.out(0).dtype() == ir::DType::kInt16 && !bcast_.trivial() &&
            args.out(0).rank() > 4)
          return Unsupported("{}int16 MUL broadcasting {} and {}: TFLite 2.9 aborts on "
                             "broadcasts beyond 4 dimensions",
                             args.Where(), ir::ShapeToString(args.in(0).shape),
                             ir::ShapeToString(args.in(1).shape));
        p_.input1_offset = -args.in(0).zero_point();
        p_.input2_offset = -args.in(1).zero_point();
        p_.output_offset = args.out(0).zero_point();
        const double r = MulRealMultiplier(args.in(0).scale(), args.in(1).scale(),
                                           args.out(0).scale());
        if (!(r > 0.0) || !std::isfinite(r)) {
          return InvalidModel("{}multiplier s1*s2/s_out = {} (float32) is not finite and > 0",
                              args.Where(), r);
        }
        p_.output_multiplier = QuantizeMultiplier(r);
        QuantizedActivationRange(act_, args.out(0).scale(), p_.output_offset,
                                 args.out(0).dtype(), &p_.act_min, &p_.act_max);
        return Status::Ok();
      }
      default:
        return UnsupportedTypes(args, kSupported);
    }
  }

  Status Eval(const rt::KernelArgs& args) override {
    switch (args.out(0).dtype()) {
      case ir::DType::kFloat32:
        Apply(args.in(0).as<float>(), args.in(1).as<float>(), args.out(0).mut<float>(),
              [&](float a, float b) { return ClampFloat(a * b, float_min_, float_max_); });
        return Status::Ok();
      case ir::DType::kInt32:
        Apply(args.in(0).as<int32_t>(), args.in(1).as<int32_t>(), args.out(0).mut<int32_t>(),
              [&](int32_t a, int32_t b) { return std::clamp(WrapMul(a, b), i32_min_, i32_max_); });
        return Status::Ok();
      case ir::DType::kInt64:
        Apply(args.in(0).as<int64_t>(), args.in(1).as<int64_t>(), args.out(0).mut<int64_t>(),
              [&](int64_t a, int64_t b) { return std::clamp(WrapMul(a, b), i64_min_, i64_max_); });
        return Status::Ok();
      case ir::DType::kInt8:
        Apply(args.in(0).as<int8_t>(), args.in(1).as<int8_t>(), args.out(0).mut<int8_t>(),
              [&](int8_t a, int8_t b) { return static_cast<int8_t>(QuantizedMulElement(p_, a, b)); });
        return Status::Ok();
      case ir::DType::kUInt8:
        Apply(args.in(0).as<uint8_t>(), args.in(1).as<uint8_t>(), args.out(0).mut<uint8_t>(),
              [&](uint8_t a, uint8_t b) {
                return static_cast<uint8_t>(QuantizedMulElement(p_, a, b));
              });
        return Status::Ok();
      case ir::DType::kInt16:
        Apply(args.in(0).as<int16_t>(), args.in(1).as<int16_t>(), args.out(0).mut<int16_t>(),
              [&](int16_t a, int16_t b) {
                return static_cast<int16_t>(QuantizedMulElement(p_, a, b));
              });
        return Status::Ok();
      default:
        return UnsupportedTypes(args, kSupported);
    }
  }

 private:
  static constexpr std::string_view kSupported =
      "float32, int32, int64, int8, uint8, int16 with all operands of one dtype";

  QuantizedMulParams p_;
};

}  // namespace

std::unique_ptr<rt::Kernel> MakeMulKernel() { return std::make_unique<MulKernel>(); }

}  // namespace ql::kern
