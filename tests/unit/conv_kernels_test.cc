// CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and TRANSPOSE_CONV through the registry.
// Float paths are compared with naive convolutions written here; integer paths with hand-computed
// accumulators chosen where the rounding variants (G, R, S) disagree.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/single_op.h"

namespace ql {
namespace {

using ir::DType;
using ql::testing::Quant;
using ql::testing::QuantPerAxis;
using ql::testing::SingleOp;
using rt::OpNumerics;

// Float kernels may sum in another order than the naive double-precision reference; a few
// float32 ulps of the largest partial sum (here < 50 terms of magnitude <= 1) stay far below this.
constexpr double kFloatRelTol = 1e-5;

std::vector<float> RandomFloats(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  uint32_t s = seed;
  for (auto& x : v) {
    s = s * 1664525u + 1013904223u;  // LCG: deterministic, platform independent
    x = static_cast<float>((s >> 8) & 0xFFFF) / 32768.0f - 1.0f;
  }
  return v;
}

void ExpectNear(const std::vector<float>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_FALSE(std::isnan(got[i]) || std::isinf(got[i])) << "element " << i;
    EXPECT_NEAR(got[i], want[i], kFloatRelTol * std::max(1.0, std::fabs(want[i]))) << "element " << i;
  }
}

struct Window {
  int64_t out, pad;
};
// TFLite's SAME / VALID rule, written out independently of kernels/padding.h.
Window SpatialWindow(int64_t in, int64_t k, int stride, int dil, bool same) {
  const int64_t eff = (k - 1) * dil + 1;
  if (!same) return {(in - eff) / stride + 1, 0};
  const int64_t out = (in + stride - 1) / stride;
  const int64_t total = std::max<int64_t>(0, (out - 1) * stride + eff - in);
  return {out, total / 2};
}

// Conv (depth_multiplier == 0) or depthwise (weights 1HWO) in double precision, padding taps 0.
std::vector<double> NaiveConv(const std::vector<float>& in, ir::Shape is,
                              const std::vector<float>& w, ir::Shape ws,
                              const std::vector<float>& bias, int stride, int dil, bool same,
                              int depth_multiplier, ir::Shape* out_shape) {
  const bool depthwise = depth_multiplier > 0;
  const int64_t kh = ws[1], kw = ws[2];
  const int64_t oc_n = depthwise ? ws[3] : ws[0];
  const Window wy = SpatialWindow(is[1], kh, stride, dil, same);
  const Window wx = SpatialWindow(is[2], kw, stride, dil, same);
  *out_shape = {is[0], wy.out, wx.out, oc_n};
  std::vector<double> out;
  for (int64_t b = 0; b < is[0]; ++b)
    for (int64_t oy = 0; oy < wy.out; ++oy)
      for (int64_t ox = 0; ox < wx.out; ++ox)
        for (int64_t oc = 0; oc < oc_n; ++oc) {
          double acc = bias.empty() ? 0.0 : bias[oc];
          for (int64_t y = 0; y < kh; ++y)
            for (int64_t x = 0; x < kw; ++x) {
              const int64_t iy = oy * stride - wy.pad + y * dil;
              const int64_t ix = ox * stride - wx.pad + x * dil;
              if (iy < 0 || iy >= is[1] || ix < 0 || ix >= is[2]) continue;
              const float* px = &in[((b * is[1] + iy) * is[2] + ix) * is[3]];
              if (depthwise) {
                acc += double(px[oc / depth_multiplier]) * w[(y * kw + x) * oc_n + oc];
              } else {
                for (int64_t c = 0; c < is[3]; ++c)
                  acc += double(px[c]) * w[((oc * kh + y) * kw + x) * is[3] + c];
              }
            }
          out.push_back(acc);
        }
  return out;
}

ir::ConvAttrs Attrs(ir::Padding p, int stride, int dil = 1,
                    ir::Activation act = ir::Activation::kNone) {
  ir::ConvAttrs a;
  a.padding = p;
  a.stride_h = a.stride_w = stride;
  a.dilation_h = a.dilation_w = dil;
  a.activation = act;
  return a;
}

struct FloatConvCase {
  const char* name;
  ir::Shape in, w;
  int stride, dil;
  bool same;
};

TEST(Conv2DFloat, MatchesNaiveConvolution) {
  const FloatConvCase cases[] = {
      {"SAME even 4x2 kernel stride 2", {2, 7, 6, 3}, {5, 4, 2, 3}, 2, 1, true},
      {"SAME 3x3 dilation 2", {1, 9, 8, 4}, {3, 3, 3, 4}, 1, 2, true},
      {"VALID 3x3 dilation 2 stride 2", {1, 11, 10, 2}, {4, 3, 3, 2}, 2, 2, false},
      {"VALID 1x1", {1, 5, 5, 16}, {8, 1, 1, 16}, 1, 1, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto in = RandomFloats(ir::CheckedNumElements(c.in).value(), 1);
    const auto w = RandomFloats(ir::CheckedNumElements(c.w).value(), 2);
    const auto bias = RandomFloats(c.w[0], 3);
    SingleOp op(ir::OpType::kCONV_2D,
                Attrs(c.same ? ir::Padding::kSame : ir::Padding::kValid, c.stride, c.dil));
    op.AddInput(DType::kFloat32, c.in, in);
    op.AddInput(DType::kFloat32, c.w, w, {}, true);
    op.AddInput(DType::kFloat32, {c.w[0]}, bias, {}, true);
    op.AddOutput(DType::kFloat32);
    ASSERT_TRUE(op.Run().ok());
    ir::Shape want_shape;
    const auto want = NaiveConv(in, c.in, w, c.w, bias, c.stride, c.dil, c.same, 0, &want_shape);
    EXPECT_EQ(op.OutputShape(), want_shape);
    ExpectNear(op.Output<float>(), want);
  }
}

TEST(Conv2DFloat, Relu6ClampsAndBiasIsOptional) {
  // 1x1 conv, weight 10: inputs -1, 0.3, 2 give -10, 3, 20 -> RELU6 0, 3, 6.
  SingleOp op(ir::OpType::kCONV_2D, Attrs(ir::Padding::kValid, 1, 1, ir::Activation::kRelu6));
  op.AddInput(DType::kFloat32, {1, 1, 3, 1}, std::vector<float>{-1.0f, 0.3f, 2.0f});
  op.AddInput(DType::kFloat32, {1, 1, 1, 1}, std::vector<float>{10.0f}, {}, true);
  op.AddAbsentInput();
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  ExpectNear(op.Output<float>(), {0.0, 3.0, 6.0});
}

TEST(DepthwiseConv2DFloat, MultiplierTwoWithDilation) {
  const ir::Shape is = {1, 8, 7, 3}, ws = {1, 3, 2, 6};
  const auto in = RandomFloats(8 * 7 * 3, 4);
  const auto w = RandomFloats(3 * 2 * 6, 5);
  const auto bias = RandomFloats(6, 6);
  for (bool same : {true, false}) {
    SCOPED_TRACE(same ? "SAME" : "VALID");
    ir::ConvAttrs a = Attrs(same ? ir::Padding::kSame : ir::Padding::kValid, 2, 2);
    a.depth_multiplier = 2;
    SingleOp op(ir::OpType::kDEPTHWISE_CONV_2D, a);
    op.AddInput(DType::kFloat32, is, in);
    op.AddInput(DType::kFloat32, ws, w, {}, true);
    op.AddInput(DType::kFloat32, {6}, bias, {}, true);
    op.AddOutput(DType::kFloat32);
    ASSERT_TRUE(op.Run().ok());
    ir::Shape want_shape;
    const auto want = NaiveConv(in, is, w, ws, bias, 2, 2, same, 2, &want_shape);
    EXPECT_EQ(op.OutputShape(), want_shape);
    ExpectNear(op.Output<float>(), want);
  }
}

TEST(FullyConnectedFloat, KeepNumDimsAndFlattening) {
  const auto in = RandomFloats(2 * 3 * 4, 7);
  const auto w = RandomFloats(5 * 4, 8);
  const auto bias = RandomFloats(5, 9);
  std::vector<double> want;
  for (int r = 0; r < 6; ++r)
    for (int o = 0; o < 5; ++o) {
      double acc = bias[o];
      for (int k = 0; k < 4; ++k) acc += double(in[r * 4 + k]) * w[o * 4 + k];
      want.push_back(acc);
    }
  for (bool keep : {true, false}) {
    ir::FullyConnectedAttrs a;
    a.keep_num_dims = keep;
    SingleOp op(ir::OpType::kFULLY_CONNECTED, a);
    op.AddInput(DType::kFloat32, {2, 3, 4}, in);
    op.AddInput(DType::kFloat32, {5, 4}, w, {}, true);
    op.AddInput(DType::kFloat32, {5}, bias, {}, true);
    op.AddOutput(DType::kFloat32);
    ASSERT_TRUE(op.Run().ok());
    EXPECT_EQ(op.OutputShape(), keep ? ir::Shape({2, 3, 5}) : ir::Shape({6, 5}));
    ExpectNear(op.Output<float>(), want);
  }
}

TEST(TransposeConvFloat, MatchesGatherFormulation) {
  // Output (oy, ox) receives input (iy, ix) through tap (ky, kx) when
  // oy = iy * stride - pad + ky: written here as a gather over the output.
  const ir::Shape is = {1, 3, 4, 2}, ws = {3, 3, 3, 2};
  const auto in = RandomFloats(3 * 4 * 2, 10);
  const auto w = RandomFloats(3 * 3 * 3 * 2, 11);
  const auto bias = RandomFloats(3, 12);
  for (bool same : {true, false}) {
    SCOPED_TRACE(same ? "SAME" : "VALID");
    const int stride = 2;
    const int64_t oh = same ? 6 : 7, ow = same ? 8 : 9;
    const int64_t pad_y = same ? SpatialWindow(oh, 3, stride, 1, true).pad : 0;
    const int64_t pad_x = same ? SpatialWindow(ow, 3, stride, 1, true).pad : 0;
    SingleOp op(ir::OpType::kTRANSPOSE_CONV,
                Attrs(same ? ir::Padding::kSame : ir::Padding::kValid, stride));
    op.AddInput(DType::kInt32, {4}, std::vector<int32_t>{1, int32_t(oh), int32_t(ow), 3}, {}, true);
    op.AddInput(DType::kFloat32, ws, w, {}, true);
    op.AddInput(DType::kFloat32, is, in);
    op.AddInput(DType::kFloat32, {3}, bias, {}, true);
    op.AddOutput(DType::kFloat32);
    ASSERT_TRUE(op.Run().ok());
    EXPECT_EQ(op.OutputShape(), ir::Shape({1, oh, ow, 3}));
    std::vector<double> want;
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox)
        for (int64_t oc = 0; oc < 3; ++oc) {
          double acc = bias[oc];
          for (int64_t ky = 0; ky < 3; ++ky)
            for (int64_t kx = 0; kx < 3; ++kx) {
              const int64_t ny = oy + pad_y - ky, nx = ox + pad_x - kx;
              if (ny < 0 || nx < 0 || ny % stride || nx % stride) continue;
              const int64_t iy = ny / stride, ix = nx / stride;
              if (iy >= 3 || ix >= 4) continue;
              for (int64_t c = 0; c < 2; ++c)
                acc += double(in[(iy * 4 + ix) * 2 + c]) * w[((oc * 3 + ky) * 3 + kx) * 2 + c];
            }
          want.push_back(acc);
        }
    ExpectNear(op.Output<float>(), want);
  }
}

// --- Integer paths. ---

// A 1x1 int8 conv over a 1x3 image, one channel, weight 1 and no bias, so each accumulator equals
// its input: 5, -6, -3. Scales 1, 0.25, 1 make the multiplier 0.25 (M = 2^30, shift -1), the
// TFLITE_NUMERICS §2 tie table: R gives 2, -1, 0; S 1, -1, -1; G 2, -2, -1.
std::vector<int8_t> RunQuarterConvInt8(OpNumerics numerics) {
  SingleOp op(ir::OpType::kCONV_2D, Attrs(ir::Padding::kValid, 1));
  op.AddInput(DType::kInt8, {1, 1, 3, 1}, std::vector<int8_t>{5, -6, -3}, Quant(1.0f, 0));
  op.AddInput(DType::kInt8, {1, 1, 1, 1}, std::vector<int8_t>{1}, QuantPerAxis({0.25f}, 0), true);
  op.AddOutput(DType::kInt8, Quant(1.0f, 0));
  Status s = op.Run(numerics);
  EXPECT_TRUE(s.ok()) << s.message();
  return op.Output<int8_t>();
}

TEST(Conv2DInt8, RoundingFollowsTheNumericsProfile) {
  EXPECT_EQ(RunQuarterConvInt8(OpNumerics::kBuiltinX86), (std::vector<int8_t>{2, -1, 0}));   // R
  EXPECT_EQ(RunQuarterConvInt8(OpNumerics::kBuiltinWasm), (std::vector<int8_t>{1, -1, -1}));  // S
}

TEST(DepthwiseConv2DInt8, AlwaysGemmlowpRounding) {
  // The same accumulators through depthwise: G in both profiles.
  for (OpNumerics n : {OpNumerics::kBuiltinX86, OpNumerics::kBuiltinWasm}) {
    SingleOp op(ir::OpType::kDEPTHWISE_CONV_2D, Attrs(ir::Padding::kValid, 1));
    op.AddInput(DType::kInt8, {1, 1, 3, 1}, std::vector<int8_t>{5, -6, -3}, Quant(1.0f, 0));
    op.AddInput(DType::kInt8, {1, 1, 1, 1}, std::vector<int8_t>{1}, Quant(0.25f, 0), true);
    op.AddOutput(DType::kInt8, Quant(1.0f, 0));
    ASSERT_TRUE(op.Run(n).ok());
    EXPECT_EQ(op.Output<int8_t>(), (std::vector<int8_t>{2, -2, -1}));
  }
}

TEST(DepthwiseConv2DInt8, MultiplierTwoPerChannel) {
  // 2 input channels, multiplier 2 -> 4 output channels; output o reads input o / 2.
  // 1x1 filter weights 1, 2, 3, 4 with per-channel scales 1, 0.5, 0.25, 1 (s_in = s_out = 1).
  // Input (10, -7), input zero point 2 -> corrected (8, -9). Bias (1, 0, 0, -2).
  // acc = 1 + 8*1 = 9, 8*2 = 16, -9*3 = -27, -2 + -9*4 = -38
  // y = 9*1 = 9; 16*0.5 = 8; -27*0.25 = -6.75 -> -7; -38 -> -38; plus output zero point -1.
  ir::ConvAttrs a = Attrs(ir::Padding::kValid, 1);
  a.depth_multiplier = 2;
  SingleOp op(ir::OpType::kDEPTHWISE_CONV_2D, a);
  op.AddInput(DType::kInt8, {1, 1, 1, 2}, std::vector<int8_t>{10, -7}, Quant(1.0f, 2));
  op.AddInput(DType::kInt8, {1, 1, 1, 4}, std::vector<int8_t>{1, 2, 3, 4},
              QuantPerAxis({1.0f, 0.5f, 0.25f, 1.0f}, 3), true);
  op.AddInput(DType::kInt32, {4}, std::vector<int32_t>{1, 0, 0, -2}, {}, true);
  op.AddOutput(DType::kInt8, Quant(1.0f, -1));
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.Output<int8_t>(), (std::vector<int8_t>{8, 7, -8, -39}));
}

