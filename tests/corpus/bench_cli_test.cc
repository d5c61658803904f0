// `quantlens bench` on the command line: the JSON it writes (fields, per-op shares), the thread
// note, --input, Keras models, and one clear error with exit 2 for every bad request. Timing values
// are never asserted beyond being positive: the machine may be busy. --compare-tflite against the
// genuine library is tested in tests/diff/bench_compare_diff_test.cc (built only with it).
#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testing/cli_runner.h"

namespace ql {
namespace {

using testing::ExpectOneLineError;
using testing::Quantlens;
using testing::TempDir;

const std::string kCorpus = std::string(QUANTLENS_SHARED_DIR) + "/corpus";
const std::string kInt8 = kCorpus + "/mlperf_tiny/pretrainedResnet_quant.tflite";
const std::string kKeras = kCorpus + "/mlperf_tiny/pretrainedResnet.h5";
const std::string kCat = kCorpus + "/images/cat.bmp";

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream f(path);
  return nlohmann::json::parse(f);
}

// Per-op and per-type shares each sum to 1; per-op times add up to the types' times.
void ExpectConsistentProfile(const nlohmann::json& j) {
  ASSERT_TRUE(j["per_op"].is_array());
  ASSERT_TRUE(j["per_op_type"].is_array());
  ASSERT_FALSE(j["per_op"].empty());
  double op_share = 0, type_share = 0, op_ms = 0, type_ms = 0;
  int index = 0;
  for (const auto& op : j["per_op"]) {
    for (const char* key : {"index", "type", "ms", "share", "folded", "label"})
      ASSERT_TRUE(op.contains(key)) << key << " missing in " << op.dump();
    EXPECT_EQ(op["index"], index++);
    EXPECT_GE(op["ms"].get<double>(), 0.0);
    if (op["folded"].get<bool>()) {
      EXPECT_EQ(op["ms"].get<double>(), 0.0);
    }
    op_share += op["share"].get<double>();
    op_ms += op["ms"].get<double>();
  }
  int count = 0;
  for (const auto& t : j["per_op_type"]) {
    for (const char* key : {"type", "count", "ms", "share"})
      ASSERT_TRUE(t.contains(key)) << key << " missing in " << t.dump();
    type_share += t["share"].get<double>();
    type_ms += t["ms"].get<double>();
    count += t["count"].get<int>();
  }
  EXPECT_EQ(count, static_cast<int>(j["per_op"].size()));
  EXPECT_NEAR(op_share, 1.0, 1e-6);
  EXPECT_NEAR(type_share, 1.0, 1e-6);
  EXPECT_NEAR(op_ms, type_ms, 1e-6 * std::max(1.0, op_ms));
  EXPECT_GT(op_ms, 0.0);
}

TEST(BenchCli, Int8ResNetJson) {
  TempDir dir;
  const std::string json = dir.File("bench.json");
  auto r = Quantlens("bench '" + kInt8 + "' --iterations 5 --warmup 1 --threads 3 --json '" + json + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_NE(r.out.find("latency: median"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("timed; 3 threads"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("top op types"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CONV_2D"), std::string::npos) << r.out;
  const nlohmann::json j = ReadJson(json);
  EXPECT_EQ(j["model"], kInt8);
  EXPECT_EQ(j["iterations"], 5);
  EXPECT_EQ(j["warmup"], 1);
  EXPECT_EQ(j["threads"], 3);
  EXPECT_EQ(j["quantlens_threads"], 3);
  EXPECT_EQ(j["numerics"], "tflite-x86");
  EXPECT_EQ(j["input"], "random:1");
  for (const char* key : {"median_ms", "min_ms", "p90_ms", "spread_ms"}) {
    ASSERT_TRUE(j.contains(key)) << key;
    EXPECT_GE(j[key].get<double>(), 0.0) << key;
  }
  EXPECT_GT(j["median_ms"].get<double>(), 0.0);
  EXPECT_GT(j["min_ms"].get<double>(), 0.0);
  EXPECT_LE(j["min_ms"].get<double>(), j["median_ms"].get<double>());
  EXPECT_LE(j["median_ms"].get<double>(), j["p90_ms"].get<double>());
  EXPECT_GT(j["peak_rss_bytes"].get<int64_t>(), 0);
  EXPECT_GT(j["arena_bytes"].get<int64_t>(), 0);
  EXPECT_GT(j["weight_bytes"].get<int64_t>(), 0);
  EXPECT_GT(j["scratch_bytes"].get<int64_t>(), 0);  // the int8 convs' GEMM scratch
  EXPECT_EQ(j["profile_runs"], 5);
  EXPECT_FALSE(j.contains("tflite_builtin_median_ms"));
  ExpectConsistentProfile(j);
  // ResNet-8: the CONV_2D ops are there, and the type table is sorted by time.
  bool conv = false;
  double last = 1e300;
  for (const auto& t : j["per_op_type"]) {
    conv |= t["type"] == "CONV_2D";
    EXPECT_LE(t["ms"].get<double>(), last);
    last = t["ms"].get<double>();
  }
  EXPECT_TRUE(conv) << j["per_op_type"].dump();
}

TEST(BenchCli, InputFileWasmAndOneThreadNoNote) {
  auto r = Quantlens("bench '" + kInt8 + "' --iterations 2 --warmup 0 --input '" + kCat +
                     "' --numerics tflite-wasm");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("input: " + kCat), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tflite-wasm"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("applies to the genuine runtime only"), std::string::npos) << r.out;
}

TEST(BenchCli, KerasModel) {
  TempDir dir;
  const std::string json = dir.File("keras.json");
  auto r = Quantlens("bench '" + kKeras + "' --iterations 2 --warmup 1 --json '" + json + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  const nlohmann::json j = ReadJson(json);
  EXPECT_GT(j["median_ms"].get<double>(), 0.0);
  ExpectConsistentProfile(j);
}

TEST(BenchCli, Errors) {
  TempDir dir;
  ExpectOneLineError(Quantlens("bench '" + dir.File("missing.tflite") + "'"), "missing.tflite");
  ExpectOneLineError(Quantlens("bench '" + kKeras + "' --iterations 2 --compare-tflite"), "--compare-tflite");
  ExpectOneLineError(Quantlens("bench '" + kInt8 + "' --iterations 0"), "--iterations");
  ExpectOneLineError(Quantlens("bench '" + kInt8 + "' --iterations -3"), "--iterations");
  ExpectOneLineError(Quantlens("bench '" + kInt8 + "' --iterations many"), "--iterations");
  ExpectOneLineError(Quantlens("bench '" + kInt8 + "' --warmup -1"), "--warmup");
  ExpectOneLineError(Quantlens("bench '" + kInt8 + "' --threads 0"), "--threads");
  ExpectOneLineError(Quantlens("bench '" + kInt8 + "' --numerics tflite-arm"), "--numerics");
  ExpectOneLineError(Quantlens("bench '" + kInt8 + "' --input '" + kCat + "' --input '" + kCat + "'"),
                     "--input");
  ExpectOneLineError(Quantlens("bench '" + kInt8 + "' --json '" + kInt8 + "'"), "refusing to overwrite");
}

TEST(BenchCli, MissingGenuineLibraryIsOneError) {
  TempDir dir;
  const std::string missing = dir.File("libtensorflowlite_c.so");
  ASSERT_EQ(setenv("QUANTLENS_TFLITE_C", missing.c_str(), 1), 0);
  auto r = Quantlens("bench '" + kInt8 + "' --iterations 1 --compare-tflite");
  unsetenv("QUANTLENS_TFLITE_C");
  ExpectOneLineError(r, "QUANTLENS_TFLITE_C=");
  // Not a TFLite library at all: also one line.
  ASSERT_EQ(setenv("QUANTLENS_TFLITE_C", kInt8.c_str(), 1), 0);
  r = Quantlens("bench '" + kInt8 + "' --iterations 1 --compare-tflite");
  unsetenv("QUANTLENS_TFLITE_C");
  ExpectOneLineError(r, "cannot load");
}

}  // namespace
}  // namespace ql
