// Kernel tests for the shape group: data movement results worked by hand, shape inference, and the
// errors a bad model must produce (naming the op, the value and the rule).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "testing/single_op.h"

namespace ql {
namespace {

using ir::DType;
using ir::OpType;
using testing::Quant;
using testing::SingleOp;

std::vector<float> Iota(int n) {
  std::vector<float> v(n);
  std::iota(v.begin(), v.end(), 0.0f);
  return v;
}

// ---------------------------------------------------------------------------------------------
// RESHAPE, SQUEEZE, EXPAND_DIMS, SHAPE

TEST(Reshape, InfersTheMinusOneDimension) {
  SingleOp op(OpType::kRESHAPE);
  op.AddInput(DType::kFloat32, {2, 3, 4}, Iota(24));
  op.AddInput(DType::kInt32, {2}, std::vector<int32_t>{-1, 8}, {}, true);
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(), (ir::Shape{3, 8}));
  EXPECT_EQ(op.Output<float>(), Iota(24));
}

TEST(Reshape, ElementCountMismatchIsAClearError) {
  SingleOp op(OpType::kRESHAPE);
  op.AddInput(DType::kFloat32, {2, 3}, Iota(6));
  op.AddInput(DType::kInt32, {2}, std::vector<int32_t>{4, 2}, {}, true);
  op.AddOutput(DType::kFloat32);
  Status s = op.Run();
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_NE(s.message().find("RESHAPE"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("[4,2]"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("element count"), std::string::npos) << s.message();
}

TEST(Reshape, UninferableMinusOneIsAnError) {
  SingleOp op(OpType::kRESHAPE);
  op.AddInput(DType::kFloat32, {7}, Iota(7));
  op.AddInput(DType::kInt32, {2}, std::vector<int32_t>{-1, 2}, {}, true);
  op.AddOutput(DType::kFloat32);
  EXPECT_EQ(op.Run().code(), StatusCode::kInvalidModel);
}

TEST(Reshape, ShapeFromOptionsWhenNoShapeTensor) {
  ir::ReshapeAttrs attrs;
  attrs.new_shape = {3, -1};
  attrs.has_new_shape = true;
  SingleOp op(OpType::kRESHAPE, attrs);
  op.AddInput(DType::kInt8, {6}, std::vector<int8_t>{1, 2, 3, 4, 5, 6}, Quant(1.0f, 0));
  op.AddOutput(DType::kInt8, Quant(1.0f, 0));
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(), (ir::Shape{3, 2}));
}

TEST(Reshape, DynamicShapeInputIsRefused) {
  SingleOp op(OpType::kRESHAPE);
  op.AddInput(DType::kFloat32, {2, 3}, Iota(6));
  op.AddInput(DType::kInt32, {2}, std::vector<int32_t>{3, 2}, {}, /*constant=*/false);
  op.AddOutput(DType::kFloat32);
  Status s = op.Run();
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("dynamic shape: input 1 of op 0 is computed at run time"),
            std::string::npos)
      << s.message();
}

TEST(Squeeze, RemovesListedAxesOrAllOnes) {
  ir::ActivationAttrs attrs;
  attrs.squeeze_dims = {-1};
  SingleOp op(OpType::kSQUEEZE, attrs);
  op.AddInput(DType::kFloat32, {1, 3, 1}, Iota(3));
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(), (ir::Shape{1, 3}));

  SingleOp all(OpType::kSQUEEZE);
  all.AddInput(DType::kFloat32, {1, 3, 1}, Iota(3));
  all.AddOutput(DType::kFloat32);
  ASSERT_TRUE(all.Run().ok());
  EXPECT_EQ(all.OutputShape(), (ir::Shape{3}));
}

TEST(ExpandDims, NegativeAxisCountsFromTheNewRank) {
  SingleOp op(OpType::kEXPAND_DIMS);
  op.AddInput(DType::kFloat32, {2, 3}, Iota(6));
  op.AddInput(DType::kInt32, {}, std::vector<int32_t>{-1}, {}, true);
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(), (ir::Shape{2, 3, 1}));
}

