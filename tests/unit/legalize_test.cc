// LegalizeForTflite on hand-built graphs: batch-norm folding (and when it is refused), lowering to
// MUL + ADD, activation fusion (and when it is refused), each lowering of an internal op checked
// numerically against the internal op's kernel, identity removal, constant folding and naming.
#include "quantlens/passes/legalize.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "keras_test_model.h"
#include "quantlens/formats/keras/reader.h"
#include "quantlens/passes/graph_edit.h"
#include "quantlens/runtime/interpreter.h"

namespace ql::passes {
namespace {

using ir::OpType;

// ---- building and running graphs ----

struct Builder {
  ir::Graph g;
  std::mt19937 rng{7};

  Builder() {
    g.source_path = "test.h5";
    g.format = ir::SourceFormat::kKerasH5;
  }
  int Input(const std::string& layer, ir::Shape s) {
    int t = AddFloatTensor(g, layer, s, layer);
    g.inputs.push_back(t);
    g.layer_outputs.push_back({layer, 0, t});
    return t;
  }
  int Const(const std::string& name, ir::Shape s, std::vector<float> v) {
    return *AddFloatConstant(g, name, s, v, name.substr(0, name.find('/')));
  }
  int Random(const std::string& name, ir::Shape s, float lo, float hi) {
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(static_cast<size_t>(ir::ShapeProduct(s)));
    for (float& x : v) x = d(rng);
    return Const(name, s, v);
  }
  // Appends an op of `layer` writing a new tensor of shape `s`, recorded as the layer's output.
  int Op(OpType type, std::vector<int> in, ir::Shape s, ir::Attrs attrs, const std::string& layer) {
    int t = AddFloatTensor(g, layer + "/0", s, layer);
    ir::Op op;
    op.type = type;
    op.inputs = std::move(in);
    op.outputs = {t};
    op.attrs = std::move(attrs);
    op.layer = layer;
    g.ops.push_back(std::move(op));
    g.layer_outputs.push_back({layer, 0, t});
    return t;
  }
  // BATCH_NORM over `axis` of x with random statistics (and gamma/beta unless left out).
  int BatchNorm(int x, int axis, const std::string& layer, bool gamma = true, bool beta = true) {
    const int64_t c = g.tensors[x].shape[axis];
    int ga = gamma ? Random(layer + "/gamma", {c}, 0.5f, 2.0f) : -1;
    int be = beta ? Random(layer + "/beta", {c}, -1.0f, 1.0f) : -1;
    int mean = Random(layer + "/mean", {c}, -0.5f, 0.5f);
    int var = Random(layer + "/var", {c}, 0.1f, 3.0f);
    ir::NormAttrs a;
    a.axes = {axis};
    a.epsilon = 1e-3f;
    a.center = beta;
    a.scale = gamma;
    const ir::Shape s = g.tensors[x].shape;
    return Op(OpType::kBATCH_NORM, {x, ga, be, mean, var}, s, a, layer);
  }
  int Conv(int x, int64_t out_c, const std::string& layer, bool bias = true,
           ir::Activation act = ir::Activation::kNone) {
    const ir::Shape s = g.tensors[x].shape;  // a copy: adding constants reallocates g.tensors
    int w = Random(layer + "/kernel", {out_c, 3, 3, s[3]}, -0.5f, 0.5f);
    std::vector<int> in = {x, w};
    if (bias) in.push_back(Random(layer + "/bias", {out_c}, -0.2f, 0.2f));
    ir::ConvAttrs a;
    a.padding = ir::Padding::kSame;
    a.activation = act;
    return Op(OpType::kCONV_2D, in, {s[0], s[1], s[2], out_c}, a, layer);
  }
  void Output(int t) { g.outputs.push_back(t); }
};

std::vector<float> RandomInput(const ir::Graph& g, int input, uint32_t seed, float lo = -3, float hi = 3) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  ir::Shape s = g.tensors[g.inputs[input]].shape;
  for (auto& dim : s) dim = dim < 0 ? 1 : dim;
  std::vector<float> v(static_cast<size_t>(ir::ShapeProduct(s)));
  for (float& x : v) x = d(rng);
  return v;
}

std::vector<std::vector<float>> Run(const ir::Graph& g, const std::vector<std::vector<float>>& inputs) {
  auto interp = rt::Interpreter::Create(g);
  EXPECT_TRUE(interp.ok()) << interp.status().message();
  if (!interp.ok()) return {};
  for (size_t i = 0; i < inputs.size(); ++i)
    EXPECT_TRUE((*interp)->SetInput(static_cast<int>(i), inputs[i].data(), inputs[i].size() * 4).ok());
  Status st = (*interp)->Invoke();
  EXPECT_TRUE(st.ok()) << st.message();
  std::vector<std::vector<float>> outs;
  for (int o = 0; o < (*interp)->num_outputs(); ++o) {
    const rt::TensorRef& r = (*interp)->output(o);
    outs.emplace_back(r.as<float>(), r.as<float>() + r.num_elements());
  }
  return outs;
}

// Largest |a - b| / max(|b|, floor) over all outputs, where an output's floor is the larger of
// `abs_floor` and 1e-3 of its largest magnitude: float rounding differences (a fold, a reordered
// sum) are relative to the terms summed, not to a result that happens to cancel to near zero.
double MaxDeviation(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b,
                    double abs_floor = 1e-3) {
  double m = 0;
  EXPECT_EQ(a.size(), b.size());
  for (size_t o = 0; o < std::min(a.size(), b.size()); ++o) {
    EXPECT_EQ(a[o].size(), b[o].size());
    double big = 0;
    for (float v : b[o]) big = std::max(big, std::fabs(static_cast<double>(v)));
    const double floor = std::max(abs_floor, 1e-3 * big);
    for (size_t i = 0; i < std::min(a[o].size(), b[o].size()); ++i) {
      const double d = std::fabs(static_cast<double>(a[o][i]) - b[o][i]);
      if (std::isnan(a[o][i]) != std::isnan(b[o][i])) return INFINITY;
      m = std::max(m, d / std::max(std::fabs(static_cast<double>(b[o][i])), floor));
    }
  }
  return m;
}

// Legalizes, checks the result is all builtins and verifies, and compares outputs on 3 inputs.
// Folding reorders float rounding (sum(w * s * x) against s * sum(w * x)), hence 1e-4 by default,
// the corpus test's bound; exact rewrites are checked with 0.
ir::Graph LegalizeAndCompare(const ir::Graph& g, LegalizeReport* r, double tol = 1e-4,
                             const LegalizeOptions& opts = {}) {
  auto out = LegalizeForTflite(g, opts, r);
  EXPECT_TRUE(out.ok()) << out.status().message();
  if (!out.ok()) return {};
  EXPECT_TRUE(ir::VerifyGraph(*out).ok());
  for (const ir::Op& op : out->ops) EXPECT_GE(ir::OpTypeTfliteCode(op.type), 0) << ir::OpTypeName(op.type);
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    std::vector<std::vector<float>> in;
    for (size_t i = 0; i < g.inputs.size(); ++i) in.push_back(RandomInput(g, static_cast<int>(i), seed));
    EXPECT_LE(MaxDeviation(Run(*out, in), Run(g, in)), tol) << "seed " << seed;
  }
  return *out;
}

