// Differential tests against the genuine TFLite 2.9 C library (libtensorflowlite_c.so from npm
// tfjs-tflite-node@0.0.2). For every int8/uint8 golden model, seeded random inputs over the input's
// whole integer range must give byte-identical outputs in quantlens and in TFLite (a float input
// that the model quantizes first gets random values of that QUANTIZE op's integer grid, so
// models with float inputs and outputs around an integer body are covered too):
//  - profile tflite-x86 against the library as is (ruy's x86 SIMD kernels);
//  - profile tflite-wasm (int8 models) against the library with RUY_PATHS=1 (ruy's portable
//    kernel, the arithmetic of the WebAssembly build), checked to really change results.
// TFLite_Detection_PostProcess is also checked in isolation, on the genuine runtime's own inputs,
// in both its fast and regular NMS modes.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <flatbuffers/flexbuffers.h>
#include <gtest/gtest.h>

#include "corpus/golden_catalog.h"
#include "quantlens/formats/model_loader.h"
#include "quantlens/runtime/interpreter.h"
#include "tensorflow/lite/c/c_api.h"
#include "testing/tflite_builder.h"
#include "tflite_schema_generated.h"

namespace ql {
namespace {

using testing::GoldenModel;

constexpr int kSeeds = 20;
constexpr uint32_t kSeedBase = 20240611;  // fixed: failures must reproduce

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// Sets (or clears) an environment variable for the lifetime of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    if (value) setenv(name, value, 1); else unsetenv(name);
  }
  ~ScopedEnv() {
    if (had_) setenv(name_, old_.c_str(), 1); else unsetenv(name_);
  }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

void CaptureError(void* user, const char* format, va_list args) {
  char buf[1024];
  std::vsnprintf(buf, sizeof(buf), format, args);
  static_cast<std::string*>(user)->append(buf).append("\n");
}

// One genuine TFLite interpreter (1 thread, no delegate). `ruy_portable` sets RUY_PATHS=1 while the
// interpreter is created and first invoked: ruy reads the variable once per context, when its
// first matrix product selects a kernel path.
class Genuine {
 public:
  bool Init(std::vector<uint8_t> bytes, bool ruy_portable) {
    bytes_ = std::move(bytes);
    ScopedEnv env("RUY_PATHS", ruy_portable ? "1" : nullptr);
    model_ = TfLiteModelCreate(bytes_.data(), bytes_.size());
    if (!model_) {
      error_ = "TfLiteModelCreate failed";
      return false;
    }
    options_ = TfLiteInterpreterOptionsCreate();
    TfLiteInterpreterOptionsSetNumThreads(options_, 1);
    TfLiteInterpreterOptionsSetErrorReporter(options_, &CaptureError, &error_);
    interp_ = TfLiteInterpreterCreate(model_, options_);
    if (!interp_) return false;
    if (TfLiteInterpreterAllocateTensors(interp_) != kTfLiteOk) return false;
    // The first invoke fixes ruy's path while RUY_PATHS is still as requested.
    for (int i = 0; i < num_inputs(); ++i) {
      std::vector<uint8_t> zeros(TfLiteTensorByteSize(input(i)), 0);
      TfLiteTensorCopyFromBuffer(input(i), zeros.data(), zeros.size());
    }
    return TfLiteInterpreterInvoke(interp_) == kTfLiteOk;
  }
  ~Genuine() {
    if (interp_) TfLiteInterpreterDelete(interp_);
    if (options_) TfLiteInterpreterOptionsDelete(options_);
    if (model_) TfLiteModelDelete(model_);
  }
  const std::string& error() const { return error_; }
  int num_inputs() const { return TfLiteInterpreterGetInputTensorCount(interp_); }
  int num_outputs() const { return TfLiteInterpreterGetOutputTensorCount(interp_); }
  TfLiteTensor* input(int i) const { return TfLiteInterpreterGetInputTensor(interp_, i); }

