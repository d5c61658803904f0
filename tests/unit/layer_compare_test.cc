// Per-layer comparison on small hand-built graphs: x -> ADD "a" -> ADD "b" -> ADD "c", with the
// candidate's "b" constant perturbed: the SQNR drop must point at "b". Alignment by layer map,
// by exact tensor names and by TensorFlow converter names.
#include "quantlens/analysis/compare.h"
#include "quantlens/analysis/layer_compare.h"

#include <cmath>
#include <cstring>

#include <gtest/gtest.h>

namespace ql::analysis {
namespace {

int NewTensor(ir::Graph& g, const std::string& name, ir::Shape shape) {
  ir::Tensor t;
  t.name = name;
  t.dtype = ir::DType::kFloat32;
  t.shape = std::move(shape);
  t.source_index = static_cast<int>(g.tensors.size());
  g.tensors.push_back(std::move(t));
  return static_cast<int>(g.tensors.size()) - 1;
}

int NewConst(ir::Graph& g, const std::string& name, std::vector<float> v) {
  const int i = NewTensor(g, name, {static_cast<int64_t>(v.size())});
  g.tensors[i].is_constant = true;
  g.tensors[i].data.resize(v.size() * sizeof(float));
  std::memcpy(g.tensors[i].data.data(), v.data(), g.tensors[i].data.size());
  return i;
}

// Three chained ADDs with constants; `names` are the three output tensors' names, `bump` is
// added to layer "b"'s constant. With `layer_map`, layer_outputs lists a, b, c.
ir::Graph Chain(const std::vector<std::string>& names, float bump, bool layer_map) {
  ir::Graph g;
  g.source_path = "chain";
  int prev = NewTensor(g, "x", {-1, 4});
  g.inputs = {prev};
  const char* layers[] = {"a", "b", "c"};
  for (int k = 0; k < 3; ++k) {
    const float d = k == 1 ? bump : 0.f;
    const int c = NewConst(g, fmt::format("k{}", k), {0.5f + d, -0.25f, 1.f + d, 0.f});
    const int y = NewTensor(g, names[k], {-1, 4});
    ir::Op op;
    op.type = ir::OpType::kADD;
    op.inputs = {prev, c};
    op.outputs = {y};
    op.attrs = ir::BinaryAttrs{};
    op.layer = layers[k];
    g.ops.push_back(op);
    if (layer_map) g.layer_outputs.push_back({layers[k], 0, y});
    prev = y;
  }
  g.outputs = {prev};
  return g;
}

CompareOptions Opts() {
  CompareOptions o;
  o.data = "random:1";
  o.data_options.max_samples = 4;
  o.layers = true;
  return o;
}

// The isolated error (each layer fed the reference's values) is zero everywhere but at "b", which
// is ranked first; a constant offset on some channels is a folding error.
TEST(LayerCompare, PerturbedLayerIsRankedFirstWithItsCause) {
  const ir::Graph ref = Chain({"a", "b", "c"}, 0.f, true);
  const ir::Graph cand = Chain({"a", "b", "c"}, 0.3f, true);
  auto r = CompareModels(ref, cand, Opts());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->num_samples, 4);
  ASSERT_EQ(r->layers.size(), 3u);
  EXPECT_TRUE(r->unaligned_reference.empty());
  EXPECT_TRUE(r->unaligned_candidate.empty());
  EXPECT_EQ(r->layers[0].pair.layer, "a");
  EXPECT_EQ(r->layers[0].pair.method, AlignMethod::kLayerMap);
  EXPECT_TRUE(std::isinf(r->layers[0].accumulated.sqnr_db));  // identical before the perturbation
  EXPECT_EQ(r->layers[0].accumulated.max_abs, 0);
  EXPECT_TRUE(std::isfinite(r->layers[1].accumulated.sqnr_db));
  EXPECT_NEAR(r->layers[1].accumulated.max_abs, 0.3, 1e-6);
  // "c" inherits b's error (accumulated) but adds none of its own (isolated).
  EXPECT_NEAR(r->layers[2].accumulated.max_abs, 0.3, 1e-6);
  ASSERT_TRUE(r->layers[2].isolated.has_value());
  EXPECT_EQ(r->layers[2].isolated->max_abs, 0);
  EXPECT_EQ(r->layers[0].rank, 0);
  EXPECT_EQ(r->layers[1].rank, 1);
  EXPECT_EQ(r->layers[2].rank, 0);
  EXPECT_EQ(r->layers[1].cause, Cause::kFolding) << r->layers[1].evidence;
  EXPECT_NEAR(r->layers[1].isolated->mean_error, 0.15, 1e-6);  // +0.3 on 2 of 4 channels
  EXPECT_NEAR(r->layers[1].isolated->channel_bias_share, 1.0, 1e-9);
  EXPECT_EQ(r->layers[2].cause, Cause::kNone);
  // Output metrics come from the same runs.
  ASSERT_EQ(r->outputs.size(), 1u);
  EXPECT_NEAR(r->outputs[0].metrics.max_abs, 0.3, 1e-6);
}

TEST(LayerCompare, AlignsByTensorAndConverterNames) {
  const ir::Graph ref = Chain({"a", "b", "c"}, 0.f, true);
  // "a" only in a converter name, "b" exactly, "c" first named before weights of "b".
  const ir::Graph cand =
      Chain({"model/a/BiasAdd", "b", "model/c/add;model/b/ReadVariableOp"}, 0.f, false);
  auto al = AlignLayers(ref, cand);
  ASSERT_TRUE(al.ok()) << al.status().message();
  ASSERT_EQ(al->pairs.size(), 3u);
  EXPECT_EQ(al->pairs[0].method, AlignMethod::kConverterName);
  EXPECT_EQ(al->pairs[1].method, AlignMethod::kTensorName);
  // "c" is the graph output: aligned by position before names are tried.
  EXPECT_EQ(al->pairs[2].method, AlignMethod::kGraphIO);
  EXPECT_EQ(al->pairs[2].candidate_tensor, cand.outputs[0]);
  auto r = CompareModels(ref, cand, Opts());
  ASSERT_TRUE(r.ok()) << r.status().message();
  for (const auto& l : r->layers) EXPECT_TRUE(std::isinf(l.accumulated.sqnr_db)) << l.pair.layer;
}

TEST(LayerCompare, ReportsUnalignedLayersAndSizeMismatches) {
  ir::Graph ref = Chain({"a", "b", "c"}, 0.f, true);
  ir::Graph cand = Chain({"a", "b", "c"}, 0.f, true);
  cand.layer_outputs.erase(cand.layer_outputs.begin());      // "a" fused away
  cand.layer_outputs.push_back({"extra", 0, cand.outputs[0]});  // a layer the reference lacks
  auto al = AlignLayers(ref, cand);
  ASSERT_TRUE(al.ok()) << al.status().message();
  EXPECT_EQ(al->pairs.size(), 2u);
  ASSERT_EQ(al->unaligned_reference.size(), 1u);
  EXPECT_EQ(al->unaligned_reference[0].name, "a");
  ASSERT_EQ(al->unaligned_candidate.size(), 1u);
  EXPECT_EQ(al->unaligned_candidate[0].name, "extra");

  ir::Graph no_map = Chain({"a", "b", "c"}, 0.f, true);
  no_map.layer_outputs.clear();
  auto e = AlignLayers(no_map, cand);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("no layer outputs"), std::string::npos);
}

}  // namespace
}  // namespace ql::analysis

