// The Prepare steps every two-input elementwise kernel shares: arity, equal operand dtypes, and
// the numpy-broadcast output shape with its index walker.
#pragma once

#include "quantlens/kernels/broadcast.h"
#include "quantlens/kernels/elementwise_common.h"
#include "quantlens/kernels/quant_math.h"
#include "quantlens/runtime/kernel.h"

namespace ql::kern {

class BinaryElementwiseKernel : public rt::Kernel {
 protected:
  // Two inputs, one output; sets the output shape to the broadcast of the input shapes and
  // prepares bcast_. Errors name both shapes.
  Status PrepareBroadcast(const rt::KernelArgs& args) {
    QL_RETURN_IF_ERROR(CheckArity(args, 2, 1));
    auto shape = BroadcastShapes(args.in(0).shape, args.in(1).shape);
    if (!shape.ok()) return shape.status().WithContext(args.Where());
    args.out(0).shape = *shape;
    bcast_ = BinaryBroadcast(args.in(0).shape, args.in(1).shape, *shape);
    return Status::Ok();
  }

  // True when both inputs and the output share one dtype.
  static bool SameDTypes(const rt::KernelArgs& args) {
    return args.in(0).dtype() == args.in(1).dtype() && args.in(0).dtype() == args.out(0).dtype();
  }

  // out[o] = fn(a[i], b[j]) over the broadcast.
  template <typename T, typename U, typename Fn>
  void Apply(const T* a, const T* b, U* out, Fn&& fn) const {
    bcast_.ForEach([&](int64_t o, int64_t i, int64_t j) { out[o] = fn(a[i], b[j]); });
  }

  BinaryBroadcast bcast_;
};

// The binary ops with a fused activation (ADD, SUB, MUL, DIV). Only clamping activations are
// accepted; float32/int32/int64 outputs clamp to the bounds PrepareFusedClamp fixes.
class FusedClampBinaryKernel : public BinaryElementwiseKernel {
 protected:
  // PrepareBroadcast, the fused activation (refusing TANH/SIGN_BIT), one dtype for all operands
  // (else UnsupportedTypes with `supported`), and the clamp bounds for every unquantized dtype
  // (the op's Eval reads only those of its output dtype).
  Status PrepareFusedClamp(const rt::KernelArgs& args, std::string_view supported) {
    QL_RETURN_IF_ERROR(PrepareBroadcast(args));
    act_ = FusedActivation(args.op);
    QL_RETURN_IF_ERROR(CheckClampActivation(args, act_));
    if (!SameDTypes(args)) return UnsupportedTypes(args, supported);
    FloatActivationRange(act_, &float_min_, &float_max_);
    IntegerActivationRange(act_, &i32_min_, &i32_max_);
    IntegerActivationRange(act_, &i64_min_, &i64_max_);
    return Status::Ok();
  }

  ir::Activation act_ = ir::Activation::kNone;
  float float_min_ = 0, float_max_ = 0;
  int32_t i32_min_ = 0, i32_max_ = 0;
  int64_t i64_min_ = 0, i64_max_ = 0;
};

}  // namespace ql::kern
