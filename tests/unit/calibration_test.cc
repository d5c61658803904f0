// Calibration methods on synthetic data whose right answer is known analytically (uniform,
// Gaussian, Gaussian with an outlier), the entropy search against a literal transcription of the
// algorithm, and Calibrate end to end on a small graph: which tensors are observed, determinism,
// progress, non-finite values and bad options.
#include "quantlens/passes/calibration.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include <gtest/gtest.h>

namespace ql::passes {
namespace {

using ir::DType;

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// ---------------------------------------------------------------------------------------------
// Method names

TEST(CalibrationMethod, ParsesAcceptedForms) {
  auto mm = ParseCalibrationMethod("minmax");
  ASSERT_TRUE(mm.ok());
  EXPECT_EQ(mm->method, CalibrationMethod::kMinMax);
  auto p = ParseCalibrationMethod("percentile:99.9");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->method, CalibrationMethod::kPercentile);
  EXPECT_DOUBLE_EQ(p->percentile, 99.9);
  auto pd = ParseCalibrationMethod("percentile");
  ASSERT_TRUE(pd.ok());
  EXPECT_DOUBLE_EQ(pd->percentile, 99.99);
  EXPECT_EQ(ParseCalibrationMethod("entropy")->method, CalibrationMethod::kEntropy);
  EXPECT_EQ(ParseCalibrationMethod("mse")->method, CalibrationMethod::kMse);
  for (const char* text : {"minmax", "percentile:99.9", "percentile:100", "entropy", "mse"}) {
    auto spec = ParseCalibrationMethod(text);
    ASSERT_TRUE(spec.ok()) << text;
    EXPECT_EQ(CalibrationName(*spec), text);
  }
}

TEST(CalibrationMethod, RejectsOtherFormsNamingTheAcceptedOnes) {
  for (const char* text : {"kl", "percentile:0", "percentile:100.5", "percentile:abc", "percentile:",
                           "percentile:-3", "MSE", ""}) {
    auto spec = ParseCalibrationMethod(text);
    ASSERT_FALSE(spec.ok()) << text;
    EXPECT_EQ(spec.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(spec.status().message(), "minmax, percentile:P")) << spec.status().message();
    EXPECT_TRUE(Contains(spec.status().message(), std::string("'") + text + "'")) << spec.status().message();
  }
}

// ---------------------------------------------------------------------------------------------
// ChooseRange on analytic histograms

// Counts of `n` values with CDF `cdf` over `bins` equal bins of [lo, hi].
template <typename Cdf>
Histogram AnalyticHistogram(double lo, double hi, int bins, double n, Cdf cdf) {
  Histogram h;
  h.lo = lo;
  h.hi = hi;
  const double w = (hi - lo) / bins;
  for (int k = 0; k < bins; ++k) {
    const double p = cdf(lo + (k + 1) * w) - cdf(lo + k * w);
    h.counts.push_back(static_cast<uint64_t>(std::llround(n * p)));
  }
  return h;
}

double NormalCdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }
// |x| of a standard normal.
double HalfNormalCdf(double x) { return x <= 0 ? 0.0 : 2.0 * NormalCdf(x) - 1.0; }

CalibrationSpec Spec(const std::string& text) { return *ParseCalibrationMethod(text); }

TEST(ChooseRange, MinMaxIsTheObservedRange) {
  Histogram h = AnalyticHistogram(0, 1, 64, 1e6, [](double x) { return x; });
  auto r = ChooseRange(h, -0.25f, 1.0f, Spec("minmax"), 8);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->observed);
  EXPECT_EQ(r->min, -0.25f);
  EXPECT_EQ(r->max, 1.0f);
}

TEST(ChooseRange, PercentileOfUniform) {
  // |x| uniform on [0, 1]: the 99th percentile is 0.99; the chosen threshold is the upper edge of
  // the bin where the CDF reaches 0.99: ceil(0.99 * 2048) / 2048.
  Histogram h = AnalyticHistogram(0, 1, 2048, 2048e3, [](double x) { return x; });
  auto r = ChooseRange(h, -1.0f, 1.0f, Spec("percentile:99"), 8);
  ASSERT_TRUE(r.ok());
  EXPECT_FLOAT_EQ(r->max, 2028.0f / 2048.0f);
  EXPECT_FLOAT_EQ(r->min, -2028.0f / 2048.0f);
  // One-sided data (a ReLU output): the threshold clips only the side that reaches it.
  auto relu = ChooseRange(h, 0.0f, 1.0f, Spec("percentile:99"), 8);
  ASSERT_TRUE(relu.ok());
  EXPECT_EQ(relu->min, 0.0f);
  EXPECT_FLOAT_EQ(relu->max, 2028.0f / 2048.0f);
}

