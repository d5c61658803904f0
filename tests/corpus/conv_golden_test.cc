// Every CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and TRANSPOSE_CONV op of every golden model,
// run in isolation on the genuine runtime's own input tensors (<engine>.all.npz) and compared
// with the genuine output: integer and hybrid (float input, int8 weights) outputs exactly, float
// outputs within kFloatTol. Isolating each op means one wrong op elsewhere in the graph cannot
// hide or cause a mismatch here.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "corpus/golden_isolated_op.h"
#include "quantlens/formats/tflite/reader.h"

namespace ql {
namespace {

// Float convolutions in the genuine runtime sum in another order (im2col + GEMM blocking); the
// difference is a few ulps of the largest partial sums, well under 1e-4 of the tensor's largest
// magnitude for accumulations of a few thousand terms.
constexpr double kFloatTol = 1e-4;

bool IsConvFamily(ir::OpType t) {
  return t == ir::OpType::kCONV_2D || t == ir::OpType::kDEPTHWISE_CONV_2D ||
         t == ir::OpType::kFULLY_CONNECTED || t == ir::OpType::kTRANSPOSE_CONV;
}

class ConvGolden : public ::testing::TestWithParam<testing::AllTensorCase> {};

TEST_P(ConvGolden, EveryConvFamilyOpMatches) {
  const testing::AllTensorCase& c = GetParam();
  auto graph = tflite::ReadTfliteFile(c.model_path);
  ASSERT_TRUE(graph.ok()) << graph.status().message();
  auto loaded = testing::LoadAllTensors(c, *graph);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  const std::map<std::string, io::Array>& golden = *loaded;
  const rt::OpNumerics numerics = testing::NumericsOf(c);

  int checked = 0, hybrid_checked = 0;
  for (size_t oi = 0; oi < graph->ops.size(); ++oi) {
    const ir::Op& op = graph->ops[oi];
    if (!IsConvFamily(op.type)) continue;
    const ir::Tensor& out_t = graph->tensors[op.outputs[0]];
    auto want_it = golden.find(testing::DumpKey(out_t));
    if (want_it == golden.end()) continue;  // not dumped
    const std::string label = graph->OpLabel(static_cast<int>(oi));
    testing::SingleOp single(op.type, op.attrs);
    if (!testing::AddDumpedInputs(*graph, op, golden, &single)) continue;
    single.AddOutput(out_t.dtype, out_t.quant);
    Status s = single.Run(numerics);
    ASSERT_TRUE(s.ok()) << label << ": " << s.message();
    const io::Array& want = want_it->second;
    ASSERT_EQ(single.OutputShape(), want.shape) << label;
    ++checked;
    // Hybrid ops (float input, int8 weights: dynamic-range models such as mlperf_kws_float) sum
    // in int32, where order cannot matter, and spell out the genuine float operations after it,
    // so they must match bit for bit.
    const bool hybrid = graph->tensors[op.inputs[0]].dtype == ir::DType::kFloat32 &&
                        graph->tensors[op.inputs[1]].dtype == ir::DType::kInt8;
    if (hybrid) {
      ++hybrid_checked;
      const auto got = single.Output<float>();
      const float* w = want.as<float>();
      int64_t diff = 0, first = -1;
      for (size_t i = 0; i < got.size(); ++i)
        if (std::memcmp(&got[i], &w[i], sizeof(float)) != 0) {
          ++diff;
          if (first < 0) first = static_cast<int64_t>(i);
        }
      EXPECT_EQ(diff, 0) << label << " (hybrid): " << diff << " of " << got.size()
                         << " elements differ; first at " << first << ": got "
                         << got[first < 0 ? 0 : first] << " want " << w[first < 0 ? 0 : first];
      continue;
    }
    if (out_t.dtype == ir::DType::kFloat32) {
      const auto got = single.Output<float>();
      const float* w = want.as<float>();
      double max_abs = 0.0, max_err = 0.0;
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_FALSE(std::isnan(got[i])) << label << " element " << i;
        max_abs = std::max(max_abs, std::fabs(double(w[i])));
        max_err = std::max(max_err, std::fabs(double(got[i]) - w[i]));
      }
      EXPECT_LE(max_err, kFloatTol * std::max(1.0, max_abs)) << label;
    } else {
      const auto got = single.Output<uint8_t>();  // 8-bit outputs: compare bytes
      int64_t diff = 0, first = -1;
      for (size_t i = 0; i < got.size(); ++i)
        if (got[i] != want.data[i]) {
          ++diff;
          if (first < 0) first = static_cast<int64_t>(i);
        }
      EXPECT_EQ(diff, 0) << label << " (" << ir::DTypeName(out_t.dtype) << "): " << diff << " of "
                         << got.size() << " elements differ; first at " << first << ": got "
                         << int(got[first < 0 ? 0 : first]) << " want "
                         << int(want.data[first < 0 ? 0 : first]);
    }
  }
  RecordProperty("checked_ops", checked);
  std::printf("%s %s: %d conv-family ops checked, %d of them hybrid (bit for bit)\n",
              c.model.c_str(), c.engine.c_str(), checked, hybrid_checked);
}

INSTANTIATE_TEST_SUITE_P(Golden, ConvGolden,
                         ::testing::ValuesIn(testing::ListAllTensorCases()),
                         [](const ::testing::TestParamInfo<testing::AllTensorCase>& info) {
                           return testing::TestNameSafe(info.param.model + "_" +
                                                        info.param.engine);
                         });

}  // namespace
}  // namespace ql
