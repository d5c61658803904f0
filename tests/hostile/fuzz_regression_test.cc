// Regression tests for bugs found by the libFuzzer targets in fuzz/ (see docs/fuzzing.md). Each
// test names the target that found the bug; each failed (crash or sanitizer report) before its fix.
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "quantlens/formats/tflite/reader.h"
#include "quantlens/runtime/interpreter.h"
#include "testing/single_op.h"
#include "testing/tflite_builder.h"

namespace ql {
namespace {

using namespace ::ql::testing;  // NOLINT: the builder's spec types

constexpr const char* kName = "fuzz.tflite";

// fuzz_tflite: a subgraph input that is a constant tensor (weights) was bound read-only, and
// SetInput then copied the caller's data to a null pointer. The graph verifier refuses it now.
TEST(FuzzRegression, GraphInputThatIsAConstant) {
  ModelSpec s = FcModel();
  s.graph_inputs = {1};  // the FULLY_CONNECTED weights
  auto g = tflite::ReadTfliteBuffer(Build(s), kName);
  if (g.ok()) {
    // Without the check: must at least not crash when fed.
    auto interp = rt::Interpreter::Create(*g);
    if (interp.ok()) {
      std::vector<uint8_t> data((*interp)->input(0).bytes(), 0);
      (void)(*interp)->SetInput(0, data.data(), data.size());
    }
    FAIL() << "a constant graph input was accepted";
  }
  const std::string& msg = g.status().message();
  EXPECT_EQ(g.status().code(), StatusCode::kInvalidModel) << msg;
  EXPECT_NE(msg.find("fuzz.tflite: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("graph input tensor 1 'weights' is a constant"), std::string::npos) << msg;
}

// fuzz_tflite: quantized SOFTMAX with an output scale of 0 (or a NaN beta) computed NaN and cast
// it to int (UBSan: "-nan is outside the range of representable values of type 'int'").
// Prepare now applies TFLite's rule (output scale 1/256, zero point -128 / 0) and refuses a
// non-finite exponent table.
TEST(FuzzRegression, QuantizedSoftmaxOutputScaleAndBeta) {
  const std::vector<int8_t> in = {1, 2, 3, -4};
  {
    SingleOp op(ir::OpType::kSOFTMAX, ir::SoftmaxAttrs{});
    op.AddInput(ir::DType::kInt8, {1, 4}, in, Quant(0.1f, 0));
    op.AddOutput(ir::DType::kInt8, Quant(0.0f, -128));
    Status s = op.Run();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("quantized softmax output has scale 0 and zero point -128"), std::string::npos)
        << s.message();
  }
  {
    ir::SoftmaxAttrs attrs;
    attrs.beta = std::numeric_limits<float>::quiet_NaN();
    SingleOp op(ir::OpType::kSOFTMAX, attrs);
    op.AddInput(ir::DType::kUInt8, {1, 4}, std::vector<uint8_t>{1, 2, 3, 4}, Quant(0.1f, 0));
    op.AddOutput(ir::DType::kUInt8, Quant(1.0f / 256, 0));
    Status s = op.Run();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("non-finite exponent table"), std::string::npos) << s.message();
  }
  {
    // TFLite's valid parameters still run.
    SingleOp op(ir::OpType::kSOFTMAX, ir::SoftmaxAttrs{});
    op.AddInput(ir::DType::kInt8, {1, 4}, in, Quant(0.1f, 0));
    op.AddOutput(ir::DType::kInt8, Quant(1.0f / 256, -128));
    Status s = op.Run();
    EXPECT_TRUE(s.ok()) << s.message();
  }
}

}  // namespace
}  // namespace ql
