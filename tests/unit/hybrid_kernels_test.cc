// Dynamic-range ("hybrid") CONV_2D and FULLY_CONNECTED: float32 input, int8 constant weights.
// The input quantizers are checked on hand-computed values (ties, the zero-point choice, all-zero
// rows); the ops through the registry against references written here from the formulas in
// hybrid_kernels.h, compared bit for bit: the accumulator is an exact integer and the float
// operations after it are few and spelled out, so there is no tolerance to argue about.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "quantlens/formats/tflite/reader.h"
#include "quantlens/kernels/hybrid_kernels.h"
#include "testing/single_op.h"
#include "testing/tflite_builder.h"

namespace ql {
namespace {

using ir::DType;
using ql::testing::Quant;
using ql::testing::QuantPerAxis;
using ql::testing::SingleOp;

void ExpectBitEqual(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(std::memcmp(&got[i], &want[i], sizeof(float)), 0)
        << "element " << i << ": got " << got[i] << " want " << want[i];
}

// --- Input quantizers -----------------------------------------------------------------------

TEST(HybridQuantize, SymmetricRoundsHalfAwayFromZero) {
  // range 127 makes the inverse 127/127 = 1 exactly, so the products are the values themselves
  // and the ties are exact: round-half-away gives 3 and -1 where round-half-even gives 2 and 0.
  const std::vector<float> x = {127.0f, 2.5f, -0.5f, -126.6f, 0.0f};
  std::vector<int8_t> q(x.size());
  const float scale = kern::SymmetricQuantizeFloats(x.data(), 5, q.data());
  EXPECT_EQ(scale, 127.0f / 127.0f);
  EXPECT_EQ(q, (std::vector<int8_t>{127, 3, -1, -127, 0}));
}

TEST(HybridQuantize, SymmetricUsesTheLargestMagnitudeOfEitherSign) {
  // max|x| = 2 comes from the negative end: scale 2/127, -2 -> -127, 1 -> 63.5 -> 64 (tie away).
  const std::vector<float> x = {1.0f, -2.0f};
  std::vector<int8_t> q(2);
  EXPECT_EQ(kern::SymmetricQuantizeFloats(x.data(), 2, q.data()), 2.0f / 127.0f);
  EXPECT_EQ(q, (std::vector<int8_t>{64, -127}));
}

TEST(HybridQuantize, SymmetricMultipliesByTheInverse) {
  // With range r = 1.60781193, x * (127 / r) is exactly 4.5 in float and rounds to 5, while
  // x / (r / 127) is 4.49999952 and would round to 4 (found by search; both are float32 values).
  const std::vector<float> x = {1.60781193f, 0.0569697097f};
  std::vector<int8_t> q(2);
  kern::SymmetricQuantizeFloats(x.data(), 2, q.data());
  ASSERT_EQ(x[1] * (127.0f / x[0]), 4.5f);
  EXPECT_EQ(q, (std::vector<int8_t>{127, 5}));
}

TEST(HybridQuantize, SymmetricAllZeroRowHasScaleOne) {
  std::vector<float> x(6, 0.0f);
  std::vector<int8_t> q(6, 5);
  EXPECT_EQ(kern::SymmetricQuantizeFloats(x.data(), 6, q.data()), 1.0f);
  EXPECT_EQ(q, std::vector<int8_t>(6, 0));
}

TEST(HybridQuantize, AsymmetricPositiveRowUsesZeroPointMinus128) {
  // [rmin, rmax] = [0, 2.55]: zero point from the min end is -128 - 0 = -128 with error 128
  // (< 127 + 255 from the max end); -128 <= qmin takes the clamp branch.
  const std::vector<float> x = {0.0f, 1.0f, 2.55f};
  std::vector<int8_t> q(3);
  float scale = 0;
  int32_t zp = 0;
  kern::AsymmetricQuantizeFloats(x.data(), 3, q.data(), &scale, &zp);
  EXPECT_EQ(zp, -128);
  EXPECT_EQ(scale, static_cast<float>(static_cast<double>(2.55f) / 255.0));
  // 1 / scale = 100 (nearly): -128 + 100 = -28; 2.55 -> -128 + 255 = 127.
  EXPECT_EQ(q, (std::vector<int8_t>{-128, -28, 127}));
}

TEST(HybridQuantize, AsymmetricMixedSignRoundsTheZeroPoint) {
  // [-1, 3]: scale 4/255; from the min end z = -128 + 63.75 = -64.25 (error 191.75), from the max
  // end the same value with error 318.25; the min end wins and rounds to -64.
  // q(-1) = round(-64 - 63.75) = -128, q(3) = round(-64 + 191.25) = 127, q(0) = -64.
  const std::vector<float> x = {-1.0f, 3.0f, 0.0f};
  std::vector<int8_t> q(3);
  float scale = 0;
  int32_t zp = 0;
  kern::AsymmetricQuantizeFloats(x.data(), 3, q.data(), &scale, &zp);
  EXPECT_EQ(zp, -64);
  EXPECT_EQ(scale, static_cast<float>(4.0 / 255.0));
  EXPECT_EQ(q, (std::vector<int8_t>{-128, 127, -64}));
}

TEST(HybridQuantize, AsymmetricAllZeroRow) {
  std::vector<float> x(4, 0.0f);
  std::vector<int8_t> q(4, 9);
  float scale = 0;
  int32_t zp = 7;
  kern::AsymmetricQuantizeFloats(x.data(), 4, q.data(), &scale, &zp);
  EXPECT_EQ(scale, 1.0f);
  EXPECT_EQ(zp, 0);
  EXPECT_EQ(q, std::vector<int8_t>(4, 0));
}

// --- CONV_2D ----------------------------------------------------------------------------------

ir::ConvAttrs ConvOpts(ir::Padding padding, int stride, ir::Activation act) {
  ir::ConvAttrs a;
  a.padding = padding;
  a.stride_h = a.stride_w = stride;
  a.activation = act;
  return a;
}

TEST(HybridConv2D, PerTensorOneByOneHandComputed) {
  // Input row {1, -0.5, 0.25, 0}: range 1, q = {127, -64 (tie -63.5 away), 32 (31.75), 0},
  // row scale (1/127) * 0.5 (weight scale). Weights {2, -3}: acc = q * w.
  // Pixel 1 shows the quantization error: -0.5 * 2 * 0.5 + 0.1 would be -0.4 in float, the
  // hybrid kernel gives -128 * (0.5/127) + 0.1.
  SingleOp op(ir::OpType::kCONV_2D, ConvOpts(ir::Padding::kValid, 1, ir::Activation::kNone));
  op.AddInput<float>(DType::kFloat32, {1, 2, 2, 1}, {1.0f, -0.5f, 0.25f, 0.0f});
  op.AddInput<int8_t>(DType::kInt8, {2, 1, 1, 1}, {2, -3}, Quant(0.5f, 0), true);
  op.AddInput<float>(DType::kFloat32, {2}, {0.1f, -0.2f}, {}, true);
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(), (ir::Shape{1, 2, 2, 2}));
  const float s = (1.0f / 127.0f) * 0.5f;
  const int q[4] = {127, -64, 32, 0};
  const int w[2] = {2, -3};
  const float b[2] = {0.1f, -0.2f};
  std::vector<float> want;
  for (int p = 0; p < 4; ++p)
    for (int c = 0; c < 2; ++c) {
      float v = 0.0f;
      v += static_cast<float>(q[p] * w[c]) * s;
      want.push_back(v + b[c]);
    }
  ExpectBitEqual(op.Output<float>(), want);
  EXPECT_NEAR(op.Output<float>()[2], -128 * 0.5 / 127 + 0.1, 1e-6);
}

// Reference hybrid convolution over an already quantized image (q, one scale and zero point per
// batch), written directly from the formulas: padded taps are skipped (their corrected value
// q - z is 0), and the per-tensor / per-channel output formulas are spelled out.
std::vector<float> ReferenceHybridConv(const std::vector<int8_t>& q, const ir::Shape& is,
                                       const std::vector<float>& row_scale,
                                       const std::vector<int32_t>& row_zp,
                                       const std::vector<int8_t>& w, const ir::Shape& ws,
                                       const std::vector<float>& w_scales,
                                       const std::vector<float>& bias, bool same, int stride,
                                       float lo, float hi) {
  const int64_t kh = ws[1], kw = ws[2], oc_n = ws[0], ic_n = is[3];
  const int64_t oh = same ? (is[1] + stride - 1) / stride : (is[1] - kh) / stride + 1;
  const int64_t ow = same ? (is[2] + stride - 1) / stride : (is[2] - kw) / stride + 1;
  const int64_t pad_y = same ? std::max<int64_t>(0, (oh - 1) * stride + kh - is[1]) / 2 : 0;
  const int64_t pad_x = same ? std::max<int64_t>(0, (ow - 1) * stride + kw - is[2]) / 2 : 0;
  std::vector<float> out;
  for (int64_t b = 0; b < is[0]; ++b)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox)
        for (int64_t oc = 0; oc < oc_n; ++oc) {
          int32_t acc = 0;
          for (int64_t y = 0; y < kh; ++y)
            for (int64_t x = 0; x < kw; ++x) {
              const int64_t iy = oy * stride - pad_y + y, ix = ox * stride - pad_x + x;
              if (iy < 0 || iy >= is[1] || ix < 0 || ix >= is[2]) continue;
              for (int64_t ic = 0; ic < ic_n; ++ic)
                acc += (q[((b * is[1] + iy) * is[2] + ix) * ic_n + ic] - row_zp[b]) *
                       w[((oc * kh + y) * kw + x) * ic_n + ic];
            }
          float v;
          if (w_scales.size() == 1) {
            v = 0.0f;
            v += static_cast<float>(acc) * (row_scale[b] * w_scales[0]);
            v = v + bias[oc];
            v = std::min(std::max(v, lo), hi);
          } else {
            v = static_cast<float>(acc) * (w_scales[oc] * row_scale[b]) + bias[oc];
            v = std::max(std::min(v, hi), lo);
          }
          out.push_back(v);
        }
  return out;
}

