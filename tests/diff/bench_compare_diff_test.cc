// `quantlens bench --compare-tflite` against the genuine TFLite 2.9 C library this test is linked
// with: bench loads it itself with dlopen (QUANTLENS_TFLITE_C, else its search path), runs it with
// builtin kernels and with XNNPACK on the same input, and reports medians, ratios and whether the
// outputs are byte-identical. Built only when QUANTLENS_TFLITE_C_DIR is set, so a missing library
// fails here instead of skipping.
#include <dlfcn.h>

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tensorflow/lite/c/c_api.h"
#include "testing/cli_runner.h"
#include "testing/genuine_tflite.h"

namespace ql {
namespace {

using testing::Quantlens;
using testing::ScopedEnvVar;
using testing::TempDir;

const std::string kCorpus = std::string(QUANTLENS_SHARED_DIR) + "/corpus";
const std::string kInt8 = kCorpus + "/mlperf_tiny/pretrainedResnet_quant.tflite";
const std::string kFloat = kCorpus + "/mlperf_tiny/vww_96_float.tflite";

// The path of the libtensorflowlite_c.so this executable is linked with.
std::string LinkedLibraryPath() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&TfLiteVersion), &info) == 0 || !info.dli_fname) return "";
  return info.dli_fname;
}

void ExpectComparison(const nlohmann::json& j) {
  for (const char* key : {"tflite_builtin_median_ms", "tflite_xnnpack_median_ms", "ratio_builtin", "ratio_xnnpack"}) {
    ASSERT_TRUE(j.contains(key)) << key << " missing in " << j.dump();
    EXPECT_GT(j[key].get<double>(), 0.0) << key;
  }
  EXPECT_EQ(j["tflite_version"].get<std::string>().rfind("2.9", 0), 0u) << j["tflite_version"];
}

TEST(BenchCompareTflite, Int8ResNetBuiltinAndXnnpack) {
  const std::string lib = LinkedLibraryPath();
  ASSERT_FALSE(lib.empty());
  ScopedEnvVar env("QUANTLENS_TFLITE_C", lib.c_str());
  TempDir dir;
  const std::string json = dir.File("bench.json");
  auto r = Quantlens("bench '" + kInt8 + "' --iterations 5 --warmup 1 --threads 2 --compare-tflite --json '" +
                     json + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("tflite builtin"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tflite xnnpack"), std::string::npos) << r.out;
  std::ifstream f(json);
  const nlohmann::json j = nlohmann::json::parse(f);
  ExpectComparison(j);
  EXPECT_EQ(j["threads"], 2);
  EXPECT_EQ(j["tflite_library"], lib);
  // quantlens is bit-exact with the builtin kernels on integer models.
  EXPECT_EQ(j["tflite_builtin_outputs_identical"], true) << r.out;
  EXPECT_EQ(j["tflite_builtin"]["runs"], 5);
  EXPECT_EQ(j["tflite_xnnpack"]["runs"], 5);
}

TEST(BenchCompareTflite, FloatModelAndDefaultSearch) {
  // Without QUANTLENS_TFLITE_C, bench finds the library scripts/setup_tflite_c.sh installed in the
  // source tree's .deps (as scripts/test.sh does).
  ScopedEnvVar env("QUANTLENS_TFLITE_C", nullptr);
  TempDir dir;
  const std::string json = dir.File("bench.json");
  auto r = Quantlens("bench '" + kFloat + "' --iterations 2 --warmup 1 --compare-tflite --json '" + json + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  std::ifstream f(json);
  ExpectComparison(nlohmann::json::parse(f));
}

}  // namespace
}  // namespace ql