TEST(ChooseRange, PercentileOfGaussian) {
  // |x| of N(0, 1): P(|x| < 2.5758) = 0.99, P(|x| < 3.8906) = 0.9999.
  Histogram h = AnalyticHistogram(0, 6, 2048, 1e9, HalfNormalCdf);
  h.counts.back() += 1;  // the observed maximum, 6, lies in the last bin
  const double w = 6.0 / 2048;
  auto r99 = ChooseRange(h, -6.0f, 6.0f, Spec("percentile:99"), 8);
  ASSERT_TRUE(r99.ok());
  EXPECT_NEAR(r99->max, 2.5758, w);
  EXPECT_NEAR(r99->min, -2.5758, w);
  auto r9999 = ChooseRange(h, -6.0f, 6.0f, Spec("percentile:99.99"), 8);
  EXPECT_NEAR(r9999->max, 3.8906, w);
  // percentile:100 keeps everything observed: minmax.
  auto r100 = ChooseRange(h, -5.5f, 6.0f, Spec("percentile:100"), 8);
  EXPECT_EQ(r100->min, -5.5f);
  EXPECT_EQ(r100->max, 6.0f);
}

TEST(ChooseRange, EntropyKeepsUniformDataWhole) {
  // Uniform |x|: Q equals P only with nothing clipped, so the full range has KL 0.
  Histogram h = AnalyticHistogram(0, 1, 2048, 2048e3, [](double x) { return x; });
  auto r = ChooseRange(h, -1.0f, 1.0f, Spec("entropy"), 8);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->max, 1.0f);
  EXPECT_EQ(r->min, -1.0f);
}

TEST(ChooseRange, MseOfOneSidedUniformMatchesTheAnalyticOptimum) {
  // Uniform on [0, 1] (a ReLU output) on the int8 grid [0, t] (zero point -128, scale t / 255):
  // clipping costs (1 - t)^3 / 3 per value, rounding t * (t / 255)^2 / 12; the sum is smallest at
  // 1 - t = t / 510, t = 510 / 511.
  Histogram h = AnalyticHistogram(0, 1, 2048, 1e8, [](double x) { return x; });
  auto r = ChooseRange(h, 0.0f, 1.0f, Spec("mse"), 8);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->min, 0.0f);
  EXPECT_NEAR(r->max, 510.0 / 511.0, 1.0 / 2048);
}

TEST(ChooseRange, MseOfUniformIsNearlyWhole) {
  // Uniform on [-1, 1]: on a symmetric grid without a zero point the optimum would be 255/256 of
  // the range; TFLite's int8 grid must hold 0 exactly, which already leaves one side a step short,
  // so clipping gains less still: the range stays within 1% of the whole.
  Histogram h = AnalyticHistogram(-1, 1, 2048, 1e8, [](double x) { return (x + 1) / 2; });
  auto r = ChooseRange(h, -1.0f, 1.0f, Spec("mse"), 8);
  ASSERT_TRUE(r.ok());
  EXPECT_GE(r->max, 0.99f);
  EXPECT_LE(r->min, -0.99f);
  // int16 (symmetric, zero point 0, 32767 steps a side): the optimum t = 65535/65536 is below
  // the histogram's resolution.
  auto r16 = ChooseRange(h, -1.0f, 1.0f, Spec("mse"), 16);
  ASSERT_TRUE(r16.ok());
  EXPECT_GE(r16->max, 1.0f - 1.0f / 1024);
  EXPECT_LE(r16->min, -1.0f + 1.0f / 1024);
}

TEST(ChooseRange, MseOfGaussianClipsTheTails) {
  // N(0, 1) on an 8-bit grid: the MSE-optimal clip is known to lie near 4 sigma (Banner et al.,
  // ACIQ); with 16 bits it lies much further out.
  Histogram h = AnalyticHistogram(-8, 8, 2048, 1e9, NormalCdf);
  auto r = ChooseRange(h, -8.0f, 8.0f, Spec("mse"), 8);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->max, 3.3f);
  EXPECT_LT(r->max, 4.7f);
  EXPECT_NEAR(r->min, -r->max, 0.1);
  auto r16 = ChooseRange(h, -8.0f, 8.0f, Spec("mse"), 16);
  EXPECT_GT(r16->max, r->max + 0.5f);
}