int CountOps(const ir::Graph& g, OpType t) {
  return static_cast<int>(std::count_if(g.ops.begin(), g.ops.end(), [&](const ir::Op& op) { return op.type == t; }));
}

int LayerTensor(const ir::Graph& g, const std::string& layer) {
  for (const auto& lo : g.layer_outputs)
    if (lo.layer == layer) return lo.tensor;
  return -1;
}

bool HasAction(const LegalizeReport& r, const std::string& text) {
  return std::any_of(r.actions.begin(), r.actions.end(),
                     [&](const std::string& a) { return a.find(text) != std::string::npos; });
}

// ---- batch-norm folding ----

TEST(Legalize, FoldsBatchNormIntoConvWithBias) {
  Builder b;
  int x = b.Input("input", {1, 6, 6, 3});
  int c = b.Conv(x, 4, "conv2d");
  b.Output(b.BatchNorm(c, 3, "batch_normalization"));
  const ir::Graph before = b.g;
  LegalizeReport r;
  ir::Graph g = LegalizeAndCompare(b.g, &r);
  ASSERT_EQ(g.ops.size(), 1u);
  EXPECT_EQ(g.ops[0].type, OpType::kCONV_2D);
  EXPECT_EQ(r.batch_norms_folded, 1);
  EXPECT_EQ(r.batch_norms_lowered, 0);
  EXPECT_TRUE(HasAction(r, "folded batch_normalization into conv2d")) << r.actions[0];
  // The batch norm layer's output is the conv's output; the conv's own output is gone.
  EXPECT_EQ(LayerTensor(g, "batch_normalization"), g.ops[0].outputs[0]);
  EXPECT_EQ(LayerTensor(g, "conv2d"), -1);
  EXPECT_EQ(g.tensors[g.ops[0].outputs[0]].name, "batch_normalization");
  EXPECT_EQ(g.tensors[g.ops[0].inputs[1]].name, "conv2d/kernel");
  EXPECT_EQ(g.tensors[g.ops[0].inputs[2]].name, "conv2d/bias");
  EXPECT_EQ(g.tensors.size(), 4u);  // input, kernel, bias, output: the old constants are dropped
  EXPECT_EQ(b.g.ops.size(), before.ops.size());  // the input graph is not changed
  EXPECT_EQ(r.ops_before, 2);
  EXPECT_EQ(r.ops_after, 1);

  // The folded constants are the exact fold rounded once: w * s and b * s + (beta - mean * s)
  // with s = gamma / sqrt(var + eps), all in double.
  const ir::Op& conv = before.ops[0];
  const ir::Op& bn = before.ops[1];
  auto data = [&](int t) { return FloatData(before.tensors[t]); };
  const auto w = data(conv.inputs[1]), bias = data(conv.inputs[2]), gamma = data(bn.inputs[1]),
             beta = data(bn.inputs[2]), mean = data(bn.inputs[3]), var = data(bn.inputs[4]);
  const auto w2 = FloatData(g.tensors[g.ops[0].inputs[1]]);
  const auto b2 = FloatData(g.tensors[g.ops[0].inputs[2]]);
  ASSERT_EQ(w2.size(), w.size());
  const size_t inner = w.size() / 4;
  for (size_t o = 0; o < 4; ++o) {
    const double sc = gamma[o] / std::sqrt(static_cast<double>(var[o]) + static_cast<double>(1e-3f));
    EXPECT_EQ(b2[o], static_cast<float>(bias[o] * sc + (beta[o] - mean[o] * sc))) << o;
    for (size_t k = 0; k < inner; ++k)
      EXPECT_EQ(w2[o * inner + k], static_cast<float>(w[o * inner + k] * sc)) << o << "," << k;
  }
}

