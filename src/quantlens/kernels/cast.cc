// CAST between float32, int32, int64, int16, int8, uint8 and bool with TFLite's static_cast
// semantics: float -> integer truncates toward zero, integer -> narrower integer wraps, anything
// -> bool is `!= 0`, bool -> number is 0 or 1. A float outside the destination's range (or NaN)
// is undefined behaviour in C++; we reproduce what the x86 build computes (see
// TruncateToInt32X86): int32 and narrower types convert through a 32-bit cvttss2si, int64 through
// the 64-bit one.
#include <cstdint>
#include <type_traits>

#include "quantlens/kernels/elementwise_common.h"
#include "quantlens/kernels/elementwise_kernels.h"

namespace ql::kern {
namespace {

template <typename To, typename From>
To CastElement(From x) {
  if constexpr (std::is_same_v<To, bool>) {
    return x != From{0};
  } else if constexpr (std::is_same_v<From, float> && std::is_same_v<To, float>) {
    return x;
  } else if constexpr (std::is_same_v<From, float> && std::is_same_v<To, int64_t>) {
    return TruncateToInt64X86(static_cast<double>(x));
  } else if constexpr (std::is_same_v<From, float>) {
    // Narrow integer targets: 32-bit truncation, then modular narrowing (C++20 defines it).
    return static_cast<To>(TruncateToInt32X86(static_cast<double>(x)));
  } else {
    // Integer or bool sources: exact or modular, and round-to-nearest into float.
    return static_cast<To>(x);
  }
}

template <typename To, typename From>
void CastArray(const void* in, void* out, int64_t n) {
  To* y = static_cast<To*>(out);
  if constexpr (std::is_same_v<From, bool>) {
    // Read bools as bytes: a byte other than 0 or 1 must not be loaded as a bool (undefined).
    const uint8_t* x = static_cast<const uint8_t*>(in);
    for (int64_t i = 0; i < n; ++i) y[i] = CastElement<To, bool>(x[i] != 0);
  } else {
    const From* x = static_cast<const From*>(in);
    for (int64_t i = 0; i < n; ++i) y[i] = CastElement<To, From>(x[i]);
  }
}

using CastFn = void (*)(const void*, void*, int64_t);

// The conversion for a destination type given the source type From; null if unsupported.
template <typename From>
CastFn CastTo(ir::DType to) {
  switch (to) {
    case ir::DType::kFloat32: return &CastArray<float, From>;
    case ir::DType::kInt32: return &CastArray<int32_t, From>;
    case ir::DType::kInt64: return &CastArray<int64_t, From>;
    case ir::DType::kInt16: return &CastArray<int16_t, From>;
    case ir::DType::kInt8: return &CastArray<int8_t, From>;
    case ir::DType::kUInt8: return &CastArray<uint8_t, From>;
    case ir::DType::kBool: return &CastArray<bool, From>;
    default: return nullptr;
  }
}

CastFn FindCast(ir::DType from, ir::DType to) {
  switch (from) {
    case ir::DType::kFloat32: return CastTo<float>(to);
    case ir::DType::kInt32: return CastTo<int32_t>(to);
    case ir::DType::kInt64: return CastTo<int64_t>(to);
    case ir::DType::kInt16: return CastTo<int16_t>(to);
    case ir::DType::kInt8: return CastTo<int8_t>(to);
    case ir::DType::kUInt8: return CastTo<uint8_t>(to);
    case ir::DType::kBool: return CastTo<bool>(to);
    default: return nullptr;
  }
}

class CastKernel final : public rt::Kernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(PrepareUnaryShape(args));
    fn_ = FindCast(args.in(0).dtype(), args.out(0).dtype());
    if (fn_ == nullptr) {
      return UnsupportedTypes(args, "any of float32, int32, int64, int16, int8, uint8, bool to any");
    }
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    fn_(args.in(0).data, args.out(0).mutable_data(), args.in(0).num_elements());
    return Status::Ok();
  }

 private:
  CastFn fn_ = nullptr;
};

}  // namespace

std::unique_ptr<rt::Kernel> MakeCastKernel() { return std::make_unique<CastKernel>(); }

}  // namespace ql::kern
