// Regressions from the robustness review: each test here failed (or crashed, under ASan/UBSan) on
// the code before its fix. Valid files whose values reach places byte flips cannot: variable
// tensors, huge graph inputs, giant pooling windows, a writable pointer into model constants,
// `run --top` on an output that cannot be read as scores, and control characters in names.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <type_traits>
#include <unistd.h>

#include "quantlens/formats/tflite/reader.h"
#include "quantlens/io/array.h"
#include "quantlens/runtime/interpreter.h"
#include "quantlens/util/printable.h"
#include "testing/cli_runner.h"
#include "testing/single_op.h"
#include "testing/tflite_builder.h"

namespace ql {
namespace {

using namespace ::ql::testing;  // NOLINT: builder spec types
namespace tfl = ::tflite;

// input [1,4] + state [1,4] -> ADD -> output [1,4]; `state` is a variable without data.
ModelSpec AddWithVariable(tfl::TensorType type) {
  ModelSpec m;
  m.buffers = {{}};
  m.tensors = {{"input", std::vector<int32_t>{1, 4}, type, 0, {}},
               {"state", std::vector<int32_t>{1, 4}, type, 0, {}, /*is_variable=*/true},
               {"output", std::vector<int32_t>{1, 4}, type, 0, {}}};
  m.opcodes = {OpcodeSpec{0, 0, ""}};  // ADD
  m.op_inputs = {0, 1};
  m.op_outputs = {2};
  m.graph_inputs = {0};
  m.graph_outputs = {2};
  m.options_type = tfl::BuiltinOptions::AddOptions;
  m.options = [](flatbuffers::FlatBufferBuilder& b) { return tfl::CreateAddOptions(b).Union(); };
  return m;
}

// Before the fix the variable had no storage at all: ADD read through a null pointer.
TEST(RuntimeHostile, VariableTensorStartsAtZeroLikeTflite) {
  auto g = tflite::ReadTfliteBuffer(Build(AddWithVariable(tfl::TensorType::FLOAT32)), "var.tflite");
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_TRUE(g->tensors[1].is_variable);
  auto interp = rt::Interpreter::Create(*g);
  ASSERT_TRUE(interp.ok()) << interp.status().message();
  const float in[4] = {1.5f, -2.0f, 3.25f, 0.0f};
  ASSERT_TRUE((*interp)->SetInput(0, in, sizeof(in)).ok());
  ASSERT_TRUE((*interp)->Invoke().ok());
  const float* out = (*interp)->output(0).as<float>();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out[i], in[i]) << i;
}

// An int8 variable is reset to its zero point, i.e. to real 0 (TFLite's ResetVariableTensor).
TEST(RuntimeHostile, Int8VariableStartsAtItsZeroPoint) {
  ir::Graph g;
  g.source_path = "var_int8";
  auto tensor = [&](const char* name, bool variable) {
    ir::Tensor t;
    t.name = name;
    t.dtype = ir::DType::kInt8;
    t.shape = {1, 4};
    t.quant = Quant(0.5f, 7);
    t.is_variable = variable;
    g.tensors.push_back(t);
  };
  tensor("input", false);
  tensor("state", true);
  tensor("output", false);
  ir::Op add;
  add.type = ir::OpType::kADD;
  add.attrs = ir::BinaryAttrs{};
  add.inputs = {0, 1};
  add.outputs = {2};
  g.ops = {add};
  g.inputs = {0};
  g.outputs = {2};
  auto interp = rt::Interpreter::Create(g);
  ASSERT_TRUE(interp.ok()) << interp.status().message();
  const int8_t in[4] = {-128, 7, 20, 127};
  ASSERT_TRUE((*interp)->SetInput(0, in, sizeof(in)).ok());
  ASSERT_TRUE((*interp)->Invoke().ok());
  const int8_t* out = (*interp)->output(0).as<int8_t>();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out[i], in[i]) << i;
}

TEST(RuntimeHostile, VariableWithDataIsRefusedAsTfliteDoes) {
  ModelSpec m = AddWithVariable(tfl::TensorType::FLOAT32);
  m.buffers.push_back(FloatBytes(4));
  m.tensors[1].buffer = 1;
  auto g = tflite::ReadTfliteBuffer(Build(m), "var.tflite");
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("tensor 1 'state': is a variable tensor with data in buffer 1"),
            std::string::npos)
      << g.status().message();
}