  bool Run(const std::vector<std::vector<uint8_t>>& inputs, std::vector<std::vector<uint8_t>>* outputs) {
    for (int i = 0; i < num_inputs(); ++i) {
      if (inputs[i].size() != TfLiteTensorByteSize(input(i))) return false;
      if (TfLiteTensorCopyFromBuffer(input(i), inputs[i].data(), inputs[i].size()) != kTfLiteOk) return false;
    }
    if (TfLiteInterpreterInvoke(interp_) != kTfLiteOk) return false;
    outputs->clear();
    for (int i = 0; i < num_outputs(); ++i) {
      const TfLiteTensor* t = TfLiteInterpreterGetOutputTensor(interp_, i);
      const auto* p = static_cast<const uint8_t*>(TfLiteTensorData(t));
      outputs->emplace_back(p, p + TfLiteTensorByteSize(t));
    }
    return true;
  }

 private:
  std::vector<uint8_t> bytes_;  // TfLiteModelCreate does not copy
  TfLiteModel* model_ = nullptr;
  TfLiteInterpreterOptions* options_ = nullptr;
  TfLiteInterpreter* interp_ = nullptr;
  std::string error_;
};

// Uniform bytes: every int8/uint8 value equally likely. mt19937's output is fully specified, so
// the inputs are the same on every platform (std::uniform_int_distribution is not).
std::vector<uint8_t> RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng() >> 24);
  return v;
}

// First difference between two output buffers, as text; empty when identical.
std::string DescribeDiff(const std::vector<uint8_t>& ours, const std::vector<uint8_t>& theirs,
                         ir::DType dtype) {
  if (ours.size() != theirs.size())
    return fmt::format("sizes differ: quantlens {} bytes, TFLite {} bytes", ours.size(), theirs.size());
  const size_t es = std::max<size_t>(1, ir::DTypeSize(dtype));
  size_t ndiff = 0, first = SIZE_MAX;
  for (size_t i = 0; i + es <= ours.size(); i += es)
    if (std::memcmp(&ours[i], &theirs[i], es) != 0) {
      ++ndiff;
      if (first == SIZE_MAX) first = i / es;
    }
  if (ndiff == 0) return "";
  auto value = [&](const std::vector<uint8_t>& v, size_t k) -> std::string {
    const uint8_t* p = &v[k * es];
    switch (dtype) {
      case ir::DType::kInt8: return std::to_string(static_cast<int8_t>(*p));
      case ir::DType::kUInt8: return std::to_string(*p);
      case ir::DType::kFloat32: { float f; std::memcpy(&f, p, 4); return fmt::format("{:.9g}", f); }
      case ir::DType::kInt32: { int32_t x; std::memcpy(&x, p, 4); return std::to_string(x); }
      case ir::DType::kInt64: { int64_t x; std::memcpy(&x, p, 8); return std::to_string(x); }
      default: return fmt::format("0x{:02x}", *p);
    }
  };
  return fmt::format("{} of {} elements differ; first at {}: quantlens {} vs TFLite {}", ndiff,
                     ours.size() / es, first, value(ours, first), value(theirs, first));
}

// How random values for one model input are drawn.
struct InputDomain {
  bool raw_bytes = true;  // int8/uint8 input: every byte value equally likely
  // Float input consumed by a QUANTIZE op: x = float32(scale * (q - zero_point)) for a uniform q
  // in [qmin, qmax], so TFLite's and quantlens's quantization see the same exact grid values.
  float scale = 0.0f;
  int32_t zero_point = 0, qmin = 0, qmax = 0;
};

struct DiffCase {
  std::string model;   // golden folder name
  std::string path;    // .tflite
  rt::Profile profile;
  std::vector<InputDomain> inputs;
};
// Keeps gtest from dumping the struct's bytes in test listings.
void PrintTo(const DiffCase& c, std::ostream* os) { *os << c.model << " " << rt::ProfileName(c.profile); }

