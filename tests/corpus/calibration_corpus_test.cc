// Calibration on real models and data from ../shared/corpus: MLPerf Tiny ResNet-8 (.h5) over the
// first 100 CIFAR-10 training images with every method, and an image folder (coco32) fed to the
// visual-wake-words model at 96x96.
#include <cmath>
#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "quantlens/formats/keras/reader.h"
#include "quantlens/io/sample_source.h"
#include "quantlens/passes/calibration.h"

namespace ql::passes {
namespace {

const std::string kCorpus = std::string(QUANTLENS_SHARED_DIR) + "/corpus";

class ResNet8Calibration : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string model = kCorpus + "/mlperf_tiny/pretrainedResnet.h5";
    const std::string data = kCorpus + "/cifar10/train_1000.npz";
    if (!std::filesystem::exists(model) || !std::filesystem::exists(data)) return;
    auto g = keras::ReadKerasModel(model);
    ASSERT_TRUE(g.ok()) << g.status().message();
    graph_ = new ir::Graph(std::move(*g));
    io::SampleSourceOptions o;
    o.max_samples = 100;
    auto src = io::OpenSampleSource(data, *graph_, io::InputSampleShapes(*graph_), o);
    ASSERT_TRUE(src.ok()) << src.status().message();
    source_ = src->release();
    for (const char* m : {"minmax", "percentile:99.99", "entropy", "mse"}) {
      CalibrationOptions opts;
      opts.spec = *ParseCalibrationMethod(m);
      auto r = Calibrate(*graph_, *source_, opts);
      ASSERT_TRUE(r.ok()) << m << ": " << r.status().message();
      results_[m] = std::move(*r);
    }
  }
  static void TearDownTestSuite() {
    delete source_;
    delete graph_;
    source_ = nullptr;
    graph_ = nullptr;
  }
  void SetUp() override {
    if (!graph_) GTEST_SKIP() << "corpus not found under " << kCorpus;
  }

  // Every float graph input and float op output.
  static std::vector<int> FloatActivations() {
    std::vector<int> ts;
    for (int t : graph_->inputs) {
      if (ir::IsFloat(graph_->tensors[t].dtype)) ts.push_back(t);
    }
    for (const ir::Op& op : graph_->ops) {
      for (int t : op.outputs) {
        if (ir::IsFloat(graph_->tensors[t].dtype)) ts.push_back(t);
      }
    }
    return ts;
  }

  static inline ir::Graph* graph_ = nullptr;
  static inline io::SampleSource* source_ = nullptr;
  static inline std::map<std::string, CalibrationResult> results_;
};

TEST_F(ResNet8Calibration, TheSourceIsTheFirst100LabelledImages) {
  EXPECT_EQ(source_->num_samples(), 100);
  EXPECT_TRUE(source_->description().find("first 100 of 1000 samples, labelled") != std::string::npos)
      << source_->description();
  ASSERT_TRUE(source_->Label(0).has_value());
  EXPECT_GE(*source_->Label(0), 0);
  EXPECT_LE(*source_->Label(0), 9);
}

TEST_F(ResNet8Calibration, EveryFloatTensorIsObservedByEveryMethod) {
  const std::vector<int> float_tensors = FloatActivations();
  ASSERT_GE(float_tensors.size(), 25u);  // 30 ops of ResNet-8 and the input
  for (const auto& [method, r] : results_) {
    EXPECT_EQ(r.num_samples, 100) << method;
    EXPECT_TRUE(r.warnings.empty()) << method << ": " << r.warnings.front();
    ASSERT_EQ(r.ranges.size(), graph_->tensors.size());
    for (int t : float_tensors) {
      const TensorRange& range = r.ranges[t];
      EXPECT_TRUE(range.observed) << method << ": " << graph_->tensors[t].name;
      EXPECT_TRUE(std::isfinite(range.min) && std::isfinite(range.max)) << method;
      EXPECT_LE(range.min, range.max) << method << ": " << graph_->tensors[t].name;
    }
    for (size_t t = 0; t < graph_->tensors.size(); ++t) {
      if (graph_->tensors[t].is_constant) {
        EXPECT_FALSE(r.ranges[t].observed) << method << " " << t;
      }
    }
  }
}

TEST_F(ResNet8Calibration, InputRangeIsThePixelRange) {
  // CIFAR-10 uint8 pixels fed to the float input as their values.
  const TensorRange& in = results_["minmax"].ranges[graph_->inputs[0]];
  EXPECT_GE(in.min, 0.0f);
  EXPECT_LE(in.min, 5.0f);
  EXPECT_LE(in.max, 255.0f);
  EXPECT_GE(in.max, 250.0f);
}

