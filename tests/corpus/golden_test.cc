// The golden corpus: every model folder in shared/golden (except keras3/) and every input folder,
// run by quantlens under each profile and compared with the genuine TFLite engine it reproduces:
//   tflite-x86  -> `native`  (libtensorflowlite_c.so 2.9 on x86-64)
//   tflite-wasm -> `tfjs-a6` (WebAssembly build), only where that engine ran without the XNNPACK
//                  delegate or the model is all-float.
// Final outputs (<engine>.npz) and, where stored, every intermediate tensor (<engine>.all.npz) are
// compared: integer tensors byte for byte, float tensors within kFloatTolerance. One test per
// model x input x profile; a summary table goes to stdout and, if QL_GOLDEN_TABLE is set, is
// appended to that file as tab-separated values.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "corpus/golden_catalog.h"
#include "quantlens/formats/model_loader.h"
#include "quantlens/io/npy.h"
#include "quantlens/io/npz.h"
#include "quantlens/runtime/interpreter.h"
#include "tflite_schema_generated.h"

namespace ql {
namespace {

using testing::GoldenInput;
using testing::GoldenModel;

// Float tensors pass when max|ours - golden| <= kFloatTolerance * max(1, max|golden|). The genuine
// float kernels and quantlens's may sum in different orders; 1e-5 relative to the tensor's scale
// admits that reassociation noise (a few float ulps accumulated over a layer) and nothing a
// semantic difference would produce.
constexpr double kFloatTolerance = 1e-5;

// One tensor as quantlens produced it (copied: arena memory is reused).
struct Captured {
  ir::DType dtype = ir::DType::kUnknown;
  ir::Shape shape;
  std::vector<uint8_t> data;
};

struct GoldenCase {
  std::string model;
  std::string model_path;
  GoldenInput input;
  rt::Profile profile;
  std::string engine;
};
void PrintTo(const GoldenCase& c, std::ostream* os) {
  *os << c.model << "/" << c.input.name << " " << rt::ProfileName(c.profile);
}

// A model counts as float when no *activation* of subgraph 0 is an 8- or 16-bit integer; constant
// tensors (int8 weights of a dynamic-range "hybrid" model such as kws_float) do not count. Read
// straight from the flatbuffer so choosing test cases does not depend on the code under test.
bool IsFloatModel(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  flatbuffers::Verifier verifier(bytes.data(), bytes.size());
  if (bytes.empty() || !tflite::VerifyModelBuffer(verifier)) return false;
  const tflite::Model* model = tflite::GetModel(bytes.data());
  if (!model->subgraphs() || model->subgraphs()->size() == 0) return false;
  const auto* tensors = model->subgraphs()->Get(0)->tensors();
  if (!tensors) return true;
  const auto* buffers = model->buffers();
  for (const auto* t : *tensors) {
    const bool constant = buffers && t->buffer() < buffers->size() && buffers->Get(t->buffer())->data() &&
                          buffers->Get(t->buffer())->data()->size() > 0;
    if (constant) continue;
    const auto type = t->type();
    if (type == tflite::TensorType::INT8 || type == tflite::TensorType::UINT8 ||
        type == tflite::TensorType::INT16)
      return false;
  }
  return true;
}

std::vector<GoldenCase> GoldenCases() {
  std::vector<GoldenCase> cases;
  for (const GoldenModel& m : testing::ListGoldenModels()) {
    const bool float_model = !m.model_path.empty() && IsFloatModel(m.model_path);
    for (const GoldenInput& in : m.inputs) {
      const auto* native = in.engine("native");
      // A folder whose meta.json is unreadable still gets a case, which then fails and says why.
      if (!in.error.empty() || (native && !native->failed))
        cases.push_back({m.name, m.model_path, in, rt::Profile::kTfliteX86, "native"});
      const auto* a6 = in.engine("tfjs-a6");
      if (a6 && !a6->failed && (!a6->xnnpack_applied || float_model))
        cases.push_back({m.name, m.model_path, in, rt::Profile::kTfliteWasm, "tfjs-a6"});
    }
  }
  return cases;
}

// The summary table, filled by every test and printed (and written) once at the end.
struct Row {
  std::string model, input, profile, engine;
  int compared = 0, exact = 0, failed = 0;
  double max_diff = 0;  // float: max |a - b|; integer: max difference in units of the type
  std::string status = {};  // "ok", "FAIL", or the error that stopped the run
};
std::mutex g_rows_mu;
std::vector<Row> g_rows;

class TableReporter : public ::testing::Environment {
 public:
  void TearDown() override {
    std::lock_guard<std::mutex> lock(g_rows_mu);
    if (g_rows.empty()) return;
    std::printf("\n%-28s %-18s %-11s %8s %8s %12s  %s\n", "model", "input", "profile", "tensors",
                "exact", "max diff", "status");
    for (const Row& r : g_rows)
      std::printf("%-28s %-18s %-11s %8d %8d %12.6g  %s\n", r.model.c_str(), r.input.c_str(),
                  r.profile.c_str(), r.compared, r.exact, r.max_diff, r.status.c_str());
    const char* path = std::getenv("QL_GOLDEN_TABLE");
    if (!path || !*path) return;
    // Appended: ctest runs each test in its own process, each adding its row. The header is
    // written when the file is new or empty; delete the file before a fresh run.
    const bool fresh = !std::filesystem::exists(path) || std::filesystem::file_size(path) == 0;
    std::ofstream out(path, std::ios::app);
    if (fresh) out << "model\tinput\tprofile\tengine\ttensors_compared\ttensors_exact\ttensors_failed\tmax_diff\tstatus\n";
    for (const Row& r : g_rows)
      out << r.model << '\t' << r.input << '\t' << r.profile << '\t' << r.engine << '\t' << r.compared
          << '\t' << r.exact << '\t' << r.failed << '\t' << r.max_diff << '\t' << r.status << '\n';
    if (!out) std::fprintf(stderr, "golden_test: cannot write QL_GOLDEN_TABLE=%s\n", path);
  }
};
const auto* const g_reporter = ::testing::AddGlobalTestEnvironment(new TableReporter);

double ElementAsDouble(const uint8_t* p, ir::DType t) {
  switch (t) {
    case ir::DType::kFloat32: { float v; std::memcpy(&v, p, 4); return v; }
    case ir::DType::kFloat64: { double v; std::memcpy(&v, p, 8); return v; }
    case ir::DType::kInt8: return static_cast<int8_t>(*p);
    case ir::DType::kUInt8: case ir::DType::kBool: return *p;
    case ir::DType::kInt16: { int16_t v; std::memcpy(&v, p, 2); return v; }
    case ir::DType::kInt32: { int32_t v; std::memcpy(&v, p, 4); return v; }
    case ir::DType::kInt64: { int64_t v; std::memcpy(&v, p, 8); return static_cast<double>(v); }
    default: return std::nan("");
  }
}

// Result of comparing one tensor.
struct TensorDiff {
  bool ok = false;
  bool exact = false;
  double max_diff = 0;
  std::string message;  // on failure: what differs, where, by how much
};

TensorDiff CompareTensor(const std::string& key, const std::string& name, const Captured& ours,
                         const io::Array& golden) {
  TensorDiff d;
  const std::string label = fmt::format("tensor {} '{}'", key, name);
  if (golden.num_elements() == 0 || golden.data.empty()) {
    d.message = label + ": the golden tensor is empty";
    return d;
  }
  if (ours.dtype != golden.dtype) {
    d.message = fmt::format("{}: dtype {} but golden {}", label, ir::DTypeName(ours.dtype),
                            ir::DTypeName(golden.dtype));
    return d;
  }
  // Shapes may differ in form only: the golden files store some undeclared shapes flattened.
  if (ours.data.size() != golden.data.size()) {
    d.message = fmt::format("{}: shape {} ({} bytes) but golden {} ({} bytes)", label,
                            ir::ShapeToString(ours.shape), ours.data.size(),
                            ir::ShapeToString(golden.shape), golden.data.size());
    return d;
  }
  const size_t es = ir::DTypeSize(golden.dtype);
  const bool is_float = ir::IsFloat(golden.dtype);
  const size_t n = golden.data.size() / es;
  double max_golden = 0;
  if (is_float)
    for (size_t i = 0; i < n; ++i) max_golden = std::max(max_golden, std::fabs(ElementAsDouble(&golden.data[i * es], golden.dtype)));
  const double tol = kFloatTolerance * std::max(1.0, max_golden);
  size_t ndiff = 0, first = SIZE_MAX;
  bool nan_mismatch = false;
  d.exact = true;
  for (size_t i = 0; i < n; ++i) {
    if (std::memcmp(&ours.data[i * es], &golden.data[i * es], es) == 0) continue;
    d.exact = false;
    const double a = ElementAsDouble(&ours.data[i * es], ours.dtype);
    const double b = ElementAsDouble(&golden.data[i * es], golden.dtype);
    const bool both_nan = std::isnan(a) && std::isnan(b);
    const double diff = both_nan ? 0.0 : std::fabs(a - b);
    if (!both_nan && std::isnan(diff)) nan_mismatch = true;
    if (!std::isnan(diff)) d.max_diff = std::max(d.max_diff, diff);
    const bool bad = is_float ? (std::isnan(diff) || diff > tol) : true;
    if (bad) {
      ++ndiff;
      if (first == SIZE_MAX) first = i;
    }
  }
  if (nan_mismatch) d.max_diff = std::numeric_limits<double>::infinity();
  d.ok = ndiff == 0;
  if (!d.ok)
    d.message = fmt::format(
        "{} ({}, shape {}): {} of {} elements differ{}; first at flat index {}: quantlens {:.9g} vs "
        "golden {:.9g}; max |diff| {:.9g}",
        label, ir::DTypeName(golden.dtype), ir::ShapeToString(ours.shape), ndiff, n,
        is_float ? fmt::format(" beyond {:.3g}", tol) : std::string(), first,
        ElementAsDouble(&ours.data[first * es], ours.dtype),
        ElementAsDouble(&golden.data[first * es], golden.dtype), d.max_diff);
  return d;
}

class GoldenTest : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenTest, MatchesGenuineTflite) {
  const GoldenCase& c = GetParam();
  Row row{c.model, c.input.name, std::string(rt::ProfileName(c.profile)), c.engine};
  row.status = "FAIL";
  // Records the row however the test ends.
  struct Commit {
    Row* r;
    ~Commit() {
      std::lock_guard<std::mutex> lock(g_rows_mu);
      g_rows.push_back(*r);
    }
  } commit{&row};

