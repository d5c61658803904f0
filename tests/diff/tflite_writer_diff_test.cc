// The writer against the genuine TFLite 2.9 runtime: for every corpus .tflite quantlens reads,
// the rewritten file (read -> write) must load in libtensorflowlite_c and give byte-identical
// outputs to the original file on the same seeded random inputs. The Keras graphs the writer
// accepts must load and run in TFLite too, matching quantlens's own run of the Keras graph.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "corpus/golden_catalog.h"
#include "quantlens/formats/keras/reader.h"
#include "quantlens/formats/tflite/reader.h"
#include "quantlens/formats/tflite/writer.h"
#include "quantlens/runtime/interpreter.h"
#include "testing/genuine_tflite.h"

namespace ql {
namespace {

namespace fs = std::filesystem;

constexpr int kSeeds = 3;  // per model: the rewrite changes layout, not arithmetic
constexpr uint32_t kSeedBase = 20261203;  // fixed: failures must reproduce
// quantlens's float kernels against TFLite's on a Keras-lowered float model: both sum in float32
// but TFLite's optimized kernels may order the sums differently (the golden test allows the same
// 1e-5 relative), plus an absolute floor for outputs near zero.
constexpr float kFloatRelTolerance = 1e-5f;
constexpr float kFloatAbsTolerance = 1e-6f;

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

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

std::string RelativeName(const std::string& path) {
  return fs::relative(path, testing::SharedDir() + "/corpus").string();
}

// Seeded input bytes for one tensor: integers uniformly over their whole range, floats uniformly
// in [-1, 1) (no NaN or infinity, which random bytes would give), booleans 0 or 1. mt19937's
// output is specified, so the inputs are the same everywhere.
std::vector<uint8_t> RandomInput(const TfLiteTensor* t, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(TfLiteTensorByteSize(t));
  switch (TfLiteTensorType(t)) {
    case kTfLiteFloat32:
      for (size_t k = 0; k + 4 <= v.size(); k += 4) {
        const float x = static_cast<float>(static_cast<int32_t>(rng() >> 8) - (1 << 23)) / (1 << 23);
        std::memcpy(&v[k], &x, 4);
      }
      break;
    case kTfLiteBool:
      for (auto& b : v) b = static_cast<uint8_t>(rng() & 1);
      break;
    default:
      for (auto& b : v) b = static_cast<uint8_t>(rng() >> 24);
      break;
  }
  return v;
}

class TfliteWriterDiff : public ::testing::TestWithParam<std::string> {};

TEST_P(TfliteWriterDiff, RewrittenFileGivesIdenticalOutputs) {
  const std::string& path = GetParam();
  auto graph = tflite::ReadTfliteFile(path);
  if (!graph.ok()) GTEST_SKIP() << "the reader refuses it: " << graph.status().message();
  auto written = tflite::WriteTfliteBuffer(*graph);
  ASSERT_TRUE(written.ok()) << written.status().message();

  testing::GenuineTflite original, rewritten;
  if (!original.Init(ReadFile(path))) {
    // person_detect.tflite: TFLite 2.9 refuses the original (see tflite_diff_test); there is
    // nothing to compare the rewrite against.
    GTEST_SKIP() << "TFLite 2.9 refuses the original: " << original.error();
  }
  ASSERT_TRUE(rewritten.Init(*written)) << "TFLite refuses the rewritten file: " << rewritten.error();
  ASSERT_EQ(original.num_inputs(), rewritten.num_inputs());
  ASSERT_EQ(original.num_outputs(), rewritten.num_outputs());

  for (int s = 0; s < kSeeds; ++s) {
    std::vector<std::vector<uint8_t>> inputs, a, b;
    for (int i = 0; i < original.num_inputs(); ++i) {
      ASSERT_EQ(TfLiteTensorType(original.input(i)), TfLiteTensorType(rewritten.input(i)));
      inputs.push_back(RandomInput(original.input(i), kSeedBase + 1000 * s + i));
    }
    ASSERT_TRUE(original.Run(inputs, &a)) << original.error();
    ASSERT_TRUE(rewritten.Run(inputs, &b)) << rewritten.error();
    ASSERT_EQ(a.size(), b.size());
    for (size_t o = 0; o < a.size(); ++o) {
      ASSERT_EQ(a[o].size(), b[o].size()) << "output " << o;
      size_t first = a[o].size();
      for (size_t k = 0; k < a[o].size() && first == a[o].size(); ++k)
        if (a[o][k] != b[o][k]) first = k;
      EXPECT_EQ(first, a[o].size()) << "seed " << s << ", output " << o << ": bytes differ from "
                                    << "byte " << first << " of " << a[o].size();
    }
  }
  std::printf("[writer-diff] %-58s %d/%d seeds identical, %zu -> %zu bytes\n",
              RelativeName(path).c_str(), kSeeds, kSeeds,
              static_cast<size_t>(fs::file_size(path)), written->size());
}

INSTANTIATE_TEST_SUITE_P(Corpus, TfliteWriterDiff, ::testing::ValuesIn(CorpusTfliteFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return testing::TestNameSafe(RelativeName(info.param));
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(TfliteWriterDiff);

// A Keras graph written by quantlens runs in the genuine TFLite and agrees with quantlens's run
// of the same graph: the file says what the graph says (options, shapes, the open batch).
TEST(TfliteWriterDiffKeras, WrittenKerasGraphRunsInTflite) {
  int checked = 0;
  for (const char* rel : {"keras3/Jhas876622__mnist-digit-recognition/mnist_cnn.h5",
                          "mltk/rock_paper_scissors/rock_paper_scissors.h5"}) {
    const std::string path = testing::SharedDir() + "/corpus/" + rel;
    if (!fs::exists(path)) continue;
    auto g = keras::ReadKerasModel(path);
    ASSERT_TRUE(g.ok()) << g.status().message();
    auto bytes = tflite::WriteTfliteBuffer(*g);
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();
    testing::GenuineTflite genuine;
    ASSERT_TRUE(genuine.Init(*bytes)) << rel << ": TFLite refuses the written file: " << genuine.error();
    auto interp = rt::Interpreter::Create(*g);
    ASSERT_TRUE(interp.ok()) << interp.status().message();
    ASSERT_EQ(genuine.num_inputs(), (*interp)->num_inputs());
    ASSERT_EQ(genuine.num_outputs(), (*interp)->num_outputs());
    float worst = 0.0f;
    for (int s = 0; s < kSeeds; ++s) {
      std::vector<std::vector<uint8_t>> inputs, theirs;
      for (int i = 0; i < genuine.num_inputs(); ++i) {
        inputs.push_back(RandomInput(genuine.input(i), kSeedBase + 1000 * s + i));
        ASSERT_TRUE((*interp)->SetInput(i, inputs[i].data(), inputs[i].size()).ok());
      }
      ASSERT_TRUE(genuine.Run(inputs, &theirs)) << genuine.error();
      ASSERT_TRUE((*interp)->Invoke().ok());
      for (int o = 0; o < genuine.num_outputs(); ++o) {
        const rt::TensorRef& out = (*interp)->output(o);
        ASSERT_EQ(out.bytes(), theirs[o].size()) << rel << " output " << o;
        const float* ours = out.as<float>();
        for (size_t k = 0; k < theirs[o].size() / 4; ++k) {
          float t;
          std::memcpy(&t, &theirs[o][4 * k], 4);
          ASSERT_TRUE(std::isfinite(t) && std::isfinite(ours[k])) << rel << " output " << o << "[" << k << "]";
          const float err = std::fabs(t - ours[k]);
          worst = std::max(worst, err);
          EXPECT_LE(err, kFloatAbsTolerance + kFloatRelTolerance * std::fabs(t))
              << rel << " seed " << s << " output " << o << "[" << k << "]: TFLite " << t
              << ", quantlens " << ours[k];
        }
      }
    }
    std::printf("[writer-diff] keras %-50s runs in TFLite, max |diff| %.3g\n", rel, worst);
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no Keras corpus files";
}

}  // namespace
}  // namespace ql
