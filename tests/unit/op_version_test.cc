// TFLite 2.9's operator versions on hand-built graphs, for the rules the corpus files do not
// exercise (int16 activations, per-channel and hybrid forms, options, ranks above 4), and the
// minimum-runtime table. Each expectation cites the rule of tensorflow/lite/tools/versioning/
// op_version.cc (GetBuiltinOperatorVersion) or runtime_version.cc it checks.
#include "quantlens/formats/tflite/op_version.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ql::tflite {
namespace {

using ir::DType;
using ir::OpType;
using ir::Shape;

class G {
 public:
  // A tensor; `scales` non-empty makes it quantized (per-axis along `axis` when several).
  int T(DType t, Shape shape, std::vector<float> scales = {}, int axis = 0) {
    ir::Tensor x;
    x.dtype = t;
    x.shape = std::move(shape);
    x.quant.scale = scales;
    x.quant.zero_point.assign(scales.size(), 0);
    x.quant.axis = axis;
    g_.tensors.push_back(std::move(x));
    return static_cast<int>(g_.tensors.size()) - 1;
  }
  // A 4-D activation tensor of type t (quantized per tensor unless float).
  int Act(DType t, Shape shape = {1, 8, 8, 4}) {
    return IsFloat(t) ? T(t, std::move(shape)) : T(t, std::move(shape), {0.5f});
  }
  // Adds an op and returns its version.
  int V(OpType type, std::vector<int> in, std::vector<int> out, ir::Attrs attrs = {}) {
    ir::Op op;
    op.type = type;
    op.inputs = std::move(in);
    op.outputs = std::move(out);
    op.attrs = std::move(attrs);
    g_.ops.push_back(std::move(op));
    return ComputeOpVersion(g_, g_.ops.back());
  }
  // The version of a unary op `type` from `in` to `out` types (per-tensor quantized if integer).
  int Unary(OpType type, DType in, DType out, ir::Attrs attrs = {}) {
    return V(type, {Act(in)}, {Act(out)}, std::move(attrs));
  }
  int Binary(OpType type, DType t, Shape a = {1, 8, 8, 4}, Shape b = {1, 8, 8, 4},
             ir::Attrs attrs = {}) {
    return V(type, {Act(t, a), Act(t, b)}, {Act(t, a)}, std::move(attrs));
  }
  ir::Graph& graph() { return g_; }