TEST(Shape, ReportsTheResolvedShapeAsInt32) {
  SingleOp op(OpType::kSHAPE, ir::TypeAttrs{DType::kUnknown, DType::kInt32});
  op.AddInput(DType::kFloat32, {1, 192, 192, 3}, std::vector<float>{});
  op.AddOutput(DType::kInt32);
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.Output<int32_t>(), (std::vector<int32_t>{1, 192, 192, 3}));
}

// ---------------------------------------------------------------------------------------------
// CONCATENATION, PACK, UNPACK, SPLIT

TEST(Concatenation, UInt8RequantizesInputsWithOtherParameters) {
  ir::AxisAttrs attrs;
  attrs.axis = -1;
  SingleOp op(OpType::kCONCATENATION, attrs);
  const std::vector<uint8_t> a = {0, 255, 10, 20};
  const std::vector<uint8_t> b = {0, 1, 2, 3, 200, 255};
  op.AddInput(DType::kUInt8, {2, 2}, a, Quant(0.5f, 10));   // the output's parameters: copied
  op.AddInput(DType::kUInt8, {2, 3}, b, Quant(0.3f, 7));    // rescaled
  op.AddOutput(DType::kUInt8, Quant(0.5f, 10));
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(), (ir::Shape{2, 5}));
  // a = float32(0.3 * float32(1 / 0.5)) = 0.6f, b = float32(-7 * a); out = round(q*a + b) + 10.
  const float sa = 0.3f * (1.0f / 0.5f);
  const float sb = -7.0f * sa;
  auto rq = [&](uint8_t q) {
    const float v = static_cast<float>(q) * sa + sb;
    return static_cast<uint8_t>(std::clamp(static_cast<int>(std::round(v)) + 10, 0, 255));
  };
  // Hand check of two values: q=0 -> -4.2 -> -4 -> 6; q=255 -> 148.8 -> 149 -> 159.
  EXPECT_EQ(rq(0), 6);
  EXPECT_EQ(rq(255), 159);
  const std::vector<uint8_t> expected = {0, 255, rq(0), rq(1), rq(2),  //
                                         10, 20, rq(3), rq(200), rq(255)};
  EXPECT_EQ(op.Output<uint8_t>(), expected);
}

TEST(Concatenation, Int8WithDifferentParametersIsRefused) {
  ir::AxisAttrs attrs;
  SingleOp op(OpType::kCONCATENATION, attrs);
  op.AddInput(DType::kInt8, {1}, std::vector<int8_t>{1}, Quant(0.5f, 0));
  op.AddInput(DType::kInt8, {1}, std::vector<int8_t>{1}, Quant(0.25f, 0));
  op.AddOutput(DType::kInt8, Quant(0.5f, 0));
  Status s = op.Run();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("input 1"), std::string::npos) << s.message();
}

TEST(Concatenation, FloatAxisZeroWithRelu) {
  ir::AxisAttrs attrs;
  attrs.activation = ir::Activation::kRelu;
  SingleOp op(OpType::kCONCATENATION, attrs);
  op.AddInput(DType::kFloat32, {1, 2}, std::vector<float>{-1, 2});
  op.AddInput(DType::kFloat32, {2, 2}, std::vector<float>{3, -4, 5, 6});
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(), (ir::Shape{3, 2}));
  EXPECT_EQ(op.Output<float>(), (std::vector<float>{0, 2, 3, 0, 5, 6}));
}

