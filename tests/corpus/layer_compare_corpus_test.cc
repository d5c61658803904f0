// Per-layer comparison on MLPerf Tiny ResNet-8 over 20 CIFAR-10 test images: against its int8
// conversion written in-process (aligned by the "quantlens_layer_map" metadata the reader fills
// layer_outputs from) and against TensorFlow's own int8 file (aligned by tensor names).
#include <cmath>
#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "quantlens/analysis/compare.h"
#include "quantlens/analysis/layer_compare.h"
#include "quantlens/formats/keras/reader.h"
#include "quantlens/formats/tflite/reader.h"
#include "quantlens/passes/convert.h"

namespace ql::analysis {
namespace {

const std::string kCorpus = std::string(QUANTLENS_SHARED_DIR) + "/corpus";
const std::string kModel = kCorpus + "/mlperf_tiny/pretrainedResnet.h5";
const std::string kTfQuant = kCorpus + "/mlperf_tiny/pretrainedResnet_quant.tflite";

class ResNet8Layers : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const std::string& f : {kModel, kTfQuant, kCorpus + "/cifar10/test.npz",
                                 kCorpus + "/cifar10/train_1000.npz"})
      if (!std::filesystem::exists(f)) GTEST_SKIP() << f << " not found";
    auto g = keras::ReadKerasModel(kModel);
    ASSERT_TRUE(g.ok()) << g.status().message();
    keras_ = std::move(*g);
  }
  static CompareOptions Opts() {
    CompareOptions o;
    o.data = kCorpus + "/cifar10/test.npz";
    o.data_options.max_samples = 20;
    o.layers = true;
    return o;
  }
  ir::Graph keras_;
};

TEST_F(ResNet8Layers, ConvertedModelAlignsByLayerMap) {
  passes::ConvertOptions co;
  co.mode = passes::ConvertMode::kInt8;
  co.calibration = kCorpus + "/cifar10/train_1000.npz";
  co.data.max_samples = 50;
  auto conv = passes::ConvertModel(keras_, co);
  ASSERT_TRUE(conv.ok()) << conv.status().message();
  auto cand = tflite::ReadTfliteBuffer(conv->bytes, "resnet8_int8.tflite");
  ASSERT_TRUE(cand.ok()) << cand.status().message();
  ASSERT_FALSE(cand->layer_outputs.empty()) << "no quantlens_layer_map in the written file";

  auto r = CompareModels(keras_, *cand, Opts());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->num_samples, 20);
  // Every layer whose output survives conversion (is in the candidate's map) is aligned by it.
  std::set<std::string> aligned;
  for (const auto& l : r->layers) {
    EXPECT_EQ(l.pair.method, AlignMethod::kLayerMap) << l.pair.layer;
    aligned.insert(l.pair.layer);
  }
  for (const ir::LayerOutput& lo : cand->layer_outputs)
    EXPECT_TRUE(aligned.count(lo.layer)) << lo.layer << " survives conversion but is not aligned";
  EXPECT_TRUE(r->unaligned_candidate.empty());
  EXPECT_GE(r->layers.size(), 15u);
  EXPECT_EQ(r->layers.size() + r->unaligned_reference.size(), keras_.layer_outputs.size());

  // The float input is identical; every quantized layer has a finite SQNR, high at first and
  // lower (never higher by much) at the end: error accumulates through the network.
  ASSERT_EQ(r->layers.front().pair.layer, "input_1");
  EXPECT_TRUE(std::isinf(r->layers.front().accumulated.sqnr_db));
  double first = 0, last = 0;
  for (size_t i = 1; i < r->layers.size(); ++i) {
    const auto& m = r->layers[i].accumulated;
    EXPECT_TRUE(std::isfinite(m.sqnr_db)) << r->layers[i].pair.layer;
    EXPECT_GT(m.sqnr_db, 10) << r->layers[i].pair.layer;
    EXPECT_LT(m.sqnr_db, 60) << r->layers[i].pair.layer;
    if (i == 1) first = m.sqnr_db;
    last = m.sqnr_db;
  }
  EXPECT_LT(last, first);
  // Every quantized layer adds error of its own (isolated) and is ranked; the input adds none.
  EXPECT_EQ(r->layers.front().rank, 0);
  for (size_t i = 1; i < r->layers.size(); ++i) {
    EXPECT_GT(r->layers[i].rank, 0) << r->layers[i].pair.layer;
    ASSERT_TRUE(r->layers[i].isolated.has_value()) << r->layers[i].pair.layer;
    // A layer fed the reference's values is at least as close as the same layer end to end.
    EXPECT_GE(r->layers[i].isolated->sqnr_db + 0.5, r->layers[i].accumulated.sqnr_db) << r->layers[i].pair.layer;
  }
  // quantlens's own conversion has a float reference: the budget is there and its shares sum to 1.
  ASSERT_TRUE(r->budget.has_value()) << r->budget_note;
  EXPECT_NEAR(r->budget->weight.share + r->budget->activation.share + r->budget->kernel.share, 1.0, 1e-9);
}

