// Unit tests of the int16 (16x8) kernels, the int16 QUANTIZE pairs and hybrid DEPTHWISE_CONV_2D:
// hand-worked values where the arithmetic makes them easy (ties, saturation, the fixed points of
// the activation functions), and every refusal TFLite 2.9 makes, with its message. Bit-exactness
// on random data is checked against the genuine library by tests/diff/int16_kernels_diff_test.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "quantlens/kernels/conv_int16.h"
#include "quantlens/kernels/int16_math.h"
#include "testing/single_op.h"

namespace ql {
namespace {

using ir::DType;
using ir::OpType;
using testing::Quant;
using testing::QuantPerAxis;
using testing::SingleOp;
using namespace kern;  // NOLINT: the int16 helpers under test

void ExpectRefused(const Status& s, StatusCode code, const std::vector<std::string>& words) {
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), code) << s.message();
  for (const std::string& w : words)
    EXPECT_NE(s.message().find(w), std::string::npos) << "'" << w << "' not in: " << s.message();
}

// --- ADD / SUB ----------------------------------------------------------------------------------

// s1 = s2 = s, s_out = 2s, pot_scale_int16 false: r1 = r2 = 1/2 and r_out = 2^-15, so every step
// but the last is exact and y = (q1 + q2) / 2 rounded half away from zero, saturated.
TEST(Int16Add, GeneralPathRoundsHalfAwayAndSaturates) {
  SingleOp op(OpType::kADD, ir::BinaryAttrs{ir::Activation::kNone, /*pot_scale_int16=*/false});
  op.AddInput<int16_t>(DType::kInt16, {6}, {1, -1, 3, -3, 32767, -32768}, Quant(0.001f, 0));
  op.AddInput<int16_t>(DType::kInt16, {6}, {2, -2, 2, -2, 32767, -32768}, Quant(0.001f, 0));
  op.AddOutput(DType::kInt16, Quant(0.002f, 0));
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.Output<int16_t>(), (std::vector<int16_t>{2, -2, 3, -3, 32767, -32768}));
}

// The same with a fused RELU6: the clamp is [0, round(6 / 0.002)] = [0, 3000].
TEST(Int16Add, FusedRelu6Clamps) {
  SingleOp op(OpType::kADD, ir::BinaryAttrs{ir::Activation::kRelu6, false});
  op.AddInput<int16_t>(DType::kInt16, {3}, {-10, 4000, 3000}, Quant(0.001f, 0));
  op.AddInput<int16_t>(DType::kInt16, {3}, {0, 4000, 2999}, Quant(0.001f, 0));
  op.AddOutput(DType::kInt16, Quant(0.002f, 0));
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.Output<int16_t>(), (std::vector<int16_t>{0, 3000, 3000}));
}

// pot_scale_int16 with power-of-two scales: input 2 (2^-12) is divided by 4 rounding half away
// from zero onto the output's 2^-10, then added with int16 saturation.
TEST(Int16Add, PowerOfTwoPathShiftsOneInput) {
  SingleOp op(OpType::kADD, ir::BinaryAttrs{ir::Activation::kNone, true});
  op.AddInput<int16_t>(DType::kInt16, {4}, {100, 100, 100, 32767}, Quant(1.0f / 1024, 0));
  op.AddInput<int16_t>(DType::kInt16, {4}, {6, -6, 5, 400}, Quant(1.0f / 4096, 0));
  op.AddOutput(DType::kInt16, Quant(1.0f / 1024, 0));
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.Output<int16_t>(), (std::vector<int16_t>{102, 98, 101, 32767}));
}