TEST(PackUnpack, PackAlongAxisOneThenUnpackBack) {
  ir::AxisAttrs attrs;
  attrs.axis = 1;
  attrs.count = 2;
  SingleOp pack(OpType::kPACK, attrs);
  pack.AddInput(DType::kInt32, {2, 2}, std::vector<int32_t>{1, 2, 3, 4});
  pack.AddInput(DType::kInt32, {2, 2}, std::vector<int32_t>{5, 6, 7, 8});
  pack.AddOutput(DType::kInt32);
  ASSERT_TRUE(pack.Run().ok());
  EXPECT_EQ(pack.OutputShape(), (ir::Shape{2, 2, 2}));
  EXPECT_EQ(pack.Output<int32_t>(), (std::vector<int32_t>{1, 2, 5, 6, 3, 4, 7, 8}));

  SingleOp unpack(OpType::kUNPACK, attrs);
  unpack.AddInput(DType::kInt32, {2, 2, 2}, pack.Output<int32_t>());
  unpack.AddOutput(DType::kInt32);
  unpack.AddOutput(DType::kInt32);
  ASSERT_TRUE(unpack.Run().ok());
  EXPECT_EQ(unpack.OutputShape(0), (ir::Shape{2, 2}));
  EXPECT_EQ(unpack.Output<int32_t>(0), (std::vector<int32_t>{1, 2, 3, 4}));
  EXPECT_EQ(unpack.Output<int32_t>(1), (std::vector<int32_t>{5, 6, 7, 8}));
}

TEST(Pack, ScalarsIntoAVector) {
  // The SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE pattern packs int32 scalars.
  ir::AxisAttrs attrs;
  attrs.count = 3;
  SingleOp op(OpType::kPACK, attrs);
  op.AddInput(DType::kInt32, {}, std::vector<int32_t>{1}, {}, true);
  op.AddInput(DType::kInt32, {}, std::vector<int32_t>{-1}, {}, true);
  op.AddInput(DType::kInt32, {}, std::vector<int32_t>{17}, {}, true);
  op.AddOutput(DType::kInt32);
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(), (ir::Shape{3}));
  EXPECT_EQ(op.Output<int32_t>(), (std::vector<int32_t>{1, -1, 17}));
}

TEST(Split, ThreeEqualPartsAlongTheLastAxis) {
  ir::AxisAttrs attrs;
  attrs.count = 3;
  SingleOp op(OpType::kSPLIT, attrs);
  op.AddInput(DType::kInt32, {}, std::vector<int32_t>{-1}, {}, true);
  op.AddInput(DType::kFloat32, {2, 3}, Iota(6));
  for (int i = 0; i < 3; ++i) op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(2), (ir::Shape{2, 1}));
  EXPECT_EQ(op.Output<float>(2), (std::vector<float>{2, 5}));
}

// ---------------------------------------------------------------------------------------------
// PAD, TRANSPOSE, TILE, GATHER, GATHER_ND

TEST(Pad, QuantizedFillIsTheOutputZeroPoint) {
  SingleOp op(OpType::kPAD);
  op.AddInput(DType::kInt8, {1, 2}, std::vector<int8_t>{5, 6}, Quant(0.1f, -3));
  op.AddInput(DType::kInt32, {2, 2}, std::vector<int32_t>{1, 0, 0, 2}, {}, true);
  op.AddOutput(DType::kInt8, Quant(0.1f, -3));
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(), (ir::Shape{2, 4}));
  EXPECT_EQ(op.Output<int8_t>(), (std::vector<int8_t>{-3, -3, -3, -3, 5, 6, -3, -3}));
}

TEST(PadV2, ConstantFromInputTwo) {
  SingleOp op(OpType::kPADV2);
  op.AddInput(DType::kFloat32, {2}, std::vector<float>{1, 2});
  op.AddInput(DType::kInt64, {1, 2}, std::vector<int64_t>{1, 1}, {}, true);
  op.AddInput(DType::kFloat32, {}, std::vector<float>{-9}, {}, true);
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.Output<float>(), (std::vector<float>{-9, 1, 2, -9}));
}

