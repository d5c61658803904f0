// ADD and SUB: float32 and int32/int64 with a fused clamp, and int8/uint8 with TFLite's
// rescale-to-common-scale arithmetic (TFLITE_NUMERICS §3 "ADD / SUB", gemmlowp rounding G in both
// builtin builds). int16 (zero points 0) takes the same general path with 15 bits of headroom
// instead of 20, except when the op's pot_scale_int16 flag is set and all three scales are
// powers of two (CheckedLog2): then TFLite 2.9's LSTM path shifts one input right (rounding) and
// adds or subtracts with int16 saturation. Broadcasts TFLite 2.9 aborts on are refused.
#include <algorithm>

#include "quantlens/kernels/add_sub.h"
#include "quantlens/kernels/binary_kernel.h"
#include "quantlens/kernels/elementwise_kernels.h"
#include "quantlens/kernels/int16_math.h"
#include "quantlens/kernels/quant_math.h"

namespace ql::kern {
namespace {

// One output element: a_i = G((q_i - z_i) * 2^20; r_i), y = clamp(G(a1 +- a2; r_out) + z_out).
// TFLite 2.9 subtracts the two rescaled inputs (it does not negate the second multiplier, which
// later versions do and which breaks SRDHM ties differently).
inline int32_t QuantizedAddSubElement(const QuantizedAddSubParams& p, int32_t q1, int32_t q2) {
  const int32_t shifted1 = (q1 + p.input1_offset) * (1 << p.left_shift);
  const int32_t shifted2 = (q2 + p.input2_offset) * (1 << p.left_shift);
  const int32_t a1 = MultiplyByQuantizedMultiplierDouble(shifted1, p.input1_multiplier);
  const int32_t a2 = MultiplyByQuantizedMultiplierDouble(shifted2, p.input2_multiplier);
  const int32_t raw = p.subtract ? a1 - a2 : a1 + a2;
  const int32_t out =
      MultiplyByQuantizedMultiplierDouble(raw, p.output_multiplier) + p.output_offset;
  return std::clamp(out, p.act_min, p.act_max);
}

// The int16 power-of-two path: input k is divided by 2^right_shift[k] (one of the two shifts is
// 0), then the two are added or subtracted in int16 with saturation and clamped.
struct PotInt16Params {
  int right_shift1 = 0, right_shift2 = 0;
  int32_t act_min = 0, act_max = 0;
  bool subtract = false;
};

inline int16_t PotInt16Element(const PotInt16Params& p, int16_t q1, int16_t q2) {
  const int32_t a = RoundingDivideByPOT16(q1, p.right_shift1);
  const int32_t b = RoundingDivideByPOT16(q2, p.right_shift2);
  const int32_t raw = std::clamp(p.subtract ? a - b : a + b, int32_t{-32768}, int32_t{32767});
  return static_cast<int16_t>(std::clamp(raw, p.act_min, p.act_max));
}

class AddSubKernel final : public FusedClampBinaryKernel {
 public:
  explicit AddSubKernel(bool subtract, bool avx2 = false) : subtract_(subtract), avx2_(avx2) {}

  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(PrepareFusedClamp(args, kSupported));
    switch (args.out(0).dtype()) {
      case ir::DType::kFloat32:
      case ir::DType::kInt32:
      case ir::DType::kInt64:
        return Status::Ok();
      case ir::DType::kInt8:
      case ir::DType::kUInt8:
        return PrepareQuantized(args);
      case ir::DType::kInt16:
        return PrepareInt16(args);
      default:
        return UnsupportedTypes(args, kSupported);
    }
  }