TEST(Legalize, FoldsBatchNormIntoConvWithoutBiasCreatingOne) {
  Builder b;
  int x = b.Input("input", {1, 5, 5, 2});
  int c = b.Conv(x, 3, "conv2d", /*bias=*/false);
  b.Output(b.BatchNorm(c, 3, "bn", /*gamma=*/false, /*beta=*/true));
  LegalizeReport r;
  ir::Graph g = LegalizeAndCompare(b.g, &r);
  ASSERT_EQ(g.ops.size(), 1u);
  ASSERT_EQ(g.ops[0].inputs.size(), 3u);
  EXPECT_EQ(g.tensors[g.ops[0].inputs[2]].shape, (ir::Shape{3}));
  EXPECT_TRUE(HasAction(r, "bias created"));
}

TEST(Legalize, FoldsBatchNormIntoDepthwiseAndDense) {
  Builder b;
  int x = b.Input("input", {1, 5, 5, 2});
  ir::ConvAttrs da;
  da.depth_multiplier = 2;
  da.padding = ir::Padding::kValid;
  int dw = b.Op(OpType::kDEPTHWISE_CONV_2D,
                {x, b.Random("dw/kernel", {1, 3, 3, 4}, -1, 1), b.Random("dw/bias", {4}, -1, 1)},
                {1, 3, 3, 4}, da, "dw");
  int bn1 = b.BatchNorm(dw, 3, "bn1");
  ir::ReshapeAttrs ra;
  ra.new_shape = {1, 36};
  ra.has_new_shape = true;
  int32_t shape_v[2] = {1, 36};
  int flat = b.Op(OpType::kRESHAPE, {bn1, *AddInt32Constant(b.g, "flatten/shape", {2}, shape_v)}, {1, 36},
                  ra, "flatten");
  int fc = b.Op(OpType::kFULLY_CONNECTED,
                {flat, b.Random("dense/kernel", {5, 36}, -1, 1)}, {1, 5}, ir::FullyConnectedAttrs{}, "dense");
  b.Output(b.BatchNorm(fc, 1, "bn2"));
  LegalizeReport r;
  ir::Graph g = LegalizeAndCompare(b.g, &r);
  EXPECT_EQ(r.batch_norms_folded, 2);
  EXPECT_EQ(CountOps(g, OpType::kBATCH_NORM), 0);
  EXPECT_EQ(CountOps(g, OpType::kMUL), 0);
  EXPECT_EQ(g.ops.size(), 3u);  // depthwise, reshape, fully connected
}

TEST(Legalize, FoldsBatchNormIntoTransposeConvWithoutBias) {
  Builder b;
  int x = b.Input("input", {1, 2, 2, 3});
  int32_t os[4] = {1, 4, 4, 2};
  ir::ConvAttrs a;
  a.padding = ir::Padding::kSame;
  a.stride_h = a.stride_w = 2;
  int tc = b.Op(OpType::kTRANSPOSE_CONV,
                {*AddInt32Constant(b.g, "up/output_shape", {4}, os), b.Random("up/kernel", {2, 3, 3, 3}, -1, 1), x},
                {1, 4, 4, 2}, a, "up");
  b.Output(b.BatchNorm(tc, 3, "bn"));
  LegalizeReport r;
  ir::Graph g = LegalizeAndCompare(b.g, &r);
  ASSERT_EQ(g.ops.size(), 1u);
  EXPECT_EQ(r.batch_norms_folded, 1);
  ASSERT_EQ(g.ops[0].inputs.size(), 4u);  // the bias goes to TRANSPOSE_CONV's 4th input
  EXPECT_EQ(g.tensors[g.ops[0].inputs[3]].name, "up/bias");
  EXPECT_EQ(g.tensors[g.ops[0].inputs[0]].name, "up/output_shape");
}

