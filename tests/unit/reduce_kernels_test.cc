// Kernel tests for the reduce group: pooling, MEAN, SOFTMAX, RESIZE_*, ARG_MAX. Expected values
// are either worked by hand (with the reason in a comment) or recomputed here from the formulas in
// TFLITE_NUMERICS §3, written independently of the kernels.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "testing/single_op.h"

namespace ql {
namespace {

using ir::DType;
using ir::OpType;
using testing::Quant;
using testing::SingleOp;

// ---------------------------------------------------------------------------------------------
// Pooling

TEST(AveragePool, Int8SamePaddingCountsOnlyInBoundsTapsAndRoundsHalfAway) {
  // 3x3 input, 2x2 filter, stride 2, SAME: 2x2 output, total padding 1 per axis, all of it after.
  // Windows: (0,0) 4 taps, (0,1) 2 taps (column 2), (1,0) 2 taps (row 2), (1,1) 1 tap.
  const std::vector<int8_t> in = {1, -3, -3,   //
                                  -4, 0, -2,   //
                                  3, 2, 7};
  ir::PoolAttrs attrs;
  attrs.padding = ir::Padding::kSame;
  attrs.stride_h = attrs.stride_w = 2;
  attrs.filter_h = attrs.filter_w = 2;
  SingleOp op(OpType::kAVERAGE_POOL_2D, attrs);
  op.AddInput(DType::kInt8, {1, 3, 3, 1}, in, Quant(0.5f, 0));
  op.AddOutput(DType::kInt8, Quant(0.5f, 0));
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(), (ir::Shape{1, 2, 2, 1}));
  // (0,0): (1 - 3 - 4 + 0) / 4 = -1.5 -> -2 (half away from zero).
  // (0,1): (-3 - 2) / 2 = -2.5 -> -3; dividing by the full window (4) would give -1.
  // (1,0): (3 + 2) / 2 = 2.5 -> 3.
  // (1,1): 7 / 1 = 7.
  EXPECT_EQ(op.Output<int8_t>(), (std::vector<int8_t>{-2, -3, 3, 7}));
}

TEST(AveragePool, UInt8Relu6ClampsWithOutputParameters) {
  ir::PoolAttrs attrs;
  attrs.filter_h = attrs.filter_w = 2;
  attrs.stride_h = attrs.stride_w = 2;
  attrs.activation = ir::Activation::kRelu6;
  SingleOp op(OpType::kAVERAGE_POOL_2D, attrs);
  // scale 0.1, zp 10: RELU6 range is [10, 10 + 60] = [10, 70].
  op.AddInput(DType::kUInt8, {1, 2, 4, 1}, std::vector<uint8_t>{0, 2, 200, 202, 4, 6, 200, 200},
              Quant(0.1f, 10));
  op.AddOutput(DType::kUInt8, Quant(0.1f, 10));
  ASSERT_TRUE(op.Run().ok());
  // (0+2+4+6)/4 = 3 -> clamped to 10; (200+202+200+200)/4 = 200.5 -> 201 -> clamped to 70.
  EXPECT_EQ(op.Output<uint8_t>(), (std::vector<uint8_t>{10, 70}));
}

TEST(MaxPool, FloatValidIgnoresNothingInsideTheImage) {
  ir::PoolAttrs attrs;
  attrs.filter_h = attrs.filter_w = 2;
  attrs.stride_h = attrs.stride_w = 1;
  SingleOp op(OpType::kMAX_POOL_2D, attrs);
  op.AddInput(DType::kFloat32, {1, 2, 3, 1}, std::vector<float>{1, -5, 2, 0, 3, -1});
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(), (ir::Shape{1, 1, 2, 1}));
  EXPECT_EQ(op.Output<float>(), (std::vector<float>{3, 3}));
}

TEST(MaxPool, RejectsInt32) {
  ir::PoolAttrs attrs;
  SingleOp op(OpType::kMAX_POOL_2D, attrs);
  op.AddInput(DType::kInt32, {1, 1, 1, 1}, std::vector<int32_t>{1});
  op.AddOutput(DType::kInt32);
  Status s = op.Run();
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("MAX_POOL_2D"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("int32"), std::string::npos) << s.message();
}

