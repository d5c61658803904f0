// FLOOR_DIV: the quotient rounded toward negative infinity (Python's //), int32 and float32.
// TFLite refuses a zero int32 divisor at run time; so do we, with the element's index.
#include <cmath>
#include <limits>

#include "quantlens/kernels/binary_kernel.h"
#include "quantlens/kernels/elementwise_kernels.h"

namespace ql::kern {
namespace {

// floor(a / b) for b != 0, without overflow: C++ division truncates toward zero, so a non-zero
// remainder of the opposite sign to b means the truncated quotient is one too high.
// INT32_MIN / -1 wraps to INT32_MIN, as the int32 arithmetic it stands for would.
inline int32_t FloorDivInt32(int32_t a, int32_t b) {
  if (b == -1) return static_cast<int32_t>(0u - static_cast<uint32_t>(a));
  const int32_t q = a / b;
  const int32_t r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? q - 1 : q;
}

class FloorDivKernel final : public BinaryElementwiseKernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(PrepareBroadcast(args));
    if (!SameDTypes(args) || (args.out(0).dtype() != ir::DType::kInt32 &&
                              args.out(0).dtype() != ir::DType::kFloat32)) {
      return UnsupportedTypes(args, "int32, float32 with all operands of one dtype");
    }
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    if (args.out(0).dtype() == ir::DType::kFloat32) {
      // TFLite: std::floor(a / b) with the division in float; a zero divisor gives +-inf or NaN.
      Apply(args.in(0).as<float>(), args.in(1).as<float>(), args.out(0).mut<float>(),
            [](float a, float b) { return std::floor(a / b); });
      return Status::Ok();
    }
    const int32_t* a = args.in(0).as<int32_t>();
    const int32_t* b = args.in(1).as<int32_t>();
    int32_t* out = args.out(0).mut<int32_t>();
    int64_t zero_at = -1;
    bcast_.ForEach([&](int64_t o, int64_t i, int64_t j) {
      if (b[j] == 0) {
        if (zero_at < 0) zero_at = j;
        out[o] = 0;
        return;
      }
      out[o] = FloorDivInt32(a[i], b[j]);
    });
    if (zero_at >= 0) {
      return InvalidArgument("{}divisor '{}' element {} is 0: integer FLOOR_DIV by zero is "
                             "undefined",
                             args.Where(), args.in(1).info->name, zero_at);
    }
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<rt::Kernel> MakeFloorDivKernel() { return std::make_unique<FloorDivKernel>(); }

}  // namespace ql::kern