TEST(Legalize, ChainedBatchNormsFoldIntoTheSameConv) {
  Builder b;
  int x = b.Input("input", {1, 4, 4, 2});
  int c = b.Conv(x, 2, "conv2d");
  int bn1 = b.BatchNorm(c, 3, "bn1");
  b.Output(b.BatchNorm(bn1, 3, "bn2"));
  LegalizeReport r;
  ir::Graph g = LegalizeAndCompare(b.g, &r);
  EXPECT_EQ(r.batch_norms_folded, 2);
  EXPECT_EQ(g.ops.size(), 1u);
}

TEST(Legalize, FoldRefusedWhenConvOutputHasAnotherConsumer) {
  Builder b;
  int x = b.Input("input", {1, 4, 4, 2});
  int c = b.Conv(x, 2, "conv2d");
  int bn = b.BatchNorm(c, 3, "bn");
  b.Output(b.Op(OpType::kADD, {c, bn}, {1, 4, 4, 2}, ir::BinaryAttrs{}, "add"));
  LegalizeReport r;
  ir::Graph g = LegalizeAndCompare(b.g, &r);
  EXPECT_EQ(r.batch_norms_folded, 0);
  EXPECT_EQ(r.batch_norms_lowered, 1);
  EXPECT_EQ(CountOps(g, OpType::kCONV_2D), 1);
  EXPECT_EQ(CountOps(g, OpType::kMUL), 1);
  EXPECT_EQ(CountOps(g, OpType::kADD), 2);
  EXPECT_TRUE(HasAction(r, "lowered bn to MUL + ADD"));
  EXPECT_NE(LayerTensor(g, "conv2d"), -1);  // still materialized
}

TEST(Legalize, FoldRefusedWhenConvOutputIsAModelOutputOrHasActivation) {
  {
    Builder b;
    int x = b.Input("input", {1, 4, 4, 2});
    int c = b.Conv(x, 2, "conv2d");
    b.Output(c);
    b.Output(b.BatchNorm(c, 3, "bn"));
    LegalizeReport r;
    LegalizeAndCompare(b.g, &r);
    EXPECT_EQ(r.batch_norms_folded, 0);
    EXPECT_EQ(r.batch_norms_lowered, 1);
  }
  {
    Builder b;
    int x = b.Input("input", {1, 4, 4, 2});
    int c = b.Conv(x, 2, "conv2d", true, ir::Activation::kRelu);
    b.Output(b.BatchNorm(c, 3, "bn"));
    LegalizeReport r;
    ir::Graph g = LegalizeAndCompare(b.g, &r);
    EXPECT_EQ(r.batch_norms_folded, 0);
    EXPECT_EQ(r.batch_norms_lowered, 1);
    EXPECT_EQ(std::get<ir::ConvAttrs>(g.ops[0].attrs).activation, ir::Activation::kRelu);
  }
}

TEST(Legalize, StandaloneBatchNormOnAnInnerAxisBroadcastsItsConstants) {
  Builder b;
  int x = b.Input("input", {-1, 3, 4, 5});
  b.Output(b.BatchNorm(x, 1, "bn"));
  LegalizeReport r;
  ir::Graph g = LegalizeAndCompare(b.g, &r);
  ASSERT_EQ(g.ops.size(), 2u);
  EXPECT_EQ(g.ops[0].type, OpType::kMUL);
  EXPECT_EQ(g.ops[1].type, OpType::kADD);
  EXPECT_EQ(g.tensors[g.ops[0].inputs[1]].shape, (ir::Shape{3, 1, 1}));
  EXPECT_EQ(g.tensors[g.ops[0].inputs[1]].name, "bn/scale");
  EXPECT_EQ(g.tensors[g.ops[1].inputs[1]].name, "bn/offset");
  EXPECT_EQ(g.ops[0].version, 0);
}

TEST(Legalize, BatchNormWithNonPositiveVarianceIsAnError) {
  Builder b;
  int x = b.Input("input", {1, 2});
  int ga = b.Const("bn/gamma", {2}, {1, 1});
  int be = b.Const("bn/beta", {2}, {0, 0});
  int mean = b.Const("bn/mean", {2}, {0, 0});
  int var = b.Const("bn/var", {2}, {1, -5});
  ir::NormAttrs a;
  a.axes = {1};
  b.Output(b.Op(OpType::kBATCH_NORM, {x, ga, be, mean, var}, {1, 2}, a, "bn"));
  auto out = LegalizeForTflite(b.g);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("layer 'bn' (BatchNormalization)"), std::string::npos)
      << out.status().message();
  EXPECT_NE(out.status().message().find("moving_variance[1]"), std::string::npos);
}

// ---- activation fusion ----