// ---------------------------------------------------------------------------------------------
// MEAN

SingleOp MakeMean(const std::vector<int8_t>& in, ir::Quantization qin, ir::Quantization qout) {
  ir::ReducerAttrs attrs;
  attrs.keep_dims = true;
  SingleOp op(OpType::kMEAN, attrs);
  op.AddInput(DType::kInt8, {1, 2, 2, 2}, in, std::move(qin));
  op.AddInput(DType::kInt32, {2}, std::vector<int32_t>{1, -2}, {}, /*constant=*/true);
  op.AddOutput(DType::kInt8, std::move(qout));
  return op;
}

TEST(Mean, Int8EqualParamsIsAnExactlyRoundedMean) {
  // Channel 0: q - z = {1, 2, 2, 0}: 5/4 = 1.25 -> 1. Channel 1: {-1, -2, -2, -1}: -1.5 -> -2.
  const std::vector<int8_t> in = {4, 2, 5, 1, 5, 1, 3, 2};
  SingleOp op = MakeMean(in, Quant(0.1f, 3), Quant(0.1f, 3));
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(), (ir::Shape{1, 1, 1, 2}));
  EXPECT_EQ(op.Output<int8_t>(), (std::vector<int8_t>{1 + 3, -2 + 3}));
}

TEST(Mean, Int8DifferentParamsRescalesThenDivides) {
  // s_in / s_out = 0.5 exactly: QuantizeMultiplier gives M = 2^30, shift 0, and G then computes
  // floor((acc + 1) / 2) (SRDHM rounds half toward +inf). Then the mean rounds half away.
  const std::vector<int8_t> in = {4, 2, 5, 1, 5, 1, 3, 2};
  SingleOp op = MakeMean(in, Quant(0.1f, 3), Quant(0.2f, -5));
  ASSERT_TRUE(op.Run().ok());
  auto expected = [](int acc) {
    const double t = std::floor((acc + 1) / 2.0);
    return static_cast<int8_t>(std::round(t / 4.0) - 5);  // std::round: half away from zero
  };
  // Channel 0: acc 5 -> 3 -> 0.75 -> 1 -> -4. Channel 1: acc -6 -> -3 -> -0.75 -> -1 -> -6.
  EXPECT_EQ(op.Output<int8_t>(), (std::vector<int8_t>{expected(5), expected(-6)}));
  EXPECT_EQ(op.Output<int8_t>(), (std::vector<int8_t>{-4, -6}));
}

TEST(Mean, FloatOverLastAxisWithoutKeepDims) {
  SingleOp op(OpType::kMEAN, ir::ReducerAttrs{false});
  op.AddInput(DType::kFloat32, {2, 3}, std::vector<float>{1, 2, 6, -1, -2, 0});
  op.AddInput(DType::kInt32, {1}, std::vector<int32_t>{-1}, {}, true);
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(), (ir::Shape{2}));
  EXPECT_EQ(op.Output<float>(), (std::vector<float>{3, -1}));
}

TEST(Mean, DynamicAxesAreRefused) {
  SingleOp op(OpType::kMEAN, ir::ReducerAttrs{true});
  op.AddInput(DType::kFloat32, {2, 3}, std::vector<float>(6, 0.0f));
  op.AddInput(DType::kInt32, {1}, std::vector<int32_t>{1}, {}, /*constant=*/false);
  op.AddOutput(DType::kFloat32);
  Status s = op.Run();
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("dynamic shape: input 1 of op 0"), std::string::npos) << s.message();
}

TEST(ReduceMax, FloatGlobalMax) {
  SingleOp op(OpType::kREDUCE_MAX, ir::ReducerAttrs{false});
  op.AddInput(DType::kFloat32, {1, 2, 2, 2}, std::vector<float>{1, -1, 5, -7, 2, -3, 0, -2});
  op.AddInput(DType::kInt32, {2}, std::vector<int32_t>{1, 2}, {}, true);
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(), (ir::Shape{1, 2}));
  EXPECT_EQ(op.Output<float>(), (std::vector<float>{5, -1}));
}