TEST(Int16Sub, PowerOfTwoPathSubtractsTheShiftedInput) {
  SingleOp op(OpType::kSUB, ir::BinaryAttrs{ir::Activation::kNone, true});
  op.AddInput<int16_t>(DType::kInt16, {3}, {6, -6, -32768}, Quant(1.0f / 4096, 0));
  op.AddInput<int16_t>(DType::kInt16, {3}, {1, 1, 100}, Quant(1.0f / 1024, 0));
  op.AddOutput(DType::kInt16, Quant(1.0f / 1024, 0));
  ASSERT_TRUE(op.Run().ok());
  // 6/4 = 1.5 -> 2; -1.5 -> -2; -8192 - 100.
  EXPECT_EQ(op.Output<int16_t>(), (std::vector<int16_t>{1, -3, -8292}));
}

TEST(Int16Add, Refusals) {
  {
    SingleOp op(OpType::kADD, ir::BinaryAttrs{ir::Activation::kNone, false});
    op.AddInput<int16_t>(DType::kInt16, {1}, {1}, Quant(0.001f, 3));
    op.AddInput<int16_t>(DType::kInt16, {1}, {1}, Quant(0.001f, 0));
    op.AddOutput(DType::kInt16, Quant(0.002f, 0));
    ExpectRefused(op.Run(), StatusCode::kInvalidModel, {"ADD", "zero point"});
  }
  {
    // TFLite 2.9 aborts on a broadcasting POT ADD.
    SingleOp op(OpType::kADD, ir::BinaryAttrs{ir::Activation::kNone, true});
    op.AddInput<int16_t>(DType::kInt16, {2}, {1, 2}, Quant(1.0f / 1024, 0));
    op.AddInput<int16_t>(DType::kInt16, {1}, {1}, Quant(1.0f / 1024, 0));
    op.AddOutput(DType::kInt16, Quant(1.0f / 1024, 0));
    ExpectRefused(op.Run(), StatusCode::kUnsupported, {"ADD", "broadcast", "pot_scale_int16"});
  }
  {
    // Both inputs finer than the output: the POT path rescales only one.
    SingleOp op(OpType::kADD, ir::BinaryAttrs{ir::Activation::kNone, true});
    op.AddInput<int16_t>(DType::kInt16, {1}, {1}, Quant(1.0f / 4096, 0));
    op.AddInput<int16_t>(DType::kInt16, {1}, {1}, Quant(1.0f / 2048, 0));
    op.AddOutput(DType::kInt16, Quant(1.0f / 1024, 0));
    ExpectRefused(op.Run(), StatusCode::kInvalidModel, {"only one input"});
  }
}

// --- MUL ------------------------------------------------------------------------------------------

// s1 = s2 = s_out = 2^-8: r = 2^-8, y = q1 * q2 / 256 rounded half away from zero.
TEST(Int16Mul, RescalesTheProduct) {
  SingleOp op(OpType::kMUL, ir::BinaryAttrs{});
  op.AddInput<int16_t>(DType::kInt16, {4}, {16, 16, -16, 32767}, Quant(1.0f / 256, 0));
  op.AddInput<int16_t>(DType::kInt16, {4}, {8, 24, 8, 32767}, Quant(1.0f / 256, 0));
  op.AddOutput(DType::kInt16, Quant(1.0f / 256, 0));
  ASSERT_TRUE(op.Run().ok());
  // 128/256 = 0.5 -> 1; 384/256 = 1.5 -> 2; -0.5 -> -1; saturated.
  EXPECT_EQ(op.Output<int16_t>(), (std::vector<int16_t>{1, 2, -1, 32767}));
}

TEST(Int16Mul, ZeroPointRefused) {
  SingleOp op(OpType::kMUL, ir::BinaryAttrs{});
  op.AddInput<int16_t>(DType::kInt16, {1}, {1}, Quant(0.01f, 0));
  op.AddInput<int16_t>(DType::kInt16, {1}, {1}, Quant(0.01f, 0));
  op.AddOutput(DType::kInt16, Quant(0.01f, -1));
  ExpectRefused(op.Run(), StatusCode::kInvalidModel, {"MUL", "zero point"});
}

// --- Pooling ----------------------------------------------------------------------------------------