TEST(RuntimeHostile, OpWritingAVariableIsRefused) {
  ModelSpec m = AddWithVariable(tfl::TensorType::FLOAT32);
  m.tensors[2].is_variable = true;
  auto g = tflite::ReadTfliteBuffer(Build(m), "var.tflite");
  ASSERT_TRUE(g.ok()) << g.status().message();
  auto interp = rt::Interpreter::Create(*g);
  ASSERT_FALSE(interp.ok());
  EXPECT_NE(interp.status().message().find("writes variable tensor 2 'output'"), std::string::npos)
      << interp.status().message();
}

// A graph input of 2^36 floats (256 GiB): before the fix it went straight to aligned_alloc (and
// ASan aborts on such a request); now it is refused by the same cap as op outputs.
TEST(RuntimeHostile, HugeGraphInputIsRefusedBeforeAllocation) {
  ModelSpec m = FcModel();
  m.tensors[0].shape = std::vector<int32_t>{1 << 16, 1 << 16, 16};
  m.tensors[2].shape = std::vector<int32_t>{1, 2};
  auto g = tflite::ReadTfliteBuffer(Build(m), "big.tflite");
  ASSERT_TRUE(g.ok()) << g.status().message();
  auto interp = rt::Interpreter::Create(*g);
  ASSERT_FALSE(interp.ok());
  EXPECT_NE(interp.status().message().find("input tensor 0 'input': shape [65536,65536,16] needs more than"),
            std::string::npos)
      << interp.status().message();
}

long ResidentBytes() {
  std::ifstream f("/proc/self/statm");
  long size = 0, resident = 0;
  f >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// TILE makes a 1 GiB output from a 4-byte input. Preparing the model must not touch that memory:
// the arena used to be memset whole, paging in every byte before anything ran.
TEST(RuntimeHostile, PrepareDoesNotPageInTheArena) {
  ir::Graph g;
  g.source_path = "tile";
  ir::Tensor in;
  in.name = "input";
  in.dtype = ir::DType::kFloat32;
  in.shape = {1, 1, 1, 1};
  ir::Tensor mult;
  mult.name = "multiples";
  mult.dtype = ir::DType::kInt32;
  mult.shape = {4};
  const int32_t m[4] = {1, 16384, 16384, 1};
  mult.data.assign(reinterpret_cast<const uint8_t*>(m), reinterpret_cast<const uint8_t*>(m) + 16);
  mult.is_constant = true;
  ir::Tensor out;
  out.name = "output";
  out.dtype = ir::DType::kFloat32;
  g.tensors = {in, mult, out};
  ir::Op tile;
  tile.type = ir::OpType::kTILE;
  tile.inputs = {0, 1};
  tile.outputs = {2};
  g.ops = {tile};
  g.inputs = {0};
  g.outputs = {2};
  const long before = ResidentBytes();
  auto interp = rt::Interpreter::Create(g);
  ASSERT_TRUE(interp.ok()) << interp.status().message();
  EXPECT_GE((*interp)->arena_bytes(), size_t{1} << 30);
  EXPECT_LT(ResidentBytes() - before, 256L << 20) << "Create paged in the arena";
}

// Kernels get their inputs as `const TensorRef&` and only a non-const TensorRef hands out a
// writable pointer; model constants are bound with none. Before the fix `mut<T>() const` and a
// const_cast into the model's weights let any kernel overwrite them.
template <typename R>
concept CanWrite = requires(R r) { r.template mut<float>(); };
static_assert(!CanWrite<const rt::TensorRef&>, "a const TensorRef must not hand out writable data");
static_assert(CanWrite<rt::TensorRef&>);
static_assert(std::is_same_v<decltype(std::declval<const rt::KernelArgs&>().in(0)), const rt::TensorRef&>);
static_assert(std::is_same_v<decltype(std::declval<const rt::KernelArgs&>().inputs)::element_type,
                             const rt::TensorRef* const>);

TEST(RuntimeHostile, ConstantsHaveNoWritablePointer) {
  ModelSpec m = FcModel();
  m.buffers[1] = FloatBytes(8);
  auto g = tflite::ReadTfliteBuffer(Build(m), "fc.tflite");
  ASSERT_TRUE(g.ok()) << g.status().message();
  ir::Graph graph = std::move(*g);
  const std::vector<uint8_t> weights = graph.tensors[1].data;
  auto interp = rt::Interpreter::Create(graph);
  ASSERT_TRUE(interp.ok()) << interp.status().message();
  ASSERT_TRUE((*interp)->Invoke().ok());
  EXPECT_EQ(graph.tensors[1].data, weights);
}

// uint8 average pooling sums up to 255 per tap in int32 and adds half the tap count before the
// division (as TFLite does): past 2 * INT32_MAX / 511 = 8,405,024 in-bounds taps that overflowed
// (signed overflow, UBSan aborts). Such windows are refused at Prepare; a window just under the
// bound is exact.
TEST(RuntimeHostile, AveragePoolWindowThatOverflowsInt32IsRefused) {
  auto pool = [](int side, std::vector<uint8_t>* result) {
    ir::PoolAttrs attrs;
    attrs.filter_h = attrs.filter_w = side;
    SingleOp op(ir::OpType::kAVERAGE_POOL_2D, attrs);
    op.AddInput<uint8_t>(ir::DType::kUInt8, {1, side, side, 1},
                         std::vector<uint8_t>(static_cast<size_t>(side) * side, 255), Quant(1.0f, 0));
    op.AddOutput(ir::DType::kUInt8, Quant(1.0f, 0));
    Status s = op.Run();
    if (s.ok()) *result = op.Output<uint8_t>();
    return s;
  };
  std::vector<uint8_t> out;
  Status big = pool(2900, &out);  // 8,410,000 taps
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.message().find("more than the 8405024 an int32 accumulator holds"), std::string::npos)
      << big.message();
  Status ok = pool(2899, &out);  // 8,404,201 taps: 255 * taps + taps / 2 < 2^31
  ASSERT_TRUE(ok.ok()) << ok.message();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], 255);
}