// ---------------------------------------------------------------------------------------------
// SOFTMAX

TEST(Softmax, Int8RowMatchesTheFloatTableFormula) {
  const float s_in = 0.145f, s_out = 1.0f / 256.0f;
  const int32_t z_out = -128;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> dist(-128, 127);
  std::vector<int8_t> in(3 * 17);
  for (auto& v : in) v = static_cast<int8_t>(dist(rng));
  SingleOp op(OpType::kSOFTMAX, ir::SoftmaxAttrs{});
  op.AddInput(DType::kInt8, {3, 17}, in, Quant(s_in, 11));
  op.AddOutput(DType::kInt8, Quant(s_out, z_out));
  ASSERT_TRUE(op.Run().ok());
  const std::vector<int8_t> got = op.Output<int8_t>();
  // Recomputed without a table: each term is expf(float32(-s_in) * (max - q)).
  const float c = -s_in * 1.0f;
  for (int r = 0; r < 3; ++r) {
    int m = -128;
    for (int j = 0; j < 17; ++j) m = std::max<int>(m, in[r * 17 + j]);
    std::vector<float> e(17);
    float sum = 0.0f;
    for (int j = 0; j < 17; ++j) {
      e[j] = expf(c * static_cast<float>(m - in[r * 17 + j]));
      sum += e[j];
    }
    const float inv = 1.0f / (sum * s_out);
    for (int j = 0; j < 17; ++j) {
      const int q = std::clamp(static_cast<int>(std::round(e[j] * inv)) + z_out, -128, 127);
      EXPECT_EQ(got[r * 17 + j], q) << "row " << r << " col " << j << " q " << int(in[r * 17 + j]);
    }
  }
}

TEST(Softmax, FloatAlongAKerasAxis) {
  ir::SoftmaxAttrs attrs;
  attrs.axis = 0;
  SingleOp op(OpType::kSOFTMAX, attrs);
  op.AddInput(DType::kFloat32, {2, 2}, std::vector<float>{0, 1, 0, 3});
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  const std::vector<float> out = op.Output<float>();
  // Column 0 has equal logits -> 0.5 each; column 1: softmax of (1, 3).
  EXPECT_FLOAT_EQ(out[0], 0.5f);
  EXPECT_FLOAT_EQ(out[2], 0.5f);
  EXPECT_NEAR(out[1], 1.0 / (1.0 + std::exp(2.0)), 1e-7);
  EXPECT_NEAR(out[3], 1.0 / (1.0 + std::exp(-2.0)), 1e-7);
}

// ---------------------------------------------------------------------------------------------
// RESIZE_BILINEAR

// §3 int8 integer algorithm, written per axis as (lo, hi, weight_lo, weight_hi) in 1/1024 units.
struct IntTap {
  int lo, hi;
  int64_t w_lo, w_hi;
};
std::vector<IntTap> IntTaps(int in, int out, bool half_pixel) {
  const int scale10 = (in * 1024 + out / 2) / out;
  std::vector<IntTap> taps;
  for (int i = 0; i < out; ++i) {
    int pos = i * scale10 + (half_pixel ? scale10 / 2 - 512 : 0);
    int lo = std::max(pos / 1024, 0);
    int hi = std::min((pos + 1023) / 1024, in - 1);
    int f = pos - 1024 * lo;
    taps.push_back({lo, hi, 1024 - f, f});
  }
  return taps;
}

// §3 uint8 float algorithm per axis.
struct FloatTap {
  int lo, hi;
  float f;
};
std::vector<FloatTap> FloatTaps(int in, int out, bool half_pixel) {
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  std::vector<FloatTap> taps;
  for (int i = 0; i < out; ++i) {
    const float x = half_pixel ? (static_cast<float>(i) + 0.5f) * scale - 0.5f : i * scale;
    const int lo = std::max(static_cast<int>(std::floor(x)), 0);
    const int hi = std::min(static_cast<int>(std::ceil(x)), in - 1);
    taps.push_back({lo, hi, x - static_cast<float>(lo)});
  }
  return taps;
}