TEST(Int16Pool, AverageRoundsHalfAwayMaxPicksTheLargest) {
  SingleOp avg(OpType::kAVERAGE_POOL_2D, ir::PoolAttrs{ir::Padding::kValid, 2, 2, 2, 2});
  avg.AddInput<int16_t>(DType::kInt16, {1, 2, 2, 2}, {1, -1, 2, -2, 2, -2, 1, -1},
                        Quant(0.01f, 0));
  avg.AddOutput(DType::kInt16, Quant(0.01f, 0));
  ASSERT_TRUE(avg.Run().ok());
  EXPECT_EQ(avg.Output<int16_t>(), (std::vector<int16_t>{2, -2}));  // 6/4 = 1.5 -> 2
  SingleOp max(OpType::kMAX_POOL_2D, ir::PoolAttrs{ir::Padding::kValid, 2, 2, 2, 2});
  max.AddInput<int16_t>(DType::kInt16, {1, 2, 2, 1}, {-32768, 7, 32767, 0}, Quant(0.01f, 0));
  max.AddOutput(DType::kInt16, Quant(0.01f, 0));
  ASSERT_TRUE(max.Run().ok());
  EXPECT_EQ(max.Output<int16_t>(), (std::vector<int16_t>{32767}));
}

// --- SOFTMAX ----------------------------------------------------------------------------------------

TEST(Int16Softmax, EqualInputsShareTheMass) {
  SingleOp op(OpType::kSOFTMAX, ir::SoftmaxAttrs{1.0f, -1});
  op.AddInput<int16_t>(DType::kInt16, {1, 4}, {500, 500, 500, 500}, Quant(0.001f, 0));
  op.AddOutput(DType::kInt16, Quant(1.0f / 32768, 0));
  ASSERT_TRUE(op.Run().ok());
  const std::vector<int16_t> y = op.Output<int16_t>();
  for (int16_t v : y) {
    EXPECT_EQ(v, y[0]);
    EXPECT_NEAR(v, 8192, 4);
  }
}

TEST(Int16Softmax, Refusals) {
  auto run = [](float out_scale, int64_t in_zp, ir::Shape shape) {
    SingleOp op(OpType::kSOFTMAX, ir::SoftmaxAttrs{1.0f, -1});
    op.AddInput<int16_t>(DType::kInt16, shape, std::vector<int16_t>(ir::ShapeProduct(shape), 0),
                         Quant(0.001f, in_zp));
    op.AddOutput(DType::kInt16, Quant(out_scale, 0));
    return op.Run();
  };
  ExpectRefused(run(1.0f / 256, 0, {1, 4}), StatusCode::kInvalidModel, {"1/32768"});
  ExpectRefused(run(1.0f / 32768, 2, {1, 4}), StatusCode::kInvalidModel, {"zero point"});
  ExpectRefused(run(1.0f / 32768, 0, {1, 1, 1, 1, 4}), StatusCode::kInvalidModel, {"rank-5"});
}

// --- LOGISTIC / TANH ----------------------------------------------------------------------------------

