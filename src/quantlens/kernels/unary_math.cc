// Unary float math: SQRT, RSQRT, EXP, LOG, ABS, NEG, SQUARE, FLOOR on float32 with the C
// library's float functions (sqrt, floor, abs, neg and square are exact or correctly rounded by
// IEEE; exp and log are glibc's float versions). ABS and NEG also take int32 and int64 (wrapping
// at the minimum, as the two's complement instructions do).
#include <cmath>

#include "quantlens/kernels/elementwise_common.h"
#include "quantlens/kernels/elementwise_kernels.h"

namespace ql::kern {
namespace {

enum class UnaryOp { kSqrt, kRsqrt, kExp, kLog, kAbs, kNeg, kSquare, kFloor };

float ApplyFloat(UnaryOp op, float x) {
  switch (op) {
    case UnaryOp::kSqrt: return std::sqrt(x);
    case UnaryOp::kRsqrt: return 1.0f / std::sqrt(x);  // TFLite: a division, not an estimate
    case UnaryOp::kExp: return std::exp(x);
    case UnaryOp::kLog: return std::log(x);
    case UnaryOp::kAbs: return std::fabs(x);
    case UnaryOp::kNeg: return -x;
    case UnaryOp::kSquare: return x * x;
    case UnaryOp::kFloor: return std::floor(x);
  }
  return x;
}

template <typename T>
T ApplyInt(UnaryOp op, T x) {
  using U = std::make_unsigned_t<T>;
  const T neg = static_cast<T>(U{0} - static_cast<U>(x));  // wraps at the minimum
  return op == UnaryOp::kNeg ? neg : (x < 0 ? neg : x);
}

class UnaryMathKernel final : public rt::Kernel {
 public:
  explicit UnaryMathKernel(UnaryOp op) : op_(op) {}

  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(PrepareUnaryShape(args));
    const ir::DType t = args.in(0).dtype();
    const bool int_ok = (op_ == UnaryOp::kAbs || op_ == UnaryOp::kNeg) &&
                        (t == ir::DType::kInt32 || t == ir::DType::kInt64);
    if (t != args.out(0).dtype() || (t != ir::DType::kFloat32 && !int_ok)) {
      return UnsupportedTypes(args, op_ == UnaryOp::kAbs || op_ == UnaryOp::kNeg
                                        ? "float32, int32, int64 (input and output of one dtype)"
                                        : "float32");
    }
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    const UnaryOp op = op_;
    switch (args.in(0).dtype()) {
      case ir::DType::kFloat32:
        ApplyUnary<float>(args, [op](float x) { return ApplyFloat(op, x); });
        return Status::Ok();
      case ir::DType::kInt32:
        ApplyUnary<int32_t>(args, [op](int32_t x) { return ApplyInt(op, x); });
        return Status::Ok();
      case ir::DType::kInt64:
        ApplyUnary<int64_t>(args, [op](int64_t x) { return ApplyInt(op, x); });
        return Status::Ok();
      default:
        return UnsupportedTypes(args, "float32");
    }
  }

 private:
  UnaryOp op_;
};

}  // namespace

std::unique_ptr<rt::Kernel> MakeSqrtKernel() { return std::make_unique<UnaryMathKernel>(UnaryOp::kSqrt); }
std::unique_ptr<rt::Kernel> MakeRsqrtKernel() { return std::make_unique<UnaryMathKernel>(UnaryOp::kRsqrt); }
std::unique_ptr<rt::Kernel> MakeExpKernel() { return std::make_unique<UnaryMathKernel>(UnaryOp::kExp); }
std::unique_ptr<rt::Kernel> MakeLogKernel() { return std::make_unique<UnaryMathKernel>(UnaryOp::kLog); }
std::unique_ptr<rt::Kernel> MakeAbsKernel() { return std::make_unique<UnaryMathKernel>(UnaryOp::kAbs); }
std::unique_ptr<rt::Kernel> MakeNegKernel() { return std::make_unique<UnaryMathKernel>(UnaryOp::kNeg); }
std::unique_ptr<rt::Kernel> MakeSquareKernel() {
  return std::make_unique<UnaryMathKernel>(UnaryOp::kSquare);
}
std::unique_ptr<rt::Kernel> MakeFloorKernel() {
  return std::make_unique<UnaryMathKernel>(UnaryOp::kFloor);
}

}  // namespace ql::kern
