// Parameter choice for post-training quantization (passes/quant_params.h).
#include <cmath>

#include <gtest/gtest.h>

#include "quantlens/passes/bias_correction.h"
#include "quantlens/passes/quant_params.h"

namespace ql::passes {
namespace {

TEST(QuantParams, ReluRangeGetsZeroPointAtTheBottom) {
  // [0, 6] over int8: 0 must be exact, so it is q = -128.
  ir::Quantization q = AsymmetricActivationParams(0.0f, 6.0f, -128, 127);
  EXPECT_FLOAT_EQ(q.scale[0], 6.0f / 255.0f);
  EXPECT_EQ(q.zero_point[0], -128);
}

TEST(QuantParams, RangeIsWidenedToHoldZero) {
  ir::Quantization q = AsymmetricActivationParams(2.0f, 4.0f, -128, 127);
  EXPECT_FLOAT_EQ(q.scale[0], 4.0f / 255.0f);
  EXPECT_EQ(q.zero_point[0], -128);
  ir::Quantization n = AsymmetricActivationParams(-4.0f, -2.0f, -128, 127);
  EXPECT_FLOAT_EQ(n.scale[0], 4.0f / 255.0f);
  EXPECT_EQ(n.zero_point[0], 127);
}

TEST(QuantParams, SymmetricRangeNudgesZeroPointToAnInteger) {
  ir::Quantization q = AsymmetricActivationParams(-1.0f, 1.0f, -128, 127);
  EXPECT_FLOAT_EQ(q.scale[0], 2.0f / 255.0f);
  // -128 + 127.5 = -0.5 from the min end; the max end gives 127 - 127.5 = -0.5 too: rounds away.
  EXPECT_EQ(q.zero_point[0], -1);
  // Zero is representable exactly: q = zp maps back to 0.
  EXPECT_EQ(q.scale[0] * static_cast<float>(q.zero_point[0] - q.zero_point[0]), 0.0f);
}

TEST(QuantParams, AllZeroTensorKeepsAPositiveScale) {
  ir::Quantization q = AsymmetricActivationParams(0.0f, 0.0f, -128, 127);
  EXPECT_GT(q.scale[0], 0.0f);
  EXPECT_EQ(q.zero_point[0], -128);
}

TEST(QuantParams, Int16ActivationsAreSymmetric) {
  ir::Quantization q = SymmetricActivationParams(-3.0f, 1.5f, 32767);
  EXPECT_FLOAT_EQ(q.scale[0], 3.0f / 32767.0f);
  EXPECT_EQ(q.zero_point[0], 0);
}

TEST(QuantParams, PerChannelWeightsUseEachChannelsMaximum) {
  // Shape [2, 3] quantized along axis 0: channel 0 max 2, channel 1 max 0.5.
  std::vector<float> w = {2.0f, -1.0f, 0.5f, 0.25f, -0.5f, 0.0f};
  QuantizedWeights q = QuantizeWeightsSymmetric(w, {2, 3}, 0);
  ASSERT_EQ(q.scales.size(), 2u);
  EXPECT_FLOAT_EQ(q.scales[0], 2.0f / 127);
  EXPECT_FLOAT_EQ(q.scales[1], 0.5f / 127);
  EXPECT_EQ(q.values[0], 127);
  EXPECT_EQ(q.values[1], -64);  // -63.5 rounds away from zero
  EXPECT_EQ(q.values[4], -127);
  // Never -128: TFLite's weights are narrow range.
  for (int8_t v : q.values) EXPECT_GE(v, -127);
}

TEST(QuantParams, PerChannelAlongLastAxis) {
  // Depthwise layout [1, 1, 2, 2] along axis 3.
  std::vector<float> w = {1.0f, 10.0f, -2.0f, 5.0f};
  QuantizedWeights q = QuantizeWeightsSymmetric(w, {1, 1, 2, 2}, 3);
  ASSERT_EQ(q.scales.size(), 2u);
  EXPECT_FLOAT_EQ(q.scales[0], 2.0f / 127);
  EXPECT_FLOAT_EQ(q.scales[1], 10.0f / 127);
  EXPECT_EQ(q.values[2], -127);
  EXPECT_EQ(q.values[1], 127);
}

TEST(QuantParams, PerTensorWeightsShareOneScale) {
  std::vector<float> w = {2.0f, -4.0f, 1.0f, 0.0f};
  QuantizedWeights q = QuantizeWeightsSymmetric(w, {2, 2}, -1);
  ASSERT_EQ(q.scales.size(), 1u);
  EXPECT_FLOAT_EQ(q.scales[0], 4.0f / 127);
  EXPECT_EQ(q.values[1], -127);
}

TEST(QuantParams, BiasUsesInputTimesWeightScale) {
  std::vector<float> w = {1.27f, 0.127f};
  QuantizedWeights q = QuantizeWeightsSymmetric(w, {2, 1}, 0);
  std::vector<float> bias = {0.5f, -0.25f};
  QuantizedBias b = QuantizeBias(bias, 0.1f, q, w, {2, 1}, false, nullptr);
  EXPECT_FLOAT_EQ(b.scales[0], 0.1f * q.scales[0]);
  EXPECT_EQ(b.values[0], std::llround(0.5 / (0.1 * 0.01)));
  EXPECT_EQ(b.values[1], std::llround(-0.25 / (0.1 * 0.001)));
}

TEST(QuantParams, HugeBiasRaisesTheChannelsWeightScale) {
  std::vector<float> w = {1e-6f};
  QuantizedWeights q = QuantizeWeightsSymmetric(w, {1, 1}, 0);
  std::vector<float> bias = {1e6f};
  int adjusted = 0;
  QuantizedBias b = QuantizeBias(bias, 1e-3f, q, w, {1, 1}, false, &adjusted);
  EXPECT_EQ(adjusted, 1);
  EXPECT_LT(std::abs(b.values[0]), int64_t{1} << 31);
  EXPECT_NEAR(static_cast<double>(b.values[0]) * b.scales[0], 1e6, 1.0);
  EXPECT_GT(q.scales[0], 1e-6f / 127);
}

TEST(QuantParams, FloatToHalfRoundsToNearestEven) {
  EXPECT_EQ(FloatToHalf(1.0f), 0x3C00);
  EXPECT_EQ(FloatToHalf(-2.0f), 0xC000);
  EXPECT_EQ(FloatToHalf(65504.0f), 0x7BFF);
  EXPECT_EQ(FloatToHalf(1e6f), 0x7C00);           // overflow -> inf
  EXPECT_EQ(FloatToHalf(0.1f), 0x2E66);
  EXPECT_EQ(FloatToHalf(5.9604645e-8f), 0x0001);  // smallest subnormal
  EXPECT_EQ(FloatToHalf(1e-9f), 0x0000);
  EXPECT_EQ(FloatToHalf(1.0f + 1.0f / 2048), 0x3C00);  // tie -> even
  EXPECT_EQ(FloatToHalf(1.0f + 3.0f / 2048), 0x3C02);  // tie -> even (up)
  EXPECT_EQ(FloatToHalf(std::nanf("")) & 0x7C00, 0x7C00);
}

}  // namespace
}  // namespace ql::passes