std::vector<float> Wave(size_t n, float phase, float amp, float offset) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = offset + amp * std::sin(0.7f * i + phase);
  return v;
}

std::vector<int8_t> Weights(size_t n, int seed) {
  std::vector<int8_t> w(n);
  for (size_t i = 0; i < n; ++i) w[i] = static_cast<int8_t>(((i * 37 + seed * 11) % 255) - 127);
  return w;
}

TEST(HybridConv2D, PerTensorSamePaddingTwoBatchesStride2Relu) {
  // Two batch images with different ranges get different row scales; SAME padding with stride 2
  // pads with 0 (the symmetric zero point).
  const ir::Shape is = {2, 5, 4, 3}, ws = {4, 3, 3, 3};
  std::vector<float> in = Wave(60, 0.3f, 1.5f, 0.0f);
  const std::vector<float> in2 = Wave(60, 1.1f, 0.2f, 0.05f);
  in.insert(in.end(), in2.begin(), in2.end());
  const std::vector<int8_t> w = Weights(108, 1);
  const std::vector<float> bias = {0.5f, -0.25f, 0.0f, 1.0f};
  SingleOp op(ir::OpType::kCONV_2D, ConvOpts(ir::Padding::kSame, 2, ir::Activation::kRelu));
  op.AddInput<float>(DType::kFloat32, is, in);
  op.AddInput<int8_t>(DType::kInt8, ws, w, Quant(0.0123f, 0), true);
  op.AddInput<float>(DType::kFloat32, {4}, bias, {}, true);
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  std::vector<int8_t> q(in.size());
  std::vector<float> scales(2);
  for (int b = 0; b < 2; ++b)
    scales[b] = kern::SymmetricQuantizeFloats(in.data() + b * 60, 60, q.data() + b * 60);
  ExpectBitEqual(op.Output<float>(),
                 ReferenceHybridConv(q, is, scales, {0, 0}, w, ws, {0.0123f}, bias, true, 2, 0.0f,
                                     INFINITY));
}

