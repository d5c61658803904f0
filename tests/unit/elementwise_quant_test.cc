// Bit-exact tests of the quantized elementwise kernels: ADD/SUB/MUL, QUANTIZE, DEQUANTIZE and the
// LOGISTIC table. Expected values are worked out by hand (ties) or recomputed independently.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "quantlens/kernels/quant_math.h"
#include "testing/single_op.h"

namespace ql {
namespace {

using ir::DType;
using ir::OpType;
using testing::Quant;
using testing::SingleOp;

// s1 = s2 = 0.05, s_out = 0.1, all zero points 0. Then 2*max(s1,s2) equals s_out as float32
// (2 * 0x3D4CCCCD = 0x3DCCCCCD), so r1 = r2 = 0.5 (M = 2^30, shift 0) and r_out = 2^-20
// (M = 2^30, shift -19). With these multipliers every step but the last is exact:
//   a_i = SRDHM(q_i * 2^20, 2^30) = q_i * 2^19,
//   SRDHM((q1 + q2) * 2^19, 2^30) = (q1 + q2) * 2^18,
//   RDBPOT(., 19) = (q1 + q2) / 2 rounded half AWAY from zero.
// So every odd sum is a tie: 3 -> 2, -3 -> -2 (ruy's x86 rounding would give -1), 1 -> 1, -1 -> -1.
TEST(QuantizedAdd, Int8TiesRoundAwayFromZero) {
  SingleOp op(OpType::kADD, ir::BinaryAttrs{});
  op.AddInput<int8_t>(DType::kInt8, {8}, {1, -1, 2, -2, 0, 0, 127, -128}, Quant(0.05f, 0));
  op.AddInput<int8_t>(DType::kInt8, {8}, {2, -2, 3, -3, 1, -1, 127, -128}, Quant(0.05f, 0));
  op.AddOutput(DType::kInt8, Quant(0.1f, 0));
  ASSERT_TRUE(op.Run().ok());
  // sums: 3, -3, 5, -5, 1, -1, 254 (saturates), -256 (saturates)
  EXPECT_EQ(op.Output<int8_t>(), (std::vector<int8_t>{2, -2, 3, -3, 1, -1, 127, -128}));
}

// Same tie probe with a fused RELU: the clamp's lower bound is the output zero point.
TEST(QuantizedAdd, Int8FusedReluClampsAtZeroPoint) {
  SingleOp op(OpType::kADD, ir::BinaryAttrs{ir::Activation::kRelu});
  op.AddInput<int8_t>(DType::kInt8, {4}, {1, -1, -20, 30}, Quant(0.05f, 0));
  op.AddInput<int8_t>(DType::kInt8, {4}, {2, -2, -20, 31}, Quant(0.05f, 0));
  op.AddOutput(DType::kInt8, Quant(0.1f, -10));
  ASSERT_TRUE(op.Run().ok());
  // (q1 + q2) / 2 rounded away, + (-10), clamped to [-10, 127]: 2-10, -2-10 -> -10, -20-10 -> -10,
  // 30.5 -> 31, 31-10 = 21.
  EXPECT_EQ(op.Output<int8_t>(), (std::vector<int8_t>{-8, -10, -10, 21}));
}

// SUB with the tie scales and non-zero zero points: y = round-away(((q1-z1) - (q2-z2)) / 2) + z_out.
TEST(QuantizedSub, Int8NegativeTiesRoundAwayFromZero) {
  SingleOp op(OpType::kSUB, ir::BinaryAttrs{});
  // z1 = 3, z2 = -2, z_out = 5.
  op.AddInput<int8_t>(DType::kInt8, {6}, {4, 3, 1, 3, 10, -100}, Quant(0.05f, 3));
  op.AddInput<int8_t>(DType::kInt8, {6}, {-2, -1, -2, 2, -5, 100}, Quant(0.05f, -2));
  op.AddOutput(DType::kInt8, Quant(0.1f, 5));
  ASSERT_TRUE(op.Run().ok());
  // differences (q1-3) - (q2+2): 1 - 0 = 1 -> 0.5 -> 1; 0 - 1 = -1 -> -0.5 -> -1;
  // -2 - 0 = -2 -> -1; 0 - 4 = -4 -> -2; 7 - (-3) = 10 -> 5; -103 - 102 = -205 -> -102.5 -> -103.
  EXPECT_EQ(op.Output<int8_t>(), (std::vector<int8_t>{6, 4, 4, 3, 10, -98}));
}

// uint8 SUB with a broadcast second operand: shapes [2, 3] - [3].
TEST(QuantizedSub, Uint8Broadcast) {
  SingleOp op(OpType::kSUB, ir::BinaryAttrs{});
  op.AddInput<uint8_t>(DType::kUInt8, {2, 3}, {130, 131, 127, 200, 128, 0}, Quant(0.05f, 128));
  op.AddInput<uint8_t>(DType::kUInt8, {3}, {128, 128, 129}, Quant(0.05f, 128), true);
  op.AddOutput(DType::kUInt8, Quant(0.1f, 128));
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(), (ir::Shape{2, 3}));
  // diffs: 2, 3, -2, 72, 0, -129  ->  1, 2 (1.5 away), -1, 36, 0, -65 (-64.5 away)
  EXPECT_EQ(op.Output<uint8_t>(), (std::vector<uint8_t>{129, 130, 127, 164, 128, 63}));
}

// Scales chosen (by a search) so that the MUL multiplier formed in float32,
// float32(float32(s1*s2)/s_out) -> M = 1358895360, differs from the double one
// s1*s2/s_out -> M = 1358895338 (both shift -5), and the product 23 * 111 = 2553 lands on
// different sides of a rounding boundary: float gives 51, double 50. TFLite uses the float one.
TEST(QuantizedMul, Int8UsesFloat32Multiplier) {
  const float s1 = 0.04834024980664253f, s2 = 0.037801895290613174f, s_out = 0.09240943193435669f;
  SingleOp op(OpType::kMUL, ir::BinaryAttrs{});
  op.AddInput<int8_t>(DType::kInt8, {3}, {23, -23, 5}, Quant(s1, 0));
  op.AddInput<int8_t>(DType::kInt8, {3}, {111, 111, 7}, Quant(s2, 0));
  op.AddOutput(DType::kInt8, Quant(s_out, 0));
  ASSERT_TRUE(op.Run().ok());
  const std::vector<int8_t> got = op.Output<int8_t>();
  EXPECT_EQ(got[0], 51);
  EXPECT_EQ(got[1], -51);

  // Cross-check against G with each multiplier, and confirm the probe discriminates.
  const float rf = (s1 * s2) / s_out;
  const double rd = static_cast<double>(s1) * static_cast<double>(s2) / static_cast<double>(s_out);
  const kern::QuantizedMultiplier mf = kern::QuantizeMultiplier(rf);
  const kern::QuantizedMultiplier md = kern::QuantizeMultiplier(rd);
  EXPECT_NE(mf.multiplier, md.multiplier);
  EXPECT_EQ(kern::MultiplyByQuantizedMultiplierDouble(2553, mf), 51);
  EXPECT_EQ(kern::MultiplyByQuantizedMultiplierDouble(2553, md), 50);
  EXPECT_EQ(got[2], kern::MultiplyByQuantizedMultiplierDouble(35, mf));
}

// uint8 MUL with zero points and RELU6: r = 0.5 * 0.5 / 0.25 = 1 exactly, so y = clamp(p + z_out).
TEST(QuantizedMul, Uint8ZeroPointsAndRelu6) {
  SingleOp op(OpType::kMUL, ir::BinaryAttrs{ir::Activation::kRelu6});
  op.AddInput<uint8_t>(DType::kUInt8, {4}, {12, 8, 20, 10}, Quant(0.5f, 10));
  op.AddInput<uint8_t>(DType::kUInt8, {4}, {13, 13, 13, 13}, Quant(0.5f, 10));
  op.AddOutput(DType::kUInt8, Quant(0.25f, 5));
  ASSERT_TRUE(op.Run().ok());
  // products (q1-10)*3: 6, -6, 30, 0 -> + 5 -> 11, -1, 35, 5; RELU6 range [5, 5 + 24 = 29].
  EXPECT_EQ(op.Output<uint8_t>(), (std::vector<uint8_t>{11, 5, 29, 5}));
}

// float -> int8: round-half-away(x / (double)s) + zp, then saturation.
TEST(Quantize, FloatToInt8TiesAndSaturation) {
  SingleOp op(OpType::kQUANTIZE);
  op.AddInput<float>(DType::kFloat32, {8}, {0.25f, -0.25f, 0.75f, -0.75f, 1.25f, 100.0f, -100.0f, 0.0f});
  op.AddOutput(DType::kInt8, Quant(0.5f, 10));
  ASSERT_TRUE(op.Run().ok());
  // x/s = 0.5, -0.5, 1.5, -1.5, 2.5 (away from zero, not to even), 200, -200, 0; + 10; clamp.
  EXPECT_EQ(op.Output<int8_t>(), (std::vector<int8_t>{11, 9, 12, 8, 13, 127, -128, 10}));
}

// x = 11.25f, s = 0.1f: in double x/s = 112.4999983 -> 112, but the float32 quotient rounds to
// exactly 112.5 -> 113. TFLite divides in double (TFLITE_NUMERICS §3 QUANTIZE).
TEST(Quantize, FloatToUint8DividesInDouble) {
  SingleOp op(OpType::kQUANTIZE);
  op.AddInput<float>(DType::kFloat32, {2}, {11.25f, -11.25f});
  op.AddOutput(DType::kUInt8, Quant(0.1f, 128));
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.Output<uint8_t>(), (std::vector<uint8_t>{240, 16}));
}