// The input domains of an integer model, or nullopt if `g` is not one (a float model, or a
// dynamic-range model whose only integers are its weights). `has_int8` tells whether any
// activation is int8 (the tflite-wasm case applies to those).
std::optional<std::vector<InputDomain>> IntegerModelInputs(const ir::Graph& g, bool* has_int8) {
  *has_int8 = false;
  bool integer_activations = false;
  for (const ir::Tensor& t : g.tensors) {
    if (t.is_constant || t.quant.empty()) continue;
    if (t.dtype == ir::DType::kInt8) *has_int8 = integer_activations = true;
    if (t.dtype == ir::DType::kUInt8) integer_activations = true;
  }
  if (!integer_activations) return std::nullopt;
  std::vector<InputDomain> domains;
  for (int in : g.inputs) {
    const ir::Tensor& t = g.tensors[in];
    if (t.dtype == ir::DType::kInt8 || t.dtype == ir::DType::kUInt8) {
      domains.push_back({});
      continue;
    }
    if (t.dtype != ir::DType::kFloat32) return std::nullopt;
    const ir::Op* quantize = nullptr;
    for (const ir::Op& op : g.ops)
      if (op.type == ir::OpType::kQUANTIZE && !op.inputs.empty() && op.inputs[0] == in) quantize = &op;
    if (!quantize) return std::nullopt;
    const ir::Tensor& q = g.tensors[quantize->outputs[0]];
    if (q.quant.empty() || q.quant.per_axis()) return std::nullopt;
    InputDomain d;
    d.raw_bytes = false;
    d.scale = q.quant.scale[0];
    d.zero_point = q.quant.zero_point.empty() ? 0 : static_cast<int32_t>(q.quant.zero_point[0]);
    d.qmin = q.dtype == ir::DType::kUInt8 ? 0 : -128;
    d.qmax = q.dtype == ir::DType::kUInt8 ? 255 : 127;
    domains.push_back(d);
  }
  return domains;
}

std::vector<DiffCase> DiffCases() {
  std::vector<DiffCase> cases;
  for (const GoldenModel& m : testing::ListGoldenModels()) {
    if (m.model_path.empty()) continue;
    auto graph = LoadModel(m.model_path);
    if (!graph.ok()) continue;  // the golden test reports unreadable models
    bool has_int8 = false;
    auto domains = IntegerModelInputs(*graph, &has_int8);
    if (!domains) continue;
    cases.push_back({m.name, m.model_path, rt::Profile::kTfliteX86, *domains});
    if (has_int8) cases.push_back({m.name, m.model_path, rt::Profile::kTfliteWasm, *domains});
  }
  return cases;
}

// Seeded random bytes for input `i` of `c` (`bytes` long).
std::vector<uint8_t> RandomInput(const DiffCase& c, int i, size_t bytes, uint32_t seed) {
  const InputDomain& d = c.inputs[i];
  if (d.raw_bytes) return RandomBytes(bytes, seed);
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(bytes);
  for (size_t k = 0; k + 4 <= bytes; k += 4) {
    const int32_t q = d.qmin + static_cast<int32_t>(rng() % static_cast<uint32_t>(d.qmax - d.qmin + 1));
    const float x = d.scale * static_cast<float>(q - d.zero_point);
    std::memcpy(&v[k], &x, 4);
  }
  return v;
}

class TfliteDiff : public ::testing::TestWithParam<DiffCase> {};

