// Keras models of the corpus run by quantlens, against the genuine TFLite outputs of their float
// conversions, the Keras 3 reference outputs, and each other.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "quantlens/formats/keras/keras_writer.h"
#include "quantlens/formats/keras/reader.h"
#include "quantlens/formats/model_loader.h"
#include "quantlens/io/image.h"
#include "quantlens/io/npy.h"
#include "quantlens/io/npz.h"
#include "quantlens/runtime/interpreter.h"

namespace ql {
namespace {

namespace fs = std::filesystem;
const std::string kShared = QUANTLENS_SHARED_DIR;

// The bound: float32 graphs that compute the same function in a different order (Keras's
// unfused batch norm vs the converter's folded weights) differ by rounding only.
constexpr double kRelTol = 1e-4;

class Runner {
 public:
  explicit Runner(const std::string& path) {
    auto g = LoadModel(path);
    if (!g.ok()) {
      error_ = g.status().message();
      return;
    }
    graph_ = std::make_unique<ir::Graph>(std::move(g).value());
    auto it = rt::Interpreter::Create(*graph_);
    if (!it.ok()) {
      error_ = it.status().message();
      return;
    }
    interp_ = std::move(it).value();
  }
  const std::string& error() const { return error_; }
  bool ok() const { return interp_ != nullptr; }
  rt::Interpreter& interp() { return *interp_; }

  std::vector<float> Run(const std::vector<float>& input) {
    Status s = interp_->SetInput(0, input.data(), input.size() * sizeof(float));
    EXPECT_TRUE(s.ok()) << s.message();
    s = interp_->Invoke();
    EXPECT_TRUE(s.ok()) << s.message();
    const rt::TensorRef& o = interp_->output(0);
    return std::vector<float>(o.as<float>(), o.as<float>() + o.num_elements());
  }

 private:
  std::unique_ptr<ir::Graph> graph_;
  std::unique_ptr<rt::Interpreter> interp_;
  std::string error_;
};

double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i])) return INFINITY;
    m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  }
  return m;
}

double MaxAbs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, std::fabs(static_cast<double>(x)));
  return m;
}

std::vector<float> ToFloat(const io::Array& a) {
  std::vector<float> v(static_cast<size_t>(a.num_elements()));
  if (a.dtype == ir::DType::kFloat32) std::copy(a.as<float>(), a.as<float>() + v.size(), v.begin());
  else if (a.dtype == ir::DType::kUInt8)
    for (size_t i = 0; i < v.size(); ++i) v[i] = a.as<uint8_t>()[i];
  else ADD_FAILURE() << "unexpected dtype";
  return v;
}

struct FloatModelCase {
  const char* h5;
  const char* tflite;
  const char* golden;  // golden/<folder>
  int h, w, c;
  float scale;  // image value = pixel * scale
};

// The four Keras files with float TFLite conversions in the corpus.
const FloatModelCase kCases[] = {
    {"mlperf_tiny/pretrainedResnet.h5", "mlperf_tiny/pretrainedResnet.tflite", "mlperf_resnet_float", 32, 32, 3, 1.0f},
    {"mlperf_tiny/vww_96.h5", "mlperf_tiny/vww_96_float.tflite", "mlperf_vww_float", 96, 96, 3, 1.0f / 255},
    {"mltk/image_example1/image_example1.h5", "mltk/image_example1/image_example1.float32.tflite",
     "mltk_image_example1_float", 96, 96, 1, 1.0f / 255},
    {"mltk/rock_paper_scissors/rock_paper_scissors.h5", "mltk/rock_paper_scissors/rock_paper_scissors.float32.tflite",
     "mltk_rps_float", 84, 84, 1, 1.0f / 255},
};

// 20 real inputs: CIFAR-10 test images for the 32x32 model, corpus photos resized otherwise.
std::vector<std::vector<float>> ExtraInputs(const FloatModelCase& c) {
  std::vector<std::vector<float>> out;
  if (c.h == 32) {
    auto x = io::ReadNpzMember(kShared + "/corpus/cifar10/test.npz", "x");
    EXPECT_TRUE(x.ok()) << x.status().message();
    if (!x.ok()) return out;
    const size_t per = 32 * 32 * 3;
    for (size_t i = 0; i < 20; ++i) {
      std::vector<float> v(per);
      for (size_t k = 0; k < per; ++k) v[k] = x->as<uint8_t>()[i * per + k];
      out.push_back(std::move(v));
    }
    return out;
  }
  std::vector<std::string> files;
  for (const char* dir : {"/corpus/images", "/corpus/coco32/images"}) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(kShared + dir)) {
      const std::string p = e.path().string();
      if (p.find("mask") == std::string::npos && io::LooksLikeImage(p)) names.push_back(p);
    }
    std::sort(names.begin(), names.end());
    files.insert(files.end(), names.begin(), names.end());
  }
  for (const auto& f : files) {
    if (out.size() == 20) break;
    auto img = io::DecodeImage(f, c.c);
    if (!img.ok()) continue;
    auto r = io::ResizeBilinear(*img, c.h, c.w);
    if (!r.ok()) continue;
    std::vector<float> v = r->values;
    for (float& x : v) x *= c.scale;
    out.push_back(std::move(v));
  }
  EXPECT_EQ(out.size(), 20u);
  return out;
}

