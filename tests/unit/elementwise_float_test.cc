// Tests of the float and integer elementwise kernels: broadcasting, float arithmetic with fused
// activations, activations at known points, FLOOR_DIV, CAST and unary math.
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "quantlens/kernels/broadcast.h"
#include "testing/single_op.h"

namespace ql {
namespace {

using ir::DType;
using ir::OpType;
using testing::SingleOp;

TEST(Broadcast, ShapesFollowNumpyRules) {
  EXPECT_EQ(*kern::BroadcastShapes({2, 1, 3}, {4, 1}), (ir::Shape{2, 4, 3}));
  EXPECT_EQ(*kern::BroadcastShapes({}, {5}), (ir::Shape{5}));
  EXPECT_EQ(*kern::BroadcastShapes({1}, {}), (ir::Shape{1}));
  EXPECT_EQ(*kern::BroadcastShapes({3, 0}, {1, 1}), (ir::Shape{3, 0}));
  auto bad = kern::BroadcastShapes({2, 3}, {4});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("[2,3]"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("[4]"), std::string::npos) << bad.status().message();
}

// [2, 1, 3] + [4, 1] -> [2, 4, 3]: out[i, j, k] = a[i, 0, k] + b[j, 0].
TEST(FloatAdd, BroadcastsBothOperands) {
  std::vector<float> a = {1, 2, 3, 10, 20, 30};
  std::vector<float> b = {100, 200, 300, 400};
  SingleOp op(OpType::kADD, ir::BinaryAttrs{});
  op.AddInput<float>(DType::kFloat32, {2, 1, 3}, a);
  op.AddInput<float>(DType::kFloat32, {4, 1}, b);
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  ASSERT_EQ(op.OutputShape(), (ir::Shape{2, 4, 3}));
  const std::vector<float> y = op.Output<float>();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 3; ++k) EXPECT_EQ(y[(i * 4 + j) * 3 + k], a[i * 3 + k] + b[j]);
}

TEST(FloatAdd, IncompatibleShapesNameBothShapesAndTheOp) {
  SingleOp op(OpType::kADD, ir::BinaryAttrs{});
  op.AddInput<float>(DType::kFloat32, {2, 3}, std::vector<float>(6, 0.0f));
  op.AddInput<float>(DType::kFloat32, {4}, std::vector<float>(4, 0.0f));
  op.AddOutput(DType::kFloat32);
  const Status s = op.Run();
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_NE(s.message().find("ADD"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("[2,3]"), std::string::npos) << s.message();
}

// Fused RELU6 clamps; with no activation TFLite still clamps to +-FLT_MAX, so +inf becomes
// FLT_MAX, while NaN passes through.
TEST(FloatArithmetic, FusedActivationsAndClampToFltMax) {
  SingleOp sub(OpType::kSUB, ir::BinaryAttrs{ir::Activation::kRelu6});
  sub.AddInput<float>(DType::kFloat32, {3}, {10.0f, 1.5f, -3.0f});
  sub.AddInput<float>(DType::kFloat32, {1}, {1.0f});
  sub.AddOutput(DType::kFloat32);
  ASSERT_TRUE(sub.Run().ok());
  EXPECT_EQ(sub.Output<float>(), (std::vector<float>{6.0f, 0.5f, 0.0f}));

  const float inf = std::numeric_limits<float>::infinity();
  SingleOp mul(OpType::kMUL, ir::BinaryAttrs{});
  mul.AddInput<float>(DType::kFloat32, {3}, {inf, 2.0f, std::nanf("")});
  mul.AddInput<float>(DType::kFloat32, {3}, {1.0f, -3.0f, 1.0f});
  mul.AddOutput(DType::kFloat32);
  ASSERT_TRUE(mul.Run().ok());
  const std::vector<float> y = mul.Output<float>();
  EXPECT_EQ(y[0], std::numeric_limits<float>::max());
  EXPECT_EQ(y[1], -6.0f);
  EXPECT_TRUE(std::isnan(y[2]));

  SingleOp div(OpType::kDIV, ir::BinaryAttrs{});
  div.AddInput<float>(DType::kFloat32, {2}, {1.0f, 2.0f});
  div.AddInput<float>(DType::kFloat32, {2}, {3.0f, 7.0f});
  div.AddOutput(DType::kFloat32);
  ASSERT_TRUE(div.Run().ok());
  EXPECT_EQ(div.Output<float>(), (std::vector<float>{1.0f / 3.0f, 2.0f / 7.0f}));
}

TEST(IntArithmetic, Int32AndInt64) {
  SingleOp add(OpType::kADD, ir::BinaryAttrs{});
  add.AddInput<int32_t>(DType::kInt32, {3}, {1, -5, std::numeric_limits<int32_t>::max()});
  add.AddInput<int32_t>(DType::kInt32, {}, {2});
  add.AddOutput(DType::kInt32);
  ASSERT_TRUE(add.Run().ok());
  // INT32_MAX + 2 wraps to INT32_MIN + 1, as TFLite's int32 addition does on every target; the
  // no-activation clamp bounds are the type bounds and leave it alone.
  EXPECT_EQ(add.Output<int32_t>(),
            (std::vector<int32_t>{3, -3, std::numeric_limits<int32_t>::min() + 1}));

  SingleOp mul(OpType::kMUL, ir::BinaryAttrs{ir::Activation::kRelu});
  mul.AddInput<int64_t>(DType::kInt64, {2}, {3, -3});
  mul.AddInput<int64_t>(DType::kInt64, {2}, {4, 4});
  mul.AddOutput(DType::kInt64);
  ASSERT_TRUE(mul.Run().ok());
  EXPECT_EQ(mul.Output<int64_t>(), (std::vector<int64_t>{12, 0}));
}

TEST(BinaryFloat, MaxMinSquaredDifferencePow) {
  auto run = [](OpType t, std::vector<float> a, std::vector<float> b) {
    SingleOp op(t);
    op.AddInput<float>(DType::kFloat32, {static_cast<int64_t>(a.size())}, a);
    op.AddInput<float>(DType::kFloat32, {static_cast<int64_t>(b.size())}, b);
    op.AddOutput(DType::kFloat32);
    EXPECT_TRUE(op.Run().ok());
    return op.Output<float>();
  };
  EXPECT_EQ(run(OpType::kMAXIMUM, {1, -2, 3}, {0, 0, 5}), (std::vector<float>{1, 0, 5}));
  EXPECT_EQ(run(OpType::kMINIMUM, {1, -2, 3}, {0, 0, 5}), (std::vector<float>{0, -2, 3}));
  EXPECT_EQ(run(OpType::kSQUARED_DIFFERENCE, {1, -2, 3}, {4, 2, 3}), (std::vector<float>{9, 16, 0}));
  EXPECT_EQ(run(OpType::kPOW, {2, 9, -2}, {10, 0.5f, 3}), (std::vector<float>{1024, 3, -8}));
}

TEST(FloorDiv, Int32RoundsTowardNegativeInfinity) {
  SingleOp op(OpType::kFLOOR_DIV);
  op.AddInput<int32_t>(DType::kInt32, {8}, {7, -7, 7, -7, 0, -1, 6, std::numeric_limits<int32_t>::min()});
  op.AddInput<int32_t>(DType::kInt32, {8}, {2, 2, -2, -2, 3, 5, -3, 7});
  op.AddOutput(DType::kInt32);
  ASSERT_TRUE(op.Run().ok());
  // -2^31 / 7 = -306783378.29 -> -306783379
  EXPECT_EQ(op.Output<int32_t>(), (std::vector<int32_t>{3, -4, -4, 3, 0, -1, -2, -306783379}));
}

TEST(FloorDiv, Float32Floors) {
  SingleOp op(OpType::kFLOOR_DIV);
  op.AddInput<float>(DType::kFloat32, {3}, {7.0f, -7.0f, 7.5f});
  op.AddInput<float>(DType::kFloat32, {1}, {-2.0f});
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.Output<float>(), (std::vector<float>{-4.0f, 3.0f, -4.0f}));
}

TEST(FloorDiv, DivisionByZeroIsAnError) {
  SingleOp op(OpType::kFLOOR_DIV);
  op.AddInput<int32_t>(DType::kInt32, {3}, {1, 2, 3});
  op.AddInput<int32_t>(DType::kInt32, {3}, {1, 0, 1});
  op.AddOutput(DType::kInt32);
  const Status s = op.Run();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("FLOOR_DIV"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("element 1"), std::string::npos) << s.message();
}

TEST(FloatActivations, KnownPoints) {
  auto run = [](OpType t, std::vector<float> x, ir::Attrs attrs = {}) {
    SingleOp op(t, std::move(attrs));
    op.AddInput<float>(DType::kFloat32, {static_cast<int64_t>(x.size())}, x);
    op.AddOutput(DType::kFloat32);
    EXPECT_TRUE(op.Run().ok()) << ir::OpTypeName(t);
    return op.Output<float>();
  };
  EXPECT_EQ(run(OpType::kRELU, {-1.0f, 0.0f, 2.5f}), (std::vector<float>{0.0f, 0.0f, 2.5f}));
  EXPECT_EQ(run(OpType::kRELU6, {-1.0f, 3.0f, 7.0f}), (std::vector<float>{0.0f, 3.0f, 6.0f}));
  EXPECT_EQ(run(OpType::kRELU_N1_TO_1, {-3.0f, 0.5f, 2.0f}), (std::vector<float>{-1.0f, 0.5f, 1.0f}));
  ir::ActivationAttrs leaky;
  leaky.alpha = 0.2f;
  EXPECT_EQ(run(OpType::kLEAKY_RELU, {-5.0f, 0.0f, 4.0f}, leaky),
            (std::vector<float>{-5.0f * 0.2f, 0.0f, 4.0f}));
  ir::ActivationAttrs capped;
  capped.max_value = 1.5f;
  EXPECT_EQ(run(OpType::kRELU, {-1.0f, 1.0f, 2.0f}, capped), (std::vector<float>{0.0f, 1.0f, 1.5f}));
  // HARD_SWISH: x * relu6(x + 3) / 6.
  EXPECT_EQ(run(OpType::kHARD_SWISH, {-4.0f, 1.0f, 3.0f, -1.5f}),
            (std::vector<float>{-0.0f, 4.0f / 6.0f, 3.0f, -0.375f}));
  const std::vector<float> logistic = run(OpType::kLOGISTIC, {0.0f, 2.0f});
  EXPECT_EQ(logistic[0], 0.5f);
  EXPECT_NEAR(logistic[1], 0.880797077977882, 1e-7);
  const std::vector<float> tanh = run(OpType::kTANH, {0.0f, 1.0f});
  EXPECT_EQ(tanh[0], 0.0f);
  EXPECT_NEAR(tanh[1], 0.761594155955765, 1e-7);
  const std::vector<float> elu = run(OpType::kELU, {-1.0f, 2.0f});
  EXPECT_NEAR(elu[0], -0.632120558828558, 1e-7);
  EXPECT_EQ(elu[1], 2.0f);
  // GELU(1) = 0.5 * (1 + erf(1 / sqrt 2)) = 0.841344746; the tanh form gives 0.841191990.
  EXPECT_NEAR(run(OpType::kGELU, {1.0f})[0], 0.841344746068543, 1e-7);
  ir::ActivationAttrs approx;
  approx.approximate = true;
  EXPECT_NEAR(run(OpType::kGELU, {1.0f}, approx)[0], 0.841191990607, 1e-6);
}

TEST(FloatActivations, PreluBroadcastsAlphaPerChannel) {
  SingleOp op(OpType::kPRELU);
  op.AddInput<float>(DType::kFloat32, {2, 2}, {-1.0f, -2.0f, 3.0f, -4.0f});
  op.AddInput<float>(DType::kFloat32, {2}, {0.5f, 0.25f}, {}, true);
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.Output<float>(), (std::vector<float>{-0.5f, -0.5f, 3.0f, -1.0f}));
}