  Status Eval(const rt::KernelArgs& args) override {
    switch (args.out(0).dtype()) {
      case ir::DType::kFloat32:
        Apply(args.in(0).as<float>(), args.in(1).as<float>(), args.out(0).mut<float>(),
              [&](float a, float b) {
                return ClampFloat(subtract_ ? a - b : a + b, float_min_, float_max_);
              });
        return Status::Ok();
      case ir::DType::kInt32:
        Apply(args.in(0).as<int32_t>(), args.in(1).as<int32_t>(), args.out(0).mut<int32_t>(),
              [&](int32_t a, int32_t b) {
                return std::clamp(subtract_ ? WrapSub(a, b) : WrapAdd(a, b), i32_min_, i32_max_);
              });
        return Status::Ok();
      case ir::DType::kInt64:
        Apply(args.in(0).as<int64_t>(), args.in(1).as<int64_t>(), args.out(0).mut<int64_t>(),
              [&](int64_t a, int64_t b) {
                return std::clamp(subtract_ ? WrapSub(a, b) : WrapAdd(a, b), i64_min_, i64_max_);
              });
        return Status::Ok();
      case ir::DType::kInt8:
        EvalQuantized<int8_t>(args);
        return Status::Ok();
      case ir::DType::kUInt8:
        EvalQuantized<uint8_t>(args);
        return Status::Ok();
      case ir::DType::kInt16:
        if (pot_int16_) {
          Apply(args.in(0).as<int16_t>(), args.in(1).as<int16_t>(), args.out(0).mut<int16_t>(),
                [&](int16_t a, int16_t b) { return PotInt16Element(pot_, a, b); });
        } else {
          EvalQuantized<int16_t>(args);
        }
        return Status::Ok();
      default:
        return UnsupportedTypes(args, kSupported);
    }
  }

 private:
  static constexpr std::string_view kSupported =
      "float32, int32, int64, int8, uint8, int16 with all operands of one dtype";

