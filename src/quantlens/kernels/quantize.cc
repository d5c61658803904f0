// QUANTIZE (TFLITE_NUMERICS §3 "QUANTIZE"):
//  - float32 -> int8/uint8/int16: clamp(round-half-away(x / (double)s) + zp). The division is in
//    double: a float32 division misses hundreds of tie elements on the corpus probes.
//  - int8/uint8 -> int8/uint8 and int16 -> int8/int16/int32 (requantize, the pairs TFLite 2.9
//    accepts): y = clamp(G(q - z_in; r) + z_out) with r = (double)s_in / (double)s_out (int32:
//    no clamp, the zero point added with int32 wrap-around). TFLite 2.9 refuses int8/uint8 ->
//    int16 and int16 -> uint8; int16 -> int16 needs zero points 0.
// Per-axis output quantization is refused: no corpus model uses it and its rounding is unverified.
#include <algorithm>
#include <cmath>

#include "quantlens/kernels/elementwise_common.h"
#include "quantlens/kernels/elementwise_kernels.h"
#include "quantlens/kernels/quant_math.h"

namespace ql::kern {
namespace {

struct AffineQuantizeParams {
  double scale = 1.0;
  int32_t zero_point = 0;
  int32_t qmin = 0, qmax = 0;
};

// One float to its quantized value. round(x / s) goes through x86's truncating conversion, so a
// NaN or a quotient beyond int32 becomes INT32_MIN before the zero point is added (with int32
// wrap-around), as in the genuine x86 build; in range, values saturate at the type bounds.
inline int32_t AffineQuantizeElement(const AffineQuantizeParams& p, float x) {
  const double q = RoundHalfAway(static_cast<double>(x) / p.scale);
  const int32_t unclamped = WrapAdd(TruncateToInt32X86(q), p.zero_point);
  return std::clamp(unclamped, p.qmin, p.qmax);
}

struct RequantizeParams {
  int32_t input_zero_point = 0;
  int32_t output_zero_point = 0;
  QuantizedMultiplier multiplier;  // s_in / s_out
  int32_t qmin = 0, qmax = 0;
};

inline int32_t RequantizeElement(const RequantizeParams& p, int32_t q) {
  const int32_t out = WrapAdd(
      MultiplyByQuantizedMultiplierDouble(q - p.input_zero_point, p.multiplier),
      p.output_zero_point);
  return std::clamp(out, p.qmin, p.qmax);
}

bool Is8Bit(ir::DType t) { return t == ir::DType::kInt8 || t == ir::DType::kUInt8; }

// The integer -> integer pairs TFLite 2.9's QUANTIZE accepts.
bool RequantizePair(ir::DType in, ir::DType out) {
  if (Is8Bit(in)) return Is8Bit(out);
  return in == ir::DType::kInt16 &&
         (out == ir::DType::kInt8 || out == ir::DType::kInt16 || out == ir::DType::kInt32);
}

class QuantizeKernel final : public rt::Kernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(PrepareUnaryShape(args));
    const ir::DType in = args.in(0).dtype(), out = args.out(0).dtype();
    const bool from_float = in == ir::DType::kFloat32 &&
                            (Is8Bit(out) || out == ir::DType::kInt16);
    const bool requantize = RequantizePair(in, out);
    if (!from_float && !requantize) {
      return UnsupportedTypes(args, "float32 -> int8/uint8/int16, int8/uint8 -> int8/uint8, "
                                    "int16 -> int8/int16/int32 (TFLite 2.9's pairs)");
    }
    QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, args.out(0), "output"));
    int32_t qmin, qmax;
    QuantizedTypeRange(out, &qmin, &qmax);
    if (from_float) {
      affine_ = {static_cast<double>(args.out(0).scale()), args.out(0).zero_point(), qmin, qmax};
      return Status::Ok();
    }
    QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, args.in(0), "input"));
    if (in == ir::DType::kInt16 && out == ir::DType::kInt16 &&
        (args.in(0).zero_point() != 0 || args.out(0).zero_point() != 0))
      return InvalidModel("{}int16 -> int16 requantization needs zero points 0 (got {} and {}), "
                          "as TFLite requires",
                          args.Where(), args.in(0).zero_point(), args.out(0).zero_point());
    requant_.input_zero_point = args.in(0).zero_point();
    requant_.output_zero_point = args.out(0).zero_point();
    requant_.multiplier = QuantizeMultiplier(static_cast<double>(args.in(0).scale()) /
                                             static_cast<double>(args.out(0).scale()));
    requant_.qmin = qmin;
    requant_.qmax = qmax;
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    const ir::DType in = args.in(0).dtype(), out = args.out(0).dtype();
    if (in == ir::DType::kFloat32) {
      switch (out) {
        case ir::DType::kInt8: FromFloat<int8_t>(args); break;
        case ir::DType::kUInt8: FromFloat<uint8_t>(args); break;
        case ir::DType::kInt16: FromFloat<int16_t>(args); break;
        default: return UnsupportedTypes(args, "float32 -> int8/uint8/int16");
      }
      return Status::Ok();
    }
    if (in == ir::DType::kInt16) {
      switch (out) {
        case ir::DType::kInt8: Requantize<int16_t, int8_t>(args); break;
        case ir::DType::kInt16: Requantize<int16_t, int16_t>(args); break;
        default: Requantize<int16_t, int32_t>(args); break;
      }
    } else if (in == ir::DType::kInt8) {
      out == ir::DType::kInt8 ? Requantize<int8_t, int8_t>(args) : Requantize<int8_t, uint8_t>(args);
    } else {
      out == ir::DType::kInt8 ? Requantize<uint8_t, int8_t>(args)
                              : Requantize<uint8_t, uint8_t>(args);
    }
    return Status::Ok();
  }

 private:
  template <typename Out>
  void FromFloat(const rt::KernelArgs& args) const {
    const float* x = args.in(0).as<float>();
    Out* y = args.out(0).mut<Out>();
    const int64_t n = args.in(0).num_elements();
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<Out>(AffineQuantizeElement(affine_, x[i]));
  }

  template <typename In, typename Out>
  void Requantize(const rt::KernelArgs& args) const {
    const In* x = args.in(0).as<In>();
    Out* y = args.out(0).mut<Out>();
    const int64_t n = args.in(0).num_elements();
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<Out>(RequantizeElement(requant_, x[i]));
  }

  AffineQuantizeParams affine_;
  RequantizeParams requant_;
};

}  // namespace

std::unique_ptr<rt::Kernel> MakeQuantizeKernel() { return std::make_unique<QuantizeKernel>(); }

}  // namespace ql::kern