TEST(Conv2DInt8, PerChannelScalesPaddingAndBias) {
  // 3x3 SAME conv on a 1x1 image with input zero point 3: only the centre tap is inside, the
  // eight padded taps contribute 0. Input 7 -> corrected 4.
  // Channel 0: centre weight 10, scale 0.5, bias 2: acc = 42, y = 42 * 0.5 * 0.1 / 0.1 = 21.
  // Channel 1: centre weight -5, scale 0.25, bias 0: acc = -20, y = -5.
  // Output zero point 10.
  std::vector<int8_t> w(2 * 9, 100);  // non-centre taps must not count
  w[4] = 10;
  w[9 + 4] = -5;
  SingleOp op(ir::OpType::kCONV_2D, Attrs(ir::Padding::kSame, 1));
  op.AddInput(DType::kInt8, {1, 1, 1, 1}, std::vector<int8_t>{7}, Quant(0.1f, 3));
  op.AddInput(DType::kInt8, {2, 3, 3, 1}, w, QuantPerAxis({0.5f, 0.25f}, 0), true);
  op.AddInput(DType::kInt32, {2}, std::vector<int32_t>{2, 0}, {}, true);
  op.AddOutput(DType::kInt8, Quant(0.1f, 10));
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.Output<int8_t>(), (std::vector<int8_t>{31, 5}));
}