TEST_P(TfliteDiff, RandomInputsGiveIdenticalOutputs) {
  const DiffCase& c = GetParam();
  const bool portable = c.profile == rt::Profile::kTfliteWasm;
  Genuine genuine;
  ASSERT_TRUE(genuine.Init(ReadFile(c.path), portable)) << c.path << ": " << genuine.error();
  auto graph = LoadModel(c.path);
  ASSERT_TRUE(graph.ok()) << graph.status().message();
  auto interp = rt::Interpreter::Create(*graph, {c.profile});
  ASSERT_TRUE(interp.ok()) << interp.status().message();
  rt::Interpreter& ql = **interp;
  ASSERT_EQ(ql.num_inputs(), genuine.num_inputs());
  ASSERT_EQ(ql.num_outputs(), genuine.num_outputs());

  int bad_runs = 0;
  std::string first_failure;
  std::vector<int> bad_outputs(ql.num_outputs(), 0);
  for (int s = 0; s < kSeeds; ++s) {
    std::vector<std::vector<uint8_t>> inputs;
    for (int i = 0; i < ql.num_inputs(); ++i)
      inputs.push_back(RandomInput(c, i, TfLiteTensorByteSize(genuine.input(i)), kSeedBase + 1000 * s + i));
    std::vector<std::vector<uint8_t>> theirs;
    ASSERT_TRUE(genuine.Run(inputs, &theirs)) << "TFLite failed on seed " << s << ": " << genuine.error();
    for (int i = 0; i < ql.num_inputs(); ++i) {
      Status st = ql.SetInput(i, inputs[i].data(), inputs[i].size());
      ASSERT_TRUE(st.ok()) << st.message();
    }
    Status st = ql.Invoke();
    ASSERT_TRUE(st.ok()) << "seed " << s << ": " << st.message();
    bool bad = false;
    for (int o = 0; o < ql.num_outputs(); ++o) {
      const rt::TensorRef& out = ql.output(o);
      const auto* p = static_cast<const uint8_t*>(out.data);
      std::vector<uint8_t> ours(p, p + out.bytes());
      const std::string d = DescribeDiff(ours, theirs[o], out.dtype());
      if (d.empty()) continue;
      bad = true;
      ++bad_outputs[o];
      if (first_failure.empty())
        first_failure = fmt::format("seed {} output {} '{}' (tensor {}): {}", s, o, out.info->name,
                                    out.info->source_index, d);
    }
    bad_runs += bad;
  }
  std::printf("[diff] %-28s %-11s %2d/%d inputs identical\n", c.model.c_str(),
              std::string(rt::ProfileName(c.profile)).c_str(), kSeeds - bad_runs, kSeeds);
  EXPECT_EQ(bad_runs, 0) << c.model << " under " << rt::ProfileName(c.profile) << ": " << bad_runs
                         << " of " << kSeeds << " random inputs differ; first: " << first_failure;
}

INSTANTIATE_TEST_SUITE_P(Golden, TfliteDiff, ::testing::ValuesIn(DiffCases()),
                         [](const ::testing::TestParamInfo<DiffCase>& info) {
                           return testing::TestNameSafe(
                               info.param.model + "_" +
                               std::string(rt::ProfileName(info.param.profile)));
                         });

// Without this the tflite-wasm cases could pass against a library that ignored RUY_PATHS.
TEST(TfliteDiffSetup, RuyPortablePathChangesSomeResults) {
  int compared = 0;
  for (const DiffCase& c : DiffCases()) {
    if (c.profile != rt::Profile::kTfliteWasm) continue;
    Genuine simd, portable;
    ASSERT_TRUE(simd.Init(ReadFile(c.path), false)) << simd.error();
    ASSERT_TRUE(portable.Init(ReadFile(c.path), true)) << portable.error();
    ++compared;
    for (int s = 0; s < kSeeds; ++s) {
      std::vector<std::vector<uint8_t>> inputs, a, b;
      for (int i = 0; i < simd.num_inputs(); ++i)
        inputs.push_back(RandomInput(c, i, TfLiteTensorByteSize(simd.input(i)), kSeedBase + 1000 * s + i));
      ASSERT_TRUE(simd.Run(inputs, &a));
      ASSERT_TRUE(portable.Run(inputs, &b));
      if (a != b) {
        std::printf("[diff] RUY_PATHS=1 changes %s outputs (seed %d)\n", c.model.c_str(), s);
        return;
      }
    }
  }
  FAIL() << "RUY_PATHS=1 changed no output of " << compared
         << " int8 models: the tflite-wasm differential proves nothing";
}

// --- TFLite_Detection_PostProcess in isolation ---------------------------------------------------

// A copy of `bytes` whose subgraph 0 outputs are `outputs` (source tensor indices): a new int32
// vector is appended and the subgraph's offset pointed at it. Offsets in a flatbuffer are unsigned
// and forward, and the subgraph table precedes the end of the file, so the append is always
// reachable.
std::vector<uint8_t> WithOutputs(const std::vector<uint8_t>& bytes, const std::vector<int>& outputs) {
  const tflite::Model* model = tflite::GetModel(bytes.data());
  const auto* sg = model->subgraphs()->Get(0);
  const auto* table = reinterpret_cast<const uint8_t*>(sg);
  const flatbuffers::voffset_t field =
      reinterpret_cast<const flatbuffers::Table*>(sg)->GetOptionalFieldOffset(tflite::SubGraph::VT_OUTPUTS);
  if (field == 0) return {};
  const size_t field_pos = static_cast<size_t>(table - bytes.data()) + field;
  std::vector<uint8_t> out = bytes;
  out.resize((out.size() + 3) / 4 * 4, 0);
  const size_t vec_pos = out.size();
  auto put32 = [&](size_t pos, uint32_t v) { std::memcpy(&out[pos], &v, 4); };
  out.resize(vec_pos + 4 + 4 * outputs.size());
  put32(vec_pos, static_cast<uint32_t>(outputs.size()));
  for (size_t i = 0; i < outputs.size(); ++i) put32(vec_pos + 4 + 4 * i, static_cast<uint32_t>(outputs[i]));
  put32(field_pos, static_cast<uint32_t>(vec_pos - field_pos));
  return out;
}

