// The 16x8 conv family by hand: which kernel (and rounding) each bias type and weight zero point
// selects, the wrap of ruy's requantization, and every refusal of TFLite 2.9's Prepare with its
// message. tests/diff/conv_int16_diff_test.cc checks the same against the genuine runtime.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "quantlens/kernels/conv_int16.h"
#include "testing/single_op.h"

namespace ql {
namespace {

using ir::DType;
using ir::OpType;
using testing::Quant;
using testing::QuantPerAxis;
using testing::SingleOp;

void ExpectRefused(const Status& s, StatusCode code, const std::vector<std::string>& words) {
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), code) << s.message();
  for (const std::string& w : words)
    EXPECT_NE(s.message().find(w), std::string::npos) << "'" << w << "' not in: " << s.message();
}

// ruy's portable requantization rounds once, ties toward +inf, and truncates the 64-bit result to
// int32: with r = 4 (M = 2^30, shift 3), 2^30 becomes 2^32, which wraps to 0 (the saturating S
// helper gives INT32_MAX).
TEST(ConvInt16, RuyPortableRequantizationWraps) {
  const kern::QuantizedMultiplier quarter = kern::QuantizeMultiplier(0.25);
  EXPECT_EQ(kern::MultiplyByQuantizedMultiplierRuyPortable(-6, quarter), -1);  // G gives -2
  EXPECT_EQ(kern::MultiplyByQuantizedMultiplierDouble(-6, quarter), -2);
  EXPECT_EQ(kern::MultiplyByQuantizedMultiplierRuyPortable(5, quarter), 1);
  const kern::QuantizedMultiplier four = kern::QuantizeMultiplier(4.0);
  ASSERT_EQ(four.shift, 3);
  EXPECT_EQ(kern::MultiplyByQuantizedMultiplierRuyPortable(1 << 30, four), 0);
  EXPECT_EQ(kern::MultiplyByQuantizedMultiplierRuyPortable(-(1 << 29) - 1, four), 2147483644);
  EXPECT_EQ(kern::MultiplyByQuantizedMultiplierSingle(1 << 30, four),
            std::numeric_limits<int32_t>::max());
}

// FULLY_CONNECTED [1, 2] x [1, 2] with r = 0.25: y = (x0*w0 + x1*w1 + bias) / 4 on a tie.
struct Fc {
  DType bias_type = DType::kInt32;
  bool with_bias = true;
  int64_t weight_zero_point = 0;
  float bias_scale = 0.25f;  // s_in * s_w
  std::vector<int8_t> weights = {1, 1};

  Status Run(int16_t* y) const {
    SingleOp op(OpType::kFULLY_CONNECTED, ir::FullyConnectedAttrs{});
    op.AddInput<int16_t>(DType::kInt16, {1, 2}, {-4, -2}, Quant(0.5f, 0));
    op.AddInput<int8_t>(DType::kInt8, {1, 2}, weights, Quant(0.5f, weight_zero_point), true);
    if (with_bias) {
      if (bias_type == DType::kInt64)
        op.AddInput<int64_t>(DType::kInt64, {1}, {0}, Quant(bias_scale, 0), true);
      else
        op.AddInput<int32_t>(DType::kInt32, {1}, {0}, Quant(bias_scale, 0), true);
    }
    op.AddOutput(DType::kInt16, Quant(1.0f, 0));
    Status s = op.Run();
    if (s.ok()) *y = op.Output<int16_t>()[0];
    return s;
  }
};

// acc = -6 -> -1.5: the int64 kernel and ruy (S) round the tie up to -1; the reference int32
// kernel, which a FULLY_CONNECTED with a weight zero point takes, rounds it away to -2.
TEST(ConvInt16, FullyConnectedKernelChoiceShowsOnTies) {
  int16_t y = 0;
  Fc fc;
  ASSERT_TRUE(fc.Run(&y).ok());
  EXPECT_EQ(y, -1);
  fc.with_bias = false;
  ASSERT_TRUE(fc.Run(&y).ok());
  EXPECT_EQ(y, -1);
  fc.bias_type = DType::kInt64;
  fc.with_bias = true;
  ASSERT_TRUE(fc.Run(&y).ok());
  EXPECT_EQ(y, -1);
  // Weights 2, 2 with zero point 1 are the values 1, 1 again: acc = -6, and with an int32 bias the
  // reference kernel's G gives -2.
  fc.bias_type = DType::kInt32;
  fc.weight_zero_point = 1;
  fc.weights = {2, 2};
  ASSERT_TRUE(fc.Run(&y).ok());
  EXPECT_EQ(y, -2);
  fc.bias_type = DType::kInt64;  // int64 bias: reference kernel with the weight offset, one rounding
  ASSERT_TRUE(fc.Run(&y).ok());
  EXPECT_EQ(y, -1);
}