// N(0, 1) values plus one outlier at 50: every clipping method must drop the outlier.
TEST(ChooseRange, OutlierIsClippedByEveryMethodButMinMax) {
  const double n = 4e6;
  Histogram abs_h = AnalyticHistogram(0, 50, 2048, n, HalfNormalCdf);
  abs_h.counts.back() += 1;
  Histogram signed_h = AnalyticHistogram(-5.5, 50, 2048, n, NormalCdf);
  signed_h.counts.back() += 1;
  const float lo = -5.5f, hi = 50.0f;
  EXPECT_EQ(ChooseRange(abs_h, lo, hi, Spec("minmax"), 8)->max, 50.0f);
  auto pct = ChooseRange(abs_h, lo, hi, Spec("percentile:99.99"), 8);
  EXPECT_NEAR(pct->max, 3.8906, 50.0 / 2048);
  auto ent = ChooseRange(abs_h, lo, hi, Spec("entropy"), 8);
  EXPECT_LT(ent->max, 12.0f);
  EXPECT_GT(ent->max, 2.5f);
  auto mse = ChooseRange(signed_h, lo, hi, Spec("mse"), 8);
  EXPECT_LT(mse->max, 8.0f);
  EXPECT_GT(mse->max, 2.5f);
  EXPECT_LT(mse->min, -2.5f);
  for (const auto* r : {&pct, &ent, &mse}) {
    ASSERT_TRUE(r->ok());
    EXPECT_GE((*r)->min, lo);  // never wider than observed
    EXPECT_LE((*r)->max, hi);
  }
}

TEST(ChooseRange, ConstantOrEmptyHistogramKeepsTheObservedRange) {
  Histogram constant;
  constant.lo = constant.hi = 2.0;
  for (const char* m : {"percentile:99", "entropy", "mse"}) {
    auto r = ChooseRange(constant, 2.0f, 2.0f, Spec(m), 8);
    ASSERT_TRUE(r.ok()) << m;
    EXPECT_EQ(r->min, 2.0f);
    EXPECT_EQ(r->max, 2.0f);
  }
  Histogram empty;
  empty.lo = 0;
  empty.hi = 1;
  empty.counts.assign(16, 0);
  EXPECT_EQ(ChooseRange(empty, -1.0f, 1.0f, Spec("entropy"), 8)->max, 1.0f);
}

TEST(ChooseRange, BadArgumentsAreErrors) {
  Histogram h = AnalyticHistogram(0, 1, 16, 100, [](double x) { return x; });
  auto bits = ChooseRange(h, 0, 1, Spec("mse"), 4);
  ASSERT_FALSE(bits.ok());
  EXPECT_TRUE(Contains(bits.status().message(), "target_bits 4")) << bits.status().message();
  auto inf = ChooseRange(h, 0, std::numeric_limits<float>::infinity(), Spec("mse"), 8);
  ASSERT_FALSE(inf.ok());
  EXPECT_TRUE(Contains(inf.status().message(), "not a finite interval")) << inf.status().message();
}

// The KL search written out literally (every candidate's P and Q materialised, smoothed and
// compared bin by bin), as ONNX Runtime's get_entropy_threshold describes it, on the |x| histogram.
double LiteralEntropyThreshold(const Histogram& h, int levels) {
  const size_t n = h.counts.size();
  auto smooth = [](std::vector<double>& d) {
    size_t zeros = 0;
    for (double v : d) zeros += v == 0;
    if (zeros == d.size()) return false;
    const double eps1 = 1e-4 * static_cast<double>(zeros) / static_cast<double>(d.size() - zeros);
    for (double& v : d) v = v == 0 ? 1e-4 : v - eps1;
    for (double v : d) {
      if (v <= 0) return false;
    }
    return true;
  };
  double best = std::numeric_limits<double>::infinity();
  size_t best_i = n;
  for (size_t i = static_cast<size_t>(levels); i <= n; ++i) {
    std::vector<double> p(i), q(i, 0.0);
    for (size_t k = 0; k < i; ++k) p[k] = static_cast<double>(h.counts[k]);
    for (size_t k = i; k < n; ++k) p[i - 1] += static_cast<double>(h.counts[k]);
    const size_t merge = i / static_cast<size_t>(levels);
    for (size_t j = 0; j < static_cast<size_t>(levels); ++j) {
      const size_t start = j * merge, end = j + 1 == static_cast<size_t>(levels) ? i : start + merge;
      double mass = 0, nz = 0;
      for (size_t k = start; k < end; ++k) {
        mass += static_cast<double>(h.counts[k]);
        nz += p[k] != 0;
      }
      for (size_t k = start; k < end; ++k) q[k] = p[k] != 0 && nz > 0 ? mass / nz : 0;
    }
    if (!smooth(p) || !smooth(q)) continue;
    double sp = 0, sq = 0, kl = 0;
    for (size_t k = 0; k < i; ++k) {
      sp += p[k];
      sq += q[k];
    }
    for (size_t k = 0; k < i; ++k) kl += p[k] / sp * std::log((p[k] / sp) / (q[k] / sq));
    if (kl < best - 1e-12) {
      best = kl;
      best_i = i;
    }
  }
  return h.lo + (h.hi - h.lo) * static_cast<double>(best_i) / static_cast<double>(n);
}

