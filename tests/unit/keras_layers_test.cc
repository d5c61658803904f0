// Keras convolution, Dense, normalization and activation layers lowered and run by quantlens,
// against naive reference implementations written here from Keras's/TF's definitions.
#include <cmath>

#include "unit/keras_test_model.h"

namespace ql::testing {
namespace {

// TF's SAME padding: total = max((out - 1) * stride + effective_k - in, 0), the smaller half first.
int PadBefore(int in, int k, int stride, int dil, bool same, int* out) {
  const int eff = (k - 1) * dil + 1;
  if (!same) {
    *out = (in - eff) / stride + 1;
    return 0;
  }
  *out = (in + stride - 1) / stride;
  return std::max((*out - 1) * stride + eff - in, 0) / 2;
}

// Naive NHWC convolution with a Keras HWIO kernel; depthwise when `mult` > 0.
std::vector<double> NaiveConv(const std::vector<float>& x, int h, int w, int cin, const FloatArray& k,
                              const std::vector<float>& bias, int sh, int sw, int dh, int dw, bool same,
                              int mult, int* oh_out, int* ow_out) {
  const int kh = static_cast<int>(k.shape[0]), kw = static_cast<int>(k.shape[1]);
  const int cout = mult > 0 ? cin * mult : static_cast<int>(k.shape[3]);
  int oh, ow;
  const int pt = PadBefore(h, kh, sh, dh, same, &oh);
  const int pl = PadBefore(w, kw, sw, dw, same, &ow);
  std::vector<double> y(static_cast<size_t>(oh * ow * cout));
  for (int oy = 0; oy < oh; ++oy)
    for (int ox = 0; ox < ow; ++ox)
      for (int oc = 0; oc < cout; ++oc) {
        double acc = bias.empty() ? 0.0 : bias[oc];
        for (int ky = 0; ky < kh; ++ky)
          for (int kx = 0; kx < kw; ++kx) {
            const int iy = oy * sh - pt + ky * dh, ix = ox * sw - pl + kx * dw;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            if (mult > 0) {
              const int ic = oc / mult, m = oc % mult;
              acc += double(x[(iy * w + ix) * cin + ic]) * k.data[((ky * kw + kx) * cin + ic) * mult + m];
            } else {
              for (int ic = 0; ic < cin; ++ic)
                acc += double(x[(iy * w + ix) * cin + ic]) * k.data[((ky * kw + kx) * cin + ic) * cout + oc];
            }
          }
        y[(oy * ow + ox) * cout + oc] = acc;
      }
  *oh_out = oh;
  *ow_out = ow;
  return y;
}

json ConvConfig(const std::string& name, int filters, std::vector<int> k, std::vector<int> s, std::vector<int> d,
                const std::string& pad, bool bias = true, const std::string& act = "linear") {
  return {{"name", name}, {"filters", filters}, {"kernel_size", k}, {"strides", s}, {"dilation_rate", d},
          {"padding", pad}, {"data_format", "channels_last"}, {"groups", 1}, {"activation", act},
          {"use_bias", bias}};
}

TEST(KerasLayers, Conv2DSameEvenKernelStrided) {
  // An even kernel with stride 2 on odd sizes: SAME padding is asymmetric (more at the end).
  const int h = 7, w = 8, cin = 3, f = 4;
  FloatArray k = Arr({2, 4, cin, f}, 1), b = Arr({f}, 2);
  auto x = Random(h * w * cin, 3);
  ir::Shape shape;
  auto got = RunSequential("conv_same.keras", {h, w, cin},
                           {{L("Conv2D", ConvConfig("c", f, {2, 4}, {2, 2}, {1, 1}, "same")), {k, b}}}, x, &shape);
  int oh, ow;
  auto want = NaiveConv(x, h, w, cin, k, b.data, 2, 2, 1, 1, true, 0, &oh, &ow);
  EXPECT_EQ(shape, (ir::Shape{1, oh, ow, f}));
  ExpectNear(got, want);
}

TEST(KerasLayers, Conv2DDilatedValidNoBiasRelu) {
  const int h = 9, w = 9, cin = 2, f = 3;
  FloatArray k = Arr({3, 3, cin, f}, 4);
  auto x = Random(h * w * cin, 5);
  auto got = RunSequential("conv_dil.keras", {h, w, cin},
                           {{L("Conv2D", ConvConfig("c", f, {3, 3}, {1, 1}, {2, 2}, "valid", false, "relu")), {k}}}, x);
  int oh, ow;
  auto want = NaiveConv(x, h, w, cin, k, {}, 1, 1, 2, 2, false, 0, &oh, &ow);
  for (double& v : want) v = std::max(v, 0.0);
  ExpectNear(got, want);
}

TEST(KerasLayers, DepthwiseConv2DMultiplierSame) {
  const int h = 6, w = 5, cin = 3, mult = 2;
  FloatArray k = Arr({3, 3, cin, mult}, 6), b = Arr({cin * mult}, 7);
  auto x = Random(h * w * cin, 8);
  json cfg = ConvConfig("dw", 0, {3, 3}, {2, 2}, {1, 1}, "same");
  cfg.erase("filters");
  cfg["depth_multiplier"] = mult;
  auto got = RunSequential("dw.keras", {h, w, cin}, {{L("DepthwiseConv2D", cfg), {k, b}}}, x);
  int oh, ow;
  ExpectNear(got, NaiveConv(x, h, w, cin, k, b.data, 2, 2, 1, 1, true, mult, &oh, &ow));
}

TEST(KerasLayers, SeparableConv2D) {
  const int h = 6, w = 6, cin = 2, f = 3;
  FloatArray dk = Arr({3, 3, cin, 1}, 9), pk = Arr({1, 1, cin, f}, 10), b = Arr({f}, 11);
  auto x = Random(h * w * cin, 12);
  json cfg = ConvConfig("sep", f, {3, 3}, {1, 1}, {1, 1}, "same");
  cfg["depth_multiplier"] = 1;
  auto got = RunSequential("sep.keras", {h, w, cin}, {{L("SeparableConv2D", cfg), {dk, pk, b}}}, x);
  int oh, ow;
  auto d = NaiveConv(x, h, w, cin, dk, {}, 1, 1, 1, 1, true, 1, &oh, &ow);
  std::vector<float> df(d.begin(), d.end());
  ExpectNear(got, NaiveConv(df, oh, ow, cin, pk, b.data, 1, 1, 1, 1, false, 0, &oh, &ow));
}

TEST(KerasLayers, Conv1DCausalAndSame) {
  const int len = 9, cin = 2, f = 3;
  FloatArray k = Arr({3, cin, f}, 13), b = Arr({f}, 14);
  auto x = Random(len * cin, 15);
  FloatArray k4 = k;
  k4.shape = {1, 3, cin, f};
  for (const char* pad : {"causal", "same"}) {
    SCOPED_TRACE(pad);
    json cfg = ConvConfig("c1", f, {3}, {1}, {2}, pad);
    ir::Shape shape;
    auto got = RunSequential("conv1d.keras", {len, cin}, {{L("Conv1D", cfg), {k, b}}}, x, &shape);
    EXPECT_EQ(shape, (ir::Shape{1, len, f}));
    int oh, ow;
    std::vector<double> want;
    if (std::string(pad) == "causal") {
      // Causal: left zero padding of (k - 1) * dilation, then VALID.
      std::vector<float> padded(4 * cin, 0.0f);
      padded.insert(padded.end(), x.begin(), x.end());
      want = NaiveConv(padded, 1, len + 4, cin, k4, b.data, 1, 1, 1, 2, false, 0, &oh, &ow);
    } else {
      want = NaiveConv(x, 1, len, cin, k4, b.data, 1, 1, 1, 2, true, 0, &oh, &ow);
    }
    ExpectNear(got, want);
  }
}

TEST(KerasLayers, Conv2DTransposeSameStride2) {
  const int h = 3, w = 4, cin = 2, f = 3, kh = 3, kw = 3, s = 2;
  FloatArray k = Arr({kh, kw, f, cin}, 16), b = Arr({f}, 17);
  auto x = Random(h * w * cin, 18);
  ir::Shape shape;
  auto got = RunSequential("tconv.keras", {h, w, cin},
                           {{L("Conv2DTranspose", ConvConfig("t", f, {kh, kw}, {s, s}, {1, 1}, "same")), {k, b}}},
                           x, &shape);
  // Scatter each input pixel through the kernel onto the (un-padded) full output, then crop the
  // SAME padding: total (in - 1) * s + k - out, the smaller half at the start.
  const int oh = h * s, ow = w * s;
  const int full_h = (h - 1) * s + kh, full_w = (w - 1) * s + kw;
  const int pt = (full_h - oh) / 2, pl = (full_w - ow) / 2;
  std::vector<double> full(full_h * full_w * f, 0.0);
  for (int iy = 0; iy < h; ++iy)
    for (int ix = 0; ix < w; ++ix)
      for (int ky = 0; ky < kh; ++ky)
        for (int kx = 0; kx < kw; ++kx)
          for (int oc = 0; oc < f; ++oc)
            for (int ic = 0; ic < cin; ++ic)
              full[((iy * s + ky) * full_w + ix * s + kx) * f + oc] +=
                  double(x[(iy * w + ix) * cin + ic]) * k.data[((ky * kw + kx) * f + oc) * cin + ic];
  std::vector<double> want;
  for (int y = 0; y < oh; ++y)
    for (int xx = 0; xx < ow; ++xx)
      for (int oc = 0; oc < f; ++oc) want.push_back(full[((y + pt) * full_w + xx + pl) * f + oc] + b.data[oc]);
  EXPECT_EQ(shape, (ir::Shape{1, oh, ow, f}));
  ExpectNear(got, want);
}

TEST(KerasLayers, DenseRank2AndRank3) {
  FloatArray k = Arr({4, 3}, 19), b = Arr({3}, 20);
  json cfg = {{"name", "d"}, {"units", 3}, {"activation", "linear"}, {"use_bias", true}};
  for (int rank : {2, 3}) {
    const int rows = rank == 2 ? 1 : 2;
    auto x = Random(rows * 4, 21);
    std::vector<int64_t> in_shape = rank == 2 ? std::vector<int64_t>{4} : std::vector<int64_t>{2, 4};
    ir::Shape shape;
    auto got = RunSequential("dense.keras", in_shape, {{L("Dense", cfg), {k, b}}}, x, &shape);
    std::vector<double> want;
    for (int r = 0; r < rows; ++r)
      for (int o = 0; o < 3; ++o) {
        double acc = b.data[o];
        for (int i = 0; i < 4; ++i) acc += double(x[r * 4 + i]) * k.data[i * 3 + o];
        want.push_back(acc);
      }
    EXPECT_EQ(shape.back(), 3);
    EXPECT_EQ(static_cast<int>(shape.size()), rank);
    ExpectNear(got, want);
  }
}

TEST(KerasLayers, BatchNormalizationInference) {
  const int c = 3;
  FloatArray g{{c}, {0.5f, 2.0f, -1.0f}}, be{{c}, {0.1f, -0.2f, 0.3f}}, m{{c}, {1.0f, -1.0f, 0.5f}},
      v{{c}, {0.25f, 4.0f, 0.01f}};
  auto x = Random(2 * 2 * c, 22, -3, 3);
  json cfg = {{"name", "bn"}, {"axis", -1}, {"epsilon", 0.01}, {"center", true}, {"scale", true}};
  auto got = RunSequential("bn.keras", {2, 2, c}, {{L("BatchNormalization", cfg), {g, be, m, v}}}, x);
  std::vector<double> want;
  for (size_t i = 0; i < x.size(); ++i) {
    const int ch = i % c;
    want.push_back(g.data[ch] * (x[i] - m.data[ch]) / std::sqrt(double(v.data[ch]) + 0.01) + be.data[ch]);
  }
  ExpectNear(got, want);
  // Without scale and center the file holds only the moving statistics.
  json cfg2 = {{"name", "bn"}, {"axis", 3}, {"epsilon", 0.001}, {"center", false}, {"scale", false}};
  auto got2 = RunSequential("bn2.keras", {2, 2, c}, {{L("BatchNormalization", cfg2), {m, v}}}, x);
  want.clear();
  for (size_t i = 0; i < x.size(); ++i)
    want.push_back((x[i] - m.data[i % c]) / std::sqrt(double(v.data[i % c]) + 0.001));
  ExpectNear(got2, want);
}

TEST(KerasLayers, LayerNormalization) {
  const int rows = 3, c = 5;
  FloatArray g = Arr({c}, 23), b = Arr({c}, 24);
  auto x = Random(rows * c, 25, -4, 4);
  json cfg = {{"name", "ln"}, {"axis", -1}, {"epsilon", 0.001}, {"center", true}, {"scale", true}};
  auto got = RunSequential("ln.keras", {rows, c}, {{L("LayerNormalization", cfg), {g, b}}}, x);
  std::vector<double> want;
  for (int r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int i = 0; i < c; ++i) mean += x[r * c + i] / double(c);
    for (int i = 0; i < c; ++i) var += (x[r * c + i] - mean) * (x[r * c + i] - mean) / c;
    for (int i = 0; i < c; ++i) want.push_back((x[r * c + i] - mean) / std::sqrt(var + 0.001) * g.data[i] + b.data[i]);
  }
  ExpectNear(got, want);
}

TEST(KerasLayers, RescalingAndNormalization) {
  auto x = Random(2 * 3, 26, 0, 255);
  auto got = RunSequential("resc.keras", {2, 3}, {{L("Rescaling", {{"name", "r"}, {"scale", 1.0 / 127.5}, {"offset", -1.0}}), {}}}, x);
  std::vector<double> want;
  for (float v : x) want.push_back(v * (1.0 / 127.5) - 1.0);
  ExpectNear(got, want);
  json ncfg = {{"name", "n"}, {"axis", -1}, {"mean", {1.0, 2.0, 3.0}}, {"variance", {4.0, 0.0, 0.25}}};
  auto got2 = RunSequential("norm.keras", {2, 3}, {{L("Normalization", ncfg), {}}}, x);
  const double mean[] = {1, 2, 3}, sd[] = {2, 1e-7, 0.5};  // sqrt(variance), at least 1e-7
  want.clear();
  for (size_t i = 0; i < x.size(); ++i) want.push_back((x[i] - mean[i % 3]) / sd[i % 3]);
  ExpectNear(got2, want, 1e-5f);
}

// Every built-in activation at points where approximations differ (saturation knees, 0, tails).
TEST(KerasLayers, EveryActivation) {
  const std::vector<float> pts = {-20.f, -5.f, -3.f, -2.5f, -1.f, -0.5f, -1e-3f, 0.f, 1e-3f, 0.5f, 1.f, 2.f, 2.5f, 3.f, 5.f, 20.f};
  auto sig = [](double x) { return 1 / (1 + std::exp(-x)); };
  struct Case {
    const char* name;
    std::function<double(double)> f;
    const char* version;
  };
  const double kSeluA = 1.6732632423543772, kSeluS = 1.0507009873554805;
  const std::vector<Case> cases = {
      {"linear", [](double x) { return x; }, "3.8.0"},
      {"relu", [](double x) { return std::max(x, 0.0); }, "3.8.0"},
      {"relu6", [](double x) { return std::min(std::max(x, 0.0), 6.0); }, "3.8.0"},
      {"sigmoid", sig, "3.8.0"},
      {"tanh", [](double x) { return std::tanh(x); }, "3.8.0"},
      {"swish", [&](double x) { return x * sig(x); }, "3.8.0"},
      {"silu", [&](double x) { return x * sig(x); }, "3.8.0"},
      {"hard_swish", [](double x) { return x * std::min(std::max(x + 3, 0.0), 6.0) / 6; }, "3.8.0"},
      {"gelu", [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }, "3.8.0"},
      {"elu", [](double x) { return x > 0 ? x : std::expm1(x); }, "3.8.0"},
      {"selu", [&](double x) { return x > 0 ? kSeluS * x : kSeluS * kSeluA * std::expm1(x); }, "3.8.0"},
      {"softplus", [](double x) { return std::log1p(std::exp(x)); }, "3.8.0"},
      {"softsign", [](double x) { return x / (1 + std::fabs(x)); }, "3.8.0"},
      {"exponential", [](double x) { return std::exp(x); }, "3.8.0"},
      // Keras 2: clip(0.2 x + 0.5, 0, 1) (0 below -2.5); Keras 3: relu6(x + 3) / 6 (0 below -3).
      {"hard_sigmoid", [](double x) { return std::min(std::max(0.2 * x + 0.5, 0.0), 1.0); }, "2.8.0"},
      {"hard_sigmoid", [](double x) { return std::min(std::max(x + 3, 0.0), 6.0) / 6; }, "3.8.0"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.name) + " keras " + c.version);
    auto got = RunSequential("act.keras", {static_cast<int64_t>(pts.size())},
                             {{L("Activation", {{"name", "a"}, {"activation", c.name}}), {}}}, pts, nullptr, c.version);
    std::vector<double> want;
    for (float p : pts) want.push_back(c.f(p));
    ExpectNear(got, want, 2e-6f);
  }
  // softmax over the last axis.
  auto got = RunSequential("softmax.keras", {2, 3}, {{L("Activation", {{"name", "a"}, {"activation", "softmax"}}), {}}},
                           {1, 2, 3, -1, 0, 10});
  std::vector<double> want;
  const double a[2][3] = {{1, 2, 3}, {-1, 0, 10}};
  for (auto& row : a) {
    double s = 0;
    for (double v : row) s += std::exp(v);
    for (double v : row) want.push_back(std::exp(v) / s);
  }
  ExpectNear(got, want, 1e-6f);
}