TEST(Int16Math, FixedPointsOfTheActivations) {
  EXPECT_EQ(GemmlowpLogisticQ3(0), 16384);
  EXPECT_EQ(GemmlowpTanhQ3(0), 0);
  // Odd and complementary symmetry, and saturation at the ends of Q3.12.
  for (int16_t x : {int16_t{1}, int16_t{4096}, int16_t{20000}}) {
    EXPECT_EQ(GemmlowpTanhQ3(static_cast<int16_t>(-x)), -GemmlowpTanhQ3(x));
    EXPECT_EQ(GemmlowpLogisticQ3(static_cast<int16_t>(-x)), 32767 - GemmlowpLogisticQ3(x));
  }
  EXPECT_NEAR(GemmlowpTanhQ3(4096) / 32768.0, std::tanh(1.0), 1e-3);
  EXPECT_NEAR(GemmlowpLogisticQ3(4096) / 32768.0, 1.0 / (1.0 + std::exp(-1.0)), 1e-3);
  // Table path, multiplier 24576 >> 13 = 3: q = 4096 is x = 1 with a 1/4096 input scale.
  const Int16LutActivation p{24576, 13};
  EXPECT_EQ(TableLogisticInt16(p, 0), 16384);
  EXPECT_EQ(TableTanhInt16(p, 0), 0);
  EXPECT_NEAR(TableTanhInt16(p, 4096) / 32768.0, std::tanh(1.0), 1e-3);
  EXPECT_NEAR(TableLogisticInt16(p, -4096) / 32768.0, 1.0 / (1.0 + std::exp(1.0)), 1e-3);
  EXPECT_NEAR(TableLogisticInt16(p, 32767), 32768.0 / (1.0 + std::exp(-8.0)), 1.0);
  // Past the table's last node (|x| >= 255 * 512 / 12288 = 10.6 for LOGISTIC) it saturates.
  const Int16LutActivation wide{24576, 12};  // q = 4096 is x = 2
  EXPECT_EQ(TableLogisticInt16(wide, 32767), 32767);
  EXPECT_EQ(TableLogisticInt16(wide, -32768), 1);  // (2^25 - (0x7FFF << 10) + 511) >> 10
  EXPECT_EQ(TableTanhInt16(p, -32768), -32767);
}

TEST(Int16Math, CheckedLog2AcceptsNearPowersOfTwo) {
  int l = 0;
  EXPECT_TRUE(CheckedLog2(1.0f / 4096, &l));
  EXPECT_EQ(l, -12);
  EXPECT_TRUE(CheckedLog2(std::ldexp(1.0005f, -10), &l));  // within 1e-3 in log2
  EXPECT_EQ(l, -10);
  EXPECT_FALSE(CheckedLog2(std::ldexp(1.01f, -10), &l));
}

TEST(Int16Smooth, Refusals) {
  auto run = [](OpType t, float in_scale, int64_t in_zp, float out_scale) {
    SingleOp op(t);
    op.AddInput<int16_t>(DType::kInt16, {2}, {1, 2}, Quant(in_scale, in_zp));
    op.AddOutput(DType::kInt16, Quant(out_scale, 0));
    return op.Run();
  };
  for (OpType t : {OpType::kLOGISTIC, OpType::kTANH}) {
    EXPECT_TRUE(run(t, 1e-3f, 0, 1.0f / 32768).ok());
    ExpectRefused(run(t, 1e-3f, 0, 1.0f / 256), StatusCode::kInvalidModel, {"2^-15"});
    ExpectRefused(run(t, 1e-3f, 1, 1.0f / 32768), StatusCode::kInvalidModel, {"zero point"});
    ExpectRefused(run(t, 8.0f, 0, 1.0f / 32768), StatusCode::kUnsupported, {"overflows"});
  }
  // TFLite 2.9 has no int16 ELU.
  ExpectRefused(run(OpType::kELU, 1e-3f, 0, 1e-3f), StatusCode::kUnsupported, {"int16"});
}

// --- RELU family, CONCATENATION, MEAN -------------------------------------------------------------

TEST(Int16Relu, RescalesAndClamps) {
  SingleOp op(OpType::kRELU6);
  op.AddInput<int16_t>(DType::kInt16, {4}, {-5, 3, 1000, 2000}, Quant(0.01f, 0));
  op.AddOutput(DType::kInt16, Quant(0.005f, 0));
  ASSERT_TRUE(op.Run().ok());
  // x2, clamped to [0, 6 / 0.005 = 1200].
  EXPECT_EQ(op.Output<int16_t>(), (std::vector<int16_t>{0, 6, 1200, 1200}));
}