TEST(ChooseRange, EntropyEqualsTheLiteralAlgorithm) {
  std::mt19937_64 rng(7);
  std::vector<Histogram> cases;
  cases.push_back(AnalyticHistogram(0, 20, 1024, 1e6, HalfNormalCdf));
  cases.push_back(AnalyticHistogram(0, 12, 1024, 5e5, [](double x) { return 1 - std::exp(-x); }));
  Histogram sparse = AnalyticHistogram(0, 20, 1024, 3e3, HalfNormalCdf);  // many empty bins
  sparse.counts[900] += 2;
  cases.push_back(sparse);
  Histogram noisy = AnalyticHistogram(0, 8, 1024, 1e5, HalfNormalCdf);
  for (auto& c : noisy.counts) c += rng() % 3;
  cases.push_back(noisy);
  for (size_t c = 0; c < cases.size(); ++c) {
    const Histogram& h = cases[c];
    const auto hi = static_cast<float>(h.hi);
    auto r = ChooseRange(h, -hi, hi, Spec("entropy"), 8);
    ASSERT_TRUE(r.ok());
    EXPECT_FLOAT_EQ(r->max, static_cast<float>(LiteralEntropyThreshold(h, 128))) << "case " << c;
  }
}

// ---------------------------------------------------------------------------------------------
// Calibrate end to end

// x[1, n] -> ADD(x, 1) -> y -> RELU -> z -> CAST(int32) -> w
struct SmallGraph {
  ir::Graph g;
  int x = -1, c = -1, y = -1, z = -1, w = -1;
  explicit SmallGraph(int64_t n) {
    auto add = [&](const std::string& name, DType dt, ir::Shape shape) {
      ir::Tensor t;
      t.name = name;
      t.dtype = dt;
      t.shape = std::move(shape);
      g.tensors.push_back(std::move(t));
      return static_cast<int>(g.tensors.size()) - 1;
    };
    g.source_path = "small";
    x = add("x", DType::kFloat32, {1, n});
    c = add("one", DType::kFloat32, {1});
    g.tensors[c].is_constant = true;
    const float one = 1.0f;
    g.tensors[c].data.resize(4);
    std::memcpy(g.tensors[c].data.data(), &one, 4);
    y = add("y", DType::kFloat32, {1, n});
    z = add("z", DType::kFloat32, {1, n});
    w = add("w", DType::kInt32, {1, n});
    ir::Op a;
    a.type = ir::OpType::kADD;
    a.inputs = {x, c};
    a.outputs = {y};
    a.attrs = ir::BinaryAttrs{};
    ir::Op r;
    r.type = ir::OpType::kRELU;
    r.inputs = {y};
    r.outputs = {z};
    r.attrs = ir::ActivationAttrs{};
    ir::Op cast;
    cast.type = ir::OpType::kCAST;
    cast.inputs = {z};
    cast.outputs = {w};
    g.ops = {a, r, cast};
    g.inputs = {x};
    g.outputs = {w};
  }
};

// Samples held in memory: one float32 array of shape [1, n] each.
class VectorSource : public io::SampleSource {
 public:
  explicit VectorSource(std::vector<std::vector<float>> samples) : samples_(std::move(samples)) {}
  int64_t num_samples() const override { return static_cast<int64_t>(samples_.size()); }
  Result<std::vector<io::Array>> Get(int64_t i) override {
    ++gets;
    const auto& s = samples_[static_cast<size_t>(i)];
    return std::vector<io::Array>{io::Array::From<float>({1, static_cast<int64_t>(s.size())}, s)};
  }
  std::string description() const override { return "vectors"; }
  int gets = 0;