TEST(RuntimeHostile, ShapeProductsNeverWrapAround) {
  // 2^32 * 2^32 wraps to 0 in 64-bit arithmetic: a size check against 0 bytes would pass.
  EXPECT_EQ(ir::ShapeProduct({int64_t{1} << 32, int64_t{1} << 32}), -1);
  EXPECT_EQ(ir::ShapeProduct({3, -1}), -1);
  EXPECT_EQ(ir::ShapeProduct({}), 1);
  EXPECT_EQ(ir::ShapeProduct({0, int64_t{1} << 62, 4}), 0);
  io::Array a;
  a.shape = {int64_t{1} << 32, int64_t{1} << 32};
  EXPECT_EQ(a.num_elements(), -1);
  ir::Tensor t;
  t.dtype = ir::DType::kFloat32;
  rt::TensorRef r;
  r.info = &t;
  r.shape = {int64_t{1} << 62, 8};
  EXPECT_EQ(r.num_elements(), -1);
  EXPECT_EQ(r.bytes(), 0u);
}

// int8 FULLY_CONNECTED whose output declares per-axis quantization on axis 0 of [2,1]; the op
// computes [1,2], so output 0 cannot be dequantized. `run --top` printed that error and exited 0.
TEST(RuntimeHostile, RunTopFailsWhenOutputCannotBeRead) {
  // float [1,2] -> CAST -> int8 output that declares per-axis quantization on axis 0 of [2,1];
  // CAST computes [1,2], so output 0 cannot be dequantized.
  ModelSpec m;
  m.buffers = {{}};
  m.tensors = {{"input", std::vector<int32_t>{1, 2}, tfl::TensorType::FLOAT32, 0, {}},
               {"output", std::vector<int32_t>{2, 1}, tfl::TensorType::INT8, 0, {}}};
  m.tensors[1].scale = {0.5f, 0.25f};
  m.tensors[1].zero_point = {0, 0};
  m.opcodes = {OpcodeSpec{53, 53, ""}};  // CAST
  m.op_inputs = {0};
  m.op_outputs = {1};
  m.graph_inputs = {0};
  m.graph_outputs = {1};
  TempDir dir;
  const std::string model = dir.File("fc_int8.tflite");
  const Bytes bytes = Build(m);
  std::ofstream(model, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                               static_cast<std::streamsize>(bytes.size()));
  const std::string input = dir.File("x.npy");
  {
    // float32 [1,2] .npy, version 1.0, header padded to 128 bytes.
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }";
    header.resize(128 - 10 - 1, ' ');
    header += '\n';
    std::ofstream f(input, std::ios::binary);
    f.write("\x93NUMPY\x01\x00", 8);
    const uint16_t len = static_cast<uint16_t>(header.size());
    f.write(reinterpret_cast<const char*>(&len), 2);
    f << header;
    const float v[2] = {1.0f, 2.0f};
    f.write(reinterpret_cast<const char*>(v), sizeof(v));
  }
  CliRun r = Quantlens(fmt::format("run '{}' --input '{}' --top 1", model, input));
  ExpectOneLineError(r, "--top: output 0: per-axis quantization with 2 scales on axis 0 does not fit shape [1,2]");
  EXPECT_TRUE(r.out.empty()) << r.out;
}