// The op's options with use_regular_nms = true: the flexbuffer map rebuilt with every key kept
// (the SSD files carry no use_regular_nms key, so flipping a byte in place is not possible).
std::vector<uint8_t> RegularNmsOptions(const std::vector<uint8_t>& old) {
  auto m = flexbuffers::GetRoot(old.data(), old.size()).AsMap();
  flexbuffers::Builder fbb;
  fbb.Map([&]() {
    auto keys = m.Keys();
    for (size_t i = 0; i < keys.size(); ++i) {
      const std::string key = keys[i].AsKey();
      if (key == "use_regular_nms") continue;
      const auto v = m.Values()[i];
      if (v.IsFloat()) fbb.Float(key.c_str(), v.AsFloat());
      else if (v.IsBool()) fbb.Bool(key.c_str(), v.AsBool());
      else fbb.Int(key.c_str(), v.AsInt64());
    }
    fbb.Bool("use_regular_nms", true);
  });
  fbb.Finish();
  return fbb.GetBuffer();
}

// A copy of `bytes` in which operator `op_index` of subgraph 0 has `options` as custom options
// (appended vector, field offset repointed, as in WithOutputs).
std::vector<uint8_t> WithCustomOptions(const std::vector<uint8_t>& bytes, int op_index,
                                       const std::vector<uint8_t>& options) {
  const tflite::Model* model = tflite::GetModel(bytes.data());
  const auto* op = model->subgraphs()->Get(0)->operators()->Get(op_index);
  const auto* table = reinterpret_cast<const flatbuffers::Table*>(op);
  const flatbuffers::voffset_t field = table->GetOptionalFieldOffset(tflite::Operator::VT_CUSTOM_OPTIONS);
  if (field == 0) return {};
  const size_t field_pos = static_cast<size_t>(reinterpret_cast<const uint8_t*>(op) - bytes.data()) + field;
  std::vector<uint8_t> out = bytes;
  out.resize((out.size() + 3) / 4 * 4, 0);
  const size_t vec_pos = out.size();
  out.resize(vec_pos + 4 + options.size());
  const uint32_t n = static_cast<uint32_t>(options.size());
  std::memcpy(&out[vec_pos], &n, 4);
  std::memcpy(&out[vec_pos + 4], options.data(), options.size());
  const uint32_t rel = static_cast<uint32_t>(vec_pos - field_pos);
  std::memcpy(&out[field_pos], &rel, 4);
  return out;
}

