// Smooth activations: LOGISTIC, TANH, ELU, GELU. Float32 applies the formula with the C library's
// float functions; int8/uint8 look the output up in a 256-entry table built once in Prepare, the
// way TFLite's builtin kernels do (TFLITE_NUMERICS §3 "LOGISTIC"):
//   v = float32(s_in * float32(q - z_in)); y = f(v);
//   out = clamp(int(round-half-away(y * float32(1 / s_out)) + z_out)).
// Caveat: TFLite's float32 LOGISTIC and TANH run Eigen's vectorized approximations, which can
// differ from expf/tanhf in the last bit; the quantized tables use std:: functions as here.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "quantlens/kernels/elementwise_common.h"
#include "quantlens/kernels/elementwise_kernels.h"
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
    // TFLite's ELU has only the int8 table (no uint8).
    const bool quantized_ok =
        t == ir::DType::kInt8 || (t == ir::DType::kUInt8 && kind_ != Smooth::kElu);
    if (t != args.out(0).dtype() || (t != ir::DType::kFloat32 && !quantized_ok)) {
      return UnsupportedTypes(args, kind_ == Smooth::kElu
                                        ? "float32, int8 (input and output of one dtype)"
                                        : "float32, int8, uint8 (input and output of one dtype)");
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