TEST(Int16Activations, Refusals) {
  auto run = [](OpType t, int64_t zp) {
    SingleOp op(t);
    op.AddInput<int16_t>(DType::kInt16, {1}, {1}, Quant(0.01f, zp));
    op.AddOutput(DType::kInt16, Quant(0.01f, 0));
    return op.Run();
  };
  ExpectRefused(run(OpType::kRELU_N1_TO_1, 0), StatusCode::kUnsupported, {"int16"});
  ExpectRefused(run(OpType::kHARD_SWISH, 0), StatusCode::kUnsupported, {"int16"});
  ExpectRefused(run(OpType::kRELU, 2), StatusCode::kInvalidModel, {"zero point"});
  ExpectRefused(run(OpType::kLEAKY_RELU, 2), StatusCode::kInvalidModel, {"zero point"});
}

TEST(Int16Concatenation, CopiesRawValuesAndRefusesZeroPoints) {
  SingleOp ok(OpType::kCONCATENATION, ir::AxisAttrs{0});
  ok.AddInput<int16_t>(DType::kInt16, {2}, {1, -2}, Quant(0.5f, 0));
  ok.AddInput<int16_t>(DType::kInt16, {1}, {300}, Quant(0.25f, 0));  // other scale: still a copy
  ok.AddOutput(DType::kInt16, Quant(0.5f, 0));
  ASSERT_TRUE(ok.Run().ok());
  EXPECT_EQ(ok.Output<int16_t>(), (std::vector<int16_t>{1, -2, 300}));
  SingleOp bad(OpType::kCONCATENATION, ir::AxisAttrs{0});
  bad.AddInput<int16_t>(DType::kInt16, {1}, {1}, Quant(0.5f, 0));
  bad.AddInput<int16_t>(DType::kInt16, {1}, {1}, Quant(0.5f, 1));
  bad.AddOutput(DType::kInt16, Quant(0.5f, 0));
  ExpectRefused(bad.Run(), StatusCode::kInvalidModel, {"input 1", "zero point"});
}

TEST(Int16Mean, SpatialMeanAndZeroPointRefusal) {
  SingleOp op(OpType::kMEAN, ir::ReducerAttrs{true});
  op.AddInput<int16_t>(DType::kInt16, {1, 2, 1, 1}, {3, 4}, Quant(0.01f, 0));
  op.AddInput<int32_t>(DType::kInt32, {2}, {1, 2}, {}, true);
  op.AddOutput(DType::kInt16, Quant(0.01f, 0));
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.Output<int16_t>(), (std::vector<int16_t>{4}));  // 7/2 rounded half away
  SingleOp bad(OpType::kMEAN, ir::ReducerAttrs{true});
  bad.AddInput<int16_t>(DType::kInt16, {1, 2, 1, 1}, {3, 4}, Quant(0.01f, 0));
  bad.AddInput<int32_t>(DType::kInt32, {2}, {1, 2}, {}, true);
  bad.AddOutput(DType::kInt16, Quant(0.01f, 5));
  ExpectRefused(bad.Run(), StatusCode::kInvalidModel, {"MEAN", "zero point"});
}

// --- QUANTIZE -------------------------------------------------------------------------------------

TEST(Int16Quantize, RequantizesInt16ToInt8) {
  SingleOp op(OpType::kQUANTIZE);
  op.AddInput<int16_t>(DType::kInt16, {5}, {256, 384, -384, 32767, -32768}, Quant(1.0f / 256, 0));
  op.AddOutput(DType::kInt8, Quant(0.5f, -3));
  ASSERT_TRUE(op.Run().ok());
  // q / 128 rounded half away from zero, + (-3), saturated.
  EXPECT_EQ(op.Output<int8_t>(), (std::vector<int8_t>{-1, 0, -6, 127, -128}));
}

