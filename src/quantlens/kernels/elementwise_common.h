// Checks and small helpers shared by the elementwise kernels (binary arithmetic, activations,
// type conversions): arity, quantization sanity, fused activations and uniform error messages.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <variant>

#include "quantlens/ir/attrs.h"
#include "quantlens/runtime/kernel.h"
#include "quantlens/util/status.h"

namespace ql::kern {

// Exactly `num_inputs` present inputs and `num_outputs` outputs, or kInvalidModel.
Status CheckArity(const rt::KernelArgs& args, int num_inputs, int num_outputs);

// One input, one output of the input's shape (unary elementwise ops).
Status PrepareUnaryShape(const rt::KernelArgs& args);

// y[i] = fn(x[i]) over input 0 and output 0, both of element type T.
template <typename T, typename Fn>
void ApplyUnary(const rt::KernelArgs& args, Fn&& fn) {
  const T* x = args.in(0).as<T>();
  T* y = args.out(0).mut<T>();
  const int64_t n = args.in(0).num_elements();
  for (int64_t i = 0; i < n; ++i) y[i] = fn(x[i]);
}

// A per-tensor quantized tensor of an 8/16-bit type: one finite scale > 0 and a zero point inside
// the type's range. `role` names the tensor in the message ("input 1", "output").
Status CheckPerTensorQuant(const rt::KernelArgs& args, const rt::TensorRef& t,
                           std::string_view role);

// "int16, int16 -> int16": the op's input and output dtypes, for kUnsupported messages.
std::string DTypeSignature(const rt::KernelArgs& args);

// kUnsupported: "<where>no kernel for <signature> (supported: <supported>)".
Status UnsupportedTypes(const rt::KernelArgs& args, std::string_view supported);

// The fused activation of ADD/SUB/MUL/DIV (BinaryAttrs), kNone when the op carries no attrs.
ir::Activation FusedActivation(const ir::Op& op);

// Rejects fused activations with no clamp meaning for arithmetic outputs (kTanh, kSignBit).
Status CheckClampActivation(const rt::KernelArgs& args, ir::Activation act);

// Attributes of type A, or a default-constructed A when the op carries none.
template <typename A>
A AttrsOr(const ir::Op& op) {
  if (const A* a = std::get_if<A>(&op.attrs)) return *a;
  return A{};
}

// Integer clamp bounds of a fused activation for int32/int64 arithmetic (TFLite's
// CalculateActivationRange<T>): RELU [0, max], RELU6 [0, 6], RELU_N1_TO_1 [-1, 1].
template <typename T>
void IntegerActivationRange(ir::Activation act, T* lo, T* hi) {
  *lo = std::numeric_limits<T>::lowest();
  *hi = std::numeric_limits<T>::max();
  switch (act) {
    case ir::Activation::kRelu: *lo = 0; break;
    case ir::Activation::kRelu6: *lo = 0; *hi = 6; break;
    case ir::Activation::kReluN1To1: *lo = -1; *hi = 1; break;
    default: break;
  }
}

// TFLite's ActivationFunctionWithMinMax: max then min, so a NaN passes through unchanged and,
// with no activation, +-inf clamp to +-FLT_MAX exactly as the builtin float kernels do.
inline float ClampFloat(float x, float lo, float hi) {
  const float m = x < lo ? lo : x;  // std::max(x, lo) keeps x when x is NaN
  return hi < m ? hi : m;           // std::min(m, hi) keeps m when m is NaN
}

// int32 arithmetic that wraps instead of invoking undefined behaviour on overflow (TFLite's int32
// kernels overflow silently; on every target it wraps).
inline int32_t WrapAdd(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}
inline int32_t WrapSub(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) - static_cast<uint32_t>(b));
}
inline int32_t WrapMul(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) * static_cast<uint32_t>(b));
}
inline int64_t WrapAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
inline int64_t WrapSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
inline int64_t WrapMul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}

// A double truncated toward zero to int32 as x86's cvttsd2si does it: a NaN or a value outside
// the int32 range gives INT32_MIN (the "integer indefinite"), which is what TFLite's
// static_cast<int32_t> produces on the x86 build (the cast is undefined behaviour in C++).
inline int32_t TruncateToInt32X86(double x) {
  if (!(x > -2147483649.0 && x < 2147483648.0)) return std::numeric_limits<int32_t>::min();
  return static_cast<int32_t>(x);
}

// The same for int64 (cvttsd2si with a 64-bit destination).
inline int64_t TruncateToInt64X86(double x) {
  if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0)) {
    return std::numeric_limits<int64_t>::min();
  }
  return static_cast<int64_t>(x);
}

}  // namespace ql::kern
