// Every elementwise op (binary arithmetic, activations, QUANTIZE/DEQUANTIZE/CAST, unary math) of
// every golden model, run in isolation on the genuine runtime's own input tensors
// (<engine>.all.npz) and compared with the genuine output. Integer outputs and float ops with
// IEEE-exact arithmetic must match bit for bit; float ops built on transcendental functions
// (where TFLite uses Eigen's vectorized approximations) may differ by kTranscendentalUlps.
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "corpus/golden_isolated_op.h"
#include "quantlens/formats/tflite/reader.h"

namespace ql {
namespace {

using ir::OpType;

// Eigen's float logistic/tanh/exp are accurate to a few ulps but not correctly rounded.
constexpr int64_t kTranscendentalUlps = 4;

const std::set<OpType>& ExactOps() {
  static const std::set<OpType> s = {
      OpType::kADD, OpType::kSUB, OpType::kMUL, OpType::kDIV, OpType::kFLOOR_DIV,
      OpType::kMAXIMUM, OpType::kMINIMUM, OpType::kSQUARED_DIFFERENCE, OpType::kQUANTIZE,
      OpType::kDEQUANTIZE, OpType::kCAST, OpType::kRELU, OpType::kRELU6, OpType::kRELU_N1_TO_1,
      OpType::kLEAKY_RELU, OpType::kPRELU, OpType::kHARD_SWISH, OpType::kSQRT, OpType::kRSQRT,
      OpType::kABS, OpType::kNEG, OpType::kSQUARE, OpType::kFLOOR};
  return s;
}
const std::set<OpType>& TranscendentalOps() {
  static const std::set<OpType> s = {OpType::kLOGISTIC, OpType::kTANH, OpType::kELU,
                                     OpType::kGELU,     OpType::kEXP,  OpType::kLOG,
                                     OpType::kPOW};
  return s;
}

// Distance in units in the last place between two finite floats of the same sign region.
int64_t UlpDistance(float a, float b) {
  auto key = [](float f) {
    const int32_t i = std::bit_cast<int32_t>(f);
    return i < 0 ? int64_t{INT32_MIN} - i : int64_t{i};
  };
  return std::llabs(key(a) - key(b));
}

class ElementwiseGolden : public ::testing::TestWithParam<testing::AllTensorCase> {};

TEST_P(ElementwiseGolden, EveryElementwiseOpMatches) {
  const testing::AllTensorCase& c = GetParam();
  auto graph = tflite::ReadTfliteFile(c.model_path);
  ASSERT_TRUE(graph.ok()) << graph.status().message();
  auto loaded = testing::LoadAllTensors(c, *graph);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  const std::map<std::string, io::Array>& golden = *loaded;
  const rt::OpNumerics numerics = testing::NumericsOf(c);

  std::map<std::string, int> checked_by_op;
  for (size_t oi = 0; oi < graph->ops.size(); ++oi) {
    const ir::Op& op = graph->ops[oi];
    const bool exact = ExactOps().count(op.type) > 0;
    if (!exact && TranscendentalOps().count(op.type) == 0) continue;
    const ir::Tensor& out_t = graph->tensors[op.outputs[0]];
    auto want_it = golden.find(testing::DumpKey(out_t));
    if (want_it == golden.end()) continue;
    const std::string label = graph->OpLabel(static_cast<int>(oi));
    testing::SingleOp single(op.type, op.attrs);
    if (!testing::AddDumpedInputs(*graph, op, golden, &single)) continue;
    single.AddOutput(out_t.dtype, out_t.quant);
    const Status s = single.Run(numerics);
    ASSERT_TRUE(s.ok()) << label << ": " << s.message();
    const io::Array& want = want_it->second;
    ASSERT_EQ(single.OutputShape(), want.shape) << label;
    ++checked_by_op[std::string(ir::OpTypeName(op.type))];

    const size_t elem = ir::DTypeSize(out_t.dtype);
    const int64_t n = want.num_elements();
    if (out_t.dtype == ir::DType::kFloat32) {
      const std::vector<float> got = single.Output<float>();
      const float* w = want.as<float>();
      int64_t worst = 0, worst_at = -1, differing = 0;
      for (int64_t i = 0; i < n; ++i) {
        if (std::bit_cast<uint32_t>(got[i]) == std::bit_cast<uint32_t>(w[i])) continue;
        ++differing;
        const int64_t d = (std::isnan(got[i]) || std::isnan(w[i])) ? INT64_MAX
                                                                   : UlpDistance(got[i], w[i]);
        if (d > worst) worst = d, worst_at = i;
      }
      const int64_t allowed = exact ? 0 : kTranscendentalUlps;
      EXPECT_LE(worst, allowed) << label << ": " << differing << " of " << n
                                << " elements differ, worst " << worst << " ulps at " << worst_at
                                << ": got " << got[worst_at < 0 ? 0 : worst_at] << " want "
                                << w[worst_at < 0 ? 0 : worst_at];
    } else {
      std::vector<uint8_t> got_bytes(static_cast<size_t>(n) * elem);
      switch (elem) {
        case 1: std::memcpy(got_bytes.data(), single.Output<uint8_t>().data(), got_bytes.size()); break;
        case 2: std::memcpy(got_bytes.data(), single.Output<int16_t>().data(), got_bytes.size()); break;
        case 4: std::memcpy(got_bytes.data(), single.Output<int32_t>().data(), got_bytes.size()); break;
        case 8: std::memcpy(got_bytes.data(), single.Output<int64_t>().data(), got_bytes.size()); break;
        default: FAIL() << label << ": unexpected element size " << elem;
      }
      int64_t diff = 0, first = -1;
      for (int64_t i = 0; i < n; ++i) {
        if (std::memcmp(&got_bytes[i * elem], &want.data[i * elem], elem) != 0) {
          ++diff;
          if (first < 0) first = i;
        }
      }
      EXPECT_EQ(diff, 0) << label << " (" << ir::DTypeName(out_t.dtype) << "): " << diff << " of "
                         << n << " elements differ; first at " << first;
    }
  }
  std::string summary;
  for (const auto& [name, count] : checked_by_op) summary += " " + name + "x" + std::to_string(count);
  std::printf("%s %s:%s\n", c.model.c_str(), c.engine.c_str(), summary.c_str());
}

INSTANTIATE_TEST_SUITE_P(Golden, ElementwiseGolden,
                         ::testing::ValuesIn(testing::ListAllTensorCases()),
                         [](const ::testing::TestParamInfo<testing::AllTensorCase>& info) {
                           return testing::TestNameSafe(info.param.model + "_" +
                                                        info.param.engine);
                         });

}  // namespace
}  // namespace ql