TEST(UnaryMath, Float32Functions) {
  auto run = [](OpType t, std::vector<float> x) {
    SingleOp op(t);
    op.AddInput<float>(DType::kFloat32, {static_cast<int64_t>(x.size())}, x);
    op.AddOutput(DType::kFloat32);
    EXPECT_TRUE(op.Run().ok()) << ir::OpTypeName(t);
    return op.Output<float>();
  };
  EXPECT_EQ(run(OpType::kSQRT, {4.0f, 2.0f}), (std::vector<float>{2.0f, std::sqrt(2.0f)}));
  EXPECT_EQ(run(OpType::kRSQRT, {4.0f}), (std::vector<float>{0.5f}));
  EXPECT_EQ(run(OpType::kEXP, {0.0f}), (std::vector<float>{1.0f}));
  EXPECT_EQ(run(OpType::kLOG, {1.0f}), (std::vector<float>{0.0f}));
  EXPECT_EQ(run(OpType::kABS, {-2.5f, 3.0f}), (std::vector<float>{2.5f, 3.0f}));
  EXPECT_EQ(run(OpType::kNEG, {-2.5f, 3.0f}), (std::vector<float>{2.5f, -3.0f}));
  EXPECT_EQ(run(OpType::kSQUARE, {-3.0f}), (std::vector<float>{9.0f}));
  EXPECT_EQ(run(OpType::kFLOOR, {-1.5f, 1.5f}), (std::vector<float>{-2.0f, 1.0f}));
}