// TFLite 2.9 checks |s_in * s_w - s_bias| <= 0.02 * s_out for FULLY_CONNECTED.
TEST(ConvInt16, FullyConnectedBiasScaleChecked) {
  int16_t y = 0;
  Fc fc;
  fc.bias_scale = 0.25f + 0.019f;
  EXPECT_TRUE(fc.Run(&y).ok());
  fc.bias_scale = 0.25f + 0.021f;
  ExpectRefused(fc.Run(&y), StatusCode::kInvalidModel, {"bias scale", "2%"});
}

// A 1x1 CONV_2D / DEPTHWISE_CONV_2D on one int16 value.
struct Conv {
  OpType type = OpType::kCONV_2D;
  DType bias_type = DType::kInt64;
  bool with_bias = true;
  int64_t bias_zero_point = 0;
  int64_t weight_zero_point = 0;
  int depth_multiplier_option = 1;
  float s_out = 1.0f;
  int16_t x = -6;

  Status Run(int16_t* y) const {
    ir::ConvAttrs attrs;
    attrs.depth_multiplier = depth_multiplier_option;
    SingleOp op(type, attrs);
    op.AddInput<int16_t>(DType::kInt16, {1, 1, 1, 1}, {x}, Quant(0.5f, 0));
    ir::Quantization wq = QuantPerAxis({0.5f}, type == OpType::kCONV_2D ? 0 : 3);
    wq.zero_point = {weight_zero_point};
    op.AddInput<int8_t>(DType::kInt8, {1, 1, 1, 1}, {1}, wq, true);
    if (with_bias) {
      if (bias_type == DType::kInt64)
        op.AddInput<int64_t>(DType::kInt64, {1}, {0}, Quant(0.25f, bias_zero_point), true);
      else
        op.AddInput<int32_t>(DType::kInt32, {1}, {0}, Quant(0.25f, bias_zero_point), true);
    }
    op.AddOutput(DType::kInt16, Quant(s_out, 0));
    Status s = op.Run();
    if (s.ok()) *y = op.Output<int16_t>()[0];
    return s;
  }
};

TEST(ConvInt16, ConvolutionRefusals) {
  int16_t y = 0;
  Conv ok;
  ASSERT_TRUE(ok.Run(&y).ok());
  EXPECT_EQ(y, -1);  // -6 * 0.25, one rounding
  {
    Conv c;  // conv.cc: TF_LITE_ENSURE(context, has_bias)
    c.with_bias = false;
    ExpectRefused(c.Run(&y), StatusCode::kInvalidModel, {"without a bias", "requires"});
  }
  {
    Conv c;
    c.weight_zero_point = 2;
    ExpectRefused(c.Run(&y), StatusCode::kInvalidModel, {"zero point 2", "CONV_2D"});
  }
  {
    Conv c;
    c.bias_zero_point = 1;
    ExpectRefused(c.Run(&y), StatusCode::kInvalidModel, {"bias", "zero point 1"});
  }
  {
    Conv c;  // r = 2^14: beyond the 64-bit requantization's shift...
    c.s_out = 0.25f / 16384;
    ExpectRefused(c.Run(&y), StatusCode::kUnsupported, {"2^14"});
    c.bias_type = DType::kInt32;  // ...but ruy's takes it
    ASSERT_TRUE(c.Run(&y).ok());
    EXPECT_EQ(y, -32768);
  }
}

TEST(ConvInt16, DepthwiseRules) {
  int16_t y = 0;
  Conv d;
  d.type = OpType::kDEPTHWISE_CONV_2D;
  ASSERT_TRUE(d.Run(&y).ok());
  EXPECT_EQ(y, -1);
  {
    Conv c = d;  // no bias is fine: the reference kernel skips it
    c.with_bias = false;
    ASSERT_TRUE(c.Run(&y).ok());
    EXPECT_EQ(y, -1);
  }
  {
    Conv c = d;  // the 16x8 kernel never reads the weights' zero point
    c.weight_zero_point = 5;
    ASSERT_TRUE(c.Run(&y).ok());
    EXPECT_EQ(y, -1);
  }
  {
    Conv c = d;
    c.bias_type = DType::kInt32;
    ExpectRefused(c.Run(&y), StatusCode::kInvalidModel, {"int64 bias", "got int32"});
  }
  {
    Conv c = d;
    c.depth_multiplier_option = 2;
    ExpectRefused(c.Run(&y), StatusCode::kInvalidModel, {"depth_multiplier option 2", "give 1"});
  }
}

TEST(ConvInt16, FullyConnectedPerAxisWeightsRefused) {
  SingleOp op(OpType::kFULLY_CONNECTED, ir::FullyConnectedAttrs{});
  op.AddInput<int16_t>(DType::kInt16, {1, 1}, {1}, Quant(0.5f, 0));
  op.AddInput<int8_t>(DType::kInt8, {2, 1}, {1, 1}, QuantPerAxis({0.5f, 0.25f}, 0), true);
  op.AddOutput(DType::kInt16, Quant(1.0f, 0));
  ExpectRefused(op.Run(), StatusCode::kUnsupported, {"per-axis"});
}

}  // namespace
}  // namespace ql