TEST(Conv2DInt8, Relu6Clamp) {
  // Output scale 0.05, zero point -128: RELU6 is [-128, -128 + round(6 / 0.05)] = [-128, -8].
  // Accumulators 1000, -50 and 60 with multiplier 0.05 * 1 / 0.05 = 1 map to 872 -> -8,
  // -178 -> -128, -68.
  SingleOp op(ir::OpType::kCONV_2D, Attrs(ir::Padding::kValid, 1, 1, ir::Activation::kRelu6));
  op.AddInput(DType::kInt8, {1, 1, 3, 1}, std::vector<int8_t>{100, -5, 6}, Quant(0.05f, 0));
  op.AddInput(DType::kInt8, {1, 1, 1, 1}, std::vector<int8_t>{10}, Quant(1.0f, 0), true);
  op.AddOutput(DType::kInt8, Quant(0.05f, -128));
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.Output<int8_t>(), (std::vector<int8_t>{-8, -128, -68}));
}

TEST(Conv2DInt8, MultiplierAboveOne) {
  // s_in * s_w / s_out = 1 * 2.5 / 1 = 2.5 (shift +2). Accumulators 3, -3, 60: 7.5 and -7.5 are
  // ties rounded toward +inf by every variant (8, -7); 150 clamps to 127.
  for (OpNumerics n : {OpNumerics::kBuiltinX86, OpNumerics::kBuiltinWasm}) {
    SingleOp op(ir::OpType::kCONV_2D, Attrs(ir::Padding::kValid, 1));
    op.AddInput(DType::kInt8, {1, 1, 3, 1}, std::vector<int8_t>{3, -3, 60}, Quant(1.0f, 0));
    op.AddInput(DType::kInt8, {1, 1, 1, 1}, std::vector<int8_t>{1}, Quant(2.5f, 0), true);
    op.AddOutput(DType::kInt8, Quant(1.0f, 0));
    ASSERT_TRUE(op.Run(n).ok());
    EXPECT_EQ(op.Output<int8_t>(), (std::vector<int8_t>{8, -7, 127}));
  }
}