TEST(Legalize, FusesReluIntoConvAndRelu6IntoAddAndPool) {
  Builder b;
  int x = b.Input("input", {1, 4, 4, 2});
  int c = b.Conv(x, 2, "conv2d");
  int relu = b.Op(OpType::kRELU, {c}, {1, 4, 4, 2}, {}, "re_lu");
  int add = b.Op(OpType::kADD, {relu, x}, {1, 4, 4, 2}, ir::BinaryAttrs{}, "add");
  int r6 = b.Op(OpType::kRELU6, {add}, {1, 4, 4, 2}, {}, "re_lu_1");
  ir::PoolAttrs pa;
  pa.filter_h = pa.filter_w = pa.stride_h = pa.stride_w = 2;
  int pool = b.Op(OpType::kMAX_POOL_2D, {r6}, {1, 2, 2, 2}, pa, "max_pool");
  b.Output(b.Op(OpType::kRELU_N1_TO_1, {pool}, {1, 2, 2, 2}, {}, "clip"));
  LegalizeReport r;
  ir::Graph g = LegalizeAndCompare(b.g, &r);
  ASSERT_EQ(g.ops.size(), 3u);
  EXPECT_EQ(std::get<ir::ConvAttrs>(g.ops[0].attrs).activation, ir::Activation::kRelu);
  EXPECT_EQ(std::get<ir::BinaryAttrs>(g.ops[1].attrs).activation, ir::Activation::kRelu6);
  EXPECT_EQ(std::get<ir::PoolAttrs>(g.ops[2].attrs).activation, ir::Activation::kReluN1To1);
  EXPECT_EQ(r.activations_fused, 3);
  EXPECT_TRUE(HasAction(r, "fused re_lu (RELU) into conv2d"));
  EXPECT_EQ(LayerTensor(g, "re_lu"), g.ops[0].outputs[0]);
  EXPECT_EQ(LayerTensor(g, "conv2d"), -1);
  EXPECT_EQ(g.tensors[g.ops[0].outputs[0]].name, "re_lu");
}

TEST(Legalize, FusionRefusedWhenOpAlreadyHasActivationOrOutputIsShared) {
  Builder b;
  int x = b.Input("input", {1, 4, 4, 2});
  int c = b.Conv(x, 2, "conv2d", true, ir::Activation::kRelu6);
  int relu = b.Op(OpType::kRELU, {c}, {1, 4, 4, 2}, {}, "re_lu");
  int c2 = b.Conv(relu, 2, "conv2d_1");
  int relu2 = b.Op(OpType::kRELU, {c2}, {1, 4, 4, 2}, {}, "re_lu_1");
  b.Output(b.Op(OpType::kADD, {c2, relu2}, {1, 4, 4, 2}, ir::BinaryAttrs{}, "add"));
  LegalizeReport r;
  ir::Graph g = LegalizeAndCompare(b.g, &r);
  EXPECT_EQ(r.activations_fused, 0);
  EXPECT_EQ(CountOps(g, OpType::kRELU), 2);
}

TEST(Legalize, TanhAndConcatenationAreNotFused) {
  Builder b;
  int x = b.Input("input", {1, 4, 4, 2});
  int c = b.Conv(x, 2, "conv2d");
  int th = b.Op(OpType::kTANH, {c}, {1, 4, 4, 2}, {}, "tanh");
  ir::AxisAttrs ca;
  ca.axis = 3;
  int cat = b.Op(OpType::kCONCATENATION, {th, x}, {1, 4, 4, 4}, ca, "concat");
  b.Output(b.Op(OpType::kRELU, {cat}, {1, 4, 4, 4}, {}, "re_lu"));
  LegalizeReport r;
  ir::Graph g = LegalizeAndCompare(b.g, &r);
  EXPECT_EQ(r.activations_fused, 0);
  EXPECT_EQ(g.ops.size(), 4u);
}

// ---- lowering of internal ops, each against the internal op's kernel ----

// One internal op of `type` on an input of `shape`, legalized and compared on inputs in [lo, hi].
void CheckLowering(OpType type, ir::Attrs attrs, ir::Shape shape, float lo, float hi, double tol,
                   double abs_floor = 1e-3, std::vector<int> extra_inputs_builder = {}) {
  Builder b;
  int x = b.Input("input", shape);
  std::vector<int> in = {x};
  for (int t : extra_inputs_builder) in.push_back(t);
  b.Output(b.Op(type, in, shape, attrs, "act"));
  LegalizeReport r;
  auto out = LegalizeForTflite(b.g, {}, &r);
  ASSERT_TRUE(out.ok()) << out.status().message();
  for (const ir::Op& op : out->ops) EXPECT_GE(ir::OpTypeTfliteCode(op.type), 0) << ir::OpTypeName(op.type);
  EXPECT_EQ(r.ops_lowered, 1);
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    std::vector<std::vector<float>> inputs = {RandomInput(b.g, 0, seed, lo, hi)};
    inputs[0][0] = lo;  // the extremes too
    inputs[0][1] = hi;
    inputs[0][2] = 0.0f;
    EXPECT_LE(MaxDeviation(Run(*out, inputs), Run(b.g, inputs), abs_floor), tol)
        << ir::OpTypeName(type) << " seed " << seed;
  }
}