TEST_F(ResNet8Calibration, ClippingMethodsStayInsideTheObservedRange) {
  const CalibrationResult& mm = results_["minmax"];
  for (const char* m : {"percentile:99.99", "entropy", "mse"}) {
    const CalibrationResult& r = results_[m];
    int clipped = 0;
    for (int t : FloatActivations()) {
      EXPECT_GE(r.ranges[t].min, mm.ranges[t].min) << m << ": " << graph_->tensors[t].name;
      EXPECT_LE(r.ranges[t].max, mm.ranges[t].max) << m << ": " << graph_->tensors[t].name;
      clipped += r.ranges[t].max < mm.ranges[t].max || r.ranges[t].min > mm.ranges[t].min;
    }
    // Real activations have tails: each method clips some of them.
    EXPECT_GT(clipped, 0) << m;
  }
  // ReLU outputs keep 0 as their minimum under every method.
  for (size_t i = 0; i < graph_->ops.size(); ++i) {
    if (graph_->ops[i].type != ir::OpType::kRELU) continue;
    for (const auto& [method, r] : results_) {
      EXPECT_EQ(r.ranges[graph_->ops[i].outputs[0]].min, 0.0f) << method << " " << graph_->OpLabel(int(i));
    }
  }
}

TEST_F(ResNet8Calibration, SameRunSameRanges) {
  CalibrationOptions opts;
  opts.spec = *ParseCalibrationMethod("entropy");
  auto again = Calibrate(*graph_, *source_, opts);
  ASSERT_TRUE(again.ok());
  const CalibrationResult& first = results_["entropy"];
  for (size_t t = 0; t < first.ranges.size(); ++t) {
    EXPECT_EQ(first.ranges[t].min, again->ranges[t].min) << t;
    EXPECT_EQ(first.ranges[t].max, again->ranges[t].max) << t;
  }
}

TEST(ImageFolderCalibration, Coco32FeedsVww96) {
  const std::string model = kCorpus + "/mlperf_tiny/vww_96.h5";
  const std::string images = kCorpus + "/coco32/images";
  if (!std::filesystem::exists(model) || !std::filesystem::exists(images)) {
    GTEST_SKIP() << "corpus not found under " << kCorpus;
  }
  auto g = keras::ReadKerasModel(model);
  ASSERT_TRUE(g.ok()) << g.status().message();
  io::SampleSourceOptions o;
  o.image.resize_h = 96;
  o.image.resize_w = 96;
  o.image.scale = 1.0f / 255;
  auto src = io::OpenSampleSource(images, *g, io::InputSampleShapes(*g), o);
  ASSERT_TRUE(src.ok()) << src.status().message();
  int jpgs = 0;
  for (const auto& e : std::filesystem::directory_iterator(images)) jpgs += e.path().extension() == ".jpg";
  EXPECT_EQ((*src)->num_samples(), jpgs);
  EXPECT_FALSE((*src)->Label(0).has_value());
  auto s = (*src)->Get(0);
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ((*s)[0].shape, (ir::Shape{1, 96, 96, 3}));
  EXPECT_EQ((*s)[0].dtype, ir::DType::kFloat32);
  const float* v = (*s)[0].as<float>();
  float mn = 1, mx = 0;
  for (int64_t k = 0; k < 96 * 96 * 3; ++k) {
    mn = std::min(mn, v[k]);
    mx = std::max(mx, v[k]);
  }
  EXPECT_GE(mn, 0.0f);
  EXPECT_LE(mx, 1.0f);
  EXPECT_GT(mx - mn, 0.3f);  // a photo, not a flat image

  // A short minmax calibration over four images observes every float activation.
  io::SampleSourceOptions four = o;
  four.max_samples = 4;
  auto src4 = io::OpenSampleSource(images, *g, io::InputSampleShapes(*g), four);
  ASSERT_TRUE(src4.ok());
  auto r = Calibrate(*g, **src4, CalibrationOptions{});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->num_samples, 4);
  for (const ir::Op& op : g->ops) {
    for (int t : op.outputs) {
      if (ir::IsFloat(g->tensors[t].dtype)) {
        EXPECT_TRUE(r->ranges[t].observed) << g->tensors[t].name;
      }
    }
  }
  const TensorRange& in = r->ranges[g->inputs[0]];
  EXPECT_GE(in.min, 0.0f);
  EXPECT_LE(in.max, 1.0f);
}

}  // namespace
}  // namespace ql::passes