 private:
  ir::Graph g_;
};

// Per-channel filter scales: one per output channel.
std::vector<float> Scales(int n) { return std::vector<float>(static_cast<size_t>(n), 0.01f); }

TEST(OpVersion, Conv2d) {
  G g;
  auto conv = [&](DType in, DType w, std::vector<float> ws, DType out, Shape in_shape = {1, 8, 8, 4},
                  Shape w_shape = {6, 3, 3, 4}) {
    const DType bias = in == DType::kInt16 ? DType::kInt64 : IsFloat(in) ? DType::kFloat32 : DType::kInt32;
    return g.V(OpType::kCONV_2D,
               {g.Act(in, in_shape), g.T(w, w_shape, ws, 0), g.T(bias, {6})}, {g.Act(out, {1, 6, 6, 6})},
               ir::ConvAttrs{});
  };
  EXPECT_EQ(conv(DType::kFloat32, DType::kFloat32, {}, DType::kFloat32), 1);
  // int8 input, filter and output -> 3, per-tensor or per-channel alike.
  EXPECT_EQ(conv(DType::kInt8, DType::kInt8, Scales(6), DType::kInt8), 3);
  EXPECT_EQ(conv(DType::kUInt8, DType::kUInt8, {0.1f}, DType::kUInt8), 1);
  // Hybrid (float input and output, int8 filter): 2, or 5 when the filter has one scale per
  // output channel (filter dim 0).
  EXPECT_EQ(conv(DType::kFloat32, DType::kInt8, {0.1f}, DType::kFloat32), 2);
  EXPECT_EQ(conv(DType::kFloat32, DType::kInt8, Scales(6), DType::kFloat32), 5);
  // A scale list of another length is not "per channel" to TFLite.
  EXPECT_EQ(conv(DType::kFloat32, DType::kInt8, Scales(3), DType::kFloat32), 2);
  // Grouped convolution (input channels 8, filter input channels 4) -> 6, before any type rule.
  EXPECT_EQ(conv(DType::kInt8, DType::kInt8, Scales(6), DType::kInt8, {1, 8, 8, 8}), 6);
  // int16x8: TFLite 2.9's version-4 rule asks for an int16 *filter*; with the int8 filter of
  // int16x8 no rule applies and the version is 1.
  EXPECT_EQ(conv(DType::kInt16, DType::kInt8, Scales(6), DType::kInt16), 1);
}

TEST(OpVersion, DepthwiseConv2d) {
  G g;
  auto dw = [&](DType in, DType w, std::vector<float> ws, DType out, int dilation = 1) {
    ir::ConvAttrs a;
    a.dilation_h = a.dilation_w = dilation;
    return g.V(OpType::kDEPTHWISE_CONV_2D,
               {g.Act(in), g.T(w, {1, 3, 3, 4}, ws, 3), g.T(DType::kInt32, {4})}, {g.Act(out)}, a);
  };
  EXPECT_EQ(dw(DType::kFloat32, DType::kFloat32, {}, DType::kFloat32), 1);
  // Dilation other than 1 -> 2 (float, uint8 and int16x8 alike).
  EXPECT_EQ(dw(DType::kFloat32, DType::kFloat32, {}, DType::kFloat32, 2), 2);
  EXPECT_EQ(dw(DType::kUInt8, DType::kUInt8, {0.1f}, DType::kUInt8, 2), 2);
  // int8 -> 3, dilation or not.
  EXPECT_EQ(dw(DType::kInt8, DType::kInt8, Scales(4), DType::kInt8, 2), 3);
  // Hybrid: 4, or 6 with one scale per output channel (filter dim 3).
  EXPECT_EQ(dw(DType::kFloat32, DType::kInt8, {0.1f}, DType::kFloat32), 4);
  EXPECT_EQ(dw(DType::kFloat32, DType::kInt8, Scales(4), DType::kFloat32), 6);
  // int16x8: the version-5 rule needs an int16 filter, so int16x8 falls through to 1 / 2.
  EXPECT_EQ(dw(DType::kInt16, DType::kInt8, Scales(4), DType::kInt16), 1);
  EXPECT_EQ(dw(DType::kInt16, DType::kInt8, Scales(4), DType::kInt16, 2), 2);
}

TEST(OpVersion, FullyConnected) {
  G g;
  auto fc = [&](DType in, DType w, std::vector<float> ws, DType out, int bias,
                ir::FullyConnectedAttrs a = {}) {
    std::vector<int> inputs = {g.Act(in, {2, 16}), g.T(w, {8, 16}, ws, 0)};
    if (bias == 1) inputs.push_back(g.T(IsFloat(in) ? DType::kFloat32 : DType::kInt32, {8}));
    if (bias == -1) inputs.push_back(-1);  // omitted optional bias: still an operand
    return g.V(OpType::kFULLY_CONNECTED, inputs, {g.Act(out, {2, 8})}, a);
  };
  EXPECT_EQ(fc(DType::kFloat32, DType::kFloat32, {}, DType::kFloat32, 1), 1);
  // Exactly two operands (no bias at all) -> 6, before the type rules.
  EXPECT_EQ(fc(DType::kFloat32, DType::kFloat32, {}, DType::kFloat32, 0), 6);
  EXPECT_EQ(fc(DType::kInt8, DType::kInt8, {0.1f}, DType::kInt8, 0), 6);
  // An omitted bias written as -1 keeps three operands: not version 6.
  EXPECT_EQ(fc(DType::kFloat32, DType::kFloat32, {}, DType::kFloat32, -1), 1);
  // keep_num_dims -> 5.
  ir::FullyConnectedAttrs keep;
  keep.keep_num_dims = true;
  EXPECT_EQ(fc(DType::kInt8, DType::kInt8, {0.1f}, DType::kInt8, 1, keep), 5);
  // int8 -> 4; per-channel weights change nothing for FULLY_CONNECTED.
  EXPECT_EQ(fc(DType::kInt8, DType::kInt8, {0.1f}, DType::kInt8, 1), 4);
  EXPECT_EQ(fc(DType::kInt8, DType::kInt8, Scales(8), DType::kInt8, 1), 4);
  EXPECT_EQ(fc(DType::kUInt8, DType::kUInt8, {0.1f}, DType::kUInt8, 1), 1);
  // Hybrid -> 3; with asymmetric_quantize_inputs -> 9.
  EXPECT_EQ(fc(DType::kFloat32, DType::kInt8, {0.1f}, DType::kFloat32, 1), 3);
  ir::FullyConnectedAttrs asym;
  asym.asymmetric_quantize_inputs = true;
  EXPECT_EQ(fc(DType::kFloat32, DType::kInt8, Scales(8), DType::kFloat32, 1, asym), 9);
  // int16 input, weights and output -> 7; int16x8 (int8 weights) matches no rule -> 1.
  EXPECT_EQ(fc(DType::kInt16, DType::kInt16, {0.1f}, DType::kInt16, 1), 7);
  EXPECT_EQ(fc(DType::kInt16, DType::kInt8, {0.1f}, DType::kInt16, 1), 1);
}

TEST(OpVersion, AddSubMul) {
  G g;
  ir::BinaryAttrs pot, general;
  general.pot_scale_int16 = false;
  // ADD: int64 -> 4; int16 without power-of-two scales -> 3; int8 -> 2; int16 POT and uint8 -> 1.
  EXPECT_EQ(g.Binary(OpType::kADD, DType::kInt64), 4);
  EXPECT_EQ(g.Binary(OpType::kADD, DType::kInt16, {1, 8, 8, 4}, {1, 8, 8, 4}, general), 3);
  EXPECT_EQ(g.Binary(OpType::kADD, DType::kInt16, {1, 8, 8, 4}, {1, 8, 8, 4}, pot), 1);
  EXPECT_EQ(g.Binary(OpType::kADD, DType::kInt8), 2);
  EXPECT_EQ(g.Binary(OpType::kADD, DType::kUInt8), 1);
  // SUB: int16 general -> 5; int64 -> 4; broadcast with a rank above 4 -> 3; int8 -> 2.
  EXPECT_EQ(g.Binary(OpType::kSUB, DType::kInt16, {1, 8, 8, 4}, {1, 8, 8, 4}, general), 5);
  EXPECT_EQ(g.Binary(OpType::kSUB, DType::kInt64), 4);
  EXPECT_EQ(g.Binary(OpType::kSUB, DType::kFloat32, {2, 1, 8, 8, 4}, {4}), 3);
  EXPECT_EQ(g.Binary(OpType::kSUB, DType::kFloat32, {2, 1, 8, 8, 4}, {2, 1, 8, 8, 4}), 1);
  // An open (-1) batch dim is 1 in the file's `shape`, which is what TFLite compares.
  EXPECT_EQ(g.Binary(OpType::kSUB, DType::kFloat32, {-1, 1, 8, 8, 4}, {1, 1, 8, 8, 4}), 1);
  EXPECT_EQ(g.Binary(OpType::kSUB, DType::kInt8), 2);
  // MUL: int64 -> 5; int16 -> 4 (even with a rescale >= 1); in1*in2/out scale >= 1 -> 3; int8 -> 2.
  EXPECT_EQ(g.Binary(OpType::kMUL, DType::kInt64), 5);
  EXPECT_EQ(g.Binary(OpType::kMUL, DType::kInt16), 4);
  EXPECT_EQ(g.Binary(OpType::kMUL, DType::kInt8), 2);  // 0.5 * 0.5 / 0.5 < 1
  auto mul = [&](DType t, float s1, float s2, float so) {
    return g.V(OpType::kMUL, {g.T(t, {4}, {s1}), g.T(t, {4}, {s2})}, {g.T(t, {4}, {so})});
  };
  EXPECT_EQ(mul(DType::kInt8, 0.5f, 0.5f, 0.25f), 3);   // exactly 1
  EXPECT_EQ(mul(DType::kUInt8, 2.0f, 1.0f, 0.5f), 3);   // uint8 too
  EXPECT_EQ(mul(DType::kInt8, 0.5f, 0.5f, 0.5f), 2);
  EXPECT_EQ(g.Binary(OpType::kMUL, DType::kFloat32), 1);
  // DIV: broadcast with rank above 4 -> 2.
  EXPECT_EQ(g.Binary(OpType::kDIV, DType::kFloat32, {2, 1, 8, 8, 4}, {1, 1, 1, 1, 4}), 2);
  EXPECT_EQ(g.Binary(OpType::kDIV, DType::kFloat32), 1);
  // MAXIMUM/MINIMUM: int16 in and out -> 4; broadcast rank > 4 -> 3; int8 -> 2.
  EXPECT_EQ(g.Binary(OpType::kMAXIMUM, DType::kInt16), 4);
  EXPECT_EQ(g.Binary(OpType::kMINIMUM, DType::kFloat32, {1, 1, 1, 1, 4}, {2, 2, 2, 2, 4}), 3);
  EXPECT_EQ(g.Binary(OpType::kMINIMUM, DType::kInt8), 2);
  // SQUARED_DIFFERENCE: int8 -> 2 only. FLOOR_DIV: float32 -> 2.
  EXPECT_EQ(g.Binary(OpType::kSQUARED_DIFFERENCE, DType::kInt8), 2);
  EXPECT_EQ(g.Binary(OpType::kSQUARED_DIFFERENCE, DType::kInt16), 1);
  EXPECT_EQ(g.Binary(OpType::kFLOOR_DIV, DType::kFloat32), 2);
  EXPECT_EQ(g.Binary(OpType::kFLOOR_DIV, DType::kInt32), 1);
}

TEST(OpVersion, Int16ActivationsOfUnaryOps) {
  G g;
  // SOFTMAX, CONCATENATION, MEAN, REDUCE_MAX/MIN, RELU6: int16 input -> 3, int8 -> 2, else 1.
  for (OpType t : {OpType::kSOFTMAX, OpType::kRELU6, OpType::kMEAN, OpType::kREDUCE_MAX,
                   OpType::kREDUCE_MIN, OpType::kCONCATENATION}) {
    SCOPED_TRACE(std::string(ir::OpTypeName(t)));
    EXPECT_EQ(g.Unary(t, DType::kInt16, DType::kInt16), 3);
    EXPECT_EQ(g.Unary(t, DType::kInt8, DType::kInt8), 2);
    EXPECT_EQ(g.Unary(t, DType::kUInt8, DType::kUInt8), 1);
    EXPECT_EQ(g.Unary(t, DType::kFloat32, DType::kFloat32), 1);
  }
  // LOGISTIC, TANH, MAX_POOL_2D, AVERAGE_POOL_2D: int16 in AND out -> 3, int8 -> 2.
  for (OpType t : {OpType::kLOGISTIC, OpType::kTANH, OpType::kMAX_POOL_2D,
                   OpType::kAVERAGE_POOL_2D}) {
    SCOPED_TRACE(std::string(ir::OpTypeName(t)));
    EXPECT_EQ(g.Unary(t, DType::kInt16, DType::kInt16), 3);
    EXPECT_EQ(g.Unary(t, DType::kInt16, DType::kInt8), 1);
    EXPECT_EQ(g.Unary(t, DType::kInt8, DType::kInt8), 2);
    EXPECT_EQ(g.Unary(t, DType::kUInt8, DType::kUInt8), 1);
  }
  // RELU: int16 -> 3; int8 and uint8 -> 2.
  EXPECT_EQ(g.Unary(OpType::kRELU, DType::kInt16, DType::kInt16), 3);
  EXPECT_EQ(g.Unary(OpType::kRELU, DType::kUInt8, DType::kUInt8), 2);
  // LEAKY_RELU: only int16 -> 2; int8 stays 1.
  EXPECT_EQ(g.Unary(OpType::kLEAKY_RELU, DType::kInt16, DType::kInt16), 2);
  EXPECT_EQ(g.Unary(OpType::kLEAKY_RELU, DType::kInt8, DType::kInt8), 1);
  // SUM, LOG_SOFTMAX, RSQRT: int8 -> 2, nothing for int16.
  EXPECT_EQ(g.Unary(OpType::kSUM, DType::kInt8, DType::kInt8), 2);
  EXPECT_EQ(g.Unary(OpType::kSUM, DType::kInt16, DType::kInt16), 1);
  EXPECT_EQ(g.Unary(OpType::kLOG_SOFTMAX, DType::kInt8, DType::kInt8), 2);
  EXPECT_EQ(g.Unary(OpType::kRSQRT, DType::kInt8, DType::kInt8), 2);
  // ABS: int16 -> 3 when quantized, 4 as plain integers; int8/uint8 -> 2.
  EXPECT_EQ(g.Unary(OpType::kABS, DType::kInt16, DType::kInt16), 3);
  EXPECT_EQ(g.V(OpType::kABS, {g.T(DType::kInt16, {4})}, {g.T(DType::kInt16, {4})}), 4);
  EXPECT_EQ(g.Unary(OpType::kABS, DType::kUInt8, DType::kUInt8), 2);
  // GELU: int8 or uint8 -> 2. HARD_SWISH, ELU, EXP, PRELU: one version.
  EXPECT_EQ(g.Unary(OpType::kGELU, DType::kUInt8, DType::kUInt8), 2);
  EXPECT_EQ(g.Unary(OpType::kGELU, DType::kFloat32, DType::kFloat32), 1);
  EXPECT_EQ(g.Unary(OpType::kHARD_SWISH, DType::kInt8, DType::kInt8), 1);
  EXPECT_EQ(g.Unary(OpType::kEXP, DType::kInt8, DType::kInt8), 1);
  // CAST: int8 on either side -> 3.
  EXPECT_EQ(g.Unary(OpType::kCAST, DType::kFloat32, DType::kInt8), 3);
  EXPECT_EQ(g.Unary(OpType::kCAST, DType::kInt32, DType::kFloat32), 1);
}

TEST(OpVersion, QuantizeDequantize) {
  G g;
  // QUANTIZE: int16 output -> 2; per-channel output (several scales, as many as the quantized
  // dimension) -> 3.
  EXPECT_EQ(g.Unary(OpType::kQUANTIZE, DType::kFloat32, DType::kInt8), 1);
  EXPECT_EQ(g.Unary(OpType::kQUANTIZE, DType::kFloat32, DType::kInt16), 2);
  EXPECT_EQ(g.Unary(OpType::kQUANTIZE, DType::kInt16, DType::kInt8), 1);  // int16x8 requantize
  EXPECT_EQ(g.V(OpType::kQUANTIZE, {g.T(DType::kFloat32, {3, 4})},
                {g.T(DType::kInt8, {3, 4}, Scales(4), 1)}), 3);
  EXPECT_EQ(g.V(OpType::kQUANTIZE, {g.T(DType::kFloat32, {3, 4})},
                {g.T(DType::kInt8, {3, 4}, Scales(4), 0)}), 1);  // 4 scales, dim 0 is 3
  // DEQUANTIZE: int16 or float16 input -> 3; int8 -> 2, per-channel int8 -> 5; uint8 -> 1.
  EXPECT_EQ(g.Unary(OpType::kDEQUANTIZE, DType::kUInt8, DType::kFloat32), 1);
  EXPECT_EQ(g.Unary(OpType::kDEQUANTIZE, DType::kInt8, DType::kFloat32), 2);
  EXPECT_EQ(g.Unary(OpType::kDEQUANTIZE, DType::kInt16, DType::kFloat32), 3);
  // float16 weights (float16 quantization): a float16 constant dequantized to float32.
  EXPECT_EQ(g.V(OpType::kDEQUANTIZE, {g.T(DType::kFloat16, {6, 3, 3, 4})},
                {g.T(DType::kFloat32, {6, 3, 3, 4})}), 3);
  EXPECT_EQ(g.V(OpType::kDEQUANTIZE, {g.T(DType::kInt8, {6, 3, 3, 4}, Scales(6), 0)},
                {g.T(DType::kFloat32, {6, 3, 3, 4})}), 5);
}

TEST(OpVersion, ShapeOps) {
  G g;
  // PAD/PADV2: input rank above 4 -> 4; int16 -> 3; int8 -> 2.
  EXPECT_EQ(g.V(OpType::kPAD, {g.T(DType::kFloat32, {1, 2, 3, 4, 5}), g.T(DType::kInt32, {5, 2})},
                {g.T(DType::kFloat32, {1, 2, 3, 4, 5})}), 4);
  EXPECT_EQ(g.V(OpType::kPADV2, {g.Act(DType::kInt16), g.T(DType::kInt32, {4, 2})}, {g.Act(DType::kInt16)}), 3);
  EXPECT_EQ(g.V(OpType::kPAD, {g.Act(DType::kInt8), g.T(DType::kInt32, {4, 2})}, {g.Act(DType::kInt8)}), 2);
  // STRIDED_SLICE: ellipsis or new-axis mask -> 6; rank above 4 -> 4; bool -> 3; int8 -> 2.
  auto ss = [&](DType t, Shape s, ir::StridedSliceAttrs a = {}) {
    const int64_t r = static_cast<int64_t>(s.size());
    return g.V(OpType::kSTRIDED_SLICE,
               {g.T(t, s), g.T(DType::kInt32, {r}), g.T(DType::kInt32, {r}), g.T(DType::kInt32, {r})},
               {g.T(t, s)}, a);
  };
  ir::StridedSliceAttrs ellipsis;
  ellipsis.ellipsis_mask = 1;
  EXPECT_EQ(ss(DType::kFloat32, {2, 3}, ellipsis), 6);
  EXPECT_EQ(ss(DType::kInt8, {1, 2, 3, 4, 5}), 4);
  EXPECT_EQ(ss(DType::kBool, {2, 3}), 3);
  EXPECT_EQ(ss(DType::kInt8, {2, 3}), 2);
  // TRANSPOSE: int16 -> 5; rank above 4 -> 4; int8 -> 2.
  EXPECT_EQ(g.V(OpType::kTRANSPOSE, {g.Act(DType::kInt16), g.T(DType::kInt32, {4})}, {g.Act(DType::kInt16)}), 5);
  EXPECT_EQ(g.V(OpType::kTRANSPOSE, {g.T(DType::kFloat32, {1, 2, 3, 4, 5}), g.T(DType::kInt32, {5})},
                {g.T(DType::kFloat32, {5, 4, 3, 2, 1})}), 4);
  // SLICE: rank above 4 -> 5; int16 -> 4; int8 -> 2.
  EXPECT_EQ(g.V(OpType::kSLICE, {g.T(DType::kFloat32, {1, 2, 3, 4, 5}), g.T(DType::kInt32, {5}), g.T(DType::kInt32, {5})},
                {g.T(DType::kFloat32, {1, 2, 3, 4, 5})}), 5);
  EXPECT_EQ(g.V(OpType::kSLICE, {g.Act(DType::kInt16), g.T(DType::kInt32, {4}), g.T(DType::kInt32, {4})},
                {g.Act(DType::kInt16)}), 4);
  // SPLIT: the data is input 1: int16 -> 4, int32 -> 3, int8 -> 2.
  EXPECT_EQ(g.V(OpType::kSPLIT, {g.T(DType::kInt32, {}), g.T(DType::kInt32, {4, 2})},
                {g.T(DType::kInt32, {2, 2}), g.T(DType::kInt32, {2, 2})}), 3);
  EXPECT_EQ(g.V(OpType::kSPLIT, {g.T(DType::kInt32, {}), g.Act(DType::kInt16)}, {g.Act(DType::kInt16)}), 4);
  // GATHER: batch_dims != 0 -> 5; int16 params -> 4; int8 -> 2.
  ir::AxisAttrs batch;
  batch.batch_dims = 1;
  EXPECT_EQ(g.V(OpType::kGATHER, {g.T(DType::kFloat32, {2, 5}), g.T(DType::kInt32, {2, 1})},
                {g.T(DType::kFloat32, {2, 1})}, batch), 5);
  EXPECT_EQ(g.V(OpType::kGATHER, {g.Act(DType::kInt16), g.T(DType::kInt32, {2})}, {g.Act(DType::kInt16)}, ir::AxisAttrs{}), 4);
  EXPECT_EQ(g.V(OpType::kGATHER_ND, {g.Act(DType::kInt16), g.T(DType::kInt32, {2, 1})}, {g.Act(DType::kInt16)}), 3);
  // PACK: int8 -> 2, int16 -> 3. UNPACK: int8/uint8 -> 2, int16 -> 4. TILE: int8 -> 3.
  EXPECT_EQ(g.Unary(OpType::kPACK, DType::kInt16, DType::kInt16), 3);
  EXPECT_EQ(g.Unary(OpType::kPACK, DType::kUInt8, DType::kUInt8), 1);
  EXPECT_EQ(g.Unary(OpType::kUNPACK, DType::kUInt8, DType::kUInt8), 2);
  EXPECT_EQ(g.Unary(OpType::kUNPACK, DType::kInt16, DType::kInt16), 4);
  EXPECT_EQ(g.Unary(OpType::kTILE, DType::kInt8, DType::kInt8), 3);
  // RESHAPE, SQUEEZE (non-string), EXPAND_DIMS, SHAPE: one version.
  EXPECT_EQ(g.Unary(OpType::kRESHAPE, DType::kInt16, DType::kInt16), 1);
  EXPECT_EQ(g.Unary(OpType::kSQUEEZE, DType::kInt8, DType::kInt8), 1);
  // ARG_MAX/ARG_MIN: bool -> 3; int8 -> 2.
  EXPECT_EQ(g.V(OpType::kARG_MAX, {g.Act(DType::kInt8), g.T(DType::kInt32, {})}, {g.T(DType::kInt32, {1, 8, 8})}), 2);
  EXPECT_EQ(g.V(OpType::kARG_MIN, {g.T(DType::kBool, {4}), g.T(DType::kInt32, {})}, {g.T(DType::kInt32, {})}), 3);
}

TEST(OpVersion, ResizeAndTransposeConv) {
  G g;
  auto resize = [&](OpType t, DType d, ir::ResizeAttrs a) {
    return g.V(t, {g.Act(d), g.T(DType::kInt32, {2})}, {g.Act(d, {1, 16, 16, 4})}, a);
  };
  ir::ResizeAttrs plain, hpc, corners;
  hpc.half_pixel_centers = true;
  corners.align_corners = true;
  // RESIZE_BILINEAR: int16 -> 4; half_pixel_centers -> 3; int8 -> 2 (align_corners: nothing).
  EXPECT_EQ(resize(OpType::kRESIZE_BILINEAR, DType::kInt16, plain), 4);
  EXPECT_EQ(resize(OpType::kRESIZE_BILINEAR, DType::kInt8, hpc), 3);
  EXPECT_EQ(resize(OpType::kRESIZE_BILINEAR, DType::kInt8, corners), 2);
  EXPECT_EQ(resize(OpType::kRESIZE_BILINEAR, DType::kFloat32, corners), 1);
  // RESIZE_NEAREST_NEIGHBOR: align_corners counts too -> 3.
  EXPECT_EQ(resize(OpType::kRESIZE_NEAREST_NEIGHBOR, DType::kFloat32, corners), 3);
  EXPECT_EQ(resize(OpType::kRESIZE_NEAREST_NEIGHBOR, DType::kInt16, corners), 4);
  // TRANSPOSE_CONV (output shape, weights, input[, bias]): a bias -> 3; int8 weights -> 2.
  auto tconv = [&](DType d, int bias) {
    std::vector<int> in = {g.T(DType::kInt32, {4}), g.T(d, {4, 3, 3, 4}, IsFloat(d) ? std::vector<float>{} : Scales(4)),
                           g.Act(d)};
    if (bias == 1) in.push_back(g.T(IsFloat(d) ? DType::kFloat32 : DType::kInt32, {4}));
    if (bias == -1) in.push_back(-1);
    return g.V(OpType::kTRANSPOSE_CONV, in, {g.Act(d, {1, 16, 16, 4})}, ir::ConvAttrs{});
  };
  EXPECT_EQ(tconv(DType::kFloat32, 1), 3);
  EXPECT_EQ(tconv(DType::kInt8, 1), 3);
  EXPECT_EQ(tconv(DType::kInt8, 0), 2);
  EXPECT_EQ(tconv(DType::kInt8, -1), 2);  // omitted bias has no type
  EXPECT_EQ(tconv(DType::kFloat32, 0), 1);
}

TEST(OpVersion, CustomInternalAndOperatorCodes) {
  G g;
  ir::Graph& graph = g.graph();
  // CUSTOM and quantlens-internal ops -> 1.
  EXPECT_EQ(g.Unary(OpType::kCUSTOM, DType::kInt16, DType::kInt16), 1);
  EXPECT_EQ(g.Unary(OpType::kSWISH, DType::kInt8, DType::kInt8), 1);
  EXPECT_EQ(g.Unary(OpType::kLAYER_NORM, DType::kInt16, DType::kInt16), 1);
  graph.ops.clear();
  // One operator code per builtin, at the highest version among its ops (UpdateOpVersion): an FC
  // without bias (6) lifts the FC with bias (1) too; other builtins keep theirs.
  const int x = g.T(DType::kFloat32, {2, 16}), w = g.T(DType::kFloat32, {16, 16});
  const int b = g.T(DType::kFloat32, {16}), y1 = g.T(DType::kFloat32, {2, 16});
  const int y2 = g.T(DType::kFloat32, {2, 16}), y3 = g.T(DType::kFloat32, {2, 16});
  EXPECT_EQ(g.V(OpType::kFULLY_CONNECTED, {x, w, b}, {y1}, ir::FullyConnectedAttrs{}), 1);
  EXPECT_EQ(g.V(OpType::kFULLY_CONNECTED, {y1, w}, {y2}, ir::FullyConnectedAttrs{}), 6);
  EXPECT_EQ(g.Unary(OpType::kRELU, DType::kFloat32, DType::kFloat32), 1);
  EXPECT_EQ(g.V(OpType::kCUSTOM, {y2}, {y3}), 1);
  EXPECT_EQ(ComputeOperatorCodeVersions(graph), (std::vector<int>{6, 6, 1, 1}));
  EXPECT_EQ(ModelMinRuntimeVersion(graph), "2.1.0");  // FULLY_CONNECTED version 6
}

TEST(MinRuntimeVersion, TableEntries) {
  // Spot checks of TFLite 2.9's runtime_version.cc table.
  EXPECT_EQ(MinRuntimeVersion(OpType::kCONV_2D, 1), "1.5.0");
  EXPECT_EQ(MinRuntimeVersion(OpType::kCONV_2D, 3), "1.14.0");
  EXPECT_EQ(MinRuntimeVersion(OpType::kCONV_2D, 6), "2.9.0");
  EXPECT_EQ(MinRuntimeVersion(OpType::kDEPTHWISE_CONV_2D, 2), "1.12.0");
  EXPECT_EQ(MinRuntimeVersion(OpType::kFULLY_CONNECTED, 9), "2.3.0");
  EXPECT_EQ(MinRuntimeVersion(OpType::kDEQUANTIZE, 1), "1.13.1");
  EXPECT_EQ(MinRuntimeVersion(OpType::kDEQUANTIZE, 5), "2.7.0");
  EXPECT_EQ(MinRuntimeVersion(OpType::kTILE, 1), "1.10.1");
  EXPECT_EQ(MinRuntimeVersion(OpType::kGELU, 2), "2.9.0");
  // Unknown pairs are empty: versions TFLite 2.9 never assigns, version 0, CUSTOM, internal ops.
  EXPECT_EQ(MinRuntimeVersion(OpType::kCONV_2D, 7), "");
  EXPECT_EQ(MinRuntimeVersion(OpType::kFULLY_CONNECTED, 10), "");
  EXPECT_EQ(MinRuntimeVersion(OpType::kRESHAPE, 0), "");
  EXPECT_EQ(MinRuntimeVersion(OpType::kCUSTOM, 1), "");
  EXPECT_EQ(MinRuntimeVersion(OpType::kSWISH, 1), "");
}

TEST(MinRuntimeVersion, EveryBuiltinHasAnIncreasingRow) {
  // Every builtin quantlens knows (but CUSTOM) has version 1 in the table, and a version never
  // needs an older runtime than the one before it.
  for (int i = 0; i < static_cast<int>(OpType::kNumOpTypes); ++i) {
    const auto t = static_cast<OpType>(i);
    if (ir::OpTypeTfliteCode(t) < 0 || t == OpType::kCUSTOM) continue;
    SCOPED_TRACE(std::string(ir::OpTypeName(t)));
    std::string prev = MinRuntimeVersion(t, 1);
    EXPECT_FALSE(prev.empty());
    for (int v = 2; !MinRuntimeVersion(t, v).empty(); ++v) {
      const std::string cur = MinRuntimeVersion(t, v);
      EXPECT_GE(CompareRuntimeVersions(cur, prev), 0) << "version " << v;
      prev = cur;
    }
  }
}

TEST(MinRuntimeVersion, EveryComputedVersionIsInTheTable) {
  // Whatever ComputeOpVersion returns for a builtin must be a version TFLite 2.9 knows: spot
  // check the highest versions the rules above produce.
  const std::pair<OpType, int> highest[] = {
      {OpType::kCONV_2D, 6},  {OpType::kDEPTHWISE_CONV_2D, 6}, {OpType::kFULLY_CONNECTED, 9},
      {OpType::kMUL, 5},      {OpType::kADD, 4},               {OpType::kSUB, 5},
      {OpType::kGATHER, 5},   {OpType::kTRANSPOSE, 5},         {OpType::kSLICE, 5},
      {OpType::kSTRIDED_SLICE, 6}, {OpType::kDEQUANTIZE, 5},   {OpType::kQUANTIZE, 3},
      {OpType::kABS, 4},      {OpType::kCAST, 3},              {OpType::kTILE, 3},
      {OpType::kUNPACK, 4},   {OpType::kPAD, 4},               {OpType::kRESIZE_BILINEAR, 4}};
  for (const auto& [t, v] : highest)
    EXPECT_FALSE(MinRuntimeVersion(t, v).empty()) << ir::OpTypeName(t) << " " << v;
}

TEST(MinRuntimeVersion, CompareIsNumeric) {
  EXPECT_GT(CompareRuntimeVersions("1.14.0", "1.5.0"), 0);
  EXPECT_LT(CompareRuntimeVersions("2.9.0", "2.10.0"), 0);
  EXPECT_EQ(CompareRuntimeVersions("2.3.0", "2.3.0"), 0);
  EXPECT_LT(CompareRuntimeVersions("2.3", "2.3.0"), 0);
  EXPECT_GT(CompareRuntimeVersions("1.13.1", "1.13.0"), 0);
  EXPECT_LT(CompareRuntimeVersions("", "1.5.0"), 0);
}

TEST(MinRuntimeVersion, ModelIsTheMaximumOverOps) {
  G g;
  EXPECT_EQ(ModelMinRuntimeVersion(g.graph()), "");  // no ops
  EXPECT_EQ(g.V(OpType::kCUSTOM, {g.Act(DType::kFloat32)}, {g.Act(DType::kFloat32)}), 1);
  EXPECT_EQ(ModelMinRuntimeVersion(g.graph()), "");  // custom ops have no entry
  EXPECT_EQ(g.Unary(OpType::kRESHAPE, DType::kFloat32, DType::kFloat32), 1);
  EXPECT_EQ(ModelMinRuntimeVersion(g.graph()), "1.5.0");
  EXPECT_EQ(g.Unary(OpType::kDEQUANTIZE, DType::kUInt8, DType::kFloat32), 1);
  EXPECT_EQ(ModelMinRuntimeVersion(g.graph()), "1.13.1");  // "1.13.1" > "1.5.0" numerically
  EXPECT_EQ(g.Unary(OpType::kSOFTMAX, DType::kInt8, DType::kInt8), 2);
  EXPECT_EQ(ModelMinRuntimeVersion(g.graph()), "1.14.0");
  EXPECT_EQ(g.Unary(OpType::kQUANTIZE, DType::kFloat32, DType::kInt16), 2);
  EXPECT_EQ(ModelMinRuntimeVersion(g.graph()), "1.15.0");
  // Over given versions instead: CUSTOM, RESHAPE 1, DEQUANTIZE 4, SOFTMAX 3, QUANTIZE 1.
  EXPECT_EQ(ModelMinRuntimeVersion(g.graph(), {1, 1, 4, 3, 1}), "2.3.0");
  EXPECT_EQ(ModelMinRuntimeVersion(g.graph(), {1, 1, 1, 1, 1}), "1.14.0");
}

TEST(MinRuntimeVersion, MetadataBufferIsSixteenZeroPaddedBytes) {
  std::vector<uint8_t> want(16, 0);
  const std::string v = "1.14.0";
  std::copy(v.begin(), v.end(), want.begin());
  EXPECT_EQ(MinRuntimeVersionBuffer(v), want);
  EXPECT_EQ(MinRuntimeVersionBuffer(""), std::vector<uint8_t>(16, 0));
  // 16 characters or more do not fit with a terminator: TFLite leaves the zeros.
  EXPECT_EQ(MinRuntimeVersionBuffer("1234567890.123456"), std::vector<uint8_t>(16, 0));
  EXPECT_EQ(MinRuntimeVersionBuffer("123456789012.456"), std::vector<uint8_t>(16, 0));
  const std::vector<uint8_t> fifteen = MinRuntimeVersionBuffer("1234567.1234567");
  ASSERT_EQ(fifteen.size(), 16u);
  EXPECT_EQ(fifteen[14], '7');
  EXPECT_EQ(fifteen[15], 0);
}

}  // namespace
}  // namespace ql::tflite
