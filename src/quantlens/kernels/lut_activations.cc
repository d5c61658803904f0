// Smooth activations: LOGISTIC, TANH, ELU, GELU. Float32 applies the formula with the C library's
// float functions; int8/uint8 look the output up in a 256-entry table built once in Prepare, the
// way TFLite's builtin kernels do (TFLITE_NUMERICS §3 "LOGISTIC"):
//   v = float32(s_in * float32(q - z_in)); y = f(v);
//   out = clamp(int(round-half-away(y * float32(1 / s_out)) + z_out)).
// Caveat: TFLite's float32 LOGISTIC and TANH run Eigen's vectorized approximations, which can
// differ from expf/tanhf in the last bit; the quantized tables use std:: functions as here.
// int16 LOGISTIC and TANH (zero points 0, output scale 2^-15) use TFLite 2.9's fixed-point paths
// (int16_math.h): gemmlowp's Q3.12 functions when the input scale is 2^-12 (TANH also 2^-11),
// otherwise the input is rescaled to 1/(3 * 4096) units and a 256-node sigmoid table is
// interpolated.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "quantlens/kernels/elementwise_common.h"
#include "quantlens/kernels/elementwise_kernels.h"
#include "quantlens/kernels/int16_math.h"
#include "quantlens/kernels/quant_math.h"