// Checks the detection op of `gm` (if it has one; sets *found) on 20 seeded random images.
void CheckDetectionOp(const GoldenModel& gm, bool regular, bool* found) {
  auto graph = LoadModel(gm.model_path);
  ASSERT_TRUE(graph.ok()) << graph.status().message();
  int op_index = -1;
  for (size_t i = 0; i < graph->ops.size(); ++i)
    if (graph->ops[i].custom_code == "TFLite_Detection_PostProcess") op_index = static_cast<int>(i);
  if (op_index < 0) return;
  *found = true;
  ir::Graph sub = *graph;
  ir::Op op = sub.ops[op_index];
  std::vector<uint8_t> bytes = ReadFile(gm.model_path);
  if (regular) {
    auto* attrs = std::get_if<ir::CustomAttrs>(&op.attrs);
    ASSERT_NE(attrs, nullptr);
    attrs->options = RegularNmsOptions(attrs->options);
    bytes = WithCustomOptions(bytes, op.source_index, attrs->options);
    ASSERT_FALSE(bytes.empty()) << "the op has no custom_options field to repoint";
  }
  // The genuine runtime reports the op's two data inputs and its four outputs.
  std::vector<int> wanted = {sub.tensors[op.inputs[0]].source_index, sub.tensors[op.inputs[1]].source_index};
  for (int t : op.outputs) wanted.push_back(sub.tensors[t].source_index);
  Genuine genuine;
  ASSERT_TRUE(genuine.Init(WithOutputs(bytes, wanted), false)) << genuine.error();

  // quantlens runs the op alone, fed with the genuine runtime's inputs.
  sub.ops = {op};
  sub.inputs = {op.inputs[0], op.inputs[1]};
  sub.outputs = op.outputs;
  auto interp = rt::Interpreter::Create(sub, {rt::Profile::kTfliteX86});
  ASSERT_TRUE(interp.ok()) << interp.status().message();
  int identical = 0;
  for (int s = 0; s < kSeeds; ++s) {
    std::vector<std::vector<uint8_t>> inputs, theirs;
    for (int i = 0; i < genuine.num_inputs(); ++i)
      inputs.push_back(RandomBytes(TfLiteTensorByteSize(genuine.input(i)), kSeedBase + 77 * s + i));
    ASSERT_TRUE(genuine.Run(inputs, &theirs)) << genuine.error();
    for (int i = 0; i < 2; ++i) ASSERT_TRUE((*interp)->SetInput(i, theirs[i].data(), theirs[i].size()).ok());
    Status st = (*interp)->Invoke();
    ASSERT_TRUE(st.ok()) << st.message();
    bool same = true;
    for (int o = 0; o < 4; ++o) {
      const rt::TensorRef& out = (*interp)->output(o);
      const auto* p = static_cast<const uint8_t*>(out.data);
      const std::string d = DescribeDiff({p, p + out.bytes()}, theirs[2 + o], out.dtype());
      EXPECT_EQ(d, "") << gm.name << (regular ? " regular" : " fast") << " NMS, seed " << s
                       << ", output " << o;
      same = same && d.empty();
    }
    identical += same;
  }
  std::printf("[diff] %-28s detection op (%s NMS) %d/%d identical\n", gm.name.c_str(),
              regular ? "regular" : "fast", identical, kSeeds);
}

TEST(DetectionPostProcessDiff, FastNmsMatchesOnGenuineInputs) {
  bool found = false;
  for (const GoldenModel& gm : testing::ListGoldenModels())
    if (gm.name.rfind("det_", 0) == 0) CheckDetectionOp(gm, false, &found);
  EXPECT_TRUE(found) << "no golden model has a TFLite_Detection_PostProcess op";
}

TEST(DetectionPostProcessDiff, RegularNmsMatchesOnGenuineInputs) {
  bool found = false;
  for (const GoldenModel& gm : testing::ListGoldenModels())
    if (gm.name.rfind("det_", 0) == 0) CheckDetectionOp(gm, true, &found);
  EXPECT_TRUE(found) << "no golden model has a TFLite_Detection_PostProcess op";
}

// --- hostile file: informational ----------------------------------------------------------------

// TFLite 2.9 refuses person_detect (one scale with quantized_dimension 3); TFLite Micro runs it.
// Which way quantlens goes is reported, not asserted.
// person_detect.tflite (a TFLite Micro model) gives its rank-1 per-channel biases the filter's
// quantized_dimension 3. TFLite 2.9 refuses the file for it; TFLite Micro ignores the field for
// biases, and quantlens reads it as TFLite Micro does (axis 0, the only axis the scales fit). Both
// behaviours are pinned: if either side changes, this fails and the reader's comment must be
// revisited (and, should TFLite start running the file, its outputs compared like the others).
TEST(TfliteDiffHostile, PersonDetectTfliteRefusesQuantlensRunsAsMicro) {
  const std::string path = testing::SharedDir() + "/corpus/tflm/person_detect.tflite";
  std::vector<uint8_t> bytes = ReadFile(path);
  if (bytes.empty()) GTEST_SKIP() << path << " is missing";
  Genuine genuine;
  EXPECT_FALSE(genuine.Init(bytes, false)) << "TFLite 2.9 now accepts person_detect.tflite";
  EXPECT_NE(genuine.error().find("quantized_dimension must be in range [0, 1). Was 3."),
            std::string::npos)
      << genuine.error();

  auto graph = LoadModel(path);
  ASSERT_TRUE(graph.ok()) << graph.status().message();
  int per_axis_biases = 0;
  for (const ir::Tensor& t : graph->tensors)
    if (t.quant.per_axis() && t.shape.size() == 1) {
      EXPECT_EQ(t.quant.axis, 0) << t.name;
      ++per_axis_biases;
    }
  EXPECT_GT(per_axis_biases, 0) << "the file no longer has the per-channel biases this pins";
  auto interp = rt::Interpreter::Create(*graph);
  ASSERT_TRUE(interp.ok()) << interp.status().message();
  ASSERT_TRUE((*interp)->Invoke().ok());
  // Two class scores from an int8 softmax: they dequantize to a distribution.
  const rt::TensorRef& out = (*interp)->output(0);
  ASSERT_EQ(out.num_elements(), 2);
  const float s = out.scale();
  const int32_t zp = out.zero_point();
  const float p0 = s * static_cast<float>(out.as<int8_t>()[0] - zp);
  const float p1 = s * static_cast<float>(out.as<int8_t>()[1] - zp);
  EXPECT_NEAR(p0 + p1, 1.0f, 2 * s);
}