namespace ql::passes {
namespace {

TEST(BiasCorrection, DenseShiftIsWeightErrorTimesInputMean) {
  // FULLY_CONNECTED [2 out, 3 in].
  std::vector<float> w = {0.1f, 0.2f, 0.3f, -0.4f, 0.5f, 0.6f};
  std::vector<float> dq = {0.1f, 0.25f, 0.3f, -0.4f, 0.5f, 0.5f};
  std::vector<double> mean = {1.0, 2.0, 3.0};
  auto s = ExpectedOutputShift(ir::OpType::kFULLY_CONNECTED, {2, 3}, w, dq, mean);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_NEAR(s[0], 0.05 * 2.0, 1e-6);
  EXPECT_NEAR(s[1], -0.1 * 3.0, 1e-6);
}

TEST(BiasCorrection, DepthwiseChannelReadsItsInputChannel) {
  // DEPTHWISE_CONV_2D [1, 1, 2, 4]: 2 taps, 2 input channels, multiplier 2.
  std::vector<float> w(8, 0.0f), dq(8, 0.0f);
  dq[1] = 0.5f;  // tap 0, output channel 1 (input channel 0)
  dq[7] = 1.0f;  // tap 1, output channel 3 (input channel 1)
  auto s = ExpectedOutputShift(ir::OpType::kDEPTHWISE_CONV_2D, {1, 1, 2, 4}, w, dq, {10.0, 100.0});
  ASSERT_EQ(s.size(), 4u);
  EXPECT_DOUBLE_EQ(s[0], 0.0);
  EXPECT_DOUBLE_EQ(s[1], 5.0);
  EXPECT_DOUBLE_EQ(s[3], 100.0);
}

}  // namespace
}  // namespace ql::passes
