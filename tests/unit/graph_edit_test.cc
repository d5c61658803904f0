// graph_edit: use/def queries, redirecting uses, inserting/removing ops and Compact's renumbering.
#include "quantlens/passes/graph_edit.h"

#include <gtest/gtest.h>

namespace ql::passes {
namespace {

ir::Op MakeOp(ir::OpType type, std::vector<int> in, std::vector<int> out, std::string layer = "") {
  ir::Op op;
  op.type = type;
  op.inputs = std::move(in);
  op.outputs = std::move(out);
  op.layer = std::move(layer);
  return op;
}

// x -> RELU(a) -> a ; a,w -> ADD -> b ; a -> TANH -> c ; outputs {b, c}; tensor "junk" unused.
struct Small {
  ir::Graph g;
  int x, junk, w, a, b, c;
};

Small MakeSmall() {
  Small s;
  ir::Graph& g = s.g;
  s.x = AddFloatTensor(g, "x", {1, 4});
  s.junk = AddFloatTensor(g, "junk", {1});
  const float wv[4] = {1, 2, 3, 4};
  s.w = *AddFloatConstant(g, "w", {4}, wv);
  s.a = AddFloatTensor(g, "a", {1, 4}, "relu");
  s.b = AddFloatTensor(g, "b", {1, 4}, "add");
  s.c = AddFloatTensor(g, "c", {1, 4}, "tanh");
  g.inputs = {s.x};
  g.outputs = {s.b, s.c};
  g.ops.push_back(MakeOp(ir::OpType::kRELU, {s.x}, {s.a}, "relu"));
  g.ops.push_back(MakeOp(ir::OpType::kADD, {s.a, s.w}, {s.b}, "add"));
  g.ops.push_back(MakeOp(ir::OpType::kTANH, {s.a}, {s.c}, "tanh"));
  g.layer_outputs = {{"relu", 0, s.a}, {"add", 0, s.b}, {"tanh", 0, s.c}};
  return s;
}

TEST(GraphEdit, ProducerAndConsumers) {
  Small s = MakeSmall();
  EXPECT_EQ(ProducerOf(s.g, s.a), 0);
  EXPECT_EQ(ProducerOf(s.g, s.x), -1);
  EXPECT_EQ(ProducerOf(s.g, s.w), -1);
  EXPECT_EQ(ProducerOf(s.g, 999), -1);
  EXPECT_EQ(ConsumersOf(s.g, s.a), (std::vector<int>{1, 2}));
  EXPECT_TRUE(ConsumersOf(s.g, s.b).empty());
  EXPECT_TRUE(ConsumersOf(s.g, -5).empty());
  EXPECT_TRUE(IsGraphOutput(s.g, s.b));
  EXPECT_FALSE(IsGraphOutput(s.g, s.a));
  EXPECT_TRUE(IsGraphInput(s.g, s.x));
  EXPECT_FALSE(IsGraphInput(s.g, s.a));

  // An op reading the same tensor twice is one consumer but two uses.
  s.g.ops[1].inputs = {s.a, s.a};
  EXPECT_EQ(ConsumersOf(s.g, s.a), (std::vector<int>{1, 2}));
  EXPECT_EQ(NumUses(s.g, s.a), 3);

  UseDef u = BuildUseDef(s.g);
  EXPECT_EQ(u.producer[s.c], 2);
  EXPECT_EQ(u.consumers[s.a], (std::vector<int>{1, 2}));
  EXPECT_EQ(u.producer[s.w], -1);
}

TEST(GraphEdit, ReplaceAllUsesRewritesInputsOutputsAndLayerOutputs) {
  Small s = MakeSmall();
  // Redirect uses of a to x (as when the RELU is dropped).
  auto n = ReplaceAllUses(s.g, s.a, s.x);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3);  // ADD input, TANH input, layer_outputs["relu"]
  EXPECT_EQ(s.g.ops[1].inputs[0], s.x);
  EXPECT_EQ(s.g.ops[2].inputs[0], s.x);
  EXPECT_EQ(s.g.layer_outputs[0].tensor, s.x);
  EXPECT_EQ(s.g.ops[0].outputs[0], s.a);  // outputs are never rewritten