TEST(Transpose, FourDimensionalPermutation) {
  SingleOp op(OpType::kTRANSPOSE);
  op.AddInput(DType::kFloat32, {2, 3, 4, 5}, Iota(120));
  op.AddInput(DType::kInt32, {4}, std::vector<int32_t>{0, 3, 1, 2}, {}, true);
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  ASSERT_EQ(op.OutputShape(), (ir::Shape{2, 5, 3, 4}));
  const auto out = op.Output<float>();
  // out[n][c][h][w] = in[n][h][w][c] = n*60 + h*20 + w*5 + c.
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 5; ++c)
      for (int h = 0; h < 3; ++h)
        for (int w = 0; w < 4; ++w)
          ASSERT_EQ(out[((n * 5 + c) * 3 + h) * 4 + w], n * 60 + h * 20 + w * 5 + c);
}

TEST(Transpose, RepeatedAxisIsAnError) {
  SingleOp op(OpType::kTRANSPOSE);
  op.AddInput(DType::kFloat32, {2, 3}, Iota(6));
  op.AddInput(DType::kInt32, {2}, std::vector<int32_t>{0, 0}, {}, true);
  op.AddOutput(DType::kFloat32);
  Status s = op.Run();
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_NE(s.message().find("permutation"), std::string::npos) << s.message();
}

TEST(Tile, RepeatsEachAxis) {
  SingleOp op(OpType::kTILE);
  op.AddInput(DType::kInt8, {2, 2}, std::vector<int8_t>{1, 2, 3, 4}, Quant(1.0f, 0));
  op.AddInput(DType::kInt64, {2}, std::vector<int64_t>{2, 3}, {}, true);
  op.AddOutput(DType::kInt8, Quant(1.0f, 0));
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(), (ir::Shape{4, 6}));
  EXPECT_EQ(op.Output<int8_t>(), (std::vector<int8_t>{1, 2, 1, 2, 1, 2,  //
                                                      3, 4, 3, 4, 3, 4,  //
                                                      1, 2, 1, 2, 1, 2,  //
                                                      3, 4, 3, 4, 3, 4}));
}

TEST(Gather, AxisOneWithMatrixIndices) {
  ir::AxisAttrs attrs;
  attrs.axis = 1;
  SingleOp op(OpType::kGATHER, attrs);
  op.AddInput(DType::kFloat32, {2, 3}, Iota(6));
  op.AddInput(DType::kInt32, {2, 2}, std::vector<int32_t>{2, 0, 1, 1});
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(), (ir::Shape{2, 2, 2}));
  EXPECT_EQ(op.Output<float>(), (std::vector<float>{2, 0, 1, 1, 5, 3, 4, 4}));
}

TEST(Gather, OutOfRangeIndexIsAnError) {
  SingleOp op(OpType::kGATHER, ir::AxisAttrs{});
  op.AddInput(DType::kFloat32, {3}, Iota(3));
  op.AddInput(DType::kInt32, {1}, std::vector<int32_t>{3});
  op.AddOutput(DType::kFloat32);
  Status s = op.Run();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("index 3"), std::string::npos) << s.message();
}

TEST(GatherNd, PartialIndicesGatherSlices) {
  SingleOp op(OpType::kGATHER_ND);
  op.AddInput(DType::kInt32, {2, 2, 3},
              std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  op.AddInput(DType::kInt32, {3, 2}, std::vector<int32_t>{1, 0, 0, 1, 1, 1});
  op.AddOutput(DType::kInt32);
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(), (ir::Shape{3, 3}));
  EXPECT_EQ(op.Output<int32_t>(), (std::vector<int32_t>{6, 7, 8, 3, 4, 5, 9, 10, 11}));
}

// ---------------------------------------------------------------------------------------------
// STRIDED_SLICE, SLICE