// uint8 -> int8 with ratio s_in / s_out = 0.25 (M = 2^30, shift -1). G gives
// RDBPOT(floor((x + 1) / 2), 1) for x = q - z_in: the first rounding is half up, the second half
// away from zero, so x = 1 (0.25) -> 1, x = 9 (2.25) -> 3, x = -2 (-0.5) -> -1, x = -6 -> -2.
TEST(Quantize, Uint8ToInt8RequantizeRatioQuarter) {
  const std::vector<int> x = {5, -6, -3, -5, -2, 2, -1, 1, 3, -7, 7, 9, 0};
  const std::vector<int> g = {2, -2, -1, -1, -1, 1, 0, 1, 1, -2, 2, 3, 0};
  std::vector<uint8_t> q;
  for (int v : x) q.push_back(static_cast<uint8_t>(v + 128));
  SingleOp op(OpType::kQUANTIZE);
  op.AddInput<uint8_t>(DType::kUInt8, {static_cast<int64_t>(q.size())}, q, Quant(0.25f, 128));
  op.AddOutput(DType::kInt8, Quant(1.0f, -3));
  ASSERT_TRUE(op.Run().ok());
  const std::vector<int8_t> got = op.Output<int8_t>();
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(got[i], g[i] - 3) << "x = " << x[i];
}