TEST(Legalize, LowersHardSigmoidKeras2AndKeras3) {
  ir::ActivationAttrs k2;
  k2.alpha = 0.2f;
  k2.beta = 0.5f;
  CheckLowering(OpType::kHARD_SIGMOID, k2, {1, 64}, -6, 6, 0.0);  // the same float ops: exact
  ir::ActivationAttrs k3;
  k3.alpha = 1.0f / 6.0f;
  k3.beta = 0.5f;
  CheckLowering(OpType::kHARD_SIGMOID, k3, {1, 64}, -6, 6, 0.0);
}

TEST(Legalize, LowersSwishSoftsignSelu) {
  CheckLowering(OpType::kSWISH, {}, {1, 256}, -20, 20, 1e-6);
  CheckLowering(OpType::kSOFTSIGN, {}, {1, 256}, -50, 50, 0.0);
  CheckLowering(OpType::kSELU, {}, {1, 256}, -10, 10, 0.0);
}

TEST(Legalize, LowersSoftplus) {
  // Relative accuracy where the value is not tiny; absolute 1e-7 below (see the lowering).
  CheckLowering(OpType::kSOFTPLUS, {}, {1, 256}, -30, 100, 1e-6, 0.1);
  CheckLowering(OpType::kSOFTPLUS, {}, {1, 256}, -30, -5, 2e-7, 1.0);
}

TEST(Legalize, LowersLayerNorm) {
  for (bool gamma : {true, false}) {
    for (bool beta : {true, false}) {
      Builder b;
      int x = b.Input("input", {-1, 3, 8});
      int ga = gamma ? b.Random("ln/gamma", {8}, 0.5f, 2) : -1;
      int be = beta ? b.Random("ln/beta", {8}, -1, 1) : -1;
      ir::NormAttrs a;
      a.axes = {2};
      a.epsilon = 1e-3f;
      a.center = beta;
      a.scale = gamma;
      b.Output(b.Op(OpType::kLAYER_NORM, {x, ga, be}, {-1, 3, 8}, a, "ln"));
      LegalizeReport r;
      ir::Graph g = LegalizeAndCompare(b.g, &r, 2e-5);
      EXPECT_EQ(CountOps(g, OpType::kMEAN), 2);
      EXPECT_EQ(CountOps(g, OpType::kRSQRT), 1);
      EXPECT_EQ(CountOps(g, OpType::kSQUARED_DIFFERENCE), 1);
    }
  }
  // Two trailing axes.
  Builder b;
  int x = b.Input("input", {1, 4, 3, 5});
  ir::NormAttrs a;
  a.axes = {2, 3};
  b.Output(b.Op(OpType::kLAYER_NORM,
                {x, b.Random("ln/gamma", {3, 5}, 0.5f, 2), b.Random("ln/beta", {3, 5}, -1, 1)},
                {1, 4, 3, 5}, a, "ln"));
  LegalizeReport r;
  LegalizeAndCompare(b.g, &r, 2e-5);
  EXPECT_EQ(r.ops_lowered, 1);
}

TEST(Legalize, LowersKerasReluMaxValueAndRefusesThreshold) {
  ir::ActivationAttrs m;
  m.max_value = 2.5f;
  CheckLowering(OpType::kRELU, m, {1, 64}, -5, 5, 0.0);

  Builder b;
  int x = b.Input("input", {1, 8});
  ir::ActivationAttrs t;
  t.threshold = 0.5f;
  b.Output(b.Op(OpType::kRELU, {x}, {1, 8}, t, "re_lu_7"));
  auto out = LegalizeForTflite(b.g);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(out.status().message().find("layer 're_lu_7' (ReLU)"), std::string::npos) << out.status().message();
  EXPECT_NE(out.status().message().find("threshold 0.5"), std::string::npos);

  // A RELU whose Keras options are all defaults is just RELU.
  Builder c;
  int y = c.Input("input", {1, 8});
  c.Output(c.Op(OpType::kRELU, {y}, {1, 8}, ir::ActivationAttrs{}, "re_lu"));
  LegalizeReport r;
  ir::Graph g = LegalizeAndCompare(c.g, &r);
  ASSERT_EQ(g.ops.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(g.ops[0].attrs));
  EXPECT_EQ(r.ops_lowered, 0);
}