  ASSERT_TRUE(c.input.error.empty()) << c.input.error;
  ASSERT_FALSE(c.model_path.empty()) << c.model << ": meta.json names no model";
  auto graph = LoadModel(c.model_path);
  if (!graph.ok()) row.status = "load: " + graph.status().message();
  ASSERT_TRUE(graph.ok()) << graph.status().message();
  auto created = rt::Interpreter::Create(*graph, {c.profile});
  if (!created.ok()) row.status = "prepare: " + created.status().message();
  ASSERT_TRUE(created.ok()) << created.status().message();
  rt::Interpreter& interp = **created;

  ASSERT_EQ(static_cast<int>(c.input.input_files.size()), interp.num_inputs())
      << "meta.json lists " << c.input.input_files.size() << " inputs, the model has " << interp.num_inputs();
  for (int i = 0; i < interp.num_inputs(); ++i) {
    auto arr = io::ReadNpyFile(c.input.dir + "/" + c.input.input_files[i]);
    ASSERT_TRUE(arr.ok()) << arr.status().message();
    ASSERT_EQ(arr->dtype, interp.input(i).dtype())
        << "input " << i << " is " << ir::DTypeName(arr->dtype) << ", the model wants "
        << ir::DTypeName(interp.input(i).dtype());
    Status s = interp.SetInput(i, arr->data.data(), arr->data.size());
    ASSERT_TRUE(s.ok()) << s.message();
  }