namespace ql::kern {
namespace {

using FloatFn = float (*)(float);

float LogisticF(float x) { return 1.0f / (1.0f + std::exp(-x)); }
float TanhF(float x) { return std::tanh(x); }
// Float ELU uses expm1; TFLite's int8 table is built from exp(x) - 1, which loses bits near 0.
float EluFloatF(float x) { return x < 0.0f ? std::expm1(x) : x; }
float EluTableF(float x) { return x < 0.0f ? std::exp(x) - 1.0f : x; }
// GELU as 0.5 x erfc(-x / sqrt 2) (avoids the cancellation of 1 + erf for large negative x).
float GeluF(float x) { return 0.5f * x * std::erfc(x * static_cast<float>(-M_SQRT1_2)); }
// GELU's tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
float GeluApproxF(float x) {
  const float k = static_cast<float>(M_2_SQRTPI * M_SQRT1_2);
  return 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
}

// The table indexed by the raw byte of the quantized input (int8 values by their two's
// complement byte). Every step is float32 as in TFLite's PopulateLookupTable.
template <typename T>
std::array<uint8_t, 256> BuildTable(float s_in, int32_t z_in, float s_out, int32_t z_out,
                                    FloatFn fn) {
  std::array<uint8_t, 256> table{};
  const float inverse_scale = 1.0f / s_out;
  const int32_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  for (int32_t q = lo; q <= hi; ++q) {
    const float v = s_in * static_cast<float>(q - z_in);
    const float rescaled = std::round(fn(v) * inverse_scale);
    // Adding the zero point in float, then truncating, is exact for any rescaled value the
    // clamp keeps; a NaN result maps to the type minimum like x86's conversion does.
    const int32_t quantized = TruncateToInt32X86(static_cast<double>(rescaled + static_cast<float>(z_out)));
    table[static_cast<uint8_t>(static_cast<T>(q))] =
        static_cast<uint8_t>(static_cast<T>(std::clamp(quantized, lo, hi)));
  }
  return table;
}

enum class Smooth { kLogistic, kTanh, kElu, kGelu };

class SmoothActivationKernel final : public rt::Kernel {
 public:
  explicit SmoothActivationKernel(Smooth kind) : kind_(kind) {}

  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(PrepareUnaryShape(args));
    const ir::DType t = args.in(0).dtype();
    if (t == ir::DType::kInt16 && (kind_ == Smooth::kLogistic || kind_ == Smooth::kTanh))
      return PrepareInt16(args);
    // TFLite's ELU has only the int8 table (no uint8).
    const bool quantized_ok =
        t == ir::DType::kInt8 || (t == ir::DType::kUInt8 && kind_ != Smooth::kElu);
    if (t != args.out(0).dtype() || (t != ir::DType::kFloat32 && !quantized_ok)) {
      return UnsupportedTypes(args, kind_ == Smooth::kElu
                                        ? "float32, int8 (input and output of one dtype)"
                                        : kind_ == Smooth::kGelu
                                        ? "float32, int8, uint8 (input and output of one dtype)"
                                        : "float32, int8, uint8, int16 (input and output of one "
                                          "dtype)");
    }
    float_fn_ = FloatFunction(args);
    if (t == ir::DType::kFloat32) return Status::Ok();
    QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, args.in(0), "input"));
    QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, args.out(0), "output"));
    const float s_out = args.out(0).scale();
    if (kind_ == Smooth::kLogistic && s_out != 1.0f / 256.0f) {
      return InvalidModel("{}quantized LOGISTIC output scale is {}; TFLite requires 1/256",
                          args.Where(), s_out);
    }
    const FloatFn table_fn = kind_ == Smooth::kElu ? &EluTableF : float_fn_;
    const float s_in = args.in(0).scale();
    const int32_t z_in = args.in(0).zero_point(), z_out = args.out(0).zero_point();
    table_ = t == ir::DType::kInt8 ? BuildTable<int8_t>(s_in, z_in, s_out, z_out, table_fn)
                                   : BuildTable<uint8_t>(s_in, z_in, s_out, z_out, table_fn);
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    const int64_t n = args.in(0).num_elements();
    if (args.in(0).dtype() == ir::DType::kInt16) {
      EvalInt16(args.in(0).as<int16_t>(), args.out(0).mut<int16_t>(), n);
      return Status::Ok();
    }
    if (args.in(0).dtype() == ir::DType::kFloat32) {
      const float* x = args.in(0).as<float>();
      float* y = args.out(0).mut<float>();
      for (int64_t i = 0; i < n; ++i) y[i] = float_fn_(x[i]);
      return Status::Ok();
    }
    // int8 and uint8 alike: the table is indexed by the raw byte.
    const uint8_t* x = args.in(0).as<uint8_t>();
    uint8_t* y = args.out(0).mut<uint8_t>();
    for (int64_t i = 0; i < n; ++i) y[i] = table_[x[i]];
    return Status::Ok();
  }

 private:
  // TFLite 2.9 activations.cc SigmoidPrepare / TanhPrepare for int16 (generic optimized kernel).
  Status PrepareInt16(const rt::KernelArgs& args) {
    if (args.out(0).dtype() != ir::DType::kInt16)
      return UnsupportedTypes(args, "int16 -> int16");
    QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, args.in(0), "input"));
    QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, args.out(0), "output"));
    const char* name = kind_ == Smooth::kLogistic ? "LOGISTIC" : "TANH";
    const float s_in = args.in(0).scale(), s_out = args.out(0).scale();
    if (args.in(0).zero_point() != 0 || args.out(0).zero_point() != 0)
      return InvalidModel("{}int16 {} needs zero points 0 (input {}, output {}), as TFLite requires",
                          args.Where(), name, args.in(0).zero_point(), args.out(0).zero_point());
    // LOGISTIC compares the output scale with 2^-15 exactly; both then require that its
    // CheckedLog2 be -15.
    int out_log2 = 0;
    if ((kind_ == Smooth::kLogistic && static_cast<double>(s_out) != 1.0 / 32768) ||
        !CheckedLog2(s_out, &out_log2) || out_log2 != -15)
      return InvalidModel("{}int16 {} output scale is {}; TFLite requires 2^-15 (1/32768)",
                          args.Where(), name, s_out);
    int in_log2 = 0;
    const bool pot = CheckedLog2(s_in, &in_log2);
    // (15 - 3 integer bits) + log2: 0 means the input is exactly Q3.12.
    const int pot_shift = 12 + in_log2;
    int16_.multiplier = 0;
    int16_.shift = pot_shift;
    if (pot && (pot_shift == 0 || (kind_ == Smooth::kTanh && pot_shift == 1))) return Status::Ok();
    // General scale: bring the input to 1/(3 * 4096) units with a multiplier in (2^14 - 1/2,
    // 2^15 - 1] and a right shift, the factor 3 widening the table's range to +-10.7.
    double multiplier = static_cast<double>(s_in) * 4096.0 * 3.0;
    int shift = 0;
    while (multiplier <= 32767.0 / 2.0 && shift <= 30) {
      ++shift;
      multiplier *= 2.0;
    }
    if (!(multiplier >= 1.0 && multiplier < 65536.0))
      return Unsupported("{}int16 {} input scale {} is outside what TFLite's fixed-point "
                         "rescaling handles (its int32 product overflows or vanishes)",
                         args.Where(), name, s_in);
    int16_.multiplier = static_cast<int32_t>(multiplier);
    int16_.shift = shift;
    return Status::Ok();
  }

  void EvalInt16(const int16_t* x, int16_t* y, int64_t n) const {
    const bool table = int16_.multiplier > 0;
    for (int64_t i = 0; i < n; ++i) {
      if (kind_ == Smooth::kLogistic) {
        y[i] = table ? TableLogisticInt16(int16_, x[i]) : GemmlowpLogisticQ3(x[i]);
      } else if (table) {
        y[i] = TableTanhInt16(int16_, x[i]);
      } else {
        // Scale 2^-11: doubled (saturating) into Q3.12 first.
        y[i] = GemmlowpTanhQ3(int16_.shift == 0 ? x[i] : SaturatingRoundingMultiplyByPOT16(x[i], 1));
      }
    }
  }

  FloatFn FloatFunction(const rt::KernelArgs& args) const {
    switch (kind_) {
      case Smooth::kLogistic: return &LogisticF;
      case Smooth::kTanh: return &TanhF;
      case Smooth::kElu: return &EluFloatF;
      case Smooth::kGelu:
        return AttrsOr<ir::ActivationAttrs>(args.op).approximate ? &GeluApproxF : &GeluF;
    }
    return &LogisticF;
  }

  Smooth kind_;
  FloatFn float_fn_ = nullptr;
  std::array<uint8_t, 256> table_{};
  Int16LutActivation int16_;
};

}  // namespace

std::unique_ptr<rt::Kernel> MakeLogisticKernel() {
  return std::make_unique<SmoothActivationKernel>(Smooth::kLogistic);
}
std::unique_ptr<rt::Kernel> MakeTanhKernel() {
  return std::make_unique<SmoothActivationKernel>(Smooth::kTanh);
}
std::unique_ptr<rt::Kernel> MakeEluKernel() {
  return std::make_unique<SmoothActivationKernel>(Smooth::kElu);
}
std::unique_ptr<rt::Kernel> MakeGeluKernel() {
  return std::make_unique<SmoothActivationKernel>(Smooth::kGelu);
}

}  // namespace ql::kern
