// The writer against every .tflite of the corpus (found at run time): read -> write -> read must
// give an equal graph (ir::DiffGraphs), the written file must verify and follow TFLite's
// conventions (buffer 0 empty, 16-byte aligned data, shared buffers, one operator code per
// (code, custom code, version)), and writing is deterministic: write(read(write(read(f)))) is
// byte-identical to write(read(f)). Keras graphs: one that lowers to TFLite builtins is written
// and read back; one with quantlens-internal ops (BATCH_NORM) is refused naming op and layer.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "corpus/golden_catalog.h"
#include "testing/cli_runner.h"
#include "quantlens/formats/keras/reader.h"
#include "quantlens/formats/tflite/reader.h"
#include "quantlens/formats/tflite/writer.h"
#include "quantlens/io/atomic_file.h"
#include "quantlens/ir/graph_compare.h"
#include "tflite_schema_generated.h"

namespace ql {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> CorpusTfliteFiles() {
  std::vector<std::string> files;
  const fs::path root = testing::SharedDir() + "/corpus";
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return files;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it); it.increment(ec))
    if (it->is_regular_file() && it->path().extension() == ".tflite") files.push_back(it->path().string());
  std::sort(files.begin(), files.end());
  return files;
}

// Byte equality without std::vector's operator==, which g++ 12 at -O3 flags with a false
// -Wstringop-overread (GCC bug 107986).
bool SameBytes(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

std::string RelativeName(const std::string& path) {
  return fs::relative(path, testing::SharedDir() + "/corpus").string();
}

// Structural conventions of the written file that the reader does not check.
std::string CheckConventions(const std::vector<uint8_t>& bytes) {
  flatbuffers::Verifier verifier(bytes.data(), bytes.size());
  if (!verifier.VerifyBuffer<::tflite::Model>(::tflite::ModelIdentifier()))
    return "fails flatbuffer verification";
  const ::tflite::Model* model = ::tflite::GetModel(bytes.data());
  if (model->version() != 3) return fmt::format("schema version {}", model->version());
  const auto* buffers = model->buffers();
  if (buffers == nullptr || buffers->size() == 0) return "no buffers";
  if (buffers->Get(0)->data() != nullptr && buffers->Get(0)->data()->size() != 0)
    return "buffer 0 holds data";
  std::set<std::string> contents;
  for (uint32_t b = 1; b < buffers->size(); ++b) {
    const auto* data = buffers->Get(b)->data();
    if (data == nullptr || data->size() == 0) return fmt::format("buffer {} is empty", b);
    const auto offset = data->data() - bytes.data();
    if (offset % 16 != 0) return fmt::format("buffer {} data at offset {}, not 16-aligned", b, offset);
    if (!contents.emplace(reinterpret_cast<const char*>(data->data()), data->size()).second)
      return fmt::format("buffer {} repeats the content of an earlier buffer", b);
  }
  std::set<std::tuple<int, std::string, int>> codes;
  for (const auto* oc : *model->operator_codes()) {
    const int code = static_cast<int>(oc->builtin_code());
    if (oc->deprecated_builtin_code() != std::min(code, 127))
      return fmt::format("deprecated_builtin_code {} for code {}", oc->deprecated_builtin_code(), code);
    const std::string custom = oc->custom_code() ? oc->custom_code()->str() : "";
    if (!codes.emplace(code, custom, oc->version()).second)
      return fmt::format("operator code ({}, '{}', v{}) appears twice", code, custom, oc->version());
  }
  return "";
}

class TfliteRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(TfliteRoundTrip, ReadWriteReadIsLosslessAndDeterministic) {
  const std::string& path = GetParam();
  auto original = tflite::ReadTfliteFile(path);
  if (!original.ok()) GTEST_SKIP() << "the reader refuses it: " << original.status().message();
  auto written = tflite::WriteTfliteBuffer(*original);
  ASSERT_TRUE(written.ok()) << written.status().message();
  EXPECT_EQ(CheckConventions(*written), "");

  auto reread = tflite::ReadTfliteBuffer(*written, path + " (rewritten)");
  ASSERT_TRUE(reread.ok()) << reread.status().message();
  EXPECT_EQ(ir::DiffGraphs(*original, *reread), "");

  auto rewritten = tflite::WriteTfliteBuffer(*reread);
  ASSERT_TRUE(rewritten.ok()) << rewritten.status().message();
  EXPECT_TRUE(SameBytes(*rewritten, *written)) << "second write differs: " << rewritten->size() << " vs "
                                      << written->size() << " bytes";
  std::printf("[roundtrip] %-58s %9ju -> %9zu bytes\n", RelativeName(path).c_str(),
              static_cast<uintmax_t>(fs::file_size(path)), written->size());
}

INSTANTIATE_TEST_SUITE_P(Corpus, TfliteRoundTrip, ::testing::ValuesIn(CorpusTfliteFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return testing::TestNameSafe(RelativeName(info.param));
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(TfliteRoundTrip);

// Guards the parameterized test against an empty or unreadable corpus passing vacuously.
TEST(TfliteRoundTripCorpus, MostCorpusFilesAreReadable) {
  const auto files = CorpusTfliteFiles();
  if (files.empty()) GTEST_SKIP() << "no corpus under " << testing::SharedDir();
  int readable = 0;
  for (const std::string& f : files) readable += tflite::ReadTfliteFile(f).ok();
  std::printf("[roundtrip] %d of %zu corpus .tflite files are readable\n", readable, files.size());
  EXPECT_GE(readable * 4, static_cast<int>(files.size()) * 3);
}

// Layer outputs, metadata and signatures survive, through a file written atomically.
TEST(TfliteRoundTripCorpus, FileKeepsSignaturesMetadataAndLayerMap) {
  const std::string path = testing::SharedDir() + "/corpus/tflm/hello_world_int8.tflite";
  auto g = tflite::ReadTfliteFile(path);
  if (!g.ok()) GTEST_SKIP() << g.status().message();
  ASSERT_FALSE(g->signature_defs.empty());
  ASSERT_FALSE(g->metadata.empty());
  EXPECT_EQ(g->subgraph_name, "main");
  g->layer_outputs = {{"dense", 0, g->ops[0].outputs[0]}, {"dense_2", 0, g->outputs[0]}};
  const std::string out = ::testing::TempDir() + "/ql_roundtrip_hello.tflite";
  ASSERT_TRUE(tflite::WriteTfliteFile(*g, out).ok());
  auto back = tflite::ReadTfliteFile(out);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(ir::DiffGraphs(*g, *back), "");
  EXPECT_EQ(back->layer_outputs.size(), 2u);
  fs::remove(out);
}

// Keras graphs carry attrs in forms the TFLite reader never produces (monostate for "no
// options", TypeAttrs with unknown types) and version 1 from ir::Op's default; those places are
// where the re-read graph may differ, and only there.
void ExpectSameAsKeras(const ir::Graph& keras, const ir::Graph& reread) {
  ir::Graph expected = keras;
  ASSERT_EQ(expected.ops.size(), reread.ops.size());
  for (size_t i = 0; i < expected.ops.size(); ++i) {
    ir::Op& op = expected.ops[i];
    const bool no_info = std::visit(
        [](const auto& a) {
          using T = std::decay_t<decltype(a)>;
          return ir::DiffAttrs(ir::Attrs(a), ir::Attrs(T{})).empty();
        },
        op.attrs);
    if (no_info) op.attrs = reread.ops[i].attrs;
  }
  EXPECT_EQ(ir::DiffGraphs(expected, reread), "");
}

std::vector<std::string> CorpusKerasFiles() {
  std::vector<std::string> files;
  const fs::path root = testing::SharedDir() + "/corpus";
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return files;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it); it.increment(ec)) {
    const auto ext = it->path().extension();
    if (it->is_regular_file() && (ext == ".h5" || ext == ".keras")) files.push_back(it->path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Every Keras corpus model is either written (and reads back as the same graph, the batch left
// open, a second write byte-identical) or, when its lowering holds a quantlens-internal op, refused
// with an error naming that op and its layer. Both outcomes must occur in the corpus.
TEST(TfliteWriteKeras, EveryKerasModelIsWrittenOrRefusedForItsInternalOps) {
  int written = 0, refused = 0;
  for (const std::string& path : CorpusKerasFiles()) {
    const std::string rel = RelativeName(path);
    auto g = keras::ReadKerasModel(path);
    if (!g.ok()) {
      std::printf("[roundtrip] keras %-52s not lowered: %s\n", rel.c_str(), g.status().message().c_str());
      continue;
    }
    ASSERT_FALSE(g->layer_outputs.empty()) << rel;
    auto bytes = tflite::WriteTfliteBuffer(*g);
    const auto internal = std::find_if(g->ops.begin(), g->ops.end(), [](const ir::Op& op) {
      return ir::OpTypeTfliteCode(op.type) < 0;
    });
    if (internal != g->ops.end()) {
      ASSERT_FALSE(bytes.ok()) << rel << " holds " << ir::OpTypeName(internal->type);
      const std::string& msg = bytes.status().message();
      EXPECT_EQ(bytes.status().code(), StatusCode::kUnsupported) << msg;
      EXPECT_NE(msg.find(std::string(ir::OpTypeName(internal->type))), std::string::npos) << msg;
      EXPECT_NE(msg.find("layer '" + internal->layer + "'"), std::string::npos) << msg;
      std::printf("[roundtrip] keras %-52s refused: %s\n", rel.c_str(), msg.c_str());
      ++refused;
      continue;
    }
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();
    EXPECT_EQ(CheckConventions(*bytes), "") << rel;
    auto back = tflite::ReadTfliteBuffer(*bytes, path + " as tflite");
    ASSERT_TRUE(back.ok()) << back.status().message();
    ExpectSameAsKeras(*g, *back);
    // The Keras batch dimension stays open: shape 1 in the file, -1 in the signature.
    EXPECT_EQ(back->tensors[back->inputs[0]].shape[0], -1) << rel;
    auto again = tflite::WriteTfliteBuffer(*back);
    ASSERT_TRUE(again.ok()) << again.status().message();
    EXPECT_TRUE(SameBytes(*again, *bytes)) << rel << ": writing the re-read graph changed the bytes";
    std::printf("[roundtrip] keras %-52s -> %9zu bytes, %zu ops, %zu layer outputs\n", rel.c_str(),
                bytes->size(), back->ops.size(), back->layer_outputs.size());
    ++written;
  }
  if (written + refused == 0) GTEST_SKIP() << "no Keras corpus files";
  EXPECT_GT(written, 0) << "no Keras corpus model lowers to TFLite builtins only";
  EXPECT_GT(refused, 0) << "no Keras corpus model keeps an internal op: the refusal is untested";
}

// `quantlens inspect` shows the layer map of a file written from Keras, as text and JSON.
TEST(TfliteWriteKeras, InspectShowsTheLayerMap) {
  const std::string path =
      testing::SharedDir() + "/corpus/keras3/Jhas876622__mnist-digit-recognition/mnist_cnn.h5";
  if (!fs::exists(path)) GTEST_SKIP() << path << " is missing";
  auto g = keras::ReadKerasModel(path);
  ASSERT_TRUE(g.ok()) << g.status().message();
  testing::TempDir dir;
  const std::string out = dir.File("mnist.tflite");
  ASSERT_TRUE(tflite::WriteTfliteFile(*g, out).ok());
  const testing::CliRun json_run = testing::Quantlens("inspect '" + out + "' --json");
  ASSERT_EQ(json_run.status, 0) << json_run.err;
  const auto j = nlohmann::json::parse(json_run.out);
  ASSERT_TRUE(j.contains("layer_map")) << json_run.out;
  ASSERT_EQ(j["layer_map"].size(), g->layer_outputs.size());
  for (size_t i = 0; i < g->layer_outputs.size(); ++i) {
    const ir::LayerOutput& lo = g->layer_outputs[i];
    EXPECT_EQ(j["layer_map"][i]["layer"], lo.layer);
    EXPECT_EQ(j["layer_map"][i]["node"], lo.node);
    EXPECT_EQ(j["layer_map"][i]["tensor"], lo.tensor);
    EXPECT_EQ(j["layer_map"][i]["tensor_name"], g->tensors[lo.tensor].name);
  }
  const testing::CliRun text = testing::Quantlens("inspect '" + out + "'");
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find(fmt::format("layer map: {} Keras layer outputs", g->layer_outputs.size())),
            std::string::npos) << text.out;
  const ir::LayerOutput& last = g->layer_outputs.back();
  EXPECT_NE(text.out.find(fmt::format("{} -> t{} '", last.layer, last.tensor)), std::string::npos)
      << text.out;
  // A file without a map shows none.
  const testing::CliRun plain = testing::Quantlens(
      "inspect '" + testing::SharedDir() + "/corpus/tflm/hello_world_float.tflite' --json");
  ASSERT_EQ(plain.status, 0) << plain.err;
  EXPECT_FALSE(nlohmann::json::parse(plain.out).contains("layer_map"));
}

TEST(TfliteWriteKeras, InternalOpsAreRefusedNamingOpAndLayer) {
  const std::string path = testing::SharedDir() + "/corpus/mlperf_tiny/vww_96.h5";
  if (!fs::exists(path)) GTEST_SKIP() << path << " is missing";
  auto g = keras::ReadKerasModel(path);
  ASSERT_TRUE(g.ok()) << g.status().message();
  const auto internal = std::find_if(g->ops.begin(), g->ops.end(), [](const ir::Op& op) {
    return ir::OpTypeTfliteCode(op.type) < 0;
  });
  ASSERT_NE(internal, g->ops.end()) << "vww_96.h5 no longer lowers to an internal op";
  auto bytes = tflite::WriteTfliteBuffer(*g);
  ASSERT_FALSE(bytes.ok());
  const std::string& msg = bytes.status().message();
  EXPECT_EQ(bytes.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(msg.find(std::string(ir::OpTypeName(internal->type))), std::string::npos) << msg;
  EXPECT_NE(msg.find("layer '" + internal->layer + "'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("vww_96.h5"), std::string::npos) << msg;
  const std::string out = ::testing::TempDir() + "/ql_refused.tflite";
  EXPECT_FALSE(tflite::WriteTfliteFile(*g, out).ok());
  EXPECT_FALSE(fs::exists(out)) << "a refused graph left a file behind";
}

}  // namespace
}  // namespace ql