TEST(HybridConv2D, PerChannelPadsWithTheRowZeroPoint) {
  // An all-positive input makes the asymmetric zero point -128: padded taps must hold -128 (so
  // that q - z = 0); padding with 0 would add 128 * w per padded tap.
  const ir::Shape is = {1, 4, 4, 2}, ws = {3, 3, 3, 2};
  const std::vector<float> in = Wave(32, 0.0f, 0.8f, 1.0f);
  const std::vector<int8_t> w = Weights(54, 2);
  const std::vector<float> w_scales = {0.02f, 0.005f, 0.011f};
  const std::vector<float> bias = {0.1f, -0.3f, 0.2f};
  SingleOp op(ir::OpType::kCONV_2D, ConvOpts(ir::Padding::kSame, 1, ir::Activation::kRelu6));
  op.AddInput<float>(DType::kFloat32, is, in);
  op.AddInput<int8_t>(DType::kInt8, ws, w, QuantPerAxis(w_scales, 0), true);
  op.AddInput<float>(DType::kFloat32, {3}, bias, {}, true);
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  std::vector<int8_t> q(in.size());
  float scale = 0;
  int32_t zp = 0;
  kern::AsymmetricQuantizeFloats(in.data(), 32, q.data(), &scale, &zp);
  ASSERT_EQ(zp, -128);
  ExpectBitEqual(op.Output<float>(), ReferenceHybridConv(q, is, {scale}, {zp}, w, ws, w_scales,
                                                         bias, true, 1, 0.0f, 6.0f));
}