 private:
  std::vector<std::vector<float>> samples_;
};

std::vector<std::vector<float>> GaussianSamples(int samples, int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<std::vector<float>> out(static_cast<size_t>(samples));
  for (auto& s : out) {
    s.resize(static_cast<size_t>(n));
    for (float& v : s) v = normal(rng);
  }
  return out;
}

TEST(Calibrate, MinMaxIsTheGlobalRangeOfEveryFloatTensor) {
  auto data = GaussianSamples(5, 64, 1);
  float mn = data[0][0], mx = data[0][0];
  for (const auto& s : data) {
    for (float v : s) {
      mn = std::min(mn, v);
      mx = std::max(mx, v);
    }
  }
  SmallGraph sg(64);
  VectorSource src(data);
  std::vector<std::pair<int64_t, int64_t>> progress;
  CalibrationOptions opts;
  opts.progress = [&](int64_t done, int64_t total) { progress.emplace_back(done, total); };
  auto r = Calibrate(sg.g, src, opts);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->num_samples, 5);
  ASSERT_EQ(r->ranges.size(), sg.g.tensors.size());
  EXPECT_TRUE(r->ranges[sg.x].observed);
  EXPECT_EQ(r->ranges[sg.x].min, mn);
  EXPECT_EQ(r->ranges[sg.x].max, mx);
  EXPECT_EQ(r->ranges[sg.y].min, mn + 1.0f);
  EXPECT_EQ(r->ranges[sg.y].max, mx + 1.0f);
  EXPECT_EQ(r->ranges[sg.z].min, std::max(0.0f, mn + 1.0f));
  EXPECT_EQ(r->ranges[sg.z].max, mx + 1.0f);
  EXPECT_FALSE(r->ranges[sg.c].observed);  // a constant, not an op output
  EXPECT_FALSE(r->ranges[sg.w].observed);  // an integer tensor
  ASSERT_EQ(progress.size(), 5u);  // one pass for minmax
  EXPECT_EQ(progress.back(), (std::pair<int64_t, int64_t>{5, 5}));
  EXPECT_TRUE(r->warnings.empty());
}

// 2,000,000 values of N(0, 1) in 20 samples, with one value of 60 in sample 7.
std::vector<std::vector<float>> GaussianWithOutlier() {
  auto data = GaussianSamples(20, 100000, 2);
  data[7][1234] = 60.0f;
  return data;
}

TEST(Calibrate, ClippingMethodsDropTheOutlierMinMaxKeepsIt) {
  SmallGraph sg(100000);
  VectorSource src(GaussianWithOutlier());
  for (const char* m : {"minmax", "percentile:99.99", "entropy", "mse"}) {
    CalibrationOptions opts;
    opts.spec = Spec(m);
    int64_t last_total = 0;
    opts.progress = [&](int64_t, int64_t total) { last_total = total; };
    auto r = Calibrate(sg.g, src, opts);
    ASSERT_TRUE(r.ok()) << m << ": " << r.status().message();
    const TensorRange& x = r->ranges[sg.x];
    const TensorRange& z = r->ranges[sg.z];
    ASSERT_TRUE(x.observed && z.observed) << m;
    if (std::string(m) == "minmax") {
      EXPECT_EQ(x.max, 60.0f);
      EXPECT_EQ(z.max, 61.0f);
      EXPECT_EQ(last_total, 20);
    } else if (std::string(m) == "mse") {
      // MSE weighs the outlier's squared clipping error (60 - t)^2 against the rounding error of
      // N = 2e6 values, N (t + 5)^2 / (255^2 * 12): the sum is smallest near t = 13, where the
      // outlier is clipped but not to the Gaussian's own extent.
      EXPECT_GT(x.max, 10.0f);
      EXPECT_LT(x.max, 17.0f);
      EXPECT_LT(x.min, -3.0f);
      // z = relu(x + 1): the ~1.68e6 positive values on the grid [0, t] against (61 - t)^2 gives
      // 1.68e6 t / 390150 = 2 (61 - t), t near 19.
      EXPECT_GT(z.max, 16.0f);
      EXPECT_LT(z.max, 22.0f);
      EXPECT_EQ(z.min, 0.0f);
      EXPECT_EQ(last_total, 40);
    } else {
      EXPECT_LT(x.max, 12.0f) << m;
      EXPECT_GT(x.max, 3.0f) << m;
      EXPECT_LT(x.min, -3.0f) << m;
      // The ReLU output clips the outlier at 61 too; entropy gives non-negative tensors the whole
      // 256-level grid (TensorRT's unsigned case) and keeps a little more than percentile.
      EXPECT_LT(z.max, std::string(m) == "entropy" ? 20.0f : 13.0f) << m;
      EXPECT_EQ(z.min, 0.0f) << m;  // ReLU output: never below what was observed
      EXPECT_EQ(last_total, 40) << m;  // two passes
    }
  }
}