namespace ql::analysis {
namespace {

// x[1,16,16,1] -> PADV2(1 on each side, fill `fill`) -> CONV_2D 3x3 VALID (weights 1/9) "conv".
// A candidate padding with 0.5 instead of 0 is wrong only where the window covers the padding:
// the outermost rows and columns. compare names padding-or-resize-semantics there.
ir::Graph PaddedConv(float fill) {
  ir::Graph g;
  g.source_path = "padded";
  const int x = NewTensor(g, "x", {1, 16, 16, 1});
  const int pads = NewTensor(g, "pads", {4, 2});
  g.tensors[pads].dtype = ir::DType::kInt32;
  g.tensors[pads].is_constant = true;
  const std::vector<int32_t> pv = {0, 0, 1, 1, 1, 1, 0, 0};
  g.tensors[pads].data.resize(pv.size() * 4);
  std::memcpy(g.tensors[pads].data.data(), pv.data(), g.tensors[pads].data.size());
  const int value = NewConst(g, "fill", {fill});
  g.tensors[value].shape = {};
  const int padded = NewTensor(g, "padded", {1, 18, 18, 1});
  const int w = NewConst(g, "w", std::vector<float>(9, 1.0f / 9));
  g.tensors[w].shape = {1, 3, 3, 1};
  const int b = NewConst(g, "b", {0.0f});
  const int y = NewTensor(g, "y", {1, 16, 16, 1});
  ir::Op pad;
  pad.type = ir::OpType::kPADV2;
  pad.inputs = {x, pads, value};
  pad.outputs = {padded};
  pad.layer = "conv";
  ir::Op conv;
  conv.type = ir::OpType::kCONV_2D;
  conv.inputs = {padded, w, b};
  conv.outputs = {y};
  conv.attrs = ir::ConvAttrs{};
  conv.layer = "conv";
  g.ops = {pad, conv};
  g.inputs = {x};
  g.outputs = {y};
  g.layer_outputs = {{"x", 0, x}, {"conv", 0, y}};
  return g;
}

TEST(LayerCompare, WrongPaddingIsPaddingSemantics) {
  const ir::Graph ref = PaddedConv(0.0f), cand = PaddedConv(0.5f);
  CompareOptions o = Opts();
  auto r = CompareModels(ref, cand, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->layers.size(), 2u);
  const LayerReport& conv = r->layers[1];
  EXPECT_EQ(conv.rank, 1);
  ASSERT_TRUE(conv.isolated && conv.isolated->border_error_share);
  EXPECT_NEAR(*conv.isolated->border_error_share, 1.0, 1e-9);
  EXPECT_EQ(conv.cause, Cause::kPaddingOrResizeSemantics) << conv.evidence;
}

}  // namespace
}  // namespace ql::analysis
