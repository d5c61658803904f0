// TFLite writer on hand-built graphs: what it preserves (checked with ir::DiffGraphs and in the
// flatbuffer itself), the converter's conventions it follows, what it refuses and why; the
// reader's new fields (metadata, signatures, layer map) on corrupt files; and ir::DiffGraphs
// seeing each kind of difference.
#include "quantlens/formats/tflite/writer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "quantlens/formats/tflite/op_version.h"
#include "quantlens/formats/tflite/reader.h"
#include "quantlens/ir/graph_compare.h"
#include "tflite_schema_generated.h"

namespace ql::tflite {
namespace {

namespace tfl = ::tflite;
using ir::DType;

std::vector<uint8_t> FloatBytes(std::vector<float> v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

int AddTensor(ir::Graph& g, const std::string& name, DType dtype, ir::Shape shape,
              std::vector<uint8_t> data = {}) {
  ir::Tensor t;
  t.name = name;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.is_constant = !data.empty();
  t.data = std::move(data);
  g.tensors.push_back(std::move(t));
  return static_cast<int>(g.tensors.size()) - 1;
}

ir::Op MakeOp(ir::OpType type, std::vector<int> in, std::vector<int> out, ir::Attrs attrs = {}) {
  ir::Op op;
  op.type = type;
  op.inputs = std::move(in);
  op.outputs = std::move(out);
  op.attrs = std::move(attrs);
  return op;
}

// input [-1,4] -> FULLY_CONNECTED(weights [2,4], bias [2]) -> RELU -> output [-1,2], with the
// extras a converter writes: subgraph name, metadata, a signature and a layer map.
ir::Graph FcGraph() {
  ir::Graph g;
  g.source_path = "fc_graph";
  g.description = "hand-built";
  g.subgraph_name = "main";
  const int in = AddTensor(g, "input", DType::kFloat32, {-1, 4});
  const int w = AddTensor(g, "weights", DType::kFloat32, {2, 4},
                          FloatBytes({1, 2, 3, 4, 5, 6, 7, 8}));
  const int b = AddTensor(g, "bias", DType::kFloat32, {2}, FloatBytes({0.5f, -0.5f}));
  const int fc = AddTensor(g, "dense", DType::kFloat32, {-1, 2});
  const int out = AddTensor(g, "relu", DType::kFloat32, {-1, 2});
  g.ops.push_back(MakeOp(ir::OpType::kFULLY_CONNECTED, {in, w, b}, {fc}, ir::FullyConnectedAttrs{}));
  g.ops.push_back(MakeOp(ir::OpType::kRELU, {fc}, {out}));
  g.inputs = {in};
  g.outputs = {out};
  g.metadata = {{"min_runtime_version", {'1', '.', '5', '.', '0', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}}};
  g.metadata_buffers = {{1, 2, 3}};
  g.signature_defs = {{"serving_default", 0, {{"x", in}}, {{"y", out}}}};
  g.layer_outputs = {{"dense", 0, fc}, {"relu", 0, out}};
  return g;
}

std::vector<uint8_t> Write(const ir::Graph& g, const WriteOptions& o = {}) {
  auto bytes = WriteTfliteBuffer(g, o);
  EXPECT_TRUE(bytes.ok()) << bytes.status().message();
  return bytes.ok() ? *bytes : std::vector<uint8_t>{};
}

ir::Graph Read(const std::vector<uint8_t>& bytes) {
  auto g = ReadTfliteBuffer(bytes, "written");
  EXPECT_TRUE(g.ok()) << g.status().message();
  return g.ok() ? std::move(g).value() : ir::Graph{};
}

const tfl::Model* Model(const std::vector<uint8_t>& bytes) {
  flatbuffers::Verifier v(bytes.data(), bytes.size());
  EXPECT_TRUE(v.VerifyBuffer<tfl::Model>(tfl::ModelIdentifier()));
  return tfl::GetModel(bytes.data());
}

std::string WriteError(const ir::Graph& g) {
  auto bytes = WriteTfliteBuffer(g);
  EXPECT_FALSE(bytes.ok()) << "the writer accepted a graph it must refuse";
  return bytes.ok() ? "" : bytes.status().message();
}

TEST(TfliteWriter, SmallGraphRoundTripsWithEverythingAFileCarries) {
  const ir::Graph g = FcGraph();
  const auto bytes = Write(g);
  EXPECT_EQ(ir::DiffGraphs(g, Read(bytes)), "");
  const tfl::Model* m = Model(bytes);
  EXPECT_EQ(m->version(), 3u);
  EXPECT_TRUE(tfl::ModelBufferHasIdentifier(bytes.data()));
  // The open batch: shape 1 in `shape`, -1 in `shape_signature`, as the converter writes it.
  const tfl::Tensor* input = m->subgraphs()->Get(0)->tensors()->Get(0);
  EXPECT_EQ(input->shape()->Get(0), 1);
  ASSERT_NE(input->shape_signature(), nullptr);
  EXPECT_EQ(input->shape_signature()->Get(0), -1);
  EXPECT_TRUE(input->has_rank());
  // Fully known shapes get no signature.
  EXPECT_EQ(m->subgraphs()->Get(0)->tensors()->Get(1)->shape_signature(), nullptr);
  // The layer map is one more metadata entry, after the graph's own.
  ASSERT_EQ(m->metadata()->size(), 2u);
  EXPECT_EQ(m->metadata()->Get(1)->name()->str(), kLayerMapMetadataName);
}

TEST(TfliteWriter, BufferZeroIsEmptyAndIdenticalDataIsStoredOnceAligned) {
  ir::Graph g = FcGraph();
  g.layer_outputs.clear();
  // A second FULLY_CONNECTED with the same weight bytes: the converter's buffer sharing.
  const int w2 = AddTensor(g, "weights_copy", DType::kFloat32, {2, 4}, g.tensors[1].data);
  const int fc2_in = AddTensor(g, "input2", DType::kFloat32, {1, 4});
  const int fc2 = AddTensor(g, "dense2", DType::kFloat32, {1, 2});
  g.ops.push_back(MakeOp(ir::OpType::kFULLY_CONNECTED, {fc2_in, w2, -1}, {fc2}, ir::FullyConnectedAttrs{}));
  g.inputs.push_back(fc2_in);
  g.outputs.push_back(fc2);
  const auto bytes = Write(g);
  const tfl::Model* m = Model(bytes);
  const auto* tensors = m->subgraphs()->Get(0)->tensors();
  EXPECT_EQ(tensors->Get(1)->buffer(), tensors->Get(w2)->buffer());
  EXPECT_NE(tensors->Get(1)->buffer(), 0u);
  EXPECT_EQ(tensors->Get(0)->buffer(), 0u);  // inputs and activations use the sentinel
  EXPECT_EQ(m->buffers()->Get(0)->data(), nullptr);
  for (uint32_t b = 1; b < m->buffers()->size(); ++b) {
    const auto* data = m->buffers()->Get(b)->data();
    ASSERT_NE(data, nullptr);
    EXPECT_EQ((data->data() - bytes.data()) % 16, 0) << "buffer " << b;
  }
  // weights, bias, min_runtime_version, metadata_buffers[0]: four distinct contents + sentinel.
  EXPECT_EQ(m->buffers()->size(), 5u);
  EXPECT_EQ(ir::DiffGraphs(g, Read(bytes)), "");
}

TEST(TfliteWriter, OperatorCodesAreSharedPerCodeAndVersion) {
  ir::Graph g;
  const int a = AddTensor(g, "a", DType::kFloat32, {1, 3});
  int prev = a;
  const int versions[] = {1, 1, 2};
  for (int v : versions) {
    const int out = AddTensor(g, "add" + std::to_string(g.tensors.size()), DType::kFloat32, {1, 3});
    g.ops.push_back(MakeOp(ir::OpType::kADD, {prev, a}, {out}, ir::BinaryAttrs{}));
    g.ops.back().version = v;
    prev = out;
  }
  const int gelu = AddTensor(g, "gelu", DType::kFloat32, {1, 3});
  g.ops.push_back(MakeOp(ir::OpType::kGELU, {prev}, {gelu}, ir::ActivationAttrs{}));
  g.inputs = {a};
  g.outputs = {gelu};
  const auto bytes = Write(g);
  const tfl::Model* m = Model(bytes);
  ASSERT_EQ(m->operator_codes()->size(), 3u);  // ADD v1, ADD v2, GELU
  const auto* ops = m->subgraphs()->Get(0)->operators();
  EXPECT_EQ(ops->Get(0)->opcode_index(), ops->Get(1)->opcode_index());
  EXPECT_NE(ops->Get(1)->opcode_index(), ops->Get(2)->opcode_index());
  const tfl::OperatorCode* gc = m->operator_codes()->Get(2);
  EXPECT_EQ(gc->builtin_code(), tfl::BuiltinOperator::GELU);
  EXPECT_EQ(gc->deprecated_builtin_code(), 127);  // PLACEHOLDER_FOR_GREATER_OP_CODES
  EXPECT_EQ(m->operator_codes()->Get(0)->deprecated_builtin_code(), 0);  // ADD
  EXPECT_EQ(ir::DiffGraphs(g, Read(bytes)), "");
}

TEST(TfliteWriter, VersionZeroIsComputedAsTheConverterDoes) {
  ir::Graph g = FcGraph();
  g.ops[0].version = 0;
  g.ops[1].version = 7;  // kept: positive versions are the graph's word
  const ir::Graph back = Read(Write(g));
  EXPECT_EQ(back.ops[0].version, ComputeOperatorCodeVersions(g)[0]);
  EXPECT_EQ(back.ops[1].version, 7);
}

// With recompute_op_versions, ops of one builtin share one operator code at the highest version
// among them (a FULLY_CONNECTED without bias lifts the others), as TFLite's converter writes.
TEST(TfliteWriter, RecomputedVersionsShareOneCodePerBuiltin) {
  ir::Graph g = FcGraph();
  const int in2 = AddTensor(g, "input2", DType::kFloat32, {1, 4});
  const int out2 = AddTensor(g, "dense2", DType::kFloat32, {1, 2});
  g.ops.push_back(MakeOp(ir::OpType::kFULLY_CONNECTED, {in2, 1, -1}, {out2}, ir::FullyConnectedAttrs{}));
  g.inputs.push_back(in2);
  g.outputs.push_back(out2);
  WriteOptions o;
  o.recompute_op_versions = true;
  const auto bytes = Write(g, o);
  const ir::Graph back = Read(bytes);
  const std::vector<int> want = ComputeOperatorCodeVersions(g);
  for (size_t i = 0; i < g.ops.size(); ++i) EXPECT_EQ(back.ops[i].version, want[i]) << "op " << i;
  EXPECT_EQ(back.ops[0].version, back.ops[2].version);
  EXPECT_EQ(Model(bytes)->operator_codes()->size(), 2u);  // FULLY_CONNECTED, RELU
}

TEST(TfliteWriter, MinRuntimeVersionIsAddedOnRequestOnly) {
  ir::Graph g = FcGraph();
  g.metadata.clear();
  WriteOptions o;
  o.recompute_op_versions = true;
  EXPECT_TRUE(Read(Write(g, o)).metadata.empty());
  o.add_min_runtime_version = true;
  const ir::Graph back = Read(Write(g, o));
  const std::string want = ModelMinRuntimeVersion(g);
  ASSERT_FALSE(want.empty());
  ASSERT_EQ(back.metadata.size(), 1u);
  EXPECT_EQ(back.metadata[0].name, kMinRuntimeVersionMetadataName);
  EXPECT_EQ(back.metadata[0].data, MinRuntimeVersionBuffer(want));
  EXPECT_EQ(back.metadata[0].data.size(), kMinRuntimeVersionBytes);
  // A graph that has the entry keeps its own.
  const ir::Graph again = Read(Write(FcGraph(), o));
  ASSERT_EQ(again.metadata.size(), 1u);
  EXPECT_EQ(again.metadata[0].data, FcGraph().metadata[0].data);
}

TEST(TfliteWriter, OptionsTablesFollowTheConverter) {
  ir::Graph g;
  const int x = AddTensor(g, "x", DType::kInt8, {1, 2});
  const int pads = AddTensor(g, "pads", DType::kInt32, {2, 2}, std::vector<uint8_t>(16, 0));
  const int padded = AddTensor(g, "padded", DType::kInt8, {1, 2});
  const int deq = AddTensor(g, "deq", DType::kFloat32, {1, 2});
  g.ops.push_back(MakeOp(ir::OpType::kPAD, {x, pads}, {padded}));
  g.ops.push_back(MakeOp(ir::OpType::kDEQUANTIZE, {padded}, {deq}));
  g.tensors[x].quant = {{0.5f}, {3}, 0};
  g.tensors[padded].quant = {{0.5f}, {3}, 0};
  g.inputs = {x};
  g.outputs = {deq};
  const auto bytes = Write(g);
  const auto* ops = Model(bytes)->subgraphs()->Get(0)->operators();
  EXPECT_EQ(ops->Get(0)->builtin_options_type(), tfl::BuiltinOptions::PadOptions);
  EXPECT_NE(ops->Get(0)->builtin_options(), nullptr);
  EXPECT_EQ(ops->Get(1)->builtin_options_type(), tfl::BuiltinOptions::NONE);
  EXPECT_EQ(ir::DiffGraphs(g, Read(bytes)), "");
}

TEST(TfliteWriter, QuantizationScalarsAndCustomOpsRoundTrip) {
  ir::Graph g;
  const int x = AddTensor(g, "x", DType::kFloat32, {1, 2, 2, 3});
  const int w = AddTensor(g, "w", DType::kInt8, {3, 1, 1, 3}, std::vector<uint8_t>(9, 7));
  g.tensors[w].quant = {{0.1f, 0.2f, 0.3f}, {0, 0, 0}, 0};
  const int scalar = AddTensor(g, "scalar", DType::kFloat32, {});
  const int undeclared = AddTensor(g, "undeclared", DType::kFloat32, {});
  g.tensors[undeclared].shape_declared = false;
  const int state = AddTensor(g, "state", DType::kFloat32, {1, 3});
  g.tensors[state].is_variable = true;
  ir::CustomAttrs custom;
  custom.options = {0x01, 0x02, 0x03};
  ir::Op op = MakeOp(ir::OpType::kCUSTOM, {x, w, state}, {scalar, undeclared}, custom);
  op.custom_code = "MyKernel";
  g.ops.push_back(op);
  g.inputs = {x};
  g.outputs = {scalar, undeclared};
  const auto bytes = Write(g);
  const ir::Graph back = Read(bytes);
  EXPECT_EQ(ir::DiffGraphs(g, back), "");
  const auto* tensors = Model(bytes)->subgraphs()->Get(0)->tensors();
  EXPECT_TRUE(tensors->Get(scalar)->has_rank());
  EXPECT_FALSE(tensors->Get(undeclared)->has_rank());
  EXPECT_EQ(tensors->Get(undeclared)->shape(), nullptr);
}

TEST(TfliteWriter, RefusesWhatVerifyGraphRefuses) {
  ir::Graph g = FcGraph();
  g.ops[0].inputs[0] = 4;  // reads 'relu', produced only by the next op
  EXPECT_NE(WriteError(g).find("before any op produces it"), std::string::npos);
  g = FcGraph();
  g.tensors[1].data.pop_back();
  EXPECT_NE(WriteError(g).find("constant holds 31 bytes"), std::string::npos);
}

TEST(TfliteWriter, RefusesInternalOpsNamingOpAndLayer) {
  ir::Graph g = FcGraph();
  g.ops[1].type = ir::OpType::kHARD_SIGMOID;
  g.ops[1].layer = "gate";
  const std::string msg = WriteError(g);
  EXPECT_NE(msg.find("HARD_SIGMOID"), std::string::npos) << msg;
  EXPECT_NE(msg.find("layer 'gate'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("fc_graph"), std::string::npos) << msg;
}

// Attributes TFLite's options cannot hold are refused, never dropped.
TEST(TfliteWriter, RefusesAttributesTfliteCannotStore) {
  struct Case {
    const char* what;
    std::function<void(ir::Graph&)> edit;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"RELU with a threshold",
       [](ir::Graph& g) { ir::ActivationAttrs a; a.threshold = 0.5f; g.ops[1].attrs = a; },
       "threshold"},
      {"RELU with max_value",
       [](ir::Graph& g) { ir::ActivationAttrs a; a.max_value = 4.0f; g.ops[1].attrs = a; },
       "max_value"},
      {"ELU with alpha 0.5",
       [](ir::Graph& g) {
         ir::ActivationAttrs a; a.alpha = 0.5f;
         g.ops[1].type = ir::OpType::kELU; g.ops[1].attrs = a;
       },
       "alpha"},
      {"SOFTMAX over axis 0",
       [](ir::Graph& g) {
         ir::SoftmaxAttrs a; a.axis = 0;
         g.ops[1].type = ir::OpType::kSOFTMAX; g.ops[1].attrs = a;
       },
       "axis 0"},
      {"FULLY_CONNECTED given ConvAttrs",
       [](ir::Graph& g) { g.ops[0].attrs = ir::ConvAttrs{}; }, "takes FullyConnectedAttrs"},
      {"MUL without pot_scale_int16",
       [](ir::Graph& g) {
         ir::BinaryAttrs a; a.pot_scale_int16 = false;
         g.ops[1].type = ir::OpType::kMUL; g.ops[1].inputs = {3, 3}; g.ops[1].attrs = a;
       },
       "pot_scale_int16"},
      {"CAST whose attrs contradict its tensors",
       [](ir::Graph& g) {
         ir::TypeAttrs a; a.out_type = DType::kInt32;
         g.ops[1].type = ir::OpType::kCAST; g.ops[1].attrs = a;
       },
       "out_type"},
      {"custom code on a builtin", [](ir::Graph& g) { g.ops[1].custom_code = "x"; }, "custom code"},
      {"layer output past the tensors", [](ir::Graph& g) { g.layer_outputs[0].tensor = 99; },
       "tensor 99"},
      {"signature naming a missing tensor", [](ir::Graph& g) { g.signature_defs[0].inputs[0].tensor = 7; },
       "tensor 7"},
      {"the reserved layer-map metadata name",
       [](ir::Graph& g) { g.metadata.push_back({kLayerMapMetadataName, {1}}); }, "reserved"},
      {"a variable with data", [](ir::Graph& g) { g.tensors[1].is_variable = true; }, "variable"},
      {"a dimension past int32", [](ir::Graph& g) { g.tensors[4].shape[1] = int64_t{1} << 33; },
       "int32"},
  };
  for (const Case& c : cases) {
    ir::Graph g = FcGraph();
    c.edit(g);
    const std::string msg = WriteError(g);
    EXPECT_NE(msg.find(c.expected), std::string::npos) << c.what << ": " << msg;
  }
}

// Attribute structs at their defaults carry no information; ops without TFLite options accept them
// (Keras lowering gives MINIMUM a BinaryAttrs{}, RELU an ActivationAttrs{}).
TEST(TfliteWriter, AcceptsDefaultAttrsOnOpsWithoutOptions) {
  ir::Graph g = FcGraph();
  g.ops[1].attrs = ir::ActivationAttrs{};
  EXPECT_TRUE(WriteTfliteBuffer(g).ok());
  g.ops[1].type = ir::OpType::kMINIMUM;
  g.ops[1].inputs = {3, 3};
  g.ops[1].attrs = ir::BinaryAttrs{};
  EXPECT_TRUE(WriteTfliteBuffer(g).ok());
}

// Every builtin with degenerate operands (none, an omitted one, wrong attrs) is written or refused
// with a message; nothing in the writer (or the version rules it calls) may crash on it.
TEST(TfliteWriter, DegenerateOpsAreWrittenOrRefusedWithoutCrashing) {
  for (int t = 0; t < static_cast<int>(ir::OpType::kNumOpTypes); ++t) {
    const auto type = static_cast<ir::OpType>(t);
    const std::vector<std::vector<int>> operand_sets = {{}, {-1}, {0, -1, 0}};
    const std::vector<ir::Attrs> attr_sets = {std::monostate{}, ir::ConvAttrs{}, ir::SoftmaxAttrs{},
                                              ir::TypeAttrs{}, ir::CustomAttrs{{1, 2}}};
    for (const auto& inputs : operand_sets) {
      for (const ir::Attrs& attrs : attr_sets) {
        ir::Graph g;
        AddTensor(g, "x", DType::kInt8, {1, 3});
        AddTensor(g, "y", DType::kInt8, {});
        g.ops.push_back(MakeOp(type, inputs, {1}, attrs));
        if (type == ir::OpType::kCUSTOM) g.ops[0].custom_code = "K";
        g.ops[0].version = 0;
        g.inputs = {0};
        g.outputs = {1};
        auto bytes = WriteTfliteBuffer(g);
        if (bytes.ok()) {
          auto back = ReadTfliteBuffer(*bytes, "degenerate");
          EXPECT_TRUE(back.ok()) << ir::OpTypeName(type) << ": " << back.status().message();
        } else {
          EXPECT_FALSE(bytes.status().message().empty()) << ir::OpTypeName(type);
        }
      }
    }
  }
}

TEST(TfliteWriter, FileWriteIsAtomicAndReportsBadPaths) {
  const std::string dir = ::testing::TempDir() + "/ql_writer_test";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/fc.tflite";
  ASSERT_TRUE(WriteTfliteFile(FcGraph(), path).ok());
  auto back = ReadTfliteFile(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(ir::DiffGraphs(FcGraph(), *back), "");
  Status st = WriteTfliteFile(FcGraph(), dir + "/missing/dir/fc.tflite");
  EXPECT_FALSE(st.ok());
  std::filesystem::remove_all(dir);
}

// --- the reader on files whose metadata, signatures or layer map are corrupt ---------------------

// The written FcGraph with `edit` applied through flatbuffers' object API.
std::vector<uint8_t> Edited(const std::function<void(tfl::ModelT&)>& edit) {
  const auto bytes = Write(FcGraph());
  std::unique_ptr<tfl::ModelT> m = tfl::UnPackModel(bytes.data());
  edit(*m);
  flatbuffers::FlatBufferBuilder fbb;
  tfl::FinishModelBuffer(fbb, tfl::Model::Pack(fbb, m.get()));
  return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
}

std::string ReadError(const std::vector<uint8_t>& bytes) {
  auto g = ReadTfliteBuffer(bytes, "edited.tflite");
  EXPECT_FALSE(g.ok()) << "the reader accepted a corrupt file";
  if (g.ok()) return "";
  EXPECT_EQ(g.status().code(), StatusCode::kInvalidModel) << g.status().message();
  return g.status().message();
}

// Replaces the layer map's bytes.
std::function<void(tfl::ModelT&)> LayerMap(const std::string& json) {
  return [json](tfl::ModelT& m) {
    for (auto& md : m.metadata)
      if (md->name == kLayerMapMetadataName) m.buffers[md->buffer]->data.assign(json.begin(), json.end());
  };
}

TEST(TfliteReaderExtras, CorruptLayerMapsAreRefused) {
  const std::pair<std::string, const char*> cases[] = {
      {"not json", "invalid JSON"},
      {R"({"version":2,"outputs":[]})", "version"},
      {R"({"version":1})", "\"outputs\""},
      {R"({"version":1,"outputs":[{"layer":"a","node":0,"tensor":5}]})", "\"tensor\" 5 is outside 0..4"},
      {R"({"version":1,"outputs":[{"layer":"a","node":-1,"tensor":0}]})", "\"node\" -1"},
      {R"({"version":1,"outputs":[{"layer":"a","node":0,"tensor":1.5}]})", "not an integer"},
      {R"({"version":1,"outputs":[{"layer":"","node":0,"tensor":0}]})", "layer name is empty"},
      {R"({"version":1,"outputs":[{"layer":7,"node":0,"tensor":0}]})", "not a string"},
      {R"({"version":1,"outputs":[[[[[[1]]]]]]})", "nested deeper"},
      {R"({"version":1,"outputs":[{"layer":"a","node":0,"tensor":18446744073709551615}]})",
       "outside"},
  };
  for (const auto& [json, expected] : cases) {
    const std::string msg = ReadError(Edited(LayerMap(json)));
    EXPECT_NE(msg.find("layer map"), std::string::npos) << json << ": " << msg;
    EXPECT_NE(msg.find(expected), std::string::npos) << json << ": " << msg;
  }
  // Two maps: which one holds is ambiguous.
  const std::string msg = ReadError(Edited([](tfl::ModelT& m) {
    auto copy = std::make_unique<tfl::MetadataT>(*m.metadata.back());
    m.metadata.push_back(std::move(copy));
  }));
  EXPECT_NE(msg.find("a second layer map"), std::string::npos) << msg;
}

TEST(TfliteReaderExtras, BadMetadataAndSignatureIndicesAreRefused) {
  std::string msg = ReadError(Edited([](tfl::ModelT& m) { m.metadata[0]->buffer = 999; }));
  EXPECT_NE(msg.find("metadata entry 0 'min_runtime_version': buffer index 999 out of range"),
            std::string::npos) << msg;
  msg = ReadError(Edited([](tfl::ModelT& m) { m.metadata_buffer.push_back(-3); }));
  EXPECT_NE(msg.find("negative"), std::string::npos) << msg;
  msg = ReadError(Edited([](tfl::ModelT& m) { m.signature_defs[0]->inputs[0]->tensor_index = 50; }));
  EXPECT_NE(msg.find("names tensor 50, out of range"), std::string::npos) << msg;
  msg = ReadError(Edited([](tfl::ModelT& m) { m.signature_defs[0]->subgraph_index = 4; }));
  EXPECT_NE(msg.find("subgraph index 4 out of range"), std::string::npos) << msg;
  // Many entries naming one large buffer would multiply memory: bounded by the file's size.
  msg = ReadError(Edited([](tfl::ModelT& m) {
    m.buffers[m.metadata[0]->buffer]->data.assign(1 << 16, 0);
    for (int i = 0; i < 8; ++i) m.metadata_buffer.push_back(static_cast<int32_t>(m.metadata[0]->buffer));
  }));
  EXPECT_NE(msg.find("twice the file's size"), std::string::npos) << msg;
}

TEST(TfliteReaderExtras, SignaturesOfOtherSubgraphsAreDropped) {
  auto g = ReadTfliteBuffer(Edited([](tfl::ModelT& m) {
                              m.subgraphs.push_back(std::make_unique<tfl::SubGraphT>());
                              m.signature_defs[0]->subgraph_index = 1;
                            }),
                            "two_subgraphs");
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_TRUE(g->signature_defs.empty());
}

// --- ir::DiffGraphs ------------------------------------------------------------------------------

TEST(DiffGraphs, ReportsEachKindOfDifference) {
  const ir::Graph base = FcGraph();
  EXPECT_EQ(ir::DiffGraphs(base, base), "");
  const std::pair<std::function<void(ir::Graph&)>, const char*> cases[] = {
      {[](ir::Graph& g) { g.tensors[1].data[5] ^= 1; }, "tensor 1 'weights': data differs at byte 5"},
      {[](ir::Graph& g) { g.tensors[0].shape[0] = 1; }, "shape [-1,4] vs [1,4]"},
      {[](ir::Graph& g) { g.tensors[4].quant = {{0.5f}, {0}, 0}; }, "quantization"},
      {[](ir::Graph& g) { g.tensors[3].quant.axis = 1; }, ""},  // no scales: axis still compared
      {[](ir::Graph& g) { g.tensors[0].name = "in"; }, "name 'input' vs 'in'"},
      {[](ir::Graph& g) { g.tensors[0].is_variable = true; }, "is_variable"},
      {[](ir::Graph& g) { g.ops[0].version = 2; }, "version 1 vs 2"},
      {[](ir::Graph& g) { std::get<ir::FullyConnectedAttrs>(g.ops[0].attrs).keep_num_dims = true; },
       "keep_num_dims: false vs true"},
      {[](ir::Graph& g) { g.ops[0].inputs[2] = -1; }, "inputs [0,1,2] vs [0,1,-1]"},
      {[](ir::Graph& g) { g.metadata[0].data[0] = '2'; }, "metadata 0 'min_runtime_version'"},
      {[](ir::Graph& g) { g.metadata_buffers[0].push_back(4); }, "metadata buffer 0"},
      {[](ir::Graph& g) { g.signature_defs[0].outputs[0].name = "z"; }, "signature def 0"},
      {[](ir::Graph& g) { g.layer_outputs[1].node = 1; }, "layer output 1"},
      {[](ir::Graph& g) { g.subgraph_name = "other"; }, "subgraph name"},
      {[](ir::Graph& g) { g.outputs = {3}; }, "graph outputs"},
  };
  for (const auto& [edit, expected] : cases) {
    ir::Graph g = base;
    edit(g);
    const std::string d = ir::DiffGraphs(base, g);
    EXPECT_NE(d, "") << expected;
    EXPECT_NE(d.find(expected), std::string::npos) << d;
  }
}

TEST(DiffGraphs, AttrsCompareFloatsBitForBitAndEveryAlternative) {
  ir::SoftmaxAttrs a, b;
  b.beta = -0.0f;
  a.beta = 0.0f;
  EXPECT_NE(ir::DiffAttrs(a, b), "");  // -0 and +0 are different bytes in a file
  a.beta = b.beta = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(ir::DiffAttrs(a, b), "");
  ir::NormAttrs n1, n2;
  n2.axes = {1};
  EXPECT_EQ(ir::DiffAttrs(n1, n2), "axes: [] vs [1]");
  ir::CustomAttrs c1, c2;
  c2.options = {1};
  EXPECT_NE(ir::DiffAttrs(c1, c2), "");
  EXPECT_EQ(ir::DiffAttrs(ir::PoolAttrs{}, ir::ConvAttrs{}), "are PoolAttrs vs ConvAttrs");
}

}  // namespace
}  // namespace ql::tflite