TEST(Legalize, SoftmaxOverAnInnerAxisIsTransposed) {
  ir::SoftmaxAttrs a;
  a.axis = 1;
  CheckLowering(OpType::kSOFTMAX, a, {1, 5, 3}, -4, 4, 1e-6);
  Builder b;
  int x = b.Input("input", {1, 5, 3});
  ir::SoftmaxAttrs last;
  last.axis = 2;  // the last axis, spelled positively: only respelled
  b.Output(b.Op(OpType::kSOFTMAX, {x}, {1, 5, 3}, last, "softmax"));
  LegalizeReport r;
  ir::Graph g = LegalizeAndCompare(b.g, &r, 0.0);
  ASSERT_EQ(g.ops.size(), 1u);
  EXPECT_EQ(std::get<ir::SoftmaxAttrs>(g.ops[0].attrs).axis, -1);
}

TEST(Legalize, LoweredActivationThenFusedWhereItCan) {
  // A lowered SELU starts with RELU(x); x comes from a conv that other ops also read, so the
  // RELU must not be fused into it.
  Builder b;
  int x = b.Input("input", {1, 4, 4, 2});
  int c = b.Conv(x, 2, "conv2d");
  b.Output(b.Op(OpType::kSELU, {c}, {1, 4, 4, 2}, {}, "selu"));
  LegalizeReport r;
  ir::Graph g = LegalizeAndCompare(b.g, &r, 1e-6);
  EXPECT_EQ(r.activations_fused, 0);
  EXPECT_EQ(std::get<ir::ConvAttrs>(g.ops[0].attrs).activation, ir::Activation::kNone);
}

// ---- identities, constants, dead ops, naming ----

TEST(Legalize, RemovesIdentityReshapeAndKeepsRealOnes) {
  Builder b;
  int x = b.Input("input", {-1, 6});
  int32_t same[2] = {-1, 6};
  int32_t other[3] = {-1, 2, 3};
  int c = b.Op(OpType::kRELU6, {x}, {-1, 6}, {}, "relu6");
  int r1 = b.Op(OpType::kRESHAPE, {c, *AddInt32Constant(b.g, "reshape/shape", {2}, same)}, {-1, 6},
                ir::ReshapeAttrs{}, "reshape");
  b.Output(b.Op(OpType::kRESHAPE, {r1, *AddInt32Constant(b.g, "reshape_1/shape", {3}, other)},
                {-1, 2, 3}, ir::ReshapeAttrs{}, "reshape_1"));
  LegalizeReport r;
  ir::Graph g = LegalizeAndCompare(b.g, &r, 0.0);
  EXPECT_EQ(r.identities_removed, 1);
  ASSERT_EQ(g.ops.size(), 2u);
  EXPECT_EQ(LayerTensor(g, "reshape"), LayerTensor(g, "relu6"));  // same values, same tensor
  EXPECT_EQ(g.tensors[g.ops[0].outputs[0]].name, "relu6");
  EXPECT_EQ(g.tensors[g.ops[1].inputs[1]].name, "reshape_1/shape");
}

TEST(Legalize, IdentityFeedingAModelOutputFromAnInputIsKept) {
  Builder b;
  int x = b.Input("input", {1, 6});
  int32_t same[2] = {1, 6};
  b.Output(b.Op(OpType::kRESHAPE, {x, *AddInt32Constant(b.g, "reshape/shape", {2}, same)}, {1, 6},
                ir::ReshapeAttrs{}, "reshape"));
  LegalizeReport r;
  ir::Graph g = LegalizeAndCompare(b.g, &r, 0.0);
  EXPECT_EQ(g.ops.size(), 1u);
  EXPECT_EQ(r.identities_removed, 0);
}

TEST(Legalize, FoldsConstantSubgraphsAndRemovesDeadOps) {
  Builder b;
  int x = b.Input("input", {1, 3});
  int k1 = b.Const("k/a", {3}, {1, 2, 3});
  int k2 = b.Const("k/b", {3}, {10, 20, 30});
  int sum = b.Op(OpType::kADD, {k1, k2}, {3}, ir::BinaryAttrs{}, "k");
  int dead = b.Op(OpType::kNEG, {x}, {1, 3}, {}, "unused");
  (void)dead;
  b.Output(b.Op(OpType::kMUL, {x, sum}, {1, 3}, ir::BinaryAttrs{}, "mul"));
  LegalizeReport r;
  ir::Graph g = LegalizeAndCompare(b.g, &r, 0.0);
  EXPECT_EQ(r.constants_folded, 1);
  EXPECT_EQ(r.dead_ops_removed, 1);
  ASSERT_EQ(g.ops.size(), 1u);
  const ir::Tensor& folded = g.tensors[g.ops[0].inputs[1]];
  EXPECT_TRUE(folded.is_constant);
  EXPECT_EQ(FloatData(folded), (std::vector<float>{11, 22, 33}));
  EXPECT_EQ(LayerTensor(g, "unused"), -1);
  // Names are unique.
  std::set<std::string> names;
  for (const auto& t : g.tensors) EXPECT_TRUE(names.insert(t.name).second) << t.name;
}