TEST(KerasCorpus, FloatModelsMatchTheirTfliteConversions) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.h5);
    Runner keras(kShared + "/corpus/" + c.h5);
    Runner tfl(kShared + "/corpus/" + c.tflite);
    ASSERT_TRUE(keras.ok()) << keras.error();
    ASSERT_TRUE(tfl.ok()) << tfl.error();
    double worst_golden = 0, worst_tflite = 0;
    int n_golden = 0;
    for (const auto& e : fs::directory_iterator(kShared + "/golden/" + c.golden)) {
      const std::string dir = e.path().string();
      auto in = io::ReadNpyFile(dir + "/input0.npy");
      ASSERT_TRUE(in.ok()) << in.status().message();
      auto native = io::ReadNpz(dir + "/native.npz");
      ASSERT_TRUE(native.ok()) << native.status().message();
      ASSERT_EQ(native->size(), 1u);
      const std::vector<float> x = ToFloat(*in);
      const std::vector<float> golden = ToFloat((*native)[0].array);
      const std::vector<float> a = keras.Run(x);
      const std::vector<float> b = tfl.Run(x);
      const double tol = kRelTol * std::max(1.0, MaxAbs(golden));
      EXPECT_LE(MaxAbsDiff(a, golden), tol) << dir;
      EXPECT_LE(MaxAbsDiff(a, b), tol) << dir;
      worst_golden = std::max(worst_golden, MaxAbsDiff(a, golden) / std::max(1.0, MaxAbs(golden)));
      ++n_golden;
    }
    for (const auto& x : ExtraInputs(c)) {
      const std::vector<float> a = keras.Run(x);
      const std::vector<float> b = tfl.Run(x);
      const double scale = std::max(1.0, MaxAbs(b));
      EXPECT_LE(MaxAbsDiff(a, b), kRelTol * scale);
      worst_tflite = std::max(worst_tflite, MaxAbsDiff(a, b) / scale);
    }
    std::printf("%s: %d golden inputs, worst |h5 - native| / max(1, |native|) = %.3g; 20 more inputs, "
                "worst |h5 - tflite| / max(1, |tflite|) = %.3g\n",
                c.h5, n_golden, worst_golden, worst_tflite);
  }
}

// corpus/README.md: the ad01 conversion left the Dense biases out when folding batch norm, so
// the .tflite does not compute what the Keras model defines. Keras semantics must not bend.
TEST(KerasCorpus, Ad01KerasDisagreesWithItsConversion) {
  Runner keras(kShared + "/corpus/mlperf_tiny/ad01.h5");
  Runner tfl(kShared + "/corpus/mlperf_tiny/ad01_fp32.tflite");
  ASSERT_TRUE(keras.ok()) << keras.error();
  ASSERT_TRUE(tfl.ok()) << tfl.error();
  double worst = 0, magnitude = 0;
  for (const auto& e : fs::directory_iterator(kShared + "/golden/mlperf_ad_float")) {
    auto in = io::ReadNpyFile(e.path().string() + "/input0.npy");
    ASSERT_TRUE(in.ok());
    auto native = io::ReadNpz(e.path().string() + "/native.npz");
    ASSERT_TRUE(native.ok());
    const std::vector<float> x = ToFloat(*in);
    const std::vector<float> a = keras.Run(x);
    const std::vector<float> b = tfl.Run(x);
    // quantlens runs the .tflite as TFLite does...
    EXPECT_LE(MaxAbsDiff(b, ToFloat((*native)[0].array)), kRelTol * std::max(1.0, MaxAbs(b)));
    worst = std::max(worst, MaxAbsDiff(a, b));
    magnitude = std::max(magnitude, MaxAbs(a));
  }
  std::printf("ad01: max |keras - tflite| = %.4f on outputs of magnitude up to %.2f\n", worst, magnitude);
  // ...and the Keras model differently: by about 0.58 on outputs of magnitude about 42.
  EXPECT_GT(worst, 0.1);
  EXPECT_LT(worst, 2.0);
}