TEST(Int16Quantize, PairsTflite29Refuses) {
  auto run = [](DType from, DType to, int64_t zp) {
    SingleOp op(OpType::kQUANTIZE);
    if (from == DType::kInt16)
      op.AddInput<int16_t>(from, {1}, {1}, Quant(0.01f, zp));
    else
      op.AddInput<int8_t>(from, {1}, {1}, Quant(0.01f, 0));
    op.AddOutput(to, Quant(0.01f, to == DType::kInt16 ? zp : 0));
    return op.Run();
  };
  ExpectRefused(run(DType::kInt8, DType::kInt16, 0), StatusCode::kUnsupported, {"int8 -> int16"});
  ExpectRefused(run(DType::kUInt8, DType::kInt16, 0), StatusCode::kUnsupported, {"uint8 -> int16"});
  ExpectRefused(run(DType::kInt16, DType::kUInt8, 0), StatusCode::kUnsupported, {"int16 -> uint8"});
  ExpectRefused(run(DType::kInt16, DType::kInt16, 4), StatusCode::kInvalidModel, {"zero point"});
  EXPECT_TRUE(run(DType::kInt16, DType::kInt16, 0).ok());
}

// --- 16x8 conv family ------------------------------------------------------------------------------

// TFLite's 64-bit requantization keeps 16 bits of the multiplier: r = 0.25 (M = 2^30, shift -1)
// becomes M16 = 2^14 and y = (x * 2^14 + 2^15) >> 16, one rounding with ties toward +inf (so
// -6 * 0.25 = -1.5 gives -1, where G gives -2).
TEST(Int16Conv, SixtyFourBitRequantizationRoundsOnce) {
  const QuantizedMultiplier quarter = QuantizeMultiplier(0.25);
  EXPECT_EQ(MultiplyByQuantizedMultiplierInt64(5, quarter), 1);
  EXPECT_EQ(MultiplyByQuantizedMultiplierInt64(-6, quarter), -1);
  EXPECT_EQ(MultiplyByQuantizedMultiplierInt64(6, quarter), 2);
  EXPECT_EQ(MultiplyByQuantizedMultiplierInt64(int64_t{1} << 30, quarter), 1 << 28);
  // The multiplier's low 16 bits are dropped (rounded): 0x7FFF0000 and above become 0x7FFF.
  EXPECT_EQ(MultiplyByQuantizedMultiplierInt64(1 << 20, {0x7FFFFFFF, 0}), (1 << 20) - 32);
}

// FULLY_CONNECTED 16x8 with an int64 bias: acc = bias + sum q_in * q_w, r = s_in * s_w / s_out.
TEST(Int16Conv, FullyConnectedWithInt64Bias) {
  SingleOp op(OpType::kFULLY_CONNECTED, ir::FullyConnectedAttrs{});
  op.AddInput<int16_t>(DType::kInt16, {1, 2}, {1000, -2000}, Quant(0.5f, 0));
  op.AddInput<int8_t>(DType::kInt8, {2, 2}, {3, 1, -100, 127}, Quant(0.5f, 0), true);
  // The bias scale is s_in * s_w: TFLite 2.9 refuses a FULLY_CONNECTED bias off by > 2% of s_out.
  op.AddInput<int64_t>(DType::kInt64, {2}, {6, int64_t{1} << 33}, Quant(0.25f, 0), true);
  op.AddOutput(DType::kInt16, Quant(1.0f, 0));  // r = 0.25
  ASSERT_TRUE(op.Run().ok());
  // acc = 3000 - 2000 + 6 = 1006 -> 251.5 -> 252; -100000 - 254000 + 2^33 saturates.
  EXPECT_EQ(op.Output<int16_t>(), (std::vector<int16_t>{252, 32767}));
}