TEST(Legalize, PassesCanBeTurnedOff) {
  Builder b;
  int x = b.Input("input", {1, 4, 4, 2});
  int c = b.Conv(x, 2, "conv2d");
  int bn = b.BatchNorm(c, 3, "bn");
  b.Output(b.Op(OpType::kRELU, {bn}, {1, 4, 4, 2}, {}, "re_lu"));
  LegalizeOptions o;
  o.fold_batch_norm = false;
  o.fuse_activations = false;
  LegalizeReport r;
  ir::Graph g = LegalizeAndCompare(b.g, &r, 1e-5, o);
  EXPECT_EQ(g.ops.size(), 4u);  // conv, mul, add, relu
  LegalizeReport all;
  ir::Graph g2 = LegalizeAndCompare(b.g, &all);
  EXPECT_EQ(g2.ops.size(), 1u);  // conv with the batch norm folded and relu fused
  EXPECT_EQ(all.Summary(), "3 -> 1 ops: 1 batch norms folded, 1 activations fused");
}

TEST(Legalize, InvalidInputGraphIsAnError) {
  Builder b;
  int x = b.Input("input", {1, 4});
  b.Output(b.Op(OpType::kRELU, {x + 100}, {1, 4}, {}, "re_lu"));
  auto out = LegalizeForTflite(b.g);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("out of range"), std::string::npos) << out.status().message();
}

// ---- end to end: a Keras file through the reader ----

TEST(Legalize, KerasModelWithEveryInternalOpBecomesBuiltins) {
  using testing::Arr;
  using testing::L;
  using testing::json;
  auto conv = [](const std::string& name, int f, bool bias, const std::string& act) {
    return json{{"name", name}, {"filters", f}, {"kernel_size", {3, 3}}, {"strides", {1, 1}},
                {"dilation_rate", {1, 1}}, {"padding", "same"}, {"data_format", "channels_last"},
                {"groups", 1}, {"activation", act}, {"use_bias", bias}};
  };
  auto dense = [](const std::string& name, int units, const std::string& act) {
    return json{{"name", name}, {"units", units}, {"activation", act}, {"use_bias", true}};
  };
  keras::FloatArray var = Arr({4}, 5);
  for (float& v : var.data) v = std::fabs(v) + 0.5f;
  const std::vector<testing::TinyLayer> layers = {
      {L("Conv2D", conv("conv", 4, false, "linear")), {Arr({3, 3, 3, 4}, 1)}},
      {L("BatchNormalization", {{"name", "bn"}, {"axis", -1}, {"epsilon", 0.001}, {"center", true}, {"scale", true}}),
       {Arr({4}, 2), Arr({4}, 3), Arr({4}, 4), var}},
      {L("ReLU", {{"name", "relu"}, {"max_value", 2.5}, {"negative_slope", 0.0}, {"threshold", 0.0}}), {}},
      {L("Conv2D", conv("conv2", 3, true, "selu")), {Arr({3, 3, 4, 3}, 6), Arr({3}, 7)}},
      {L("LayerNormalization", {{"name", "ln"}, {"axis", -1}, {"epsilon", 0.001}, {"center", true}, {"scale", true}}),
       {Arr({3}, 8), Arr({3}, 9)}},
      {L("Activation", {{"name", "hs"}, {"activation", "hard_sigmoid"}}), {}},
      {L("Flatten", {{"name", "flat"}, {"data_format", "channels_last"}}), {}},
      {L("Dense", dense("d1", 6, "swish")), {Arr({48, 6}, 10), Arr({6}, 11)}},
      {L("Dense", dense("d2", 5, "softplus")), {Arr({6, 5}, 12), Arr({5}, 13)}},
      {L("Activation", {{"name", "ss"}, {"activation", "softsign"}}), {}},
  };
  const std::string path = testing::WriteKeras("legalize_all.keras", testing::SequentialConfig({4, 4, 3}, layers), layers);
  auto g = keras::ReadKerasModel(path);
  std::remove(path.c_str());
  ASSERT_TRUE(g.ok()) << g.status().message();
  LegalizeReport r;
  ir::Graph out = LegalizeAndCompare(*g, &r);
  EXPECT_EQ(r.batch_norms_folded, 1);
  EXPECT_EQ(r.ops_lowered, 7);  // ReLU(max_value), selu, LayerNormalization, hard_sigmoid, swish, softplus, softsign
  EXPECT_GE(r.activations_fused, 1);  // the ReLU's RELU into the folded conv
  EXPECT_EQ(std::get<ir::ConvAttrs>(out.ops[0].attrs).activation, ir::Activation::kRelu);
  EXPECT_EQ(out.tensors[out.ops[0].inputs[2]].name, "conv/bias");  // created by the fold
  EXPECT_NE(LayerTensor(out, "ss"), -1);
  EXPECT_EQ(out.tensors[out.outputs[0]].name, "ss");
}

}  // namespace
}  // namespace ql::passes