TEST(Quantize, PerAxisOutputIsRefused) {
  SingleOp op(OpType::kQUANTIZE);
  op.AddInput<float>(DType::kFloat32, {2}, {1.0f, 2.0f});
  op.AddOutput(DType::kInt8, testing::QuantPerAxis({0.5f, 0.25f}, 0));
  const Status s = op.Run();
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("QUANTIZE"), std::string::npos) << s.message();
}

TEST(Dequantize, Int8PerTensorAndPerAxis) {
  {
    SingleOp op(OpType::kDEQUANTIZE);
    op.AddInput<int8_t>(DType::kInt8, {3}, {-128, 5, 127}, Quant(0.1f, 5));
    op.AddOutput(DType::kFloat32);
    ASSERT_TRUE(op.Run().ok());
    EXPECT_EQ(op.Output<float>(), (std::vector<float>{0.1f * -133, 0.0f, 0.1f * 122}));
  }
  {
    SingleOp op(OpType::kDEQUANTIZE);
    op.AddInput<int8_t>(DType::kInt8, {2, 3}, {1, 2, 3, -1, -2, -3},
                        testing::QuantPerAxis({0.5f, 0.25f, 2.0f}, 1));
    op.AddOutput(DType::kFloat32);
    ASSERT_TRUE(op.Run().ok());
    EXPECT_EQ(op.Output<float>(), (std::vector<float>{0.5f, 0.5f, 6.0f, -0.5f, -0.5f, -6.0f}));
  }
}