TEST_F(ResNet8Layers, TensorFlowFileAlignsByTensorNames) {
  auto cand = tflite::ReadTfliteFile(kTfQuant);
  ASSERT_TRUE(cand.ok()) << cand.status().message();
  ASSERT_TRUE(cand->layer_outputs.empty());
  auto r = CompareModels(keras_, *cand, Opts());
  ASSERT_TRUE(r.ok()) << r.status().message();
  // 16 of ResNet-8's 30 layer outputs survive TensorFlow's fusions (conv + batch norm + relu,
  // add + relu); most are found by converter names, input and output by position.
  EXPECT_GE(r->layers.size(), 14u);
  size_t by_name = 0;
  for (const auto& l : r->layers) {
    if (l.pair.method == AlignMethod::kConverterName) ++by_name;
    if (l.pair.layer != "input_1") {
      EXPECT_TRUE(std::isfinite(l.accumulated.sqnr_db)) << l.pair.layer;
      EXPECT_GT(l.accumulated.sqnr_db, 10) << l.pair.layer << " aligned with " << l.candidate_name;
    }
  }
  EXPECT_GE(by_name, 12u);
  std::set<std::string> aligned;
  for (const auto& l : r->layers) aligned.insert(l.pair.layer);
  for (const char* must : {"activation", "activation_2", "batch_normalization_6", "flatten", "dense"})
    EXPECT_TRUE(aligned.count(must)) << must;
}

// Two quantized files: quantlens's conversion (layer map) as the reference, TensorFlow's as the
// candidate. The reference maps "dense" to its int8 tensor ahead of the output DEQUANTIZE; it
// still aligns with the candidate's output (not with TensorFlow's pre-softmax MatMul).
TEST_F(ResNet8Layers, QuantizedReferenceAlignsOutputThroughDequantize) {
  passes::ConvertOptions co;
  co.calibration = kCorpus + "/cifar10/train_1000.npz";
  co.data.max_samples = 50;
  auto conv = passes::ConvertModel(keras_, co);
  ASSERT_TRUE(conv.ok()) << conv.status().message();
  auto ref = tflite::ReadTfliteBuffer(conv->bytes, "resnet8_int8.tflite");
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  auto cand = tflite::ReadTfliteFile(kTfQuant);
  ASSERT_TRUE(cand.ok()) << cand.status().message();
  auto r = CompareModels(*ref, *cand, Opts());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_FALSE(r->layers.empty());
  const LayerReport& last = r->layers.back();
  EXPECT_EQ(last.pair.layer, "dense");
  EXPECT_EQ(last.pair.method, AlignMethod::kGraphIO);
  EXPECT_EQ(last.pair.candidate_tensor, cand->outputs[0]);
  EXPECT_TRUE(std::isfinite(last.accumulated.sqnr_db));
  EXPECT_GT(last.accumulated.sqnr_db, 5);
}

}  // namespace
}  // namespace ql::analysis

namespace ql::analysis {
namespace {

// A candidate whose tensor names say nothing (every tensor renamed "t<i>", no layer map) still
// aligns: by value correlation, with the same tensors that TensorFlow's names give.
TEST_F(ResNet8Layers, RenamedTensorsAlignByValueCorrelation) {
  auto named = tflite::ReadTfliteFile(kTfQuant);
  ASSERT_TRUE(named.ok()) << named.status().message();
  ir::Graph renamed = *named;
  for (size_t t = 0; t < renamed.tensors.size(); ++t) renamed.tensors[t].name = "t" + std::to_string(t);
  CompareOptions o = Opts();
  o.data_options.max_samples = 4;
  auto by_name = CompareModels(keras_, *named, o);
  ASSERT_TRUE(by_name.ok()) << by_name.status().message();
  auto by_value = CompareModels(keras_, renamed, o);
  ASSERT_TRUE(by_value.ok()) << by_value.status().message();
  std::map<std::string, int> expected;
  for (const auto& l : by_name->layers) expected[l.pair.layer] = l.pair.candidate_tensor;
  size_t by_correlation = 0, agree = 0;
  for (const auto& l : by_value->layers) {
    if (l.pair.method != AlignMethod::kValueCorrelation) continue;
    ++by_correlation;
    auto it = expected.find(l.pair.layer);
    if (it != expected.end() && it->second == l.pair.candidate_tensor) ++agree;
  }
  // Every layer names found, except input and output (graph-io either way), is found by value,
  // and to the same tensor.
  std::string missing;
  for (const auto& [layer, t] : expected) {
    bool found = false;
    for (const auto& l : by_value->layers) found |= l.pair.layer == layer;
    if (!found) missing += " " + layer;
  }
  EXPECT_GE(by_correlation + 2, expected.size()) << "not aligned by value:" << missing;
  EXPECT_EQ(agree, by_correlation);
}

}  // namespace
}  // namespace ql::analysis
