// Interpreter behaviour on small hand-built graphs: shapes resolved at prepare, folding of ops
// whose inputs are all static, the observer hook, and errors that name the op.
#include "quantlens/runtime/interpreter.h"

#include <cstring>

#include <gtest/gtest.h>

namespace ql::rt {
namespace {

int AddTensor(ir::Graph& g, const std::string& name, ir::DType dt, ir::Shape shape) {
  ir::Tensor t;
  t.name = name;
  t.dtype = dt;
  t.shape = std::move(shape);
  t.source_index = static_cast<int>(g.tensors.size());
  g.tensors.push_back(std::move(t));
  return static_cast<int>(g.tensors.size()) - 1;
}

template <typename T>
int AddConst(ir::Graph& g, const std::string& name, ir::DType dt, ir::Shape shape, std::vector<T> v) {
  int i = AddTensor(g, name, dt, std::move(shape));
  g.tensors[i].is_constant = true;
  g.tensors[i].data.resize(v.size() * sizeof(T));
  std::memcpy(g.tensors[i].data.data(), v.data(), g.tensors[i].data.size());
  return i;
}

// x[-1,2,3] -> ADD(x, c) -> y; SHAPE(y) -> s; RESHAPE(y, s2) where s2 = constant [-1, 6] -> z.
ir::Graph SmallGraph() {
  ir::Graph g;
  g.source_path = "small";
  int x = AddTensor(g, "x", ir::DType::kFloat32, {-1, 2, 3});
  int c = AddConst<float>(g, "c", ir::DType::kFloat32, {3}, {1.f, 2.f, 3.f});
  int y = AddTensor(g, "y", ir::DType::kFloat32, {-1, 2, 3});
  int s2 = AddConst<int32_t>(g, "s2", ir::DType::kInt32, {2}, {-1, 6});
  int z = AddTensor(g, "z", ir::DType::kFloat32, {-1, 6});
  g.inputs = {x};
  g.outputs = {z};
  ir::Op add;
  add.type = ir::OpType::kADD;
  add.inputs = {x, c};
  add.outputs = {y};
  add.attrs = ir::BinaryAttrs{};
  ir::Op reshape;
  reshape.type = ir::OpType::kRESHAPE;
  reshape.inputs = {y, s2};
  reshape.outputs = {z};
  reshape.attrs = ir::ReshapeAttrs{};
  g.ops = {add, reshape};
  return g;
}

TEST(Interpreter, RunsAndObserves) {
  ir::Graph g = SmallGraph();
  auto interp = Interpreter::Create(g);
  ASSERT_TRUE(interp.ok()) << interp.status().message();
  EXPECT_EQ((*interp)->input(0).shape, (ir::Shape{1, 2, 3}));  // open batch runs as 1
  EXPECT_EQ((*interp)->output(0).shape, (ir::Shape{1, 6}));
  std::vector<float> x = {0, 1, 2, 3, 4, 5};
  ASSERT_TRUE((*interp)->SetInput(0, x.data(), x.size() * 4).ok());
  std::vector<int> seen;
  std::vector<float> observed_y;
  (*interp)->AddObserver([&](const ir::Graph&, int op, std::span<const TensorRef* const> outs) {
    seen.push_back(op);
    if (op == 0) observed_y.assign(outs[0]->as<float>(), outs[0]->as<float>() + 6);
  });
  ASSERT_TRUE((*interp)->Invoke().ok());
  EXPECT_EQ(seen, (std::vector<int>{0, 1}));
  const float* z = (*interp)->output(0).as<float>();
  std::vector<float> expect = {1, 3, 5, 4, 6, 8};  // x + [1,2,3] broadcast over the last axis
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(z[i], expect[i]);
    EXPECT_EQ(observed_y[i], expect[i]);
  }
}

// A hook substitutes op 0's output; the next op and the observers see the substituted value.
TEST(Interpreter, HookSubstitutesAValueBeforeTheRunContinues) {
  ir::Graph g = SmallGraph();
  auto interp = Interpreter::Create(g);
  ASSERT_TRUE(interp.ok()) << interp.status().message();
  std::vector<float> x = {0, 1, 2, 3, 4, 5};
  ASSERT_TRUE((*interp)->SetInput(0, x.data(), x.size() * 4).ok());
  std::vector<float> computed_y, observed_y;
  (*interp)->AddHook([&](const OpEvent& e) {
    if (e.op_index != 0) return;
    EXPECT_FALSE(e.folded);
    ASSERT_EQ(e.inputs.size(), 2u);
    EXPECT_EQ(e.inputs[0]->as<float>()[1], 1.f);
    float* y = e.outputs[0]->mut<float>();
    computed_y.assign(y, y + 6);
    for (int i = 0; i < 6; ++i) y[i] = -static_cast<float>(i);
  });
  (*interp)->AddObserver([&](const ir::Graph&, int op, std::span<const TensorRef* const> outs) {
    if (op == 0) observed_y.assign(outs[0]->as<float>(), outs[0]->as<float>() + 6);
  });
  ASSERT_TRUE((*interp)->Invoke().ok());
  EXPECT_EQ(computed_y, (std::vector<float>{1, 3, 5, 4, 6, 8}));
  EXPECT_EQ(observed_y, (std::vector<float>{0, -1, -2, -3, -4, -5}));
  const float* z = (*interp)->output(0).as<float>();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(z[i], -static_cast<float>(i));
}

// The op runner evaluates one prepared op on caller buffers and leaves the interpreter alone.
TEST(Interpreter, RunOpEvaluatesOneOpOnCallerBuffers) {
  ir::Graph g = SmallGraph();
  auto interp = Interpreter::Create(g);
  ASSERT_TRUE(interp.ok()) << interp.status().message();
  std::vector<float> x = {0, 1, 2, 3, 4, 5};
  ASSERT_TRUE((*interp)->SetInput(0, x.data(), x.size() * 4).ok());
  ASSERT_TRUE((*interp)->Invoke().ok());
  std::vector<float> other = {10, 10, 10, 20, 20, 20}, out(6);
  const void* ins[] = {other.data(), nullptr};  // nullptr: keep the constant addend
  void* outs[] = {out.data()};
  Status st = (*interp)->RunOp(0, ins, outs);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(out, (std::vector<float>{11, 12, 13, 21, 22, 23}));
  EXPECT_EQ((*interp)->output(0).as<float>()[0], 1.f);  // the last Invoke's result is untouched
  // Wrong counts, a missing output buffer and a replaced constant are errors.
  const void* one[] = {other.data()};
  EXPECT_FALSE((*interp)->RunOp(0, one, outs).ok());
  void* none[] = {nullptr};
  EXPECT_FALSE((*interp)->RunOp(0, ins, none).ok());
  const void* constant[] = {other.data(), other.data()};
  Status c = (*interp)->RunOp(0, constant, outs);
  EXPECT_FALSE(c.ok());
  EXPECT_NE(c.message().find("constant"), std::string::npos) << c.message();
  EXPECT_FALSE((*interp)->RunOp(7, ins, outs).ok());
}

// Graph inputs are not reused by the arena: a second Invoke without SetInput computes the same.
TEST(Interpreter, InvokeTwiceWithoutSetInputRepeatsTheResult) {
  ir::Graph g = SmallGraph();
  auto interp = Interpreter::Create(g);
  ASSERT_TRUE(interp.ok()) << interp.status().message();
  std::vector<float> x = {0, 1, 2, 3, 4, 5};
  ASSERT_TRUE((*interp)->SetInput(0, x.data(), x.size() * 4).ok());
  ASSERT_TRUE((*interp)->Invoke().ok());
  const std::vector<float> first((*interp)->output(0).as<float>(), (*interp)->output(0).as<float>() + 6);
  ASSERT_TRUE((*interp)->Invoke().ok());
  const std::vector<float> second((*interp)->output(0).as<float>(), (*interp)->output(0).as<float>() + 6);
  EXPECT_EQ(first, second);
  EXPECT_EQ((*interp)->input(0).as<float>()[5], 5.f);
}

TEST(Interpreter, WrongInputSizeIsAnError) {
  ir::Graph g = SmallGraph();
  auto interp = Interpreter::Create(g);
  ASSERT_TRUE(interp.ok()) << interp.status().message();
  std::vector<float> x(5);
  Status s = (*interp)->SetInput(0, x.data(), x.size() * 4);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("needs 24 bytes, got 20"), std::string::npos) << s.message();
}