// float16 -> float32: special values by hand, then all 65536 bit patterns against an independent
// formula (value = (-1)^s * m * 2^(e - 25) with the implicit bit, via ldexp).
TEST(Dequantize, Float16SpecialValuesAndExhaustive) {
  const std::vector<uint16_t> h = {0x0000, 0x8000, 0x3C00, 0xC000, 0x7BFF, 0x0001,
                                   0x03FF, 0x0400, 0x7C00, 0xFC00, 0x7E00, 0x3555};
  SingleOp op(OpType::kDEQUANTIZE);
  op.AddInput<uint16_t>(DType::kFloat16, {static_cast<int64_t>(h.size())}, h);
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  const std::vector<float> y = op.Output<float>();
  EXPECT_EQ(std::bit_cast<uint32_t>(y[0]), 0x00000000u);
  EXPECT_EQ(std::bit_cast<uint32_t>(y[1]), 0x80000000u);  // -0 keeps its sign
  EXPECT_EQ(y[2], 1.0f);
  EXPECT_EQ(y[3], -2.0f);
  EXPECT_EQ(y[4], 65504.0f);
  EXPECT_EQ(y[5], std::ldexp(1.0f, -24));           // smallest subnormal
  EXPECT_EQ(y[6], std::ldexp(1023.0f, -24));        // largest subnormal
  EXPECT_EQ(y[7], std::ldexp(1.0f, -14));           // smallest normal
  EXPECT_TRUE(std::isinf(y[8]) && y[8] > 0);
  EXPECT_TRUE(std::isinf(y[9]) && y[9] < 0);
  EXPECT_TRUE(std::isnan(y[10]));
  EXPECT_EQ(y[11], 0.333251953125f);

  std::vector<uint16_t> all(65536);
  for (int i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
  SingleOp op2(OpType::kDEQUANTIZE);
  op2.AddInput<uint16_t>(DType::kFloat16, {65536}, all);
  op2.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op2.Run().ok());
  const std::vector<float> z = op2.Output<float>();
  for (int i = 0; i < 65536; ++i) {
    const int sign = i >> 15, e = (i >> 10) & 31, m = i & 1023;
    if (e == 31) {
      EXPECT_EQ(std::isnan(z[i]), m != 0) << i;
      EXPECT_EQ(std::isinf(z[i]), m == 0) << i;
      continue;
    }
    const double mag = e == 0 ? std::ldexp(m, -24) : std::ldexp(m + 1024, e - 25);
    const float want = static_cast<float>(sign ? -mag : mag);
    ASSERT_EQ(std::bit_cast<uint32_t>(z[i]), std::bit_cast<uint32_t>(want)) << "half 0x" << std::hex << i;
  }
}

// Quantized LOGISTIC over all 256 int8 inputs, against the formula recomputed in double:
// y = 1 / (1 + exp(-v)) with v = float32(s_in * (q - z_in)), out = round(y * 256) - 128.
// float32 and double can disagree only where y * 256 sits within float32 rounding error of a
// .5 tie; such inputs are skipped (and counted, to show they are rare).
void CheckLogisticAll256(DType dtype, float s_in, int32_t z_in) {
  const int32_t lo = dtype == DType::kInt8 ? -128 : 0;
  const int32_t z_out = dtype == DType::kInt8 ? -128 : 0;
  SingleOp op(OpType::kLOGISTIC);
  if (dtype == DType::kInt8) {
    std::vector<int8_t> q(256);
    for (int i = 0; i < 256; ++i) q[i] = static_cast<int8_t>(lo + i);
    op.AddInput<int8_t>(dtype, {256}, q, Quant(s_in, z_in));
  } else {
    std::vector<uint8_t> q(256);
    for (int i = 0; i < 256; ++i) q[i] = static_cast<uint8_t>(i);
    op.AddInput<uint8_t>(dtype, {256}, q, Quant(s_in, z_in));
  }
  op.AddOutput(dtype, Quant(1.0f / 256.0f, z_out));
  ASSERT_TRUE(op.Run().ok());
  const std::vector<uint8_t> raw = op.Output<uint8_t>();
  int skipped = 0;
  for (int i = 0; i < 256; ++i) {
    const int32_t q = lo + i;
    const float v = s_in * static_cast<float>(q - z_in);
    const double scaled = 256.0 / (1.0 + std::exp(-static_cast<double>(v)));
    const double frac = scaled - std::floor(scaled);
    if (std::fabs(frac - 0.5) < 1e-4) {
      ++skipped;
      continue;
    }
    const int32_t want = std::clamp(static_cast<int32_t>(std::round(scaled)) + z_out, lo, lo + 255);
    const int32_t got = dtype == DType::kInt8 ? static_cast<int8_t>(raw[i]) : raw[i];
    EXPECT_EQ(got, want) << "q = " << q << " v = " << v << " 256*y = " << scaled;
  }
  EXPECT_LT(skipped, 4);
}