class ResizeBilinearQuantized : public ::testing::TestWithParam<std::tuple<int, int, bool>> {};

TEST_P(ResizeBilinearQuantized, Int8AndUInt8MatchTheirOwnAlgorithms) {
  const auto [in_size, out_size, half_pixel] = GetParam();
  const int in_h = in_size, in_w = in_size + 1, out_h = out_size, out_w = out_size + 2;
  std::mt19937 rng(in_size * 31 + out_size + half_pixel);
  std::uniform_int_distribution<int> dist(0, 255);
  std::vector<uint8_t> u8(in_h * in_w);
  std::vector<int8_t> i8(in_h * in_w);
  for (size_t k = 0; k < u8.size(); ++k) {
    u8[k] = static_cast<uint8_t>(dist(rng));
    i8[k] = static_cast<int8_t>(u8[k] - 128);
  }
  ir::ResizeAttrs attrs;
  attrs.half_pixel_centers = half_pixel;
  const std::vector<int32_t> size = {out_h, out_w};

  SingleOp op8(OpType::kRESIZE_BILINEAR, attrs);
  op8.AddInput(DType::kInt8, {1, in_h, in_w, 1}, i8, Quant(0.1f, 0));
  op8.AddInput(DType::kInt32, {2}, size, {}, true);
  op8.AddOutput(DType::kInt8, Quant(0.1f, 0));
  ASSERT_TRUE(op8.Run().ok());
  SingleOp opu(OpType::kRESIZE_BILINEAR, attrs);
  opu.AddInput(DType::kUInt8, {1, in_h, in_w, 1}, u8, Quant(0.1f, 128));
  opu.AddInput(DType::kInt32, {2}, size, {}, true);
  opu.AddOutput(DType::kUInt8, Quant(0.1f, 128));
  ASSERT_TRUE(opu.Run().ok());
  ASSERT_EQ(op8.OutputShape(), (ir::Shape{1, out_h, out_w, 1}));

  const auto iy = IntTaps(in_h, out_h, half_pixel), ix = IntTaps(in_w, out_w, half_pixel);
  const auto fy = FloatTaps(in_h, out_h, half_pixel), fx = FloatTaps(in_w, out_w, half_pixel);
  const auto got8 = op8.Output<int8_t>();
  const auto gotu = opu.Output<uint8_t>();
  for (int y = 0; y < out_h; ++y)
    for (int x = 0; x < out_w; ++x) {
      auto q8 = [&](int r, int c) { return static_cast<int64_t>(i8[r * in_w + c]); };
      const int64_t v = q8(iy[y].lo, ix[x].lo) * iy[y].w_lo * ix[x].w_lo +
                        q8(iy[y].lo, ix[x].hi) * iy[y].w_lo * ix[x].w_hi +
                        q8(iy[y].hi, ix[x].lo) * iy[y].w_hi * ix[x].w_lo +
                        q8(iy[y].hi, ix[x].hi) * iy[y].w_hi * ix[x].w_hi;
      const int64_t half = int64_t{1} << 19;
      const int64_t e8 = (v + (v > 0 ? half : -half)) / (int64_t{1} << 20);
      EXPECT_EQ(got8[y * out_w + x], e8) << "int8 at " << y << "," << x;

      auto qu = [&](int r, int c) { return static_cast<float>(u8[r * in_w + c]); };
      const float a = fy[y].f, b = fx[x].f;
      const float eu = qu(fy[y].lo, fx[x].lo) * ((1 - a) * (1 - b)) +
                       qu(fy[y].lo, fx[x].hi) * ((1 - a) * b) +
                       qu(fy[y].hi, fx[x].lo) * (a * (1 - b)) + qu(fy[y].hi, fx[x].hi) * (a * b) +
                       0.5f;
      EXPECT_EQ(gotu[y * out_w + x], static_cast<uint8_t>(eu)) << "uint8 at " << y << "," << x;
    }
}

