// Operator versions and minimum runtime versions against every .tflite in ../shared/corpus: the
// versions a file's operator codes carry (what its converter computed) must equal
// ComputeOperatorCodeVersions, and its "min_runtime_version" metadata must equal
// ModelMinRuntimeVersion. Files from converters older or other than TensorFlow Lite 2.9's differ
// in known ways; each such difference is listed below with its reason, and a listed difference
// that no longer occurs fails too, so the list stays true.
#include "quantlens/formats/tflite/op_version.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "quantlens/formats/tflite/reader.h"
#include "tflite_schema_generated.h"

namespace ql::tflite {
namespace {

namespace fs = std::filesystem;

const std::string kCorpus = std::string(QUANTLENS_SHARED_DIR) + "/corpus";

// A difference between the version a file stores for an operator code and the one computed.
struct OpException {
  std::string file;  // relative to ../shared/corpus
  std::string op;    // OpTypeName
  int stored;
  int computed;
  const char* reason;
};

const std::vector<OpException> kOpExceptions = {
    // MediaPipe's own float16 generator ("keras2tflite_facedetector-*.generated", not TFLite's
    // converter) marks float16 -> float32 DEQUANTIZE as version 2; TFLite gives float16 input
    // version 3 (runtime 1.15.0).
    {"detection/blazeface/face_detection_back.tflite", "DEQUANTIZE", 2, 3,
     "MediaPipe generator: float16 DEQUANTIZE written as version 2"},
    {"detection/blazeface/face_detection_front.tflite", "DEQUANTIZE", 2, 3,
     "MediaPipe generator: float16 DEQUANTIZE written as version 2"},
    // Dynamic-range quantization by TFLite's weight quantizer (tools/optimize/quantize_weights.cc,
    // not op_version.cc) sets the hybrid version on every FULLY_CONNECTED operator code, although
    // this model's one FULLY_CONNECTED kept float weights (768 elements, under the quantizer's
    // 1024-element threshold): all its operands are float32, which op_version.cc makes version 1.
    {"mlperf_tiny/kws_ref_model_float32.tflite", "FULLY_CONNECTED", 3, 1,
     "weight quantizer sets hybrid version 3 on an FC whose weights stayed float"},
    // TOCO (TF 1.x, "TOCO Converted.") gave per-channel int8 CONV_2D version 2; since TF 2.0 an
    // all-int8 CONV_2D is version 3.
    {"tflm/person_detect.tflite", "CONV_2D", 2, 3, "TOCO: int8 CONV_2D written as version 2"},
};

// A difference between a file's "min_runtime_version" metadata and ModelMinRuntimeVersion.
struct RuntimeException {
  std::string file;
  std::string stored;
  std::string computed;
  const char* reason;
};

// In all of these the file's operator versions need a newer runtime than the metadata says.
const std::vector<RuntimeException> kRuntimeExceptions = {
    // Quantized after conversion by a quantizer that rewrites operator versions but copies the
    // metadata of the float model unchanged (TFLite's tools/optimize calibrate-and-quantize and
    // weight-quantize paths): the float stage's "1.5.0" stays although int8 CONV_2D/FC
    // (version 3/4) need 1.14.0. TFLite 2.9's MLIR quantizer re-exports and recomputes it (the
    // mltk and hello_world int8 files, which match).
    {"detection/blazeface/blazeface_128x128_quant.tflite", "1.5.0", "1.14.0",
     "quantizer kept the float model's min_runtime_version"},
    {"mlperf_tiny/ad01_int8.tflite", "1.5.0", "1.14.0",
     "quantizer kept the float model's min_runtime_version"},
    {"mlperf_tiny/kws_ref_model.tflite", "1.5.0", "1.14.0",
     "quantizer kept the float model's min_runtime_version"},
    {"mlperf_tiny/kws_ref_model_float32.tflite", "1.5.0", "1.14.0",
     "weight quantizer (hybrid CONV_2D version 2) kept the float model's min_runtime_version"},
    {"mlperf_tiny/pretrainedResnet_quant.tflite", "1.5.0", "1.14.0",
     "quantizer kept the float model's min_runtime_version"},
    {"mlperf_tiny/vww_96_int8.tflite", "1.5.0", "1.14.0",
     "quantizer kept the float model's min_runtime_version"},
    // TOCO (TF 1.x) wrote its own 5-byte "1.5.0" from an older table.
    {"tflm/micro_speech_quantized.tflite", "1.5.0", "1.14.0",
     "TOCO: min_runtime_version from TF 1.x's table"},
};

std::vector<std::string> CorpusModels() {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(kCorpus, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".tflite")
      out.push_back(fs::relative(it->path(), kCorpus).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// The "min_runtime_version" metadata string (up to the first NUL), nullopt if the file has none.
std::optional<std::string> StoredMinRuntime(const std::vector<uint8_t>& bytes) {
  flatbuffers::Verifier verifier(bytes.data(), bytes.size());
  if (!::tflite::VerifyModelBuffer(verifier)) {
    ADD_FAILURE() << "flatbuffer verification failed";
    return std::nullopt;
  }
  const ::tflite::Model* model = ::tflite::GetModel(bytes.data());
  if (model->metadata() == nullptr || model->buffers() == nullptr) return std::nullopt;
  for (const ::tflite::Metadata* m : *model->metadata()) {
    if (m == nullptr || m->name() == nullptr || m->name()->str() != kMinRuntimeVersionMetadataName)
      continue;
    if (m->buffer() >= model->buffers()->size()) return std::nullopt;
    const auto* data = model->buffers()->Get(m->buffer())->data();
    if (data == nullptr) return std::string();
    std::string s(data->begin(), data->end());
    return s.substr(0, s.find('\0'));
  }
  return std::nullopt;
}

TEST(OpVersionCorpus, OperatorCodeVersionsAndMinRuntimeMatchTheConverter) {
  const std::vector<std::string> files = CorpusModels();
  ASSERT_GE(files.size(), 30u) << "corpus not found under " << kCorpus;

  using OpKey = std::tuple<std::string, std::string, int, int>;
  std::map<OpKey, const char*> op_expected;
  for (const auto& e : kOpExceptions)
    op_expected.emplace(OpKey{e.file, e.op, e.stored, e.computed}, e.reason);
  std::map<std::string, const RuntimeException*> rt_expected;
  for (const auto& e : kRuntimeExceptions) rt_expected.emplace(e.file, &e);

  std::set<OpKey> op_seen;
  std::set<std::string> rt_seen, files_read;
  size_t ops_total = 0, ops_matching = 0, ops_excepted = 0, rt_files = 0, rt_matching = 0;

  for (const std::string& rel : files) {
    SCOPED_TRACE(rel);
    auto g = ReadTfliteFile(kCorpus + "/" + rel);
    if (!g.ok()) {
      // Ops or features quantlens does not read (LSTM, ...): nothing to compute versions for.
      std::printf("  %-60s not read: %s\n", rel.c_str(), g.status().message().c_str());
      continue;
    }
    files_read.insert(rel);
    const std::vector<int> computed = ComputeOperatorCodeVersions(*g);
    ASSERT_EQ(computed.size(), g->ops.size());
    size_t file_match = 0;
    std::set<OpKey> file_diffs;
    for (size_t i = 0; i < g->ops.size(); ++i) {
      const ir::Op& op = g->ops[i];
      ++ops_total;
      // Every op's own version fits under its operator code's.
      EXPECT_LE(ComputeOpVersion(*g, op), computed[i]) << g->OpLabel(static_cast<int>(i));
      if (op.version == computed[i]) {
        ++file_match;
        continue;
      }
      OpKey key{rel, std::string(ir::OpTypeName(op.type)), op.version, computed[i]};
      if (op_expected.count(key)) {
        op_seen.insert(key);
        ++ops_excepted;
        continue;
      }
      if (file_diffs.insert(key).second)
        ADD_FAILURE() << g->OpLabel(static_cast<int>(i)) << ": stored version " << op.version
                      << ", computed " << computed[i];
    }
    ops_matching += file_match;

    const auto stored_rt = StoredMinRuntime(ReadBytes(kCorpus + "/" + rel));
    std::string rt_note = "no min_runtime_version";
    if (stored_rt) {
      ++rt_files;
      const std::string ours = ModelMinRuntimeVersion(*g);
      rt_note = fmt::format("min runtime {} (computed {})", *stored_rt, ours);
      if (ours == *stored_rt) {
        ++rt_matching;
      } else {
        auto it = rt_expected.find(rel);
        if (it != rt_expected.end() && it->second->stored == *stored_rt &&
            it->second->computed == ours) {
          rt_seen.insert(rel);
        } else {
          ADD_FAILURE() << "min_runtime_version: stored \"" << *stored_rt << "\", computed \""
                        << ours << "\"";
        }
      }
    }
    std::printf("  %-60s %3zu/%3zu ops match; %s\n", rel.c_str(), file_match, g->ops.size(),
                rt_note.c_str());
  }

  // Listed differences that did not occur (in files that were read) are stale.
  for (const auto& e : kOpExceptions) {
    if (files_read.count(e.file) && !op_seen.count(OpKey{e.file, e.op, e.stored, e.computed}))
      ADD_FAILURE() << "listed exception no longer occurs: " << e.file << " " << e.op << " stored "
                    << e.stored << " computed " << e.computed;
  }
  for (const auto& e : kRuntimeExceptions) {
    if (files_read.count(e.file) && !rt_seen.count(e.file))
      ADD_FAILURE() << "listed min_runtime_version exception no longer occurs: " << e.file;
  }

  std::printf("op versions: %zu/%zu ops match (%.1f%%), %zu listed exceptions; %zu files read of "
              "%zu\nmin_runtime_version: %zu/%zu files match\n",
              ops_matching, ops_total, ops_total ? 100.0 * static_cast<double>(ops_matching) /
                                                       static_cast<double>(ops_total) : 0.0,
              ops_excepted, files_read.size(), files.size(), rt_matching, rt_files);
  // The reader must keep reading most of the corpus, or this test checks nothing.
  EXPECT_GE(files_read.size(), 25u);
}

// The runtime table alone, checked on the versions the files store (whatever computed them): the
// highest MinRuntimeVersion of the stored (op, version) pairs is what TFLite's converter wrote.
TEST(OpVersionCorpus, RuntimeTableReproducesStoredMinRuntimeFromStoredVersions) {
  size_t checked = 0;
  for (const std::string& rel : CorpusModels()) {
    SCOPED_TRACE(rel);
    auto g = ReadTfliteFile(kCorpus + "/" + rel);
    if (!g.ok()) continue;
    const auto stored_rt = StoredMinRuntime(ReadBytes(kCorpus + "/" + rel));
    if (!stored_rt) continue;
    std::vector<int> stored_versions;
    for (const ir::Op& op : g->ops) stored_versions.push_back(op.version);
    const std::string best = ModelMinRuntimeVersion(*g, stored_versions);
    ++checked;
    auto it = std::find_if(kRuntimeExceptions.begin(), kRuntimeExceptions.end(),
                           [&](const RuntimeException& e) { return e.file == rel; });
    if (best != *stored_rt && it == kRuntimeExceptions.end())
      ADD_FAILURE() << "stored versions give " << best << ", file says " << *stored_rt;
  }
  EXPECT_GE(checked, 10u);
}

}  // namespace
}  // namespace ql::tflite