TEST(QuantizedLogistic, Int8All256Inputs) {
  CheckLogisticAll256(DType::kInt8, 0.1f, -3);
  CheckLogisticAll256(DType::kInt8, 0.0625f, 20);
}

TEST(QuantizedLogistic, Uint8All256Inputs) { CheckLogisticAll256(DType::kUInt8, 0.05f, 128); }

TEST(QuantizedLogistic, RefusesOutputScaleOtherThan1Over256) {
  SingleOp op(OpType::kLOGISTIC);
  op.AddInput<int8_t>(DType::kInt8, {1}, {0}, Quant(0.1f, 0));
  op.AddOutput(DType::kInt8, Quant(0.01f, -128));
  const Status s = op.Run();
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_NE(s.message().find("LOGISTIC"), std::string::npos) << s.message();
}

// Quantized RELU / RELU6 requantize by float32(s_in / s_out) = 2 with G, then clamp to
// [zp, qmax] or [zp, zp + round(6 / s_out)].
TEST(QuantizedRelu, Int8RequantizesAndClamps) {
  SingleOp relu(OpType::kRELU);
  relu.AddInput<int8_t>(DType::kInt8, {5}, {-5, 0, 10, 100, 127}, Quant(0.5f, 0));
  relu.AddOutput(DType::kInt8, Quant(0.25f, -128));
  ASSERT_TRUE(relu.Run().ok());
  EXPECT_EQ(relu.Output<int8_t>(), (std::vector<int8_t>{-128, -128, -108, 72, 126}));

  SingleOp relu6(OpType::kRELU6);
  relu6.AddInput<int8_t>(DType::kInt8, {4}, {-5, 10, 12, 20}, Quant(0.5f, 0));
  relu6.AddOutput(DType::kInt8, Quant(0.25f, -128));
  ASSERT_TRUE(relu6.Run().ok());
  // 6 / 0.25 = 24 -> act_max = -104.
  EXPECT_EQ(relu6.Output<int8_t>(), (std::vector<int8_t>{-128, -108, -104, -104}));
}

TEST(QuantizedAdd, MismatchedAndUnsupportedTypesAreRefused) {
  // int16 ADD is supported (tests/unit/int16_kernels_test.cc); an int16 -> int8 one is not.
  SingleOp op(OpType::kADD, ir::BinaryAttrs{});
  op.AddInput<int16_t>(DType::kInt16, {1}, {1}, Quant(0.5f, 0));
  op.AddInput<int16_t>(DType::kInt16, {1}, {1}, Quant(0.5f, 0));
  op.AddOutput(DType::kInt8, Quant(0.5f, 0));
  const Status s = op.Run();
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("ADD"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("int16"), std::string::npos) << s.message();

  SingleOp noq(OpType::kADD, ir::BinaryAttrs{});
  noq.AddInput<int8_t>(DType::kInt8, {1}, {1});
  noq.AddInput<int8_t>(DType::kInt8, {1}, {1}, Quant(0.5f, 0));
  noq.AddOutput(DType::kInt8, Quant(0.5f, 0));
  EXPECT_EQ(noq.Run().code(), StatusCode::kInvalidModel);
}

}  // namespace
}  // namespace ql
