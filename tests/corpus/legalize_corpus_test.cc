// Every Keras model of the corpus legalizes to a graph of TFLite builtins that computes the same
// function: on 5 seeded random inputs its outputs match the original graph's within 1e-4 relative,
// and every Keras layer output both graphs still materialize within 1e-4 of the tensor's largest
// value (run with the quantlens interpreter). Prints per model: ops before/after, what was done, the largest deviation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "quantlens/formats/keras/reader.h"
#include "quantlens/formats/model_loader.h"
#include "quantlens/passes/graph_edit.h"
#include "quantlens/passes/legalize.h"
#include "quantlens/runtime/interpreter.h"
#include "quantlens/runtime/run_util.h"

namespace ql {
namespace {

namespace fs = std::filesystem;
const std::string kCorpus = std::string(QUANTLENS_SHARED_DIR) + "/corpus";

// Float graphs computing the same function in another order (a folded batch norm) differ by
// rounding only.
constexpr double kRelTol = 1e-4;

std::vector<std::string> KerasModels() {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(kCorpus, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(kCorpus, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const std::string ext = it->path().extension().string();
    if (it->is_regular_file() && (ext == ".h5" || ext == ".keras")) out.push_back(it->path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// |a - b| / max(|b|, floor * max|b over the tensor|, 1e-6), the largest over the tensor: relative
// error, with values that cancel to near zero measured against the tensor's own scale. Model
// outputs use floor 1e-3 (elementwise relative for all but near-zero values); intermediate layer
// outputs floor 1 (error relative to the tensor's largest value): a folded layer's pre-activation
// values near zero carry the rounding of sums over hundreds of terms ten layers deep, which only
// the tensor's scale measures fairly.
double Deviation(const io::Array& a, const io::Array& b, double floor_rel = 1e-3) {
  if (a.dtype != ir::DType::kFloat32 || b.dtype != ir::DType::kFloat32 || a.shape != b.shape) return INFINITY;
  const int64_t n = a.num_elements();
  double big = 0;
  for (int64_t i = 0; i < n; ++i) big = std::max(big, std::fabs(static_cast<double>(b.as<float>()[i])));
  const double floor = std::max(floor_rel * big, 1e-6);
  double m = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double x = a.as<float>()[i], y = b.as<float>()[i];
    if (std::isnan(x) != std::isnan(y)) return INFINITY;
    if (std::isnan(x)) continue;
    m = std::max(m, std::fabs(x - y) / std::max(std::fabs(y), floor));
  }
  return m;
}

std::vector<io::Array> RandomInputs(const ir::Graph& g, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(0.0f, 1.0f);  // image-like; every corpus model takes floats
  std::vector<io::Array> in;
  for (int t : g.inputs) {
    ir::Shape s = g.tensors[t].shape;
    for (auto& dim : s) dim = dim < 0 ? 1 : dim;
    std::vector<float> v(static_cast<size_t>(ir::ShapeProduct(s)));
    for (float& x : v) x = d(rng);
    in.push_back(io::Array::From(s, v));
  }
  return in;
}

// Patterns legalization must not leave behind: an internal op, a RELU-family op that could still
// be fused into its producer, a batch norm.
std::string LeftOver(const ir::Graph& g) {
  const passes::UseDef ud = passes::BuildUseDef(g);
  for (const ir::Op& op : g.ops) {
    if (ir::OpTypeTfliteCode(op.type) < 0) return std::string(ir::OpTypeName(op.type));
    if (op.type != ir::OpType::kRELU && op.type != ir::OpType::kRELU6) continue;
    const int p = ud.producer[op.inputs[0]];
    if (p < 0 || passes::NumUses(g, op.inputs[0]) != 1 || passes::IsGraphOutput(g, op.inputs[0])) continue;
    const ir::Op& prod = g.ops[p];
    if (const auto* a = std::get_if<ir::ConvAttrs>(&prod.attrs);
        a && a->activation == ir::Activation::kNone && prod.type != ir::OpType::kTRANSPOSE_CONV)
      return "unfused activation after " + prod.layer;
    if (const auto* a = std::get_if<ir::FullyConnectedAttrs>(&prod.attrs); a && a->activation == ir::Activation::kNone)
      return "unfused activation after " + prod.layer;
  }
  return "";
}

TEST(LegalizeCorpus, EveryKerasModelLegalizesAndComputesTheSameFunction) {
  const std::vector<std::string> models = KerasModels();
  if (models.empty()) GTEST_SKIP() << "no Keras models under " << kCorpus;
  int checked = 0;
  for (const std::string& path : models) {
    SCOPED_TRACE(path);
    auto g = keras::ReadKerasModel(path);
    ASSERT_TRUE(g.ok()) << g.status().message();
    passes::LegalizeReport report;
    auto lg = passes::LegalizeForTflite(*g, {}, &report);
    ASSERT_TRUE(lg.ok()) << lg.status().message();
    EXPECT_TRUE(ir::VerifyGraph(*lg).ok());
    EXPECT_EQ(LeftOver(*lg), "");
    int bns = 0;
    for (const ir::Op& op : g->ops) bns += op.type == ir::OpType::kBATCH_NORM;
    EXPECT_EQ(report.batch_norms_folded + report.batch_norms_lowered, bns);
    std::map<std::string, int> names;
    for (const ir::Tensor& t : lg->tensors) EXPECT_EQ(++names[t.name], 1) << "duplicate name " << t.name;

    auto a = rt::Interpreter::Create(*g);
    auto b = rt::Interpreter::Create(*lg);
    ASSERT_TRUE(a.ok()) << a.status().message();
    ASSERT_TRUE(b.ok()) << b.status().message();
    rt::RunOptions all;
    all.capture_all_tensors = true;
    double out_dev = 0, layer_dev = 0;
    std::string worst_layer;
    size_t layers_compared = 0;
    for (uint32_t seed = 1; seed <= 5; ++seed) {
      const std::vector<io::Array> in = RandomInputs(*g, seed);
      auto ra = rt::RunSamples(**a, in, all);
      auto rb = rt::RunSamples(**b, in, all);
      ASSERT_TRUE(ra.ok()) << ra.status().message();
      ASSERT_TRUE(rb.ok()) << rb.status().message();
      ASSERT_EQ(ra->outputs.size(), rb->outputs.size());
      for (size_t o = 0; o < ra->outputs.size(); ++o)
        out_dev = std::max(out_dev, Deviation(rb->outputs[o].array, ra->outputs[o].array));
      // Layer outputs both graphs materialize ("layer/<name>:<node>").
      std::map<std::string, const io::Array*> orig;
      for (const auto& t : ra->tensors) orig[t.name] = &t.array;
      layers_compared = 0;
      for (const auto& t : rb->tensors) {
        auto it = orig.find(t.name);
        if (it == orig.end()) continue;
        ++layers_compared;
        const double d = Deviation(t.array, *it->second, 1.0);
        if (d > layer_dev) layer_dev = d, worst_layer = t.name;
      }
    }
    EXPECT_LE(out_dev, kRelTol);
    EXPECT_LE(layer_dev, kRelTol) << worst_layer;
    EXPECT_GT(layers_compared, 0u);
    std::printf("%s\n  %s\n  max deviation: outputs %.3g, %zu layer outputs %.3g%s%s\n",
                fs::relative(path, kCorpus).c_str(), report.Summary().c_str(), out_dev, layers_compared,
                layer_dev, worst_layer.empty() ? "" : " at ", worst_layer.c_str());
    for (const std::string& act : report.actions) std::printf("    %s\n", act.c_str());
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(models.size()));
}


// ---- against TensorFlow's own float conversions of the same .h5 files ----

ir::Activation FusedOf(const ir::Op& op) {
  if (const auto* a = std::get_if<ir::ConvAttrs>(&op.attrs)) return a->activation;
  if (const auto* a = std::get_if<ir::FullyConnectedAttrs>(&op.attrs)) return a->activation;
  if (const auto* a = std::get_if<ir::BinaryAttrs>(&op.attrs)) return a->activation;
  if (const auto* a = std::get_if<ir::PoolAttrs>(&op.attrs)) return a->activation;
  return ir::Activation::kNone;
}

std::map<std::string, int> OpHistogram(const ir::Graph& g) {
  std::map<std::string, int> h;
  for (const ir::Op& op : g.ops)
    ++h[fmt::format("{}/{}", ir::OpTypeName(op.type), ir::ActivationName(FusedOf(op)))];
  return h;
}

// Largest difference of two float constants in units of the last place of the larger magnitude.
double MaxUlps(const std::vector<float>& x, const std::vector<float>& y) {
  if (x.size() != y.size() || x.empty()) return INFINITY;
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float big = std::max(std::fabs(x[i]), std::fabs(y[i]));
    const double ulp = big > 0 ? std::nextafter(big, INFINITY) - big : 1e-45;
    m = std::max(m, std::fabs(static_cast<double>(x[i]) - y[i]) / ulp);
  }
  return m;
}

// Largest difference relative to the tensor's largest magnitude: a folded bias b * s + beta -
// mean * s cancels, so its rounding is relative to the terms, not to the (possibly tiny) result.
double MaxScaledDiff(const std::vector<float>& x, const std::vector<float>& y) {
  if (x.size() != y.size() || x.empty()) return INFINITY;
  double big = 0, m = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    big = std::max(big, static_cast<double>(std::fabs(y[i])));
    m = std::max(m, std::fabs(static_cast<double>(x[i]) - y[i]));
  }
  return m / std::max(big, 1e-30);
}

TEST(LegalizeCorpus, MatchesTensorFlowFloatConversions) {
  // Keras file -> TensorFlow's float32 .tflite of it (MANIFEST.tsv: same source).
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"mlperf_tiny/ad01.h5", "mlperf_tiny/ad01_fp32.tflite"},
      {"mlperf_tiny/pretrainedResnet.h5", "mlperf_tiny/pretrainedResnet.tflite"},
      {"mlperf_tiny/vww_96.h5", "mlperf_tiny/vww_96_float.tflite"},
      {"mltk/image_example1/image_example1.h5", "mltk/image_example1/image_example1.float32.tflite"},
      {"mltk/rock_paper_scissors/rock_paper_scissors.h5", "mltk/rock_paper_scissors/rock_paper_scissors.float32.tflite"},
  };
  int compared = 0;
  for (const auto& [h5, tfl] : pairs) {
    if (!fs::exists(kCorpus + "/" + h5) || !fs::exists(kCorpus + "/" + tfl)) continue;
    SCOPED_TRACE(h5);
    auto g = keras::ReadKerasModel(kCorpus + "/" + h5);
    ASSERT_TRUE(g.ok()) << g.status().message();
    auto lg = passes::LegalizeForTflite(*g);
    ASSERT_TRUE(lg.ok()) << lg.status().message();
    auto tf = LoadModel(kCorpus + "/" + tfl);
    ASSERT_TRUE(tf.ok()) << tf.status().message();
    // The same ops with the same fused activations (the order may differ on branches).
    EXPECT_EQ(OpHistogram(*lg), OpHistogram(*tf));
    // Weights and biases of the affine ops, paired in execution order: TensorFlow folds batch
    // norms in float32 steps, quantlens in double rounded once, so they may differ by an ulp or so.
    auto affine = [](const ir::Graph& x) {
      std::vector<const ir::Op*> v;
      for (const ir::Op& op : x.ops)
        if (op.type == ir::OpType::kCONV_2D || op.type == ir::OpType::kDEPTHWISE_CONV_2D ||
            op.type == ir::OpType::kFULLY_CONNECTED)
          v.push_back(&op);
      return v;
    };
    const auto ours = affine(*lg), theirs = affine(*tf);
    ASSERT_EQ(ours.size(), theirs.size());
    // corpus/README.md: TensorFlow's ad01 conversion left the Dense biases out of its folded
    // biases, so only ad01's kernels can be compared.
    const bool compare_bias = h5 != "mlperf_tiny/ad01.h5";
    double kernel_ulps = 0, bias_diff = 0;
    for (size_t i = 0; i < ours.size(); ++i) {
      ASSERT_EQ(ours[i]->type, theirs[i]->type) << i;
      for (size_t k = 1; k < 3 && k < ours[i]->inputs.size() && k < theirs[i]->inputs.size(); ++k) {
        const ir::Tensor& a = lg->tensors[ours[i]->inputs[k]];
        const ir::Tensor& b = tf->tensors[theirs[i]->inputs[k]];
        if (!b.is_constant || b.dtype != ir::DType::kFloat32) continue;  // weights shuffled at run time
        if (a.shape != b.shape) {
          ADD_FAILURE() << ours[i]->layer << " input " << k << ": shape " << ir::ShapeToString(a.shape)
                        << " vs TensorFlow's " << ir::ShapeToString(b.shape);
          continue;
        }
        const std::vector<float> x = passes::FloatData(a), y = passes::FloatData(b);
        if (k == 1) kernel_ulps = std::max(kernel_ulps, MaxUlps(x, y));
        else if (compare_bias) bias_diff = std::max(bias_diff, MaxScaledDiff(x, y));
      }
    }
    // A few ulps: the folded product rounded once against TensorFlow's chain of float32 steps
    // (seen: 4); biases within a few ulps of the bias vector's largest value (seen: 2e-7).
    EXPECT_LE(kernel_ulps, 8.0);
    EXPECT_LE(bias_diff, 1e-6);
    std::printf("%s vs %s: %zu ops, same kinds and fused activations; kernels within %.0f ulp, "
                "biases within %.2g of their largest%s\n",
                h5.c_str(), tfl.c_str(), lg->ops.size(), kernel_ulps, bias_diff,
                compare_bias ? "" : " (not compared: see corpus/README.md)");
    ++compared;
  }
  if (compared == 0) GTEST_SKIP() << "no Keras / TensorFlow float pairs under " << kCorpus;
}

}  // namespace
}  // namespace ql