TEST(Conv2DUInt8, WeightZeroPointAndProfileRounding) {
  // Input zero point 10: q = 15, 4, 7 -> 5, -6, -3. Weight q = 3 with zero point 2 -> 1.
  // Multiplier 0.25 (float product 1 * 0.25 = 0.25 exactly), output zero point 100.
  // x86 uses R (2, -1, 0), wasm uses G for uint8 (2, -2, -1).
  auto run = [](OpNumerics n) {
    SingleOp op(ir::OpType::kCONV_2D, Attrs(ir::Padding::kValid, 1));
    op.AddInput(DType::kUInt8, {1, 1, 3, 1}, std::vector<uint8_t>{15, 4, 7}, Quant(1.0f, 10));
    op.AddInput(DType::kUInt8, {1, 1, 1, 1}, std::vector<uint8_t>{3}, Quant(0.25f, 2), true);
    op.AddOutput(DType::kUInt8, Quant(1.0f, 100));
    Status s = op.Run(n);
    EXPECT_TRUE(s.ok()) << s.message();
    return op.Output<uint8_t>();
  };
  EXPECT_EQ(run(OpNumerics::kBuiltinX86), (std::vector<uint8_t>{102, 99, 100}));
  EXPECT_EQ(run(OpNumerics::kBuiltinWasm), (std::vector<uint8_t>{102, 98, 99}));
}

