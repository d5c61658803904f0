// `quantlens compare` on the command line: metrics on real models, JSON output, and one clear
// error with exit 2 for every bad request.
#include <filesystem>
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
const std::string kKeras = kCorpus + "/mlperf_tiny/pretrainedResnet.h5";
const std::string kInt8 = kCorpus + "/mlperf_tiny/pretrainedResnet_quant.tflite";
const std::string kTest = kCorpus + "/cifar10/test.npz";

TEST(CompareCli, KerasAgainstTensorFlowsInt8) {
  TempDir dir;
  const std::string json = dir.File("r.json");
  auto r = Quantlens("compare '" + kKeras + "' '" + kInt8 + "' --data '" + kTest +
                     "' --samples 40 --json '" + json + "' --layers");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("top-1 agreement"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("accuracy: reference"), std::string::npos) << r.out;
  std::ifstream f(json);
  nlohmann::json j = nlohmann::json::parse(f);
  ASSERT_EQ(j["samples"], 40);
  const auto& o = j["outputs"][0];
  EXPECT_GT(o["top1_agreement"].get<double>(), 0.8);
  EXPECT_GT(o["sqnr_db"].get<double>(), 10.0);
  EXPECT_LT(o["sqnr_db"].get<double>(), 40.0);
  EXPECT_LE(o["max_abs_diff"].get<double>(), 1.0);
  EXPECT_TRUE(o.contains("flips"));
  // --layers: TensorFlow's file has no layer map; its tensor names align most layers.
  ASSERT_TRUE(j.contains("layers"));
  EXPECT_GE(j["layers"].size(), 12u);
}

TEST(CompareCli, SameModelIsIdentical) {
  auto r = Quantlens("compare '" + kInt8 + "' '" + kInt8 + "' --data random:3 --samples 5");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("SQNR inf dB"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("top-1 agreement 100.00%"), std::string::npos) << r.out;
}

TEST(CompareCli, TwoNumericsProfilesOfOneFile) {
  auto r = Quantlens("compare '" + kInt8 + "' '" + kInt8 + "' --data '" + kTest +
                     "' --samples 10 --candidate-numerics tflite-wasm");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("top-1 agreement"), std::string::npos) << r.out;
}

TEST(CompareCli, BadRequests) {
  TempDir dir;
  ExpectOneLineError(Quantlens("compare '" + kKeras + "' '" + kInt8 + "' --data '" + dir.File("none.npy") + "'"),
                     "none.npy");
  ExpectOneLineError(Quantlens("compare '" + kKeras + "' '" + kInt8 + "' --data random:1 --samples 0"),
                     "--samples");
  ExpectOneLineError(Quantlens("compare '" + kKeras + "' '" + kInt8 + "' --data random:1 --candidate-numerics arm"),
                     "arm");
  // Models that do not take the same input.
  ExpectOneLineError(Quantlens("compare '" + kKeras + "' '" + kCorpus + "/mlperf_tiny/ad01_int8.tflite' --data '" +
                               kTest + "' --samples 2"));
}

TEST(CompareCli, NeverOverwritesAnInput) {
  TempDir dir;
  const std::string model = dir.File("m.tflite");
  std::filesystem::copy_file(kInt8, model);
  const auto size = std::filesystem::file_size(model);
  auto r = Quantlens("compare '" + model + "' '" + model + "' --data random:1 --samples 2 --json '" + model + "'");
  ExpectOneLineError(r, "refusing to overwrite");
  EXPECT_EQ(std::filesystem::file_size(model), size);
}

}  // namespace
}  // namespace ql
