// Binary ops without requantization: DIV, MAXIMUM, MINIMUM, SQUARED_DIFFERENCE, POW. Float32 is
// IEEE arithmetic in float (correctly rounded division; std::pow for POW); integer forms are
// listed per op.
#include <algorithm>
#include <cmath>

#include "quantlens/kernels/binary_kernel.h"
#include "quantlens/kernels/elementwise_kernels.h"
#include "quantlens/kernels/quant_math.h"

namespace ql::kern {
namespace {

// DIV: float32 with fused clamp; int32 truncating division with fused clamp (a zero divisor is an
// error rather than the crash it is in TFLite).
class DivKernel final : public FusedClampBinaryKernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(PrepareFusedClamp(args, kSupported));
    switch (args.out(0).dtype()) {
      case ir::DType::kFloat32:
      case ir::DType::kInt32:
        return Status::Ok();
      default:
        return UnsupportedTypes(args, kSupported);
    }
  }

  Status Eval(const rt::KernelArgs& args) override {
    if (args.out(0).dtype() == ir::DType::kFloat32) {
      Apply(args.in(0).as<float>(), args.in(1).as<float>(), args.out(0).mut<float>(),
            [&](float a, float b) { return ClampFloat(a / b, float_min_, float_max_); });
      return Status::Ok();
    }
    const int32_t* a = args.in(0).as<int32_t>();
    const int32_t* b = args.in(1).as<int32_t>();
    int32_t* out = args.out(0).mut<int32_t>();
    bool zero_divisor = false, overflow = false;
    bcast_.ForEach([&](int64_t o, int64_t i, int64_t j) {
      if (b[j] == 0) {
        zero_divisor = true;
        out[o] = 0;
      } else if (b[j] == -1 && a[i] == std::numeric_limits<int32_t>::min()) {
        overflow = true;
        out[o] = 0;
      } else {
        out[o] = std::clamp(a[i] / b[j], i32_min_, i32_max_);
      }
    });
    if (zero_divisor) return InvalidArgument("{}int32 division by zero", args.Where());
    if (overflow) return InvalidArgument("{}int32 division INT32_MIN / -1 overflows", args.Where());
    return Status::Ok();
  }

 private:
  static constexpr std::string_view kSupported = "float32, int32 with all operands of one dtype";
};

// MAXIMUM / MINIMUM. TFLite compares with `a > b ? a : b` (`a < b ? a : b`), so a NaN first
// operand yields the second operand. 8-bit inputs are compared raw, which is only meaningful (and
// only accepted here) when every operand carries the same scale and zero point.
class MinMaxKernel final : public BinaryElementwiseKernel {
 public:
  explicit MinMaxKernel(bool is_max) : is_max_(is_max) {}

  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(PrepareBroadcast(args));
    if (!SameDTypes(args)) return UnsupportedTypes(args, kSupported);
    switch (args.out(0).dtype()) {
      case ir::DType::kFloat32:
      case ir::DType::kInt32:
      case ir::DType::kInt64:
        return Status::Ok();
      case ir::DType::kInt8:
      case ir::DType::kUInt8: {
        for (int i = 0; i < 2; ++i) {
          QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, args.in(i), i == 0 ? "input 0" : "input 1"));
        }
        QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, args.out(0), "output"));
        for (int i = 0; i < 2; ++i) {
          if (args.in(i).scale() != args.out(0).scale() ||
              args.in(i).zero_point() != args.out(0).zero_point()) {
            return Unsupported(
                "{}input {} has scale {} zero point {} but the output has scale {} zero point "
                "{}; quantized {} is only supported when all operands share them",
                args.Where(), i, args.in(i).scale(), args.in(i).zero_point(),
                args.out(0).scale(), args.out(0).zero_point(), is_max_ ? "MAXIMUM" : "MINIMUM");
          }
        }
        return Status::Ok();
      }
      default:
        return UnsupportedTypes(args, kSupported);
    }
  }

  Status Eval(const rt::KernelArgs& args) override {
    switch (args.out(0).dtype()) {
      case ir::DType::kFloat32: Run<float>(args); break;
      case ir::DType::kInt32: Run<int32_t>(args); break;
      case ir::DType::kInt64: Run<int64_t>(args); break;
      case ir::DType::kInt8: Run<int8_t>(args); break;
      case ir::DType::kUInt8: Run<uint8_t>(args); break;
      default: return UnsupportedTypes(args, kSupported);
    }
    return Status::Ok();
  }

 private:
  static constexpr std::string_view kSupported =
      "float32, int32, int64, and int8/uint8 with equal quantization, all of one dtype";

  template <typename T>
  void Run(const rt::KernelArgs& args) const {
    if (is_max_) {
      Apply(args.in(0).as<T>(), args.in(1).as<T>(), args.out(0).mut<T>(),
            [](T a, T b) { return a > b ? a : b; });
    } else {
      Apply(args.in(0).as<T>(), args.in(1).as<T>(), args.out(0).mut<T>(),
            [](T a, T b) { return a < b ? a : b; });
    }
  }

  bool is_max_;
};

// SQUARED_DIFFERENCE: float32 (a - b)^2 as one float subtraction and one float multiply; int32
// with the same wrapping arithmetic TFLite's int32 kernel has.
class SquaredDifferenceKernel final : public BinaryElementwiseKernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(PrepareBroadcast(args));
    if (!SameDTypes(args) || (args.out(0).dtype() != ir::DType::kFloat32 &&
                              args.out(0).dtype() != ir::DType::kInt32)) {
      return UnsupportedTypes(args, "float32, int32 with all operands of one dtype");
    }
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    if (args.out(0).dtype() == ir::DType::kFloat32) {
      Apply(args.in(0).as<float>(), args.in(1).as<float>(), args.out(0).mut<float>(),
            [](float a, float b) {
              const float d = a - b;
              return d * d;
            });
    } else {
      Apply(args.in(0).as<int32_t>(), args.in(1).as<int32_t>(), args.out(0).mut<int32_t>(),
            [](int32_t a, int32_t b) {
              const int32_t d = WrapSub(a, b);
              return WrapMul(d, d);
            });
    }
    return Status::Ok();
  }
};

// POW: float32 only, std::pow on floats.
class PowKernel final : public BinaryElementwiseKernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(PrepareBroadcast(args));
    if (!SameDTypes(args) || args.out(0).dtype() != ir::DType::kFloat32) {
      return UnsupportedTypes(args, "float32");
    }
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    Apply(args.in(0).as<float>(), args.in(1).as<float>(), args.out(0).mut<float>(),
          [](float a, float b) { return std::pow(a, b); });
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<rt::Kernel> MakeDivKernel() { return std::make_unique<DivKernel>(); }
std::unique_ptr<rt::Kernel> MakeMaximumKernel() { return std::make_unique<MinMaxKernel>(true); }
std::unique_ptr<rt::Kernel> MakeMinimumKernel() { return std::make_unique<MinMaxKernel>(false); }
std::unique_ptr<rt::Kernel> MakeSquaredDifferenceKernel() {
  return std::make_unique<SquaredDifferenceKernel>();
}
std::unique_ptr<rt::Kernel> MakePowKernel() { return std::make_unique<PowKernel>(); }

}  // namespace ql::kern