TEST(HybridConv2D, ZeroImageGivesTheBias) {
  SingleOp op(ir::OpType::kCONV_2D, ConvOpts(ir::Padding::kValid, 1, ir::Activation::kNone));
  op.AddInput<float>(DType::kFloat32, {1, 2, 2, 1}, std::vector<float>(4, 0.0f));
  op.AddInput<int8_t>(DType::kInt8, {2, 1, 1, 1}, {5, -7}, Quant(0.5f, 0), true);
  op.AddInput<float>(DType::kFloat32, {2}, {0.75f, -1.5f}, {}, true);
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  ExpectBitEqual(op.Output<float>(), {0.75f, -1.5f, 0.75f, -1.5f, 0.75f, -1.5f, 0.75f, -1.5f});
}

// --- FULLY_CONNECTED --------------------------------------------------------------------------

ir::FullyConnectedAttrs FcOpts(ir::Activation act, bool asymmetric) {
  ir::FullyConnectedAttrs a;
  a.activation = act;
  a.asymmetric_quantize_inputs = asymmetric;
  return a;
}

TEST(HybridFullyConnected, SymmetricRowsAndAnAllZeroRow) {
  // Row 0 {0.5, -1, 0.25}: range 1, q = {64 (63.5 away), -127, 32 (31.75)}; row 1 is all zero:
  // scale 1, q = 0, output = bias. Weights [[1, 2, 3], [-4, 5, -6]] scale 0.1.
  SingleOp op(ir::OpType::kFULLY_CONNECTED, FcOpts(ir::Activation::kNone, false));
  op.AddInput<float>(DType::kFloat32, {2, 3}, {0.5f, -1.0f, 0.25f, 0.0f, 0.0f, 0.0f});
  op.AddInput<int8_t>(DType::kInt8, {2, 3}, {1, 2, 3, -4, 5, -6}, Quant(0.1f, 0), true);
  op.AddInput<float>(DType::kFloat32, {2}, {0.01f, 0.02f}, {}, true);
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  const float s = (1.0f / 127.0f) * 0.1f;
  const int acc0 = 64 * 1 - 127 * 2 + 32 * 3;     // -94
  const int acc1 = 64 * -4 - 127 * 5 + 32 * -6;   // -1083
  float v0 = 0.01f, v1 = 0.02f;
  v0 += static_cast<float>(acc0) * s;
  v1 += static_cast<float>(acc1) * s;
  ExpectBitEqual(op.Output<float>(), {v0, v1, 0.01f, 0.02f});
}

TEST(HybridFullyConnected, AsymmetricInputsRemoveTheZeroPoint) {
  // {-1, 3, 0}: scale 4/255, zero point -64, q = {-128, 127, -64} (HybridQuantize above).
  // acc = sum q*w - z * rowsum(w) = sum (q - z) * w.
  SingleOp op(ir::OpType::kFULLY_CONNECTED, FcOpts(ir::Activation::kNone, true));
  op.AddInput<float>(DType::kFloat32, {1, 3}, {-1.0f, 3.0f, 0.0f});
  op.AddInput<int8_t>(DType::kInt8, {2, 3}, {1, 2, 3, -4, 5, -6}, Quant(0.1f, 0), true);
  op.AddInput<float>(DType::kFloat32, {2}, {0.01f, 0.02f}, {}, true);
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  const float s = static_cast<float>(4.0 / 255.0) * 0.1f;
  const int acc0 = (-128 + 64) * 1 + (127 + 64) * 2 + 0 * 3;    // 318
  const int acc1 = (-128 + 64) * -4 + (127 + 64) * 5 + 0 * -6;  // 1211
  float v0 = 0.01f, v1 = 0.02f;
  v0 += static_cast<float>(acc0) * s;
  v1 += static_cast<float>(acc1) * s;
  ExpectBitEqual(op.Output<float>(), {v0, v1});
}