  // Graph outputs and skip_op.
  Small t = MakeSmall();
  int b2 = AddFloatTensor(t.g, "b2", {1, 4});
  t.g.ops.push_back(MakeOp(ir::OpType::kRELU, {t.b}, {b2}));
  auto m = ReplaceAllUses(t.g, t.b, b2, /*skip_op=*/3);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, 2);  // graph output + layer output; op 3's own input kept
  EXPECT_EQ(t.g.outputs[0], b2);
  EXPECT_EQ(t.g.ops[3].inputs[0], t.b);
  EXPECT_EQ(t.g.layer_outputs[1].tensor, b2);

  // Scope: only op inputs.
  Small u = MakeSmall();
  ReplaceScope only_ops;
  only_ops.graph_outputs = only_ops.layer_outputs = false;
  auto k = ReplaceAllUses(u.g, u.a, u.x, -1, only_ops);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(*k, 2);
  EXPECT_EQ(u.g.layer_outputs[0].tensor, u.a);

  EXPECT_FALSE(ReplaceAllUses(u.g, 1000, u.x).ok());
  EXPECT_FALSE(ReplaceAllUses(u.g, u.x, -2).ok());
}

TEST(GraphEdit, InsertReplaceRemoveOps) {
  Small s = MakeSmall();
  int d = AddFloatTensor(s.g, "d", {1, 4});
  auto pos = InsertOp(s.g, MakeOp(ir::OpType::kNEG, {s.x}, {d}), 0);
  ASSERT_TRUE(pos.ok());
  EXPECT_EQ(*pos, 0);
  EXPECT_EQ(s.g.ops[0].type, ir::OpType::kNEG);
  EXPECT_EQ(s.g.ops[1].type, ir::OpType::kRELU);
  EXPECT_FALSE(InsertOp(s.g, ir::Op{}, 17).ok());
  auto app = InsertOp(s.g, MakeOp(ir::OpType::kABS, {d}, {}));
  ASSERT_TRUE(app.ok());
  EXPECT_EQ(*app, 4);

  // Replace the ADD (now op 2) by two ops.
  ASSERT_TRUE(ReplaceOp(s.g, 2, {MakeOp(ir::OpType::kMUL, {s.a, s.w}, {d}),
                                 MakeOp(ir::OpType::kSUB, {d, s.w}, {s.b})}).ok());
  ASSERT_EQ(s.g.ops.size(), 6u);
  EXPECT_EQ(s.g.ops[2].type, ir::OpType::kMUL);
  EXPECT_EQ(s.g.ops[3].type, ir::OpType::kSUB);
  EXPECT_EQ(s.g.ops[4].type, ir::OpType::kTANH);
  EXPECT_FALSE(ReplaceOp(s.g, 6, {}).ok());

  const int drop[] = {5, 0, 5};
  ASSERT_TRUE(RemoveOps(s.g, drop).ok());
  ASSERT_EQ(s.g.ops.size(), 4u);
  EXPECT_EQ(s.g.ops[0].type, ir::OpType::kRELU);
  EXPECT_EQ(s.g.ops[3].type, ir::OpType::kTANH);
  const int bad[] = {4};
  EXPECT_FALSE(RemoveOps(s.g, bad).ok());
  EXPECT_EQ(s.g.ops.size(), 4u);  // a refused removal changes nothing
}

TEST(GraphEdit, RemoveDeadOpsRemovesChains) {
  Small s = MakeSmall();
  // x -> NEG -> d -> ABS -> e, nothing reads e: both go. TANH's output c is a graph output: stays.
  int d = AddFloatTensor(s.g, "d", {1, 4});
  int e = AddFloatTensor(s.g, "e", {1, 4});
  s.g.ops.push_back(MakeOp(ir::OpType::kNEG, {s.x}, {d}));
  s.g.ops.push_back(MakeOp(ir::OpType::kABS, {d}, {e}));
  s.g.layer_outputs.push_back({"abs", 0, e});  // layer_outputs do not keep ops alive
  EXPECT_EQ(RemoveDeadOps(s.g), 2);
  EXPECT_EQ(s.g.ops.size(), 3u);
  // Dropping TANH from the outputs makes it dead too.
  s.g.outputs = {s.b};
  EXPECT_EQ(RemoveDeadOps(s.g), 1);
  EXPECT_EQ(s.g.ops.size(), 2u);
  EXPECT_EQ(RemoveDeadOps(s.g), 0);
}