TEST(KerasLayers, ActivationLayers) {
  const std::vector<float> pts = {-4.f, -1.f, -0.25f, 0.f, 0.5f, 2.f, 7.f};
  auto run = [&](const std::string& cls, json cfg, std::vector<FloatArray> w = {}) {
    cfg["name"] = "l";
    return RunSequential("actl.keras", {static_cast<int64_t>(pts.size())}, {{L(cls, cfg), w}}, pts);
  };
  auto map = [&](std::function<double(double)> f) {
    std::vector<double> v;
    for (float p : pts) v.push_back(f(p));
    return v;
  };
  ExpectNear(run("ReLU", {{"max_value", 3.0}, {"negative_slope", 0.0}, {"threshold", 0.0}}),
             map([](double x) { return std::min(std::max(x, 0.0), 3.0); }));
  ExpectNear(run("ReLU", {{"max_value", 6.0}, {"negative_slope", 0.1}, {"threshold", 0.0}}),
             map([](double x) { return x >= 0 ? std::min(x, 6.0) : 0.1 * x; }));
  // Threshold 0.5, slope 0.1, max 3, points {-4,-1,-0.25,0,0.5,2,7}: at or below the threshold
  // the value is 0.1*(x-0.5) (0.5 itself is not above the threshold, so it gives 0); above it x
  // clipped to 3.
  ExpectNear(run("ReLU", {{"max_value", 3.0}, {"negative_slope", 0.1}, {"threshold", 0.5}}),
             {-0.45, -0.15, -0.075, -0.05, 0.0, 2.0, 3.0});
  // Negative threshold without max_value: Keras does not clip at 0, so -0.25 (> -0.5) passes
  // through negative, and values at or below -0.5 give 0.
  ExpectNear(run("ReLU", {{"max_value", nullptr}, {"negative_slope", 0.0}, {"threshold", -0.5}}),
             {0.0, 0.0, -0.25, 0.0, 0.5, 2.0, 7.0});
  // Keras 2 LeakyReLU calls the slope alpha; with no value the layer's default is 0.3.
  ExpectNear(run("LeakyReLU", json::object()), map([](double x) { return x > 0 ? x : 0.3 * x; }));
  ExpectNear(run("LeakyReLU", {{"alpha", 0.1}}), map([](double x) { return x > 0 ? x : 0.1 * x; }));
  ExpectNear(run("LeakyReLU", {{"negative_slope", 0.2}}), map([](double x) { return x > 0 ? x : 0.2 * x; }));
  ExpectNear(run("ELU", {{"alpha", 0.5}}), map([](double x) { return x > 0 ? x : 0.5 * std::expm1(x); }));
  FloatArray alpha{{static_cast<int64_t>(pts.size())}, Random(pts.size(), 27)};
  auto prelu = run("PReLU", {{"shared_axes", nullptr}}, {alpha});
  std::vector<double> want;
  for (size_t i = 0; i < pts.size(); ++i) want.push_back(pts[i] > 0 ? pts[i] : alpha.data[i] * pts[i]);
  ExpectNear(prelu, want);
}