  // Every op output, keyed by its index in the source file (the golden keys' t<index>).
  std::map<int, Captured> produced;
  interp.AddObserver([&](const ir::Graph&, int, std::span<const rt::TensorRef* const> outs) {
    for (const rt::TensorRef* t : outs) {
      if (!t || t->info->source_index < 0) continue;
      const auto* p = static_cast<const uint8_t*>(t->data);
      produced[t->info->source_index] = {t->dtype(), t->shape,
                                         p ? std::vector<uint8_t>(p, p + t->bytes()) : std::vector<uint8_t>()};
    }
  });
  Status run = interp.Invoke();
  if (!run.ok()) row.status = "invoke: " + run.message();
  ASSERT_TRUE(run.ok()) << run.message();
  for (int o = 0; o < interp.num_outputs(); ++o) {
    const rt::TensorRef& t = interp.output(o);
    const auto* p = static_cast<const uint8_t*>(t.data);
    produced[t.info->source_index] = {t.dtype(), t.shape, std::vector<uint8_t>(p, p + t.bytes())};
  }
  std::map<int, std::string> names;
  for (const auto& t : graph->tensors)
    if (t.source_index >= 0) names[t.source_index] = t.name;

  // Golden tensors: the outputs file, then every intermediate where stored.
  // The all-tensors file first: it is in execution order, so the first failure is the earliest.
  std::vector<std::string> files;
  if (std::filesystem::exists(c.input.dir + "/" + c.engine + ".all.npz")) files.push_back(c.engine + ".all.npz");
  files.push_back(c.engine + ".npz");
  std::map<std::string, bool> seen;
  std::string first_failure;
  for (const std::string& file : files) {
    auto golden = io::ReadNpz(c.input.dir + "/" + file);
    ASSERT_TRUE(golden.ok()) << golden.status().message();
    ASSERT_FALSE(golden->empty()) << file << " holds no tensors";
    for (const io::NamedArray& g : *golden) {
      if (seen[g.name]) continue;  // outputs appear in both files
      seen[g.name] = true;
      ++row.compared;
      int index = -1;
      if (g.name.size() > 1 && g.name[0] == 't') index = std::atoi(g.name.c_str() + 1);
      auto it = produced.find(index);
      TensorDiff d;
      if (it == produced.end())
        d.message = fmt::format("tensor {} ({}): quantlens produced no such tensor", g.name, file);
      else
        d = CompareTensor(g.name, names[index], it->second, g.array);
      row.exact += d.exact;
      if (d.ok) {
        if (ir::IsFloat(g.array.dtype) || !d.exact) row.max_diff = std::max(row.max_diff, d.max_diff);
        continue;
      }
      row.max_diff = std::max(row.max_diff, d.max_diff);
      ++row.failed;
      if (first_failure.empty()) first_failure = d.message + " [" + file + "]";
    }
  }
  row.status = row.failed == 0 ? "ok" : fmt::format("FAIL ({} tensors)", row.failed);
  EXPECT_EQ(row.failed, 0) << c.model << "/" << c.input.name << " under " << row.profile << " vs "
                           << c.engine << ": " << row.failed << " of " << row.compared
                           << " tensors differ; first in execution order: " << first_failure;
}

INSTANTIATE_TEST_SUITE_P(Corpus, GoldenTest, ::testing::ValuesIn(GoldenCases()),
                         [](const ::testing::TestParamInfo<GoldenCase>& info) {
                           return testing::TestNameSafe(info.param.model + "_" + info.param.input.name +
                                                        "_" + std::string(rt::ProfileName(info.param.profile)));
                         });

}  // namespace
}  // namespace ql