TEST(Interpreter, ConstantSubgraphIsFoldedAtPrepare) {
  // ADD of two constants feeds the RESHAPE's data: it must be evaluated once, at prepare time.
  ir::Graph g;
  g.source_path = "fold";
  int a = AddConst<int32_t>(g, "a", ir::DType::kInt32, {2}, {2, 1});
  int b = AddConst<int32_t>(g, "b", ir::DType::kInt32, {2}, {1, 5});
  int shape = AddTensor(g, "shape", ir::DType::kInt32, {2});
  int x = AddTensor(g, "x", ir::DType::kFloat32, {1, 18});
  int y = AddTensor(g, "y", ir::DType::kFloat32, {3, 6});
  g.inputs = {x};
  g.outputs = {y};
  ir::Op add;
  add.type = ir::OpType::kADD;
  add.inputs = {a, b};
  add.outputs = {shape};
  add.attrs = ir::BinaryAttrs{};
  ir::Op reshape;
  reshape.type = ir::OpType::kRESHAPE;
  reshape.inputs = {x, shape};
  reshape.outputs = {y};
  reshape.attrs = ir::ReshapeAttrs{};
  g.ops = {add, reshape};
  auto interp = Interpreter::Create(g);
  ASSERT_TRUE(interp.ok()) << interp.status().message();
  EXPECT_EQ((*interp)->output(0).shape, (ir::Shape{3, 6}));  // [2+1, 1+5]
  EXPECT_GT((*interp)->static_bytes(), 0u);
}

TEST(Interpreter, MissingKernelNamesTheOp) {
  ir::Graph g = SmallGraph();
  g.ops[1].type = ir::OpType::kCUSTOM;
  g.ops[1].custom_code = "NoSuchOp";
  auto interp = Interpreter::Create(g);
  ASSERT_FALSE(interp.ok());
  EXPECT_NE(interp.status().message().find("op 1 (CUSTOM NoSuchOp)"), std::string::npos)
      << interp.status().message();
}

TEST(Interpreter, VerifierRejectsUseBeforeDefinition) {
  ir::Graph g = SmallGraph();
  std::swap(g.ops[0], g.ops[1]);
  auto interp = Interpreter::Create(g);
  ASSERT_FALSE(interp.ok());
  EXPECT_NE(interp.status().message().find("before any op produces it"), std::string::npos)
      << interp.status().message();
}

}  // namespace
}  // namespace ql::rt