  // TFLite 2.9 add.cc / sub.cc Prepare for int16: symmetric operands; the POT path when the
  // option asks for it and every scale is a power of two, the general path otherwise.
  Status PrepareInt16(const rt::KernelArgs& args) {
    QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, args.in(0), "input 0"));
    QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, args.in(1), "input 1"));
    QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, args.out(0), "output"));
    if (args.in(0).zero_point() != 0 || args.in(1).zero_point() != 0 ||
        args.out(0).zero_point() != 0)
      return InvalidModel("{}int16 operands need zero point 0 (got {}, {} -> {}), as TFLite "
                          "requires",
                          args.Where(), args.in(0).zero_point(), args.in(1).zero_point(),
                          args.out(0).zero_point());
    const auto* attrs = std::get_if<ir::BinaryAttrs>(&args.op.attrs);
    int log2_1 = 0, log2_2 = 0, log2_out = 0;
    pot_int16_ = attrs && attrs->pot_scale_int16 && CheckedLog2(args.in(0).scale(), &log2_1) &&
                 CheckedLog2(args.in(1).scale(), &log2_2) &&
                 CheckedLog2(args.out(0).scale(), &log2_out);
    // Broadcasting limits of TFLite 2.9's int16 kernels, beyond which it aborts the process
    // (measured): ADD's general path handles 4 dimensions and its POT path none; SUB's POT path
    // handles 5 and its general path at least 6.
    const int broadcast_rank = bcast_.trivial() ? 0 : args.out(0).rank();
    const int max_rank = subtract_ ? (pot_int16_ ? 5 : 64) : (pot_int16_ ? 0 : 4);
    if (broadcast_rank > max_rank)
      return Unsupported("{}int16 {}{} broadcasting {} and {}: TFLite 2.9 aborts on it{}",
                         args.Where(), pot_int16_ ? "power-of-two " : "",
                         subtract_ ? "SUB" : "ADD", ir::ShapeToString(args.in(0).shape),
                         ir::ShapeToString(args.in(1).shape),
                         pot_int16_ ? " (set pot_scale_int16 = false for the general path)" : "");
    if (!pot_int16_) {
      p_.left_shift = 15;
      return PrepareQuantized(args);
    }
    const int shift1 = log2_1 - log2_out, shift2 = log2_2 - log2_out;
    if (!(shift1 == 0 || shift2 == 0) || shift1 > 0 || shift2 > 0)
      return InvalidModel("{}int16 power-of-two scales {}, {} -> {}: TFLite's POT path rescales "
                          "only one input, and only down to the output scale",
                          args.Where(), args.in(0).scale(), args.in(1).scale(),
                          args.out(0).scale());
    pot_.right_shift1 = -shift1;
    pot_.right_shift2 = -shift2;
    pot_.subtract = subtract_;
    QuantizedActivationRange(act_, args.out(0).scale(), 0, ir::DType::kInt16, &pot_.act_min,
                             &pot_.act_max);
    return Status::Ok();
  }

  Status PrepareQuantized(const rt::KernelArgs& args) {
    QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, args.in(0), "input 0"));
    QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, args.in(1), "input 1"));
    QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, args.out(0), "output"));
    const float s1 = args.in(0).scale(), s2 = args.in(1).scale(), s_out = args.out(0).scale();
    p_.subtract = subtract_;
    p_.input1_offset = -args.in(0).zero_point();
    p_.input2_offset = -args.in(1).zero_point();
    p_.output_offset = args.out(0).zero_point();
    // As TFLite: the max is taken in float, the ratios are formed in double.
    const double twice_max = 2.0 * static_cast<double>(std::max(s1, s2));
    const double r1 = static_cast<double>(s1) / twice_max;
    const double r2 = static_cast<double>(s2) / twice_max;
    const double r_out =
        twice_max / static_cast<double>(static_cast<float>(1 << p_.left_shift) * s_out);
    // TFLite quantizes these with QuantizeMultiplierSmallerThanOneExp, which aborts for r >= 1;
    // r1, r2 <= 0.5 always, r_out only for an absurdly small output scale. The left shift is
    // multiplied in float (exact: a power of two) before the double division.
    if (!(r_out < 1.0)) {
      return InvalidModel(
          "{}output scale {} is too small for input scales {} and {}: the output multiplier "
          "2*max(s1,s2)/(2^{}*s_out) = {} must be < 1 (TFLite refuses this op)",
          args.Where(), s_out, s1, s2, p_.left_shift, r_out);
    }
    p_.input1_multiplier = QuantizeMultiplier(r1);
    p_.input2_multiplier = QuantizeMultiplier(r2);
    p_.output_multiplier = QuantizeMultiplier(r_out);
    QuantizedActivationRange(act_, s_out, p_.output_offset, args.out(0).dtype(), &p_.act_min,
                             &p_.act_max);
    return Status::Ok();
  }

  template <typename T>
  void EvalQuantized(const rt::KernelArgs& args) const {
    if constexpr (sizeof(T) == 1) {
      // Operands of one shape: a flat vector loop (the AVX2 variant); its tail and every
      // broadcast take the element function below.
      if (avx2_ && args.in(0).shape == args.in(1).shape) {
        const int64_t n = args.out(0).num_elements();
        const T* a = args.in(0).as<T>();
        const T* b = args.in(1).as<T>();
        T* out = args.out(0).mut<T>();
        const int64_t done = QuantizedAddSub8Avx2(p_, a, b, out, n);
        for (int64_t i = done; i < n; ++i) out[i] = static_cast<T>(QuantizedAddSubElement(p_, a[i], b[i]));
        return;
      }
    }
    Apply(args.in(0).as<T>(), args.in(1).as<T>(), args.out(0).mut<T>(), [&](T a, T b) {
      return static_cast<T>(QuantizedAddSubElement(p_, a, b));
    });
  }

  bool subtract_;
  bool avx2_;
  QuantizedAddSubParams p_;
  bool pot_int16_ = false;
  PotInt16Params pot_;
};

}  // namespace

std::unique_ptr<rt::Kernel> MakeAddKernel() { return std::make_unique<AddSubKernel>(false); }
std::unique_ptr<rt::Kernel> MakeSubKernel() { return std::make_unique<AddSubKernel>(true); }
std::unique_ptr<rt::Kernel> MakeAddKernelAvx2() { return std::make_unique<AddSubKernel>(false, true); }
std::unique_ptr<rt::Kernel> MakeSubKernelAvx2() { return std::make_unique<AddSubKernel>(true, true); }

}  // namespace ql::kern