INSTANTIATE_TEST_SUITE_P(OddRatios, ResizeBilinearQuantized,
                         ::testing::Values(std::make_tuple(3, 5, false), std::make_tuple(3, 5, true),
                                           std::make_tuple(5, 3, false), std::make_tuple(5, 3, true)));

TEST(ResizeBilinear, Int8HalfPixelBorderHasNegativeFraction) {
  // 2 -> 4 with half-pixel centers: scale10 = 512, output 0 sits at 512/2 - 512 = -256, so lo = 0
  // (the truncating div gives 0), hi = 0 and the fraction is -256: weights (1280, -256) on the
  // same sample, i.e. exactly the sample.
  ir::ResizeAttrs attrs;
  attrs.half_pixel_centers = true;
  SingleOp op(OpType::kRESIZE_BILINEAR, attrs);
  op.AddInput(DType::kInt8, {1, 1, 2, 1}, std::vector<int8_t>{-100, 100}, Quant(1.0f, 0));
  op.AddInput(DType::kInt32, {2}, std::vector<int32_t>{1, 4}, {}, true);
  op.AddOutput(DType::kInt8, Quant(1.0f, 0));
  ASSERT_TRUE(op.Run().ok());
  // x = 1: pos 256 -> lo 0, hi 1, f 256: (-100 * 768 + 100 * 256) / 1024 = -50.
  EXPECT_EQ(op.Output<int8_t>(), (std::vector<int8_t>{-100, -50, 50, 100}));
}

TEST(ResizeBilinear, Float2xUsesHalvingPath) {
  SingleOp op(OpType::kRESIZE_BILINEAR, ir::ResizeAttrs{});
  op.AddInput(DType::kFloat32, {1, 2, 2, 1}, std::vector<float>{0, 4, 8, 16});
  op.AddInput(DType::kInt32, {2}, std::vector<int32_t>{4, 4}, {}, true);
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.Output<float>(), (std::vector<float>{0, 2, 4, 4,       //
                                                    4, 7, 10, 10,     //
                                                    8, 12, 16, 16,    //
                                                    8, 12, 16, 16}));
}

TEST(ResizeNearestNeighbor, AlignCornersRoundsSourceIndex) {
  ir::ResizeAttrs attrs;
  attrs.align_corners = true;
  SingleOp op(OpType::kRESIZE_NEAREST_NEIGHBOR, attrs);
  op.AddInput(DType::kInt8, {1, 1, 3, 1}, std::vector<int8_t>{1, 2, 3}, Quant(1.0f, 0));
  op.AddInput(DType::kInt32, {2}, std::vector<int32_t>{1, 5}, {}, true);
  op.AddOutput(DType::kInt8, Quant(1.0f, 0));
  ASSERT_TRUE(op.Run().ok());
  // scale (3-1)/(5-1) = 0.5: positions 0, 0.5, 1, 1.5, 2 round (half away) to 0, 1, 1, 2, 2.
  EXPECT_EQ(op.Output<int8_t>(), (std::vector<int8_t>{1, 2, 2, 3, 3}));
}

// ---------------------------------------------------------------------------------------------
// ARG_MAX

TEST(ArgMax, FirstIndexOfTheMaximumAsInt64) {
  SingleOp op(OpType::kARG_MAX, ir::TypeAttrs{DType::kUnknown, DType::kInt64});
  op.AddInput(DType::kUInt8, {2, 4}, std::vector<uint8_t>{3, 9, 9, 1, 0, 0, 0, 0}, Quant(1.0f, 0));
  op.AddInput(DType::kInt32, {1}, std::vector<int32_t>{-1}, {}, true);
  op.AddOutput(DType::kInt64);
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(), (ir::Shape{2}));
  EXPECT_EQ(op.Output<int64_t>(), (std::vector<int64_t>{1, 0}));
}

}  // namespace
}  // namespace ql