TEST(KerasCorpus, Cifar10Top1AgreesWithTflite) {
  Runner keras(kShared + "/corpus/mlperf_tiny/pretrainedResnet.h5");
  Runner tfl(kShared + "/corpus/mlperf_tiny/pretrainedResnet.tflite");
  ASSERT_TRUE(keras.ok()) << keras.error();
  ASSERT_TRUE(tfl.ok()) << tfl.error();
  auto x = io::ReadNpzMember(kShared + "/corpus/cifar10/test.npz", "x");
  ASSERT_TRUE(x.ok()) << x.status().message();
  const int64_t n = x->shape[0];
  const size_t per = 32 * 32 * 3;
  int64_t agree = 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<float> v(per);
  for (int64_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < per; ++k) v[k] = x->as<uint8_t>()[i * per + k];
    const auto a = keras.Run(v);
    const auto b = tfl.Run(v);
    agree += std::max_element(a.begin(), a.end()) - a.begin() == std::max_element(b.begin(), b.end()) - b.begin();
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("cifar10: top-1 agreement %lld / %lld (%.3f%%), %.1f s\n", static_cast<long long>(agree),
              static_cast<long long>(n), 100.0 * agree / n, secs);
  EXPECT_GE(agree * 1000, n * 999);
}

// The ten MNIST digits of golden/keras3, as (10, 28, 28, 1) pixels / 255.
std::vector<std::vector<float>> MnistDigits() {
  auto a = io::ReadNpyFile(kShared + "/golden/keras3/mnist_samples_0_1.npy");
  EXPECT_TRUE(a.ok());
  std::vector<std::vector<float>> out;
  if (!a.ok()) return out;
  const std::vector<float> all = ToFloat(*a);
  for (size_t i = 0; i < 10; ++i) out.emplace_back(all.begin() + i * 784, all.begin() + (i + 1) * 784);
  return out;
}

std::vector<float> RunAll(Runner& r, const std::vector<std::vector<float>>& xs) {
  std::vector<float> out;
  for (const auto& x : xs) {
    auto y = r.Run(x);
    out.insert(out.end(), y.begin(), y.end());
  }
  return out;
}

TEST(KerasCorpus, Keras3FilesMatchReferenceAndTwinsAndRoundTrip) {
  const auto digits = MnistDigits();
  ASSERT_EQ(digits.size(), 10u);
  const char* kFolders[][2] = {{"Jhas876622__mnist-digit-recognition", "mnist_cnn"},
                               {"leyuzak__Digit-Recognizer-Computer-Vision", "mnist_cnn"},
                               {"NhanPhamThanh-IT__Handwritten-Digits-Classification", "model"}};
  for (const auto& f : kFolders) {
    SCOPED_TRACE(f[0]);
    const std::string base = kShared + "/corpus/keras3/" + f[0] + "/" + f[1];
    auto expected = io::ReadNpyFile(kShared + "/golden/keras3/" + std::string(f[0]) + ".expected.npy");
    ASSERT_TRUE(expected.ok());
    Runner keras(base + ".keras");
    ASSERT_TRUE(keras.ok()) << keras.error();
    const std::vector<float> got = RunAll(keras, digits);
    const double err = MaxAbsDiff(got, ToFloat(*expected));
    std::printf("%s.keras: max |quantlens - reference| = %.3g\n", f[0], err);
    EXPECT_LE(err, 1e-4);
    if (fs::exists(base + ".h5")) {
      Runner twin(base + ".h5");
      ASSERT_TRUE(twin.ok()) << twin.error();
      const double d = MaxAbsDiff(RunAll(twin, digits), got);
      std::printf("%s.h5 vs .keras: max diff %.3g\n", f[0], d);
      EXPECT_EQ(d, 0.0);  // same weights, same lowering: identical
    }
    // Re-saved by quantlens's writer, the archive reads back to identical outputs.
    const std::string tmp = (fs::temp_directory_path() / (std::string("ql_roundtrip_") + f[0] + ".keras")).string();
    Status s = keras::ConvertToKerasV3(base + ".keras", tmp);
    ASSERT_TRUE(s.ok()) << s.message();
    Runner back(tmp);
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(MaxAbsDiff(RunAll(back, digits), got), 0.0);
    fs::remove(tmp);
  }
}

// A Keras 2 .h5 re-saved in the Keras 3 archive layout reads back to identical outputs.
TEST(KerasCorpus, WriterRoundTripsKeras2H5) {
  const std::string src = kShared + "/corpus/mlperf_tiny/pretrainedResnet.h5";
  const std::string tmp = (fs::temp_directory_path() / "ql_roundtrip_resnet.keras").string();
  Status s = keras::ConvertToKerasV3(src, tmp);
  ASSERT_TRUE(s.ok()) << s.message();
  Runner a(src), b(tmp);
  ASSERT_TRUE(a.ok() && b.ok()) << a.error() << b.error();
  auto in = io::ReadNpyFile(kShared + "/golden/mlperf_resnet_float/cat/input0.npy");
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(MaxAbsDiff(a.Run(ToFloat(*in)), b.Run(ToFloat(*in))), 0.0);
  fs::remove(tmp);
}

}  // namespace
}  // namespace ql