TEST(KerasLayers, PReLUSharedAxesAndSoftmaxAxis) {
  auto x = Random(2 * 3 * 4, 28, -2, 2);
  FloatArray alpha{{1, 1, 4}, {0.1f, 0.2f, 0.3f, 0.4f}};
  auto got = RunSequential("prelu.keras", {2, 3, 4}, {{L("PReLU", {{"name", "p"}, {"shared_axes", {1, 2}}}), {alpha}}}, x);
  std::vector<double> want;
  for (size_t i = 0; i < x.size(); ++i) want.push_back(x[i] > 0 ? x[i] : alpha.data[i % 4] * x[i]);
  ExpectNear(got, want);
  // Keras 3 Softmax over axis 1 of [N, 2, 3]: each column sums to 1.
  auto y = Random(6, 29, -2, 2);
  auto sm = RunSequential("smax.keras", {2, 3}, {{L("Softmax", {{"name", "s"}, {"axis", 1}}), {}}}, y);
  want.assign(6, 0.0);
  for (int j = 0; j < 3; ++j) {
    const double s = std::exp(double(y[j])) + std::exp(double(y[3 + j]));
    want[j] = std::exp(double(y[j])) / s;
    want[3 + j] = std::exp(double(y[3 + j])) / s;
  }
  ExpectNear(sm, want, 1e-6f);
}

}  // namespace
}  // namespace ql::testing