TEST(HybridFullyConnected, WholeZeroInputGivesTheActivatedBias) {
  SingleOp op(ir::OpType::kFULLY_CONNECTED, FcOpts(ir::Activation::kRelu, false));
  op.AddInput<float>(DType::kFloat32, {2, 2}, std::vector<float>(4, 0.0f));
  op.AddInput<int8_t>(DType::kInt8, {2, 2}, {1, 2, 3, 4}, Quant(0.1f, 0), true);
  op.AddInput<float>(DType::kFloat32, {2}, {-0.5f, 0.5f}, {}, true);
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  ExpectBitEqual(op.Output<float>(), {0.0f, 0.5f, 0.0f, 0.5f});
}

// --- Refusals ---------------------------------------------------------------------------------

Status RunConv(ir::ConvAttrs attrs, DType wt, ir::Quantization wq, DType bias_t = DType::kFloat32,
               bool constant_weights = true) {
  SingleOp op(ir::OpType::kCONV_2D, attrs);
  op.AddInput<float>(DType::kFloat32, {1, 3, 3, 1}, std::vector<float>(9, 1.0f));
  op.AddInput<int8_t>(wt, {2, 1, 1, 1}, {1, 2}, std::move(wq), constant_weights);
  if (bias_t == DType::kFloat32)
    op.AddInput<float>(bias_t, {2}, {0.0f, 0.0f}, {}, true);
  else
    op.AddInput<int32_t>(bias_t, {2}, {0, 0}, {}, true);
  op.AddOutput(DType::kFloat32);
  return op.Run();
}

TEST(HybridRefusals, SayWhatAndWhy) {
  const ir::ConvAttrs plain = ConvOpts(ir::Padding::kValid, 1, ir::Activation::kNone);
  ir::ConvAttrs dilated = plain;
  dilated.dilation_h = 2;
  Status s = RunConv(dilated, DType::kInt8, Quant(0.1f, 0));
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("dilation 2x1"), std::string::npos) << s.message();

  s = RunConv(plain, DType::kUInt8, Quant(0.1f, 128));
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);

  s = RunConv(plain, DType::kInt8, QuantPerAxis({0.1f, 0.1f}, 0));
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("identical"), std::string::npos) << s.message();

  s = RunConv(plain, DType::kInt8, QuantPerAxis({0.1f, 0.2f}, 3));
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);

  s = RunConv(plain, DType::kInt8, Quant(0.1f, 0), DType::kInt32);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);

  s = RunConv(plain, DType::kInt8, Quant(0.1f, 0), DType::kFloat32, /*constant_weights=*/false);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);

  s = RunConv(plain, DType::kInt8, Quant(0.1f, 3));
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);  // asymmetric int8 weights

  SingleOp fc(ir::OpType::kFULLY_CONNECTED, FcOpts(ir::Activation::kNone, false));
  fc.AddInput<float>(DType::kFloat32, {1, 2}, {1.0f, 2.0f});
  fc.AddInput<int8_t>(DType::kInt8, {2, 2}, {1, 2, 3, 4}, QuantPerAxis({0.1f, 0.2f}, 0), true);
  fc.AddOutput(DType::kFloat32);
  // Per-axis hybrid FULLY_CONNECTED weights run as TFLite 2.9 runs them: scaled by the legacy
  // per-tensor scale, 0, so the output is the (absent) bias (tests/diff/int16_kernels_diff_test).
  s = fc.Run();
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(fc.Output<float>(), (std::vector<float>{0.0f, 0.0f}));
}

TEST(HybridReader, ReadsAsymmetricQuantizeInputs) {
  for (bool asym : {false, true}) {
    testing::ModelSpec m = testing::FcModel();
    m.options = [asym](flatbuffers::FlatBufferBuilder& b) {
      return testing::tfl::CreateFullyConnectedOptions(
                 b, testing::tfl::ActivationFunctionType::NONE,
                 testing::tfl::FullyConnectedOptionsWeightsFormat::DEFAULT, false, asym)
          .Union();
    };
    const testing::Bytes bytes = testing::Build(m);
    auto g = tflite::ReadTfliteBuffer(bytes, "fc.tflite");
    ASSERT_TRUE(g.ok()) << g.status().message();
    const auto* a = std::get_if<ir::FullyConnectedAttrs>(&g->ops[0].attrs);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->asymmetric_quantize_inputs, asym);
  }
}

}  // namespace
}  // namespace ql
