#include "quantlens/runtime/numerics.h"

namespace ql::rt {

std::string_view ProfileName(Profile p) {
  switch (p) {
    case Profile::kTfliteX86: return "tflite-x86";
    case Profile::kTfliteWasm: return "tflite-wasm";
  }
  return "?";
}

std::optional<Profile> ProfileFromName(std::string_view name) {
  if (name == "tflite-x86") return Profile::kTfliteX86;
  if (name == "tflite-wasm") return Profile::kTfliteWasm;
  return std::nullopt;
}

std::string_view OpNumericsName(OpNumerics n) {
  switch (n) {
    case OpNumerics::kBuiltinX86: return "builtin-x86";
    case OpNumerics::kBuiltinWasm: return "builtin-wasm";
    case OpNumerics::kXnnpack: return "xnnpack";
  }
  return "?";
}

}  // namespace ql::rt
