// Differential test of the 16x8 conv family (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED with int16
// activations, int8 weights and an int64, int32 or absent bias) against the genuine
// libtensorflowlite_c 2.9, under both profiles (tflite-x86: the library as is; tflite-wasm: the
// library with RUY_PATHS=1, ruy's portable kernels).
//
// Why the bias type matters: TFLite 2.9 runs an int64 bias through reference_integer_ops (int64
// accumulator, the 64-bit MultiplyByQuantizedMultiplier), but an int32 or absent bias of CONV_2D
// and FULLY_CONNECTED through ruy (int32 accumulator, ruy's requantization). Each case draws, for
// each of 20 seeds, a new random shape, stride, padding, dilation, depth multiplier, activation,
// scales (per channel or per tensor), weights, bias and int16 inputs over the whole range (every
// fourth seed a narrow range so ties are common, every fifth a constant extreme input that pushes
// a long int32 accumulator past 2^31). Outputs must be byte-identical; models TFLite refuses at
// Prepare must be refused by quantlens too.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "quantlens/formats/tflite/reader.h"
#include "quantlens/runtime/interpreter.h"
#include "testing/genuine_tflite.h"
#include "testing/tflite_builder.h"

namespace ql {
namespace {

namespace tfl = ::tflite;
using testing::Bytes;
using Rng = std::mt19937;

constexpr int kSeeds = 20;
constexpr uint32_t kSeedBase = 20260612;  // fixed: a failure must reproduce

// Uniform integer in [lo, hi] straight from mt19937's specified stream (std distributions differ
// between standard libraries).
int32_t Uniform(Rng& rng, int32_t lo, int32_t hi) {
  return lo + static_cast<int32_t>(rng() % static_cast<uint32_t>(hi - lo + 1));
}
double Uniform01(Rng& rng) { return static_cast<double>(rng()) / 4294967296.0; }
bool Coin(Rng& rng) { return (rng() >> 31) != 0; }
float LogUniform(Rng& rng, double lo, double hi) {
  return static_cast<float>(std::exp(std::log(lo) + (std::log(hi) - std::log(lo)) * Uniform01(rng)));
}

template <typename T>
Bytes ToBytes(const std::vector<T>& v) {
  Bytes b(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

int64_t Count(const std::vector<int32_t>& shape) {
  int64_t n = 1;
  for (int32_t d : shape) n *= d;
  return n;
}

// ---- The model ------------------------------------------------------------------------------------

enum class Op { kConv, kDepthwise, kFc };
enum class Bias { kInt64, kInt32, kNone };

struct Case {
  Op op = Op::kConv;
  Bias bias = Bias::kInt64;
  std::vector<int32_t> in_shape, w_shape, out_shape;
  float s_in = 1, s_out = 1;
  int64_t z_in = 0, z_out = 0, z_w = 0;
  std::vector<float> s_w;  // one (per tensor) or one per output channel
  std::vector<int8_t> weights;
  std::vector<int64_t> bias_values;
  int stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1, depth_multiplier = 1;
  bool same = true, keep_num_dims = false;
  tfl::ActivationFunctionType act = tfl::ActivationFunctionType::NONE;
  int out_c = 1;
  float bias_scale_extra = 0;  // added to the bias scales, in output steps
};

Bytes BuildModel(const Case& c) {
  testing::ModelSpec m;
  m.buffers = {{}, ToBytes(c.weights)};
  const int32_t wdim = c.op == Op::kDepthwise ? 3 : 0;
  std::vector<float> bias_scales;
  for (float s : c.s_w) bias_scales.push_back(c.s_in * s + c.bias_scale_extra * c.s_out);
  m.tensors = {
      {"x", c.in_shape, tfl::TensorType::INT16, 0, {}, false, {c.s_in}, {c.z_in}, 0},
      {"w", c.w_shape, tfl::TensorType::INT8, 1, {}, false, c.s_w,
       std::vector<int64_t>(c.s_w.size(), c.z_w), c.s_w.size() > 1 ? wdim : 0},
      {"y", c.out_shape, tfl::TensorType::INT16, 0, {}, false, {c.s_out}, {c.z_out}, 0}};
  m.op_inputs = {0, 1};
  if (c.bias != Bias::kNone) {
    m.buffers.push_back(c.bias == Bias::kInt64
                            ? ToBytes(c.bias_values)
                            : ToBytes(std::vector<int32_t>(c.bias_values.begin(), c.bias_values.end())));
    // As TensorFlow's converter writes it: scale s_in * s_w per channel, zero point 0.
    m.tensors.push_back({"b", std::vector<int32_t>{c.out_c},
                         c.bias == Bias::kInt64 ? tfl::TensorType::INT64 : tfl::TensorType::INT32, 2,
                         {}, false, bias_scales, std::vector<int64_t>(bias_scales.size(), 0), 0});
    m.op_inputs.push_back(3);
  } else if (c.op == Op::kFc) {
    m.op_inputs.push_back(-1);
  }
  m.op_outputs = {2};
  m.graph_inputs = {0};
  m.graph_outputs = {2};
  const Case k = c;
  switch (c.op) {
    case Op::kConv:
      m.opcodes = {testing::OpcodeSpec{3, 3, ""}};
      m.options_type = tfl::BuiltinOptions::Conv2DOptions;
      m.options = [k](flatbuffers::FlatBufferBuilder& b) {
        return tfl::CreateConv2DOptions(b, k.same ? tfl::Padding::SAME : tfl::Padding::VALID,
                                        k.stride_w, k.stride_h, k.act, k.dil_w, k.dil_h)
            .Union();
      };
      break;
    case Op::kDepthwise:
      m.opcodes = {testing::OpcodeSpec{4, 4, ""}};
      m.options_type = tfl::BuiltinOptions::DepthwiseConv2DOptions;
      m.options = [k](flatbuffers::FlatBufferBuilder& b) {
        return tfl::CreateDepthwiseConv2DOptions(b, k.same ? tfl::Padding::SAME : tfl::Padding::VALID,
                                                 k.stride_w, k.stride_h, k.depth_multiplier, k.act,
                                                 k.dil_w, k.dil_h)
            .Union();
      };
      break;
    case Op::kFc:
      m.opcodes = {testing::OpcodeSpec{9, 9, ""}};
      m.options_type = tfl::BuiltinOptions::FullyConnectedOptions;
      m.options = [k](flatbuffers::FlatBufferBuilder& b) {
        return tfl::CreateFullyConnectedOptions(b, k.act,
                                                tfl::FullyConnectedOptionsWeightsFormat::DEFAULT,
                                                k.keep_num_dims)
            .Union();
      };
      break;
  }
  return testing::Build(m);
}

// ---- Random cases ---------------------------------------------------------------------------------

struct Knobs {
  Op op = Op::kConv;
  Bias bias = Bias::kInt64;
  bool per_channel = true;
  bool long_rows = false;  // thousands of terms per output: int32 accumulators can wrap
  bool keep_num_dims = false;
  bool pot_scales = false;  // power-of-two scales: r = 2^-k exactly, so ties are frequent
};

int OutSize(int in, int k, int stride, int dil, bool same) {
  const int eff = (k - 1) * dil + 1;
  return same ? (in + stride - 1) / stride : (in - eff) / stride + 1;
}

Case RandomCase(Rng& rng, const Knobs& kn) {
  Case c;
  c.op = kn.op;
  c.bias = kn.bias;
  c.keep_num_dims = kn.keep_num_dims;
  int taps = 1;
  if (kn.op == Op::kFc) {
    const int k = kn.long_rows ? Uniform(rng, 1500, 4000) : Uniform(rng, 1, 80);
    c.out_c = Uniform(rng, 1, 16);
    if (kn.keep_num_dims) {
      c.in_shape = {Uniform(rng, 1, 2), Uniform(rng, 1, 4), k};
      c.out_shape = {c.in_shape[0], c.in_shape[1], c.out_c};
    } else {
      const int batch = Uniform(rng, 1, 4);
      c.in_shape = {batch, k};
      c.out_shape = {batch, c.out_c};
    }
    c.w_shape = {c.out_c, k};
    taps = k;
  } else {
    const int kh = Uniform(rng, 1, 3), kw = Uniform(rng, 1, 3);
    // A quarter of the convolutions are 1x1 stride 1 (TFLite's GEMM then reads the input in place).
    const bool pointwise = kn.op == Op::kConv && Uniform(rng, 0, 3) == 0;
    c.stride_h = pointwise ? 1 : Uniform(rng, 1, 3);
    c.stride_w = pointwise ? 1 : Uniform(rng, 1, 3);
    c.dil_h = pointwise ? 1 : Uniform(rng, 1, 2);
    c.dil_w = pointwise ? 1 : Uniform(rng, 1, 2);
    const int fh = pointwise ? 1 : kh, fw = pointwise ? 1 : kw;
    int in_c = kn.long_rows ? Uniform(rng, 200, 500) : Uniform(rng, 1, 8);
    int h = Uniform(rng, 1, 10), w = Uniform(rng, 1, 10);
    c.same = Coin(rng);
    if (!c.same) {  // VALID needs the dilated window inside the input
      h = std::max(h, (fh - 1) * c.dil_h + 1);
      w = std::max(w, (fw - 1) * c.dil_w + 1);
    }
    c.in_shape = {Uniform(rng, 1, 2), h, w, in_c};
    if (kn.op == Op::kConv) {
      c.out_c = Uniform(rng, 1, 8);
      c.w_shape = {c.out_c, fh, fw, in_c};
      taps = fh * fw * in_c;
    } else {
      c.depth_multiplier = Uniform(rng, 1, 3);
      c.out_c = in_c * c.depth_multiplier;
      c.w_shape = {1, fh, fw, c.out_c};
      taps = fh * fw;
    }
    c.out_shape = {c.in_shape[0], OutSize(h, fh, c.stride_h, c.dil_h, c.same),
                   OutSize(w, fw, c.stride_w, c.dil_w, c.same), c.out_c};
  }
  // Ties show on negative values: power-of-two cases keep the activation off.
  switch (kn.pot_scales ? 3 : Uniform(rng, 0, 3)) {
    case 0: c.act = tfl::ActivationFunctionType::RELU; break;
    case 1: c.act = tfl::ActivationFunctionType::RELU6; break;
    case 2: c.act = tfl::ActivationFunctionType::RELU_N1_TO_1; break;
    default: c.act = tfl::ActivationFunctionType::NONE; break;
  }

  c.s_in = kn.pot_scales ? std::ldexp(1.0f, -Uniform(rng, 10, 17))
                         : LogUniform(rng, 0.05 / 32767, 200.0 / 32767);
  const float s_w0 = kn.pot_scales ? std::ldexp(1.0f, -Uniform(rng, 5, 9)) : LogUniform(rng, 1e-3, 5e-2);
  if (kn.per_channel)
    for (int o = 0; o < c.out_c; ++o)
      c.s_w.push_back(kn.pot_scales ? std::ldexp(s_w0, Uniform(rng, -2, 2))
                                    : s_w0 * LogUniform(rng, 0.25, 4.0));
  else
    c.s_w = {s_w0};
  // r = s_in * s_w / s_out: mostly so that a typical accumulator (about sqrt(taps) * 1.4e6 for
  // full-range data) lands inside int16 without every output saturating; one seed in eight with
  // r > 1 (a left shift).
  const double r = Uniform(rng, 0, 7) == 0 ? LogUniform(rng, 1.0, 16.0)
                                           : LogUniform(rng, 1e-5, 0.05) / std::sqrt(taps);
  c.s_out = static_cast<float>(static_cast<double>(c.s_in) * s_w0 / r);
  // r = 2^-k with a small k, so that a tie (probability 2^-k per value) is common; the
  // narrow-range seeds keep such outputs inside int16.
  if (kn.pot_scales) c.s_out = std::ldexp(c.s_in * s_w0, Uniform(rng, 1, 4));

  c.weights.resize(static_cast<size_t>(Count(c.w_shape)));
  const bool extreme_weights = kn.long_rows || Uniform(rng, 0, 5) == 0;
  for (auto& w : c.weights)
    w = static_cast<int8_t>(extreme_weights ? (Coin(rng) ? 127 : -127) : Uniform(rng, -127, 127));
  if (kn.long_rows)  // one sign per output channel, so a constant input drives the sums far
    for (size_t i = 0; i < c.weights.size(); ++i) {
      const size_t ch = kn.op == Op::kDepthwise ? i % static_cast<size_t>(c.out_c)
                                                : i / (c.weights.size() / static_cast<size_t>(c.out_c));
      c.weights[i] = static_cast<int8_t>(ch % 2 ? -127 : 127);
    }
  const double acc_scale = std::sqrt(taps) * 1.4e6;
  for (int o = 0; o < c.out_c; ++o) {
    double b = (Uniform01(rng) * 2 - 1) * acc_scale;
    if (kn.bias == Bias::kInt64 && Uniform(rng, 0, 4) == 0) b *= 4096;  // beyond int32
    if (kn.bias == Bias::kInt32) b = std::clamp(b, -2.0e9, 2.0e9);
    c.bias_values.push_back(static_cast<int64_t>(b));
  }
  return c;
}

Bytes RandomInput(const Case& c, uint32_t seed) {
  Rng rng(seed);
  const int64_t n = Count(c.in_shape);
  std::vector<int16_t> v(static_cast<size_t>(n));
  if (seed % 5 == 0) {  // constant extreme input
    const int16_t x = Coin(rng) ? int16_t{32767} : int16_t{-32768};
    std::fill(v.begin(), v.end(), x);
  } else {
    const int32_t limit = seed % 4 == 1 ? Uniform(rng, 1, 300) : 32768;
    for (auto& x : v)
      x = static_cast<int16_t>(std::clamp(Uniform(rng, -limit, limit), -32768, 32767));
  }
  return ToBytes(v);
}

// ---- Running both ---------------------------------------------------------------------------------

struct Outcome {
  bool genuine_ok = false, ours_ok = false;
  std::string genuine_error, ours_error, diff;
};

std::string Describe(const Bytes& ours, const Bytes& theirs) {
  if (ours.size() != theirs.size())
    return fmt::format("sizes differ: quantlens {} bytes, TFLite {}", ours.size(), theirs.size());
  size_t ndiff = 0, first = 0;
  for (size_t i = 0; i + 1 < ours.size(); i += 2)
    if (std::memcmp(&ours[i], &theirs[i], 2) != 0 && ndiff++ == 0) first = i / 2;
  if (ndiff == 0) return "";
  int16_t a, b;
  std::memcpy(&a, &ours[first * 2], 2);
  std::memcpy(&b, &theirs[first * 2], 2);
  return fmt::format("{} of {} values differ; first at {}: quantlens {} vs TFLite {}", ndiff,
                     ours.size() / 2, first, a, b);
}

Outcome RunBoth(const Case& c, uint32_t seed, rt::Profile profile) {
  Outcome o;
  const Bytes bytes = BuildModel(c);
  testing::GenuineTflite genuine;
  o.genuine_ok = genuine.Init(bytes, profile == rt::Profile::kTfliteWasm);
  o.genuine_error = genuine.error();
  std::unique_ptr<rt::Interpreter> ours;
  auto graph = ql::tflite::ReadTfliteBuffer(bytes, "case.tflite");
  if (graph.ok()) {
    auto interp = rt::Interpreter::Create(*graph, {profile});
    if (interp.ok()) ours = std::move(*interp);
    else o.ours_error = interp.status().message();
  } else {
    o.ours_error = graph.status().message();
  }
  o.ours_ok = ours != nullptr;
  if (!o.genuine_ok || !o.ours_ok) return o;
  const Bytes input = RandomInput(c, seed);
  std::vector<Bytes> theirs;
  if (!genuine.Run({input}, &theirs)) {
    o.diff = "TFLite Invoke failed: " + genuine.error();
    return o;
  }
  Status st = ours->SetInput(0, input.data(), input.size());
  if (st.ok()) st = ours->Invoke();
  if (!st.ok()) {
    o.diff = "quantlens failed: " + st.message();
    return o;
  }
  const rt::TensorRef& out = ours->output(0);
  const auto* p = static_cast<const uint8_t*>(out.data);
  o.diff = Describe(Bytes(p, p + out.bytes()), theirs[0]);
  return o;
}

// ---- Cases ----------------------------------------------------------------------------------------

enum class Expect {
  kIdentical,
  kBothRefuse,
  // TFLite 2.9 accepts the model but its output is not defined by the model (uninitialized or
  // overwritten channels): quantlens refuses, and only that is checked.
  kOursRefuse,
};

struct NamedCase {
  std::string name;
  Knobs knobs;
  Expect expect = Expect::kIdentical;
  std::function<void(Case&)> tweak = nullptr;  // breaks one rule for the refusal cases
};
void PrintTo(const NamedCase& c, std::ostream* os) { *os << c.name; }

std::vector<NamedCase> Cases() {
  std::vector<NamedCase> v;
  const std::pair<Op, const char*> ops[] = {
      {Op::kConv, "Conv"}, {Op::kDepthwise, "Depthwise"}, {Op::kFc, "FullyConnected"}};
  for (const auto& [op, name] : ops) {
    const std::string n = name;
    v.push_back({n + "_Int64Bias", {op, Bias::kInt64, op != Op::kFc}});
    if (op != Op::kFc) v.push_back({n + "_Int64Bias_PerTensor", {op, Bias::kInt64, false}});
    if (op != Op::kDepthwise) {
      v.push_back({n + "_Int32Bias", {op, Bias::kInt32, op != Op::kFc}});
      v.push_back({n + "_Int32Bias_LongRows", {op, Bias::kInt32, op != Op::kFc, true}});
    }
    v.push_back({n + "_Int64Bias_LongRows", {op, Bias::kInt64, op != Op::kFc, true}});
  }
  v.push_back({"Conv_Int32Bias_PerTensor", {Op::kConv, Bias::kInt32, false}});
  v.push_back({"Depthwise_NoBias", {Op::kDepthwise, Bias::kNone, true}});
  v.push_back({"FullyConnected_NoBias", {Op::kFc, Bias::kNone, false}});
  v.push_back({"FullyConnected_Int64Bias_KeepNumDims", {Op::kFc, Bias::kInt64, false, false, true}});
  v.push_back({"FullyConnected_Int32Bias_KeepNumDims", {Op::kFc, Bias::kInt32, false, false, true}});

  // Power-of-two scales: every requantization variant meets ties, where S, G and R differ.
  for (const auto& [op, name] : ops) {
    const std::string n = name;
    v.push_back({n + "_Int64Bias_Ties", {op, Bias::kInt64, op != Op::kFc, false, false, true}});
    if (op != Op::kDepthwise)
      v.push_back({n + "_Int32Bias_Ties", {op, Bias::kInt32, op != Op::kFc, false, false, true}});
  }
  v.push_back({"FullyConnected_NoBias_Ties", {Op::kFc, Bias::kNone, false, false, false, true}});
  // FULLY_CONNECTED subtracts a weight zero point (and then runs the reference kernel, with G for
  // an int32 accumulator); DEPTHWISE_CONV_2D's 16x8 kernel ignores it.
  const auto weight_zp = [](Case& c) { c.z_w = -7; };
  for (Bias b : {Bias::kInt64, Bias::kInt32, Bias::kNone}) {
    const std::string n = b == Bias::kInt64 ? "Int64Bias" : b == Bias::kInt32 ? "Int32Bias" : "NoBias";
    v.push_back({"FullyConnected_WeightZeroPoint_" + n, {Op::kFc, b, false}, Expect::kIdentical, weight_zp});
    v.push_back({"FullyConnected_WeightZeroPoint_" + n + "_Ties", {Op::kFc, b, false, false, false, true},
                 Expect::kIdentical, weight_zp});
  }
  v.push_back({"Depthwise_WeightZeroPoint", {Op::kDepthwise, Bias::kInt64, true}, Expect::kIdentical,
               weight_zp});

  // What TFLite 2.9's Prepare refuses.
  // fully_connected.cc: |s_in * s_w - s_bias| / s_out must not exceed 0.02.
  v.push_back({"FullyConnected_BiasScale_Refused", {Op::kFc, Bias::kInt64, false}, Expect::kBothRefuse,
               [](Case& c) { c.bias_scale_extra = 0.05f; }});
  v.push_back({"FullyConnected_BiasScale_Int32_Refused", {Op::kFc, Bias::kInt32, false}, Expect::kBothRefuse,
               [](Case& c) { c.bias_scale_extra = -0.03f; }});
  // conv.cc: "TF_LITE_ENSURE(context, has_bias)".
  v.push_back({"Conv_NoBias_Refused", {Op::kConv, Bias::kNone, true}, Expect::kBothRefuse});
  // depthwise_conv.cc: an int16 input takes only an int64 bias.
  v.push_back({"Depthwise_Int32Bias_Refused", {Op::kDepthwise, Bias::kInt32, true}, Expect::kBothRefuse});
  // All three: int16 input and output zero points must be 0.
  for (const auto& [op, name] : ops) {
    const std::string n = name;
    v.push_back({n + "_InputZeroPoint_Refused", {op, Bias::kInt64, false}, Expect::kBothRefuse,
                 [](Case& c) { c.z_in = 3; }});
    v.push_back({n + "_OutputZeroPoint_Refused", {op, Bias::kInt64, false}, Expect::kBothRefuse,
                 [](Case& c) { c.z_out = -5; }});
  }
  // conv.cc: int8 filters of an int16 convolution must have zero points 0.
  v.push_back({"Conv_WeightZeroPoint_Refused", {Op::kConv, Bias::kInt64, true}, Expect::kBothRefuse,
               [](Case& c) { c.z_w = 1; }});
  // TFLite 2.9's 16x8 DEPTHWISE_CONV_2D loops over the depth_multiplier option; when it is smaller
  // than the shapes imply it leaves output channels unwritten (a larger one would write past the
  // output, so the test does not feed it to the genuine library).
  v.push_back({"Depthwise_DepthMultiplierOption_Refused", {Op::kDepthwise, Bias::kInt64, true},
               Expect::kOursRefuse, [](Case& c) { c.depth_multiplier -= 1; }});
  return v;
}

class ConvInt16Diff : public ::testing::TestWithParam<NamedCase> {};

TEST_P(ConvInt16Diff, MatchesTflite29) {
  const NamedCase& nc = GetParam();
  for (rt::Profile profile : {rt::Profile::kTfliteX86, rt::Profile::kTfliteWasm}) {
    int good = 0;
    std::string first;
    for (int s = 0; s < kSeeds; ++s) {
      Rng rng(kSeedBase + 7919u * static_cast<uint32_t>(s));
      Case c = RandomCase(rng, nc.knobs);
      if (nc.tweak) nc.tweak(c);
      const Outcome o = RunBoth(c, kSeedBase + static_cast<uint32_t>(s), profile);
      std::string problem;
      if (nc.expect == Expect::kBothRefuse) {
        if (o.genuine_ok) problem = "TFLite accepted the model";
        else if (o.ours_ok) problem = "quantlens accepted what TFLite refuses: " + o.genuine_error;
      } else if (nc.expect == Expect::kOursRefuse) {
        if (!o.genuine_ok) problem = "TFLite refused: " + o.genuine_error;
        else if (o.ours_ok) problem = "quantlens accepted the model";
      } else if (!o.genuine_ok) {
        problem = "TFLite refused: " + o.genuine_error;
      } else if (!o.ours_ok) {
        problem = "quantlens refused: " + o.ours_error;
      } else {
        problem = o.diff;
      }
      if (problem.empty()) ++good;
      else if (first.empty()) first = fmt::format("seed {}: {}", s, problem);
    }
    std::printf("[conv16x8-diff] %-40s %-11s %2d/%d %s\n", nc.name.c_str(),
                std::string(rt::ProfileName(profile)).c_str(), good, kSeeds,
                nc.expect == Expect::kBothRefuse  ? "refused by both"
                : nc.expect == Expect::kOursRefuse ? "refused by quantlens"
                                                   : "identical");
    EXPECT_EQ(good, kSeeds) << nc.name << " under " << rt::ProfileName(profile) << ": " << first;
  }
}

INSTANTIATE_TEST_SUITE_P(Ops, ConvInt16Diff, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<NamedCase>& info) { return info.param.name; });

}  // namespace
}  // namespace ql