TEST(Calibrate, SameInputsGiveTheSameRangesBitForBit) {
  SmallGraph sg(100000);
  VectorSource src(GaussianWithOutlier());
  for (const char* m : {"minmax", "percentile:99.9", "entropy", "mse"}) {
    CalibrationOptions opts;
    opts.spec = Spec(m);
    auto a = Calibrate(sg.g, src, opts);
    auto b = Calibrate(sg.g, src, opts);
    ASSERT_TRUE(a.ok() && b.ok()) << m;
    for (size_t t = 0; t < a->ranges.size(); ++t) {
      // Bit patterns, not float ==: -0 vs 0 or a NaN would count as different.
      EXPECT_EQ(std::memcmp(&a->ranges[t].min, &b->ranges[t].min, sizeof(float)), 0) << m << " tensor " << t;
      EXPECT_EQ(std::memcmp(&a->ranges[t].max, &b->ranges[t].max, sizeof(float)), 0) << m << " tensor " << t;
      EXPECT_EQ(a->ranges[t].observed, b->ranges[t].observed);
    }
  }
}

TEST(Calibrate, NonFiniteValuesAreLeftOutAndReported) {
  auto data = GaussianSamples(3, 16, 3);
  data[1][5] = std::numeric_limits<float>::quiet_NaN();
  data[2][0] = std::numeric_limits<float>::infinity();
  SmallGraph sg(16);
  VectorSource src(data);
  for (const char* m : {"minmax", "entropy", "mse"}) {
    CalibrationOptions opts;
    opts.spec = Spec(m);
    auto r = Calibrate(sg.g, src, opts);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_TRUE(std::isfinite(r->ranges[sg.x].max)) << m;
    EXPECT_LT(r->ranges[sg.x].max, 10.0f) << m;
    ASSERT_GE(r->warnings.size(), 1u) << m;
    EXPECT_TRUE(Contains(r->warnings[0], "input 'x': 2 NaN/Inf value(s) over 3 sample(s)")) << r->warnings[0];
    // ADD propagates both to y; RELU turns NaN into... whatever it does, the range stays finite.
    EXPECT_TRUE(std::isfinite(r->ranges[sg.y].max)) << m;
  }
}

TEST(Calibrate, BadOptionsAreErrors) {
  SmallGraph sg(4);
  VectorSource src(GaussianSamples(1, 4, 4));
  CalibrationOptions bins;
  bins.num_bins = 3;
  auto r1 = Calibrate(sg.g, src, bins);
  ASSERT_FALSE(r1.ok());
  EXPECT_TRUE(Contains(r1.status().message(), "num_bins 3")) << r1.status().message();
  CalibrationOptions bits;
  bits.target_bits = 12;
  auto r2 = Calibrate(sg.g, src, bits);
  ASSERT_FALSE(r2.ok());
  EXPECT_TRUE(Contains(r2.status().message(), "target_bits 12")) << r2.status().message();
  CalibrationOptions pct;
  pct.spec.method = CalibrationMethod::kPercentile;
  pct.spec.percentile = 0;
  auto r3 = Calibrate(sg.g, src, pct);
  ASSERT_FALSE(r3.ok());
  EXPECT_TRUE(Contains(r3.status().message(), "percentile 0")) << r3.status().message();
  EXPECT_EQ(src.gets, 0);  // refused before reading any sample
}

TEST(Calibrate, SampleOfTheWrongShapeIsAnError) {
  SmallGraph sg(8);
  VectorSource src(GaussianSamples(2, 6, 5));
  auto r = Calibrate(sg.g, src, CalibrationOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "sample 0")) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "[1,6]")) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "[1,8]")) << r.status().message();
}

}  // namespace
}  // namespace ql::passes
