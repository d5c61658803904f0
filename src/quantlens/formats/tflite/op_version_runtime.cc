// Minimum runtime versions: the TFLite release that first runs each (builtin, version) pair, as
// TensorFlow Lite 2.9's converter records them (tensorflow/lite/tools/versioning/
// runtime_version.cc, the table as of the 2.9 release: its newest entries are 2.9.0), restricted
// to the builtins in ir/ops.def. The strings are facts about TFLite releases, written out here
// per op; a pair missing from TFLite's table is missing here too (e.g. CUSTOM).
#include <algorithm>
#include <cstring>
#include <utility>

#include "quantlens/formats/tflite/op_version.h"

namespace ql::tflite {
namespace {

using ir::OpType;

struct RuntimeRow {
  OpType type;
  // Index v-1 holds version v's minimum runtime; the list ends at the highest version TFLite 2.9
  // knows for the op.
  std::initializer_list<const char*> versions;
};

// Alphabetical, as ops.def.
const RuntimeRow kRuntimeTable[] = {
    {OpType::kABS, {"1.13.0", "2.4.0", "2.5.0", "2.6.0"}},
    {OpType::kADD, {"1.5.0", "1.14.0", "2.4.0", "2.6.0"}},
    {OpType::kARG_MAX, {"1.9.0", "1.14.0", "2.9.0"}},
    {OpType::kARG_MIN, {"1.9.0", "1.14.0", "2.9.0"}},
    {OpType::kAVERAGE_POOL_2D, {"1.5.0", "1.14.0", "2.3.0"}},
    {OpType::kBATCH_MATMUL, {"2.3.0", "2.3.0", "2.4.0", "2.5.0"}},
    {OpType::kCAST, {"1.5.0", "2.7.0", "2.8.0", "2.9.0"}},
    {OpType::kCONCATENATION, {"1.5.0", "1.14.0", "2.3.0"}},
    {OpType::kCONV_2D, {"1.5.0", "1.14.0", "1.14.0", "2.3.0", "2.4.0", "2.9.0"}},
    {OpType::kDEPTHWISE_CONV_2D, {"1.5.0", "1.12.0", "1.14.0", "2.2.0", "2.3.0", "2.3.0"}},
    {OpType::kDEQUANTIZE, {"1.13.1", "1.14.0", "1.15.0", "2.2.0", "2.7.0"}},
    {OpType::kDIV, {"1.6.0", "2.3.0"}},
    {OpType::kELU, {"1.14.0"}},
    {OpType::kEXP, {"1.7.0"}},
    {OpType::kEXPAND_DIMS, {"1.10.0"}},
    {OpType::kFLOOR, {"1.9.0"}},
    {OpType::kFLOOR_DIV, {"1.14.0", "1.14.0"}},
    {OpType::kFULLY_CONNECTED,
     {"1.5.0", "1.10.0", "1.14.0", "1.14.0", "2.0.0", "2.1.0", "2.3.0", "2.3.0", "2.3.0"}},
    {OpType::kGATHER, {"1.6.0", "1.14.0", "1.15.0", "2.4.0", "2.5.0"}},
    {OpType::kGATHER_ND, {"1.14.0", "2.3.0", "2.5.0"}},
    {OpType::kGELU, {"2.9.0", "2.9.0"}},
    {OpType::kHARD_SWISH, {"1.15.0"}},
    {OpType::kLEAKY_RELU, {"1.13.1", "2.3.0"}},
    {OpType::kLOG, {"1.14.0"}},
    {OpType::kLOGISTIC, {"1.14.0", "1.14.0", "2.3.0"}},
    {OpType::kLOG_SOFTMAX, {"1.14.0", "1.14.0"}},
    {OpType::kMAXIMUM, {"1.14.0", "1.14.0", "2.3.0", "2.3.0"}},
    {OpType::kMAX_POOL_2D, {"1.5.0", "1.14.0", "2.3.0"}},
    {OpType::kMEAN, {"1.6.0", "1.14.0", "2.4.0"}},
    {OpType::kMINIMUM, {"1.14.0", "1.14.0", "2.3.0", "2.3.0"}},
    {OpType::kMUL, {"1.5.0", "1.14.0", "1.15.0", "2.3.0", "2.6.0"}},
    {OpType::kNEG, {"1.9.0"}},
    {OpType::kPACK, {"1.11.0", "1.14.0", "2.3.0"}},
    {OpType::kPAD, {"1.5.0", "1.14.0", "2.4.0", "2.6.0"}},
    {OpType::kPADV2, {"1.9.0", "1.14.0", "2.4.0", "2.6.0"}},
    {OpType::kPOW, {"1.10.0"}},
    {OpType::kPRELU, {"1.8.0"}},
    {OpType::kQUANTIZE, {"1.14.0", "1.15.0", "2.7.0"}},
    {OpType::kREDUCE_MAX, {"1.11.0", "1.14.0", "2.5.0"}},
    {OpType::kREDUCE_MIN, {"1.11.0", "1.14.0", "2.5.0"}},
    {OpType::kRELU, {"1.5.0", "2.1.0", "2.5.0"}},
    {OpType::kRELU6, {"1.5.0", "1.14.0", "2.5.0"}},
    {OpType::kRELU_N1_TO_1, {"1.5.0"}},
    {OpType::kRESHAPE, {"1.5.0"}},
    {OpType::kRESIZE_BILINEAR, {"1.7.0", "1.14.0", "2.2.0", "2.5.0"}},
    {OpType::kRESIZE_NEAREST_NEIGHBOR, {"1.13.1", "1.14.0", "2.3.0", "2.4.0"}},
    {OpType::kRSQRT, {"1.10.0", "2.5.0"}},
    {OpType::kSHAPE, {"1.10.0"}},
    {OpType::kSLICE, {"1.14.0", "1.14.0", "1.14.0", "2.4.0", "2.5.0"}},
    {OpType::kSOFTMAX, {"1.5.0", "1.14.0", "2.3.0"}},
    {OpType::kSPLIT, {"1.5.0", "1.14.0", "1.14.0", "2.3.0"}},
    {OpType::kSQRT, {"1.10.0"}},
    {OpType::kSQUARE, {"1.12.0"}},
    {OpType::kSQUARED_DIFFERENCE, {"1.13.1", "2.5.0"}},
    {OpType::kSQUEEZE, {"1.6.0", "2.5.0"}},
    {OpType::kSTRIDED_SLICE, {"1.6.0", "1.14.0", "2.1.0", "2.2.0", "2.5.0", "2.6.0"}},
    {OpType::kSUB, {"1.6.0", "1.14.0", "2.3.0", "2.4.0", "2.4.0"}},
    {OpType::kSUM, {"1.10.0", "1.15.0"}},
    {OpType::kTANH, {"1.14.0", "1.14.0", "2.3.0"}},
    {OpType::kTILE, {"1.10.1", "2.2.0", "2.8.0"}},
    {OpType::kTRANSPOSE, {"1.6.0", "1.14.0", "1.15.0", "2.3.0", "2.4.0"}},
    {OpType::kTRANSPOSE_CONV, {"1.9.0", "2.2.0", "2.3.0"}},
    {OpType::kUNPACK, {"1.11.0", "1.14.0", "2.2.0", "2.3.0"}},
};

// Splits off the next '.'-separated component of `s` as a number; false if it is not one.
bool NextComponent(std::string_view& s, long long& value) {
  const size_t dot = s.find('.');
  std::string_view part = s.substr(0, dot);
  s = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if (part.empty() || part.size() > 9) return false;
  value = 0;
  for (char c : part) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  return true;
}

size_t CountComponents(std::string_view s) {
  return s.empty() ? 0 : static_cast<size_t>(std::count(s.begin(), s.end(), '.')) + 1;
}

}  // namespace

std::string MinRuntimeVersion(ir::OpType type, int version) {
  if (version < 1) return "";
  for (const RuntimeRow& row : kRuntimeTable) {
    if (row.type != type) continue;
    if (static_cast<size_t>(version) > row.versions.size()) return "";
    return *(row.versions.begin() + (version - 1));
  }
  return "";
}

int CompareRuntimeVersions(std::string_view a, std::string_view b) {
  // As TFLite's CompareRuntimeVersion: components compare as numbers; a pair where either is not
  // a number is skipped; with all shared components equal, the one with fewer components is the
  // smaller.
  const size_t na = CountComponents(a), nb = CountComponents(b);
  std::string_view ra = a, rb = b;
  for (size_t i = 0; i < std::min(na, nb); ++i) {
    long long va = 0, vb = 0;
    const bool oka = NextComponent(ra, va);
    const bool okb = NextComponent(rb, vb);
    if (oka && okb && va != vb) return va < vb ? -1 : 1;
  }
  if (na == nb) return 0;
  return na < nb ? -1 : 1;
}

std::string ModelMinRuntimeVersion(const ir::Graph& g) {
  return ModelMinRuntimeVersion(g, ComputeOperatorCodeVersions(g));
}

std::string ModelMinRuntimeVersion(const ir::Graph& g, const std::vector<int>& versions) {
  std::string best;
  for (size_t i = 0; i < g.ops.size() && i < versions.size(); ++i) {
    std::string v = MinRuntimeVersion(g.ops[i].type, versions[i]);
    if (v.empty()) continue;  // TFLite skips pairs it does not know
    if (best.empty() || CompareRuntimeVersions(best, v) < 0) best = std::move(v);
  }
  return best;
}

std::vector<uint8_t> MinRuntimeVersionBuffer(std::string_view version) {
  std::vector<uint8_t> out(kMinRuntimeVersionBytes, 0);
  if (version.size() < kMinRuntimeVersionBytes)
    std::memcpy(out.data(), version.data(), version.size());
  return out;
}

}  // namespace ql::tflite