// A tensor name with terminal escape sequences: printed escaped by `inspect` and in errors.
TEST(RuntimeHostile, NamesFromFilesArePrintedEscaped) {
  ModelSpec m = FcModel();
  m.tensors[0].name = "in\x1b[2J\x1b]0;pwned\x07";
  TempDir dir;
  const std::string model = dir.File("names.tflite");
  const Bytes bytes = Build(m);
  std::ofstream(model, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                               static_cast<std::streamsize>(bytes.size()));
  CliRun r = Quantlens(fmt::format("inspect '{}'", model));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
  EXPECT_EQ(r.out.find('\x07'), std::string::npos);
  EXPECT_NE(r.out.find("in\\x1b[2J\\x1b]0;pwned\\x07"), std::string::npos) << r.out;
  // The same name in an error message (no --input given for it).
  CliRun e = Quantlens(fmt::format("run '{}' --input a.npy --input b.npy", model));
  EXPECT_EQ(e.err.find('\x1b'), std::string::npos) << e.err;
  ExpectOneLineError(e, "in\\x1b[2J");
}

TEST(RuntimeHostile, PrintableEscapesTerminalControls) {
  EXPECT_EQ(Printable("conv\x1b[2J"), "conv\\x1b[2J");
  EXPECT_EQ(Printable("a\nb\tc\\"), "a\\nb\\tc\\\\");
  EXPECT_EQ(Printable("caf\xc3\xa9"), "caf\xc3\xa9");                 // valid UTF-8 stays
  EXPECT_EQ(Printable("\xc3"), "\\xc3");                              // truncated sequence
  EXPECT_EQ(Printable("\xc0\xaf"), "\\xc0\\xaf");                     // overlong '/'
  EXPECT_EQ(Printable("\xc2\x9b" "31m"), "\\u{009b}31m");             // C1 CSI
  EXPECT_EQ(Printable("x\xe2\x80\xaey"), "x\\u{202e}y");              // right-to-left override
  EXPECT_EQ(Printable(std::string(10, 'a'), 4), "aaaa...");
}

}  // namespace
}  // namespace ql

namespace ql {
namespace {

using namespace ::ql::testing;  // NOLINT: builder spec types

// File-controlled sizes past util/limits.h are refused with the rule in the message.
void ExpectReadError(const Bytes& bytes, const std::string& part) {
  auto g = tflite::ReadTfliteBuffer(bytes, "limits.tflite");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().message().rfind("limits.tflite: ", 0), 0u) << g.status().message();
  EXPECT_NE(g.status().message().find(part), std::string::npos) << g.status().message();
}

TEST(TfliteLimits, RankPastTheLimit) {
  ModelSpec m = FcModel();
  m.tensors[2].shape = std::vector<int32_t>(17, 1);
  ExpectReadError(Build(m), "tensor 2 'output': shape has rank 17, more than the 16");
}

TEST(TfliteLimits, NameLongerThanTheLimit) {
  ModelSpec m = FcModel();
  m.tensors[1].name = std::string(70'000, 'w');
  ExpectReadError(Build(m), "tensor 1: the name is 70000 bytes long, more than the 65536 allowed");
}

TEST(TfliteLimits, CustomCodeLongerThanTheLimit) {
  ModelSpec m = FcModel();
  m.opcodes[0] = OpcodeSpec{32, 32, std::string(65'537, 'c')};
  ExpectReadError(Build(m), "op 0: custom code is 65537 bytes long");
}

TEST(TfliteLimits, TooManyOperatorInputs) {
  ModelSpec m = FcModel();
  m.op_inputs.assign(10'001, 0);
  ExpectReadError(Build(m), "10001 inputs and 1 outputs, more than the 10000 allowed");
}

TEST(TfliteLimits, TooManyQuantizationParameters) {
  ModelSpec m = FcModel();
  m.tensors[1].scale.assign((1 << 24) + 1, 1.0f);
  ExpectReadError(Build(m), "quantization has 16777217 scales and 0 zero points");
}

}  // namespace
}  // namespace ql
