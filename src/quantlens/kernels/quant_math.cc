#include "quantlens/kernels/quant_math.h"

#include <algorithm>

namespace ql::kern {

QuantizedMultiplier QuantizeMultiplier(double real_multiplier) {
  if (real_multiplier == 0.0) return {0, 0};
  int exponent = 0;
  const double q = std::frexp(real_multiplier, &exponent);
  int64_t q_fixed = static_cast<int64_t>(std::round(q * static_cast<double>(int64_t{1} << 31)));
  if (q_fixed == (int64_t{1} << 31)) {
    q_fixed /= 2;
    ++exponent;
  }
  if (exponent < -31) return {0, 0};
  return {static_cast<int32_t>(q_fixed), exponent};
}

Rounding GemmRounding(rt::OpNumerics numerics, ir::DType dtype) {
  switch (numerics) {
    case rt::OpNumerics::kBuiltinX86: return Rounding::kRuyX86;
    case rt::OpNumerics::kBuiltinWasm:
      return dtype == ir::DType::kInt8 ? Rounding::kSingle : Rounding::kDouble;
    case rt::OpNumerics::kXnnpack: return Rounding::kSingle;
  }
  return Rounding::kDouble;
}

void QuantizedTypeRange(ir::DType dtype, int32_t* qmin, int32_t* qmax) {
  switch (dtype) {
    case ir::DType::kInt8: *qmin = -128; *qmax = 127; return;
    case ir::DType::kUInt8: *qmin = 0; *qmax = 255; return;
    case ir::DType::kInt16: *qmin = -32768; *qmax = 32767; return;
    default:
      *qmin = std::numeric_limits<int32_t>::min();
      *qmax = std::numeric_limits<int32_t>::max();
      return;
  }
}

void QuantizedActivationRange(ir::Activation act, float scale, int32_t zero_point, ir::DType dtype,
                              int32_t* act_min, int32_t* act_max) {
  int32_t qmin, qmax;
  QuantizedTypeRange(dtype, &qmin, &qmax);
  auto quantize = [&](float v) {
    return zero_point + static_cast<int32_t>(RoundHalfAway(v / scale));
  };
  switch (act) {
    case ir::Activation::kRelu:
      *act_min = std::max(qmin, quantize(0.0f));
      *act_max = qmax;
      return;
    case ir::Activation::kRelu6:
      *act_min = std::max(qmin, quantize(0.0f));
      *act_max = std::min(qmax, quantize(6.0f));
      return;
    case ir::Activation::kReluN1To1:
      *act_min = std::max(qmin, quantize(-1.0f));
      *act_max = std::min(qmax, quantize(1.0f));
      return;
    default:
      *act_min = qmin;
      *act_max = qmax;
      return;
  }
}

void FloatActivationRange(ir::Activation act, float* act_min, float* act_max) {
  switch (act) {
    case ir::Activation::kRelu:
      *act_min = 0.0f;
      *act_max = std::numeric_limits<float>::max();
      return;
    case ir::Activation::kRelu6:
      *act_min = 0.0f;
      *act_max = 6.0f;
      return;
    case ir::Activation::kReluN1To1:
      *act_min = -1.0f;
      *act_max = 1.0f;
      return;
    default:
      *act_min = std::numeric_limits<float>::lowest();
      *act_max = std::numeric_limits<float>::max();
      return;
  }
}

}  // namespace ql::kern