TEST(Conv2DInt8, NonStaticWeightsGiveTheSameResult) {
  // Weights fed as a runtime input are packed at Eval instead of Prepare.
  SingleOp op(ir::OpType::kCONV_2D, Attrs(ir::Padding::kValid, 1));
  op.AddInput(DType::kInt8, {1, 1, 3, 1}, std::vector<int8_t>{5, -6, -3}, Quant(1.0f, 0));
  op.AddInput(DType::kInt8, {1, 1, 1, 1}, std::vector<int8_t>{1}, Quant(0.25f, 0), false);
  op.AddOutput(DType::kInt8, Quant(1.0f, 0));
  ASSERT_TRUE(op.Run(OpNumerics::kBuiltinX86).ok());
  EXPECT_EQ(op.Output<int8_t>(), (std::vector<int8_t>{2, -1, 0}));
}

TEST(FullyConnectedInt8, RoundingAndBias) {
  // Two rows of K = 2, one unit: weights (1, 1), bias -1, input zero point 1, so
  // row (4, 4) gives 3 + 3 - 1 = 5 and row (-2, -1) gives -3 - 2 - 1 = -6.
  // Multiplier float(0.5 * 0.5) / 1 = 0.25: x86 R gives (2, -1), wasm S (1, -1).
  auto run = [](OpNumerics n) {
    ir::FullyConnectedAttrs a;
    SingleOp op(ir::OpType::kFULLY_CONNECTED, a);
    op.AddInput(DType::kInt8, {2, 2}, std::vector<int8_t>{4, 4, -2, -1}, Quant(0.5f, 1));
    op.AddInput(DType::kInt8, {1, 2}, std::vector<int8_t>{1, 1}, Quant(0.5f, 0), true);
    op.AddInput(DType::kInt32, {1}, std::vector<int32_t>{-1}, {}, true);
    op.AddOutput(DType::kInt8, Quant(1.0f, 0));
    Status s = op.Run(n);
    EXPECT_TRUE(s.ok()) << s.message();
    return op.Output<int8_t>();
  };
  EXPECT_EQ(run(OpNumerics::kBuiltinX86), (std::vector<int8_t>{2, -1}));
  EXPECT_EQ(run(OpNumerics::kBuiltinWasm), (std::vector<int8_t>{1, -1}));
}