// Variable tensors: TFLite 2.9 starts them at zero and refuses one that has data in its buffer
// ("variable tensor with buffer"); quantlens does the same (runtime_hostile_test has the
// quantlens side alone, this pins it to the genuine library).
TEST(TfliteDiffHostile, VariableTensorsAsTflite) {
  namespace tb = ::ql::testing;
  tb::ModelSpec m;
  m.buffers = {{}};
  m.tensors = {{"input", std::vector<int32_t>{1, 4}, ::tflite::TensorType::FLOAT32, 0, {}},
               {"state", std::vector<int32_t>{1, 4}, ::tflite::TensorType::FLOAT32, 0, {}, true},
               {"output", std::vector<int32_t>{1, 4}, ::tflite::TensorType::FLOAT32, 0, {}}};
  m.opcodes = {tb::OpcodeSpec{0, 0, ""}};  // ADD
  m.op_inputs = {0, 1};
  m.op_outputs = {2};
  m.graph_inputs = {0};
  m.graph_outputs = {2};
  m.options_type = ::tflite::BuiltinOptions::AddOptions;
  m.options = [](flatbuffers::FlatBufferBuilder& b) { return ::tflite::CreateAddOptions(b).Union(); };
  const float in[4] = {1.5f, -2.0f, 3.25f, 0.0f};
  std::vector<uint8_t> in_bytes(reinterpret_cast<const uint8_t*>(in), reinterpret_cast<const uint8_t*>(in) + 16);

  Genuine genuine;
  ASSERT_TRUE(genuine.Init(tb::Build(m), false)) << genuine.error();
  std::vector<std::vector<uint8_t>> theirs;
  ASSERT_TRUE(genuine.Run({in_bytes}, &theirs));
  const std::string path = ::testing::TempDir() + "/ql_variable.tflite";
  auto write = [&](const tb::Bytes& b) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()),
                                                static_cast<std::streamsize>(b.size()));
  };
  write(tb::Build(m));
  auto g = LoadModel(path);
  ASSERT_TRUE(g.ok()) << g.status().message();
  auto interp = rt::Interpreter::Create(*g);
  ASSERT_TRUE(interp.ok()) << interp.status().message();
  ASSERT_TRUE((*interp)->SetInput(0, in, sizeof(in)).ok());
  ASSERT_TRUE((*interp)->Invoke().ok());
  const auto* ours = static_cast<const uint8_t*>((*interp)->output(0).data);
  EXPECT_EQ(std::vector<uint8_t>(ours, ours + 16), theirs.at(0));

  m.buffers.push_back(tb::FloatBytes(4));
  m.tensors[1].buffer = 1;
  Genuine refusing;
  EXPECT_FALSE(refusing.Init(tb::Build(m), false));
  EXPECT_NE(refusing.error().find("is a variable tensor with buffer"), std::string::npos) << refusing.error();
  write(tb::Build(m));
  EXPECT_FALSE(LoadModel(path).ok());
}

}  // namespace
}  // namespace ql
