// Numerics profiles: which genuine TFLite build's arithmetic the runtime reproduces.
// docs/arithmetic.md states each profile's contract op by op.
#pragma once

#include <optional>
#include <string_view>

namespace ql::rt {

// The arithmetic one op is run with. A profile maps every op of a graph to one of these; a
// delegate that takes only part of a graph (XNNPACK) gives its ops kXnnpack and leaves the rest.
enum class OpNumerics {
  kBuiltinX86,   // TFLite 2.9 builtin kernels on x86: int8/uint8 CONV_2D and FULLY_CONNECTED
                 // requantize with ruy's x86 SIMD rounding (R); every other op gemmlowp-style (G)
  kBuiltinWasm,  // builtin kernels built for WebAssembly: int8 CONV_2D/FULLY_CONNECTED single
                 // rounding (S, ruy portable); uint8 GEMM and other ops gemmlowp-style (G)
  kXnnpack,      // XNNPACK delegate (separate issue): fp32 requantization
};

enum class Profile {
  kTfliteX86,   // default; golden engine "native"
  kTfliteWasm,  // golden engine "tfjs-a6" (all-integer and float models)
};

std::string_view ProfileName(Profile p);           // "tflite-x86"
std::optional<Profile> ProfileFromName(std::string_view name);
std::string_view OpNumericsName(OpNumerics n);

}  // namespace ql::rt