SingleOp MakeStridedSlice(ir::StridedSliceAttrs attrs, ir::Shape in_shape,
                          std::vector<int32_t> begin, std::vector<int32_t> end,
                          std::vector<int32_t> strides) {
  SingleOp op(OpType::kSTRIDED_SLICE, attrs);
  int64_t n = 1;
  for (int64_t d : in_shape) n *= d;
  op.AddInput(DType::kFloat32, in_shape, Iota(static_cast<int>(n)));
  const int64_t k = static_cast<int64_t>(begin.size());
  op.AddInput(DType::kInt32, {k}, begin, {}, true);
  op.AddInput(DType::kInt32, {k}, end, {}, true);
  op.AddInput(DType::kInt32, {k}, strides, {}, true);
  op.AddOutput(DType::kFloat32);
  return op;
}

TEST(StridedSlice, NegativeStrideWithBeginAndEndMasks) {
  // x = [[0..3], [4..7], [8..11]]; x[::-1, 3:0:-2] -> rows 2, 1, 0; columns 3, 1.
  ir::StridedSliceAttrs attrs;
  attrs.begin_mask = 1;
  attrs.end_mask = 1;
  SingleOp op = MakeStridedSlice(attrs, {3, 4}, {0, 3}, {0, 0}, {-1, -2});
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(), (ir::Shape{3, 2}));
  EXPECT_EQ(op.Output<float>(), (std::vector<float>{11, 9, 7, 5, 3, 1}));
}

TEST(StridedSlice, ShrinkAxisWithNegativeIndex) {
  // x[-1, 1:] on a 3x4 tensor: the last row without its first element, rank 1.
  ir::StridedSliceAttrs attrs;
  attrs.shrink_axis_mask = 1;
  attrs.end_mask = 2;
  SingleOp op = MakeStridedSlice(attrs, {3, 4}, {-1, 1}, {0, 0}, {1, 1});
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(), (ir::Shape{3}));
  EXPECT_EQ(op.Output<float>(), (std::vector<float>{9, 10, 11}));
}

TEST(StridedSlice, EllipsisAndNewAxis) {
  // x[..., newaxis, 1] on a 2x3x4 tensor: shape [2, 3, 1], values x[:, :, 1].
  ir::StridedSliceAttrs attrs;
  attrs.ellipsis_mask = 1;
  attrs.new_axis_mask = 2;
  attrs.shrink_axis_mask = 4;
  SingleOp op = MakeStridedSlice(attrs, {2, 3, 4}, {0, 0, 1}, {0, 0, 2}, {1, 1, 1});
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(), (ir::Shape{2, 3, 1}));
  EXPECT_EQ(op.Output<float>(), (std::vector<float>{1, 5, 9, 13, 17, 21}));
}

TEST(StridedSlice, OutOfRangeBoundsClampAndPartialSpecKeepsTrailingAxes) {
  // x[1:100] on 3x2 with a one-entry spec: rows 1..2, all columns.
  SingleOp op = MakeStridedSlice({}, {3, 2}, {1}, {100}, {1});
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(), (ir::Shape{2, 2}));
  EXPECT_EQ(op.Output<float>(), (std::vector<float>{2, 3, 4, 5}));
}

TEST(StridedSlice, ZeroStrideIsAnError) {
  SingleOp op = MakeStridedSlice({}, {3}, {0}, {3}, {0});
  Status s = op.Run();
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_NE(s.message().find("STRIDED_SLICE"), std::string::npos) << s.message();
}

TEST(Slice, SizeMinusOneMeansToTheEnd) {
  SingleOp op(OpType::kSLICE);
  op.AddInput(DType::kFloat32, {3, 4}, Iota(12));
  op.AddInput(DType::kInt32, {2}, std::vector<int32_t>{1, 2}, {}, true);
  op.AddInput(DType::kInt32, {2}, std::vector<int32_t>{-1, 1}, {}, true);
  op.AddOutput(DType::kFloat32);
  ASSERT_TRUE(op.Run().ok());
  EXPECT_EQ(op.OutputShape(), (ir::Shape{2, 1}));
  EXPECT_EQ(op.Output<float>(), (std::vector<float>{6, 10}));
}

}  // namespace
}  // namespace ql
