#include "quantlens/ir/op_type.h"

#include "quantlens/ir/attrs.h"

#include <array>
#include <unordered_map>

namespace ql::ir {
namespace {

struct OpInfo {
  std::string_view name;
  int tflite_code;
};

constexpr std::array<OpInfo, static_cast<size_t>(OpType::kNumOpTypes)> kOpInfo = {{
#define QL_OP(name, code) {#name, code},
#include "quantlens/ir/ops.def"
#undef QL_OP
}};

}  // namespace

std::string_view OpTypeName(OpType t) {
  auto i = static_cast<size_t>(t);
  return i < kOpInfo.size() ? kOpInfo[i].name : std::string_view("?");
}

int OpTypeTfliteCode(OpType t) {
  auto i = static_cast<size_t>(t);
  return i < kOpInfo.size() ? kOpInfo[i].tflite_code : -1;
}

std::optional<OpType> OpTypeFromTfliteCode(int code) {
  static const auto* map = [] {
    auto* m = new std::unordered_map<int, OpType>();
    for (size_t i = 0; i < kOpInfo.size(); ++i)
      if (kOpInfo[i].tflite_code >= 0) (*m)[kOpInfo[i].tflite_code] = static_cast<OpType>(i);
    return m;
  }();
  auto it = map->find(code);
  if (it == map->end()) return std::nullopt;
  return it->second;
}

std::string_view ActivationName(Activation a) {
  switch (a) {
    case Activation::kNone: return "NONE";
    case Activation::kRelu: return "RELU";
    case Activation::kReluN1To1: return "RELU_N1_TO_1";
    case Activation::kRelu6: return "RELU6";
    case Activation::kTanh: return "TANH";
    case Activation::kSignBit: return "SIGN_BIT";
  }
  return "?";
}

}  // namespace ql::ir