TEST(Int16Conv, Refusals) {
  {
    // TFLite 2.9's 16x8 DEPTHWISE_CONV_2D takes only an int64 bias.
    SingleOp op(OpType::kDEPTHWISE_CONV_2D, ir::ConvAttrs{});
    op.AddInput<int16_t>(DType::kInt16, {1, 1, 1, 1}, {1}, Quant(0.5f, 0));
    op.AddInput<int8_t>(DType::kInt8, {1, 1, 1, 1}, {1}, QuantPerAxis({0.5f}, 3), true);
    op.AddInput<int32_t>(DType::kInt32, {1}, {0}, {}, true);
    op.AddOutput(DType::kInt16, Quant(1.0f, 0));
    ExpectRefused(op.Run(), StatusCode::kInvalidModel, {"int64 bias", "int32"});
  }
  {
    SingleOp op(OpType::kCONV_2D, ir::ConvAttrs{});
    op.AddInput<int16_t>(DType::kInt16, {1, 1, 1, 1}, {1}, Quant(0.5f, 3));
    op.AddInput<int8_t>(DType::kInt8, {1, 1, 1, 1}, {1}, Quant(0.5f, 0), true);
    op.AddOutput(DType::kInt16, Quant(1.0f, 0));
    ExpectRefused(op.Run(), StatusCode::kInvalidModel, {"zero point"});
  }
}

// --- Hybrid DEPTHWISE_CONV_2D ------------------------------------------------------------------------

ir::ConvAttrs Valid1x1() {
  ir::ConvAttrs a;
  a.padding = ir::Padding::kValid;
  return a;
}

// Input {1, -0.5}: asymmetric row quantization gives s = 1.5/255 and zero point -43 (from the
// min end), so q = {127, -128}; acc = w * (q - z) and y = float(acc) * s * s_w[c] + bias[c].
TEST(HybridDepthwise, QuantizesTheImageAndScalesPerChannel) {
  SingleOp op(OpType::kDEPTHWISE_CONV_2D, Valid1x1());
  op.AddInput<float>(DType::kFloat32, {1, 1, 2, 1}, {1.0f, -0.5f});
  op.AddInput<int8_t>(DType::kInt8, {1, 1, 1, 2}, {64, -10}, QuantPerAxis({0.01f, 0.02f}, 3), true);
  op.AddInput<float>(DType::kFloat32, {2}, {0.5f, 0.0f}, {}, true);
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  const float s = static_cast<float>(1.5 / 255.0);
  auto out = [&](int acc, float sw, float b) { return static_cast<float>(acc) * s * sw + b; };
  // depth multiplier 2: both output channels read the single input channel.
  EXPECT_EQ(op.Output<float>(), (std::vector<float>{out(64 * 170, 0.01f, 0.5f),
                                                    out(-10 * 170, 0.02f, 0.0f),
                                                    out(64 * -85, 0.01f, 0.5f),
                                                    out(-10 * -85, 0.02f, 0.0f)}));
}

TEST(HybridDepthwise, Refusals) {
  {
    SingleOp op(OpType::kDEPTHWISE_CONV_2D, Valid1x1());
    op.AddInput<float>(DType::kFloat32, {1, 1, 1, 1}, {1.0f});
    op.AddInput<int8_t>(DType::kInt8, {1, 1, 1, 1}, {1}, Quant(0.1f, 0), true);
    op.AddOutput(DType::kFloat32);
    ExpectRefused(op.Run(), StatusCode::kUnsupported, {"without a bias"});
  }
  {
    // One scale for two output channels: TFLite 2.9 needs one per channel.
    SingleOp op(OpType::kDEPTHWISE_CONV_2D, Valid1x1());
    op.AddInput<float>(DType::kFloat32, {1, 1, 1, 2}, {1.0f, 2.0f});
    op.AddInput<int8_t>(DType::kInt8, {1, 1, 1, 2}, {1, 2}, Quant(0.1f, 0), true);
    op.AddInput<float>(DType::kFloat32, {2}, {0.0f, 0.0f}, {}, true);
    op.AddOutput(DType::kFloat32);
    ExpectRefused(op.Run(), StatusCode::kInvalidModel, {"one scale per output channel"});
  }
}

}  // namespace
}  // namespace ql
