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
  // Schema v1: every layer has both error views, a cause and a rank; the budget splits the error.
  EXPECT_EQ(j["schema"], "quantlens.compare");
  EXPECT_EQ(j["schema_version"], 1);
  int ranked_first = 0;
  for (const auto& l : j["layers"]) {
    for (const char* key : {"rank", "reference_layer", "candidate_tensor", "candidate_index", "accumulated",
                            "isolated", "cause", "evidence", "remedy"})
      EXPECT_TRUE(l.contains(key)) << key << " missing in " << l.dump();
    ranked_first += l["rank"] == 1;
  }
  EXPECT_EQ(ranked_first, 1);
  ASSERT_TRUE(j["budget"].is_object()) << j.dump();
  const double shares = j["budget"]["weight_quantization"]["share"].get<double>() +
                        j["budget"]["activation_quantization"]["share"].get<double>() +
                        j["budget"]["kernel_numerics"]["share"].get<double>();
  EXPECT_NEAR(shares, 1.0, 1e-9);
  // Layers TensorFlow fused are listed as unmatched, with the layer that now computes them.
  bool fused = false;
  for (const auto& u : j["unmatched"]) fused |= u["reason"].get<std::string>().find("fused") != std::string::npos;
  EXPECT_TRUE(fused) << j["unmatched"].dump();
  EXPECT_NE(r.out.find("where the error enters"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("error budget"), std::string::npos) << r.out;
}

// --fail-if is a CI gate: exit 1 when a condition holds, 0 when none does, 2 when it is malformed
// or names a metric the outputs do not have.
TEST(CompareCli, FailIfGatesBothWays) {
  const std::string base = "compare '" + kKeras + "' '" + kInt8 + "' --data '" + kTest + "' --samples 20 ";
  auto holds = Quantlens(base + "--fail-if 'top1_agreement<1.01,sqnr_db<0'");
  EXPECT_EQ(holds.status, 1) << holds.err;
  EXPECT_NE(holds.out.find("--fail-if: top1_agreement<1.01"), std::string::npos) << holds.out;
  auto passes = Quantlens(base + "--fail-if 'top1_agreement<0.5,sqnr_db<5,max_abs>1.5'");
  EXPECT_EQ(passes.status, 0) << passes.err << passes.out;
  ExpectOneLineError(Quantlens(base + "--fail-if 'speed<3'"), "unknown metric 'speed'");
  ExpectOneLineError(Quantlens(base + "--fail-if 'sqnr_db=3'"), "no comparison");
  ExpectOneLineError(Quantlens(base + "--fail-if 'sqnr_db<abc'"), "not a number");
  // Accuracy without labels (random data has none): known only once the data is open, so the
  // error follows the progress lines.
  auto unlabelled = Quantlens("compare '" + kKeras + "' '" + kInt8 + "' --data random:1 --samples 2 "
                              "--fail-if 'candidate_accuracy<0.9'");
  EXPECT_EQ(unlabelled.status, 2);
  EXPECT_NE(unlabelled.err.find("quantlens: --fail-if 'candidate_accuracy<0.9': no output has candidate_accuracy"),
            std::string::npos) << unlabelled.err;
}

// TensorFlow's float conversion of ad01 folded batch normalization and dropped the Dense biases:
// the per-layer analysis names folding, first at dense_1 (computed within activation_1).
TEST(CompareCli, NamesFoldingInTensorFlowsAd01) {
  TempDir dir;
  const std::string json = dir.File("ad.json");
  auto r = Quantlens("compare '" + kCorpus + "/mlperf_tiny/ad01.h5' '" + kCorpus +
                     "/mlperf_tiny/ad01_fp32.tflite' --data random:3 --samples 50 --layers --json '" + json + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  std::ifstream f(json);
  nlohmann::json j = nlohmann::json::parse(f);
  const nlohmann::json* first = nullptr;
  for (const auto& l : j["layers"])
    if (l["cause"] == "folding") {
      first = &l;
      break;
    }
  ASSERT_NE(first, nullptr) << r.out;
  EXPECT_EQ((*first)["reference_layer"], "activation_1") << first->dump();
  EXPECT_NE((*first)["evidence"].get<std::string>().find("dense_1"), std::string::npos) << first->dump();
  bool finding = false;
  for (const auto& fd : j["findings"]) finding |= fd["cause"] == "folding";
  EXPECT_TRUE(finding) << j["findings"].dump();
}

// --html writes one self-contained page; --try-fixes measures remedies through convert.
TEST(CompareCli, HtmlReportAndTryFixes) {
  TempDir dir;
  const std::string html = dir.File("r.html"), json = dir.File("r.json");
  auto r = Quantlens("compare '" + kKeras + "' '" + kInt8 + "' --data '" + kTest + "' --samples 30 --try-fixes "
                     "--fix-calibration '" + kCorpus + "/cifar10/train_1000.npz' --html '" + html + "' --json '" + json + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  std::ifstream hf(html);
  const std::string page((std::istreambuf_iterator<char>(hf)), std::istreambuf_iterator<char>());
  EXPECT_NE(page.find("<svg"), std::string::npos);
  EXPECT_EQ(page.find("src=\"http"), std::string::npos);
  std::ifstream jf(json);
  nlohmann::json j = nlohmann::json::parse(jf);
  ASSERT_FALSE(j["fixes"].empty()) << r.out;
  for (const auto& fx : j["fixes"]) {
    EXPECT_TRUE(fx.contains("after") || fx.contains("error")) << fx.dump();
    EXPECT_NE(fx["command"].get<std::string>().find("train_1000.npz"), std::string::npos) << fx.dump();
  }
  EXPECT_NE(r.out.find("fixes tried"), std::string::npos) << r.out;
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
