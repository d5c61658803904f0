// Element types of IR tensors. The numeric values are quantlens's own; formats map to and from them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ql::ir {

enum class DType : uint8_t {
  kUnknown = 0,
  kFloat32,
  kFloat16,
  kFloat64,
  kInt8,
  kUInt8,
  kInt16,
  kInt32,
  kInt64,
  kBool,
  kString,
};

// Size of one element in bytes; 0 for kUnknown and kString (variable length).
size_t DTypeSize(DType t);
// Lower-case numpy-style name: "float32", "int8", ...
std::string_view DTypeName(DType t);
bool IsFloat(DType t);    // float16/32/64
bool IsInteger(DType t);  // int8..int64, uint8

template <typename T> constexpr DType DTypeOf();
template <> constexpr DType DTypeOf<float>() { return DType::kFloat32; }
template <> constexpr DType DTypeOf<double>() { return DType::kFloat64; }
template <> constexpr DType DTypeOf<int8_t>() { return DType::kInt8; }
template <> constexpr DType DTypeOf<uint8_t>() { return DType::kUInt8; }
template <> constexpr DType DTypeOf<int16_t>() { return DType::kInt16; }
template <> constexpr DType DTypeOf<int32_t>() { return DType::kInt32; }
template <> constexpr DType DTypeOf<int64_t>() { return DType::kInt64; }
template <> constexpr DType DTypeOf<bool>() { return DType::kBool; }

}  // namespace ql::ir