TEST(GraphEdit, CompactDropsUnusedAndRenumbersInOrder) {
  Small s = MakeSmall();
  // Remove TANH: c is then unused (its layer output must go too); junk was never used.
  const int drop[] = {2};
  ASSERT_TRUE(RemoveOps(s.g, drop).ok());
  s.g.outputs = {s.b};
  s.g.ops[1].inputs.push_back(-1);  // an omitted optional input survives as -1
  auto remap = Compact(s.g);
  ASSERT_TRUE(remap.ok()) << remap.status().message();
  // Old order x, junk, w, a, b, c -> x, w, a, b.
  EXPECT_EQ(*remap, (std::vector<int>{0, -1, 1, 2, 3, -1}));
  ASSERT_EQ(s.g.tensors.size(), 4u);
  EXPECT_EQ(s.g.tensors[0].name, "x");
  EXPECT_EQ(s.g.tensors[1].name, "w");
  EXPECT_EQ(s.g.tensors[2].name, "a");
  EXPECT_EQ(s.g.tensors[3].name, "b");
  EXPECT_EQ(s.g.ops[0].inputs, (std::vector<int>{0}));
  EXPECT_EQ(s.g.ops[0].outputs, (std::vector<int>{2}));
  EXPECT_EQ(s.g.ops[1].inputs, (std::vector<int>{2, 1, -1}));
  EXPECT_EQ(s.g.ops[1].outputs, (std::vector<int>{3}));
  EXPECT_EQ(s.g.inputs, (std::vector<int>{0}));
  EXPECT_EQ(s.g.outputs, (std::vector<int>{3}));
  ASSERT_EQ(s.g.layer_outputs.size(), 2u);
  EXPECT_EQ(s.g.layer_outputs[0].layer, "relu");
  EXPECT_EQ(s.g.layer_outputs[0].tensor, 2);
  EXPECT_EQ(s.g.layer_outputs[1].layer, "add");
  EXPECT_EQ(s.g.layer_outputs[1].tensor, 3);
  EXPECT_TRUE(ir::VerifyGraph(s.g).ok());
}

TEST(GraphEdit, CompactRefusesOutOfRangeWithoutChanging) {
  Small s = MakeSmall();
  s.g.ops[1].inputs[1] = 42;
  auto r = Compact(s.g);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("42"), std::string::npos);
  EXPECT_EQ(s.g.tensors.size(), 6u);
  s.g.ops[1].inputs[1] = s.w;
  s.g.outputs.push_back(-3);
  EXPECT_FALSE(Compact(s.g).ok());
}

TEST(GraphEdit, ConstantsAndNames) {
  ir::Graph g;
  const float v[3] = {1.5f, -2.f, 3.f};
  auto c = AddFloatConstant(g, "k", {3}, v, "dense");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(g.tensors[*c].is_constant);
  EXPECT_EQ(g.tensors[*c].layer, "dense");
  EXPECT_EQ(FloatData(g.tensors[*c]), (std::vector<float>{1.5f, -2.f, 3.f}));
  EXPECT_FALSE(AddFloatConstant(g, "bad", {2, 2}, v).ok());
  const int32_t iv[2] = {-1, 6};
  auto ic = AddInt32Constant(g, "shape", {2}, iv);
  ASSERT_TRUE(ic.ok());
  EXPECT_TRUE(FloatData(g.tensors[*ic]).empty());  // not float
  EXPECT_EQ(g.tensors[*ic].data.size(), 8u);

  ir::Tensor t;
  t.name = "t";
  const float w[2] = {7, 8};
  ASSERT_TRUE(SetFloatData(t, {1, 2}, w).ok());
  EXPECT_TRUE(t.is_constant);
  EXPECT_EQ(FloatData(t), (std::vector<float>{7, 8}));
  EXPECT_FALSE(SetFloatData(t, {3}, w).ok());

  EXPECT_EQ(UniqueTensorName(g, "fresh"), "fresh");
  EXPECT_EQ(UniqueTensorName(g, "k"), "k_1");
  AddFloatTensor(g, "k_1", {1});
  EXPECT_EQ(UniqueTensorName(g, "k"), "k_2");
}

}  // namespace
}  // namespace ql::passes