TEST(FullyConnectedUInt8, WasmUsesGemmlowpRounding) {
  // Accumulator -6 with multiplier 0.25: G -2 (wasm uint8), R -1 (x86). Zero points 128 / 128.
  auto run = [](OpNumerics n) {
    SingleOp op(ir::OpType::kFULLY_CONNECTED, ir::FullyConnectedAttrs{});
    op.AddInput(DType::kUInt8, {1, 1}, std::vector<uint8_t>{122}, Quant(0.5f, 128));
    op.AddInput(DType::kUInt8, {1, 1}, std::vector<uint8_t>{129}, Quant(0.5f, 128), true);
    op.AddOutput(DType::kUInt8, Quant(1.0f, 128));
    EXPECT_TRUE(op.Run(n).ok());
    return op.Output<uint8_t>();
  };
  EXPECT_EQ(run(OpNumerics::kBuiltinX86), (std::vector<uint8_t>{127}));
  EXPECT_EQ(run(OpNumerics::kBuiltinWasm), (std::vector<uint8_t>{126}));
}

// --- Refusals. ---

TEST(Conv2D, UnsupportedTypeCombinationsNameOpAndTypes) {
  {
    // Hybrid DEPTHWISE_CONV_2D with uint8 weights; int8 hybrid CONV_2D, DEPTHWISE_CONV_2D and
    // FULLY_CONNECTED are supported (tests/unit/hybrid_kernels_test.cc, int16_kernels_test.cc).
    SingleOp op(ir::OpType::kDEPTHWISE_CONV_2D, Attrs(ir::Padding::kValid, 1));
    op.AddInput(DType::kFloat32, {1, 1, 1, 1}, std::vector<float>{1.0f});
    op.AddInput(DType::kUInt8, {1, 1, 1, 1}, std::vector<uint8_t>{1}, Quant(1.0f, 0), true);
    op.AddOutput(DType::kFloat32);
    Status s = op.Run();
    EXPECT_EQ(s.code(), StatusCode::kUnsupported);
    EXPECT_NE(s.message().find("DEPTHWISE_CONV_2D"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("input float32 / weights uint8 / output float32"), std::string::npos)
        << s.message();
  }
  {
    // 16x8 (int16 / int8 / int16) is supported (int16_kernels_test.cc); int16 weights are not.
    SingleOp op(ir::OpType::kFULLY_CONNECTED, ir::FullyConnectedAttrs{});
    op.AddInput(DType::kInt16, {1, 1}, std::vector<int16_t>{1}, Quant(1.0f, 0));
    op.AddInput(DType::kInt16, {1, 1}, std::vector<int16_t>{1}, Quant(1.0f, 0), true);
    op.AddOutput(DType::kInt16, Quant(1.0f, 0));
    Status s = op.Run();
    EXPECT_EQ(s.code(), StatusCode::kUnsupported);
    EXPECT_NE(s.message().find("FULLY_CONNECTED"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("int16"), std::string::npos) << s.message();
  }
}

TEST(Conv2D, BadGeometryIsAnError) {
  {
    // VALID 3x3 on a 2x2 input.
    SingleOp op(ir::OpType::kCONV_2D, Attrs(ir::Padding::kValid, 1));
    op.AddInput(DType::kFloat32, {1, 2, 2, 1}, std::vector<float>(4, 0.0f));
    op.AddInput(DType::kFloat32, {1, 3, 3, 1}, std::vector<float>(9, 0.0f), {}, true);
    op.AddOutput(DType::kFloat32);
    EXPECT_EQ(op.Run().code(), StatusCode::kInvalidModel);
  }
  {
    // Stride 0.
    SingleOp op(ir::OpType::kCONV_2D, Attrs(ir::Padding::kSame, 0));
    op.AddInput(DType::kFloat32, {1, 2, 2, 1}, std::vector<float>(4, 0.0f));
    op.AddInput(DType::kFloat32, {1, 1, 1, 1}, std::vector<float>(1, 0.0f), {}, true);
    op.AddOutput(DType::kFloat32);
    EXPECT_EQ(op.Run().code(), StatusCode::kInvalidModel);
  }
  {
    // Zero input scale.
    SingleOp op(ir::OpType::kCONV_2D, Attrs(ir::Padding::kValid, 1));
    op.AddInput(DType::kInt8, {1, 1, 1, 1}, std::vector<int8_t>{1}, Quant(0.0f, 0));
    op.AddInput(DType::kInt8, {1, 1, 1, 1}, std::vector<int8_t>{1}, Quant(1.0f, 0), true);
    op.AddOutput(DType::kInt8, Quant(1.0f, 0));
    EXPECT_EQ(op.Run().code(), StatusCode::kInvalidModel);
  }
}

}  // namespace
}  // namespace ql