TEST(Cast, StaticCastSemantics) {
  {
    SingleOp op(OpType::kCAST);
    op.AddInput<float>(DType::kFloat32, {4}, {1.9f, -1.9f, 0.5f, -0.0f});
    op.AddOutput(DType::kInt32);
    ASSERT_TRUE(op.Run().ok());
    EXPECT_EQ(op.Output<int32_t>(), (std::vector<int32_t>{1, -1, 0, 0}));
  }
  {
    SingleOp op(OpType::kCAST);
    op.AddInput<int32_t>(DType::kInt32, {3}, {300, -1, 0});
    op.AddOutput(DType::kUInt8);
    ASSERT_TRUE(op.Run().ok());
    EXPECT_EQ(op.Output<uint8_t>(), (std::vector<uint8_t>{44, 255, 0}));
  }
  {
    SingleOp op(OpType::kCAST);
    op.AddInput<int32_t>(DType::kInt32, {3}, {2, 0, -7});
    op.AddOutput(DType::kBool);
    ASSERT_TRUE(op.Run().ok());
    EXPECT_EQ(op.Output<uint8_t>(), (std::vector<uint8_t>{1, 0, 1}));
  }
  {
    SingleOp op(OpType::kCAST);
    op.AddInput<uint8_t>(DType::kBool, {2}, {1, 0});
    op.AddOutput(DType::kFloat32);
    ASSERT_TRUE(op.Run().ok());
    EXPECT_EQ(op.Output<float>(), (std::vector<float>{1.0f, 0.0f}));
  }
  {
    SingleOp op(OpType::kCAST);
    op.AddInput<int64_t>(DType::kInt64, {2}, {int64_t{1} << 40, -3});
    op.AddOutput(DType::kFloat32);
    ASSERT_TRUE(op.Run().ok());
    EXPECT_EQ(op.Output<float>(), (std::vector<float>{1099511627776.0f, -3.0f}));
  }
  {
    SingleOp op(OpType::kCAST);
    op.AddInput<float>(DType::kFloat32, {1}, {1.0f});
    op.AddOutput(DType::kString);
    EXPECT_EQ(op.Run().code(), StatusCode::kUnsupported);
  }
}

TEST(Activations, QuantizedHardSwishIsRefusedClearly) {
  SingleOp op(OpType::kHARD_SWISH);
  op.AddInput<int8_t>(DType::kInt8, {1}, {0}, testing::Quant(0.1f, 0));
  op.AddOutput(DType::kInt8, testing::Quant(0.1f, 0));
  const Status s = op.Run();
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("HARD_SWISH"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("int8"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace ql
