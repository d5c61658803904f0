// Differential tests of the kernels that `quantlens convert` output needs (int16x8 activations,
// int8 <-> int16 requantization, hybrid DEPTHWISE_CONV_2D / per-channel FULLY_CONNECTED) against
// the genuine libtensorflowlite_c 2.9. Every case builds one-op .tflite files with
// tests/testing/tflite_builder.h; each of 20 seeds draws new valid quantization parameters (and
// shapes / options where the case varies them) and new random inputs. Integer outputs must be
// byte-identical. Hybrid float outputs must be bit-identical too: every float step is reproduced
// in TFLite's order (the integer accumulators are exact), so no tolerance is granted.
// Both profiles are checked: tflite-x86 against the library as is, tflite-wasm against it with
// RUY_PATHS=1.
// Cases TFLite 2.9 refuses at Prepare must be refused by quantlens as well.
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
using Options = std::function<flatbuffers::Offset<void>(flatbuffers::FlatBufferBuilder&)>;

constexpr int kSeeds = 20;
constexpr uint32_t kSeedBase = 16081600;  // fixed: failures must reproduce

// ---- One-op models ------------------------------------------------------------------------------

struct TensorDef {
  std::string name;
  std::vector<int32_t> shape;
  tfl::TensorType type = tfl::TensorType::INT16;
  std::vector<float> scale = {};
  std::vector<int64_t> zero_point = {};
  int32_t quantized_dimension = 0;
  Bytes data = {};  // a constant when not empty
};

struct OpCase {
  tfl::BuiltinOperator op = tfl::BuiltinOperator::ADD;
  std::vector<TensorDef> tensors;
  std::vector<int32_t> inputs, outputs;
  tfl::BuiltinOptions options_type = tfl::BuiltinOptions::NONE;
  Options options;
  // Range of random int16 inputs: [-limit, limit] (the full range when 32768).
  int32_t int16_limit = 32768;
  float float_range = 4.0f;  // float inputs: uniform in [-range, range], some exact zeros

  int Add(TensorDef t) {
    tensors.push_back(std::move(t));
    return static_cast<int>(tensors.size()) - 1;
  }
};

Bytes BuildModel(const OpCase& c) {
  testing::ModelSpec m;
  m.buffers = {{}};
  for (const TensorDef& t : c.tensors) {
    testing::TensorSpec s;
    s.name = t.name;
    s.shape = t.shape;
    s.type = t.type;
    s.scale = t.scale;
    s.zero_point = t.zero_point;
    s.quantized_dimension = t.quantized_dimension;
    if (!t.data.empty()) {
      s.buffer = static_cast<uint32_t>(m.buffers.size());
      m.buffers.push_back(t.data);
    }
    m.tensors.push_back(std::move(s));
  }
  const int32_t code = static_cast<int32_t>(c.op);
  m.opcodes = {testing::OpcodeSpec{static_cast<int8_t>(code < 127 ? code : 127), code, ""}};
  m.op_inputs = c.inputs;
  m.op_outputs = c.outputs;
  for (int32_t i : c.inputs)
    if (i >= 0 && c.tensors[i].data.empty()) m.graph_inputs.push_back(i);
  m.graph_outputs = c.outputs;
  m.options_type = c.options_type;
  m.options = c.options;
  return testing::Build(m);
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

size_t TypeSize(tfl::TensorType t) {
  switch (t) {
    case tfl::TensorType::INT16: return 2;
    case tfl::TensorType::INT8:
    case tfl::TensorType::UINT8: return 1;
    case tfl::TensorType::INT64: return 8;
    default: return 4;
  }
}

// ---- Random parameters ----------------------------------------------------------------------------

using Rng = std::mt19937;

// Uniform integer in [lo, hi] from mt19937's fully specified stream (std distributions are not
// portable).
int32_t Uniform(Rng& rng, int32_t lo, int32_t hi) {
  return lo + static_cast<int32_t>(rng() % static_cast<uint32_t>(hi - lo + 1));
}
float Uniform01(Rng& rng) { return static_cast<float>(rng() >> 8) / 16777216.0f; }
bool Coin(Rng& rng) { return (rng() >> 31) != 0; }

// A log-uniform scale in [lo, hi].
float LogScale(Rng& rng, float lo, float hi) {
  return std::exp(std::log(lo) + (std::log(hi) - std::log(lo)) * Uniform01(rng));
}
// A typical int16 activation scale: a range of 0.05 to 200 over 32767 steps.
float Int16Scale(Rng& rng) { return LogScale(rng, 0.05f / 32767, 200.0f / 32767); }

TensorDef I16(std::string name, std::vector<int32_t> shape, float scale) {
  return {std::move(name), std::move(shape), tfl::TensorType::INT16, {scale}, {0}};
}
TensorDef Q8(std::string name, std::vector<int32_t> shape, float scale, int64_t zp) {
  return {std::move(name), std::move(shape), tfl::TensorType::INT8, {scale}, {zp}};
}
TensorDef F32(std::string name, std::vector<int32_t> shape) {
  return {std::move(name), std::move(shape), tfl::TensorType::FLOAT32};
}
TensorDef I32Const(std::string name, const std::vector<int32_t>& values,
                   std::vector<int32_t> shape = {}) {
  if (shape.empty()) shape = {static_cast<int32_t>(values.size())};
  return {std::move(name), std::move(shape), tfl::TensorType::INT32, {}, {}, 0, ToBytes(values)};
}

std::vector<int32_t> RandomShape4(Rng& rng) {
  return {Uniform(rng, 1, 2), Uniform(rng, 1, 9), Uniform(rng, 1, 9), Uniform(rng, 1, 7)};
}

tfl::ActivationFunctionType RandomClamp(Rng& rng) {
  switch (Uniform(rng, 0, 3)) {
    case 0: return tfl::ActivationFunctionType::RELU;
    case 1: return tfl::ActivationFunctionType::RELU6;
    default: return tfl::ActivationFunctionType::NONE;
  }
}

// ---- Running both ----------------------------------------------------------------------------------

std::vector<uint8_t> RandomInput(const OpCase& c, const TensorDef& t, uint32_t seed) {
  Rng rng(seed);
  const int64_t n = Count(t.shape);
  Bytes b(static_cast<size_t>(n) * TypeSize(t.type));
  switch (t.type) {
    case tfl::TensorType::INT16: {
      // Half the seeds use a narrower range so that small values (and ties) are common.
      const int32_t limit = (seed & 1) ? std::min(c.int16_limit, Uniform(rng, 1, 32767))
                                       : c.int16_limit;
      for (int64_t i = 0; i < n; ++i) {
        const int16_t v = static_cast<int16_t>(
            std::clamp(Uniform(rng, -limit, limit), int32_t{-32768}, int32_t{32767}));
        std::memcpy(&b[i * 2], &v, 2);
      }
      break;
    }
    case tfl::TensorType::FLOAT32:
      for (int64_t i = 0; i < n; ++i) {
        float v = (Uniform01(rng) * 2.0f - 1.0f) * c.float_range;
        if (Uniform(rng, 0, 9) == 0) v = 0.0f;
        std::memcpy(&b[i * 4], &v, 4);
      }
      break;
    default:
      for (auto& x : b) x = static_cast<uint8_t>(rng() >> 24);
  }
  return b;
}

// First difference between two output buffers; empty when identical.
std::string Describe(const Bytes& ours, const Bytes& theirs, tfl::TensorType type) {
  if (ours.size() != theirs.size())
    return fmt::format("sizes differ: quantlens {} bytes, TFLite {}", ours.size(), theirs.size());
  const size_t es = TypeSize(type);
  size_t ndiff = 0, first = SIZE_MAX;
  for (size_t i = 0; i + es <= ours.size(); i += es)
    if (std::memcmp(&ours[i], &theirs[i], es) != 0) {
      if (first == SIZE_MAX) first = i / es;
      ++ndiff;
    }
  if (ndiff == 0) return "";
  auto value = [&](const Bytes& v) -> std::string {
    const uint8_t* p = &v[first * es];
    switch (type) {
      case tfl::TensorType::INT16: { int16_t x; std::memcpy(&x, p, 2); return std::to_string(x); }
      case tfl::TensorType::INT8: return std::to_string(static_cast<int8_t>(*p));
      case tfl::TensorType::UINT8: return std::to_string(*p);
      case tfl::TensorType::FLOAT32: { float f; std::memcpy(&f, p, 4); return fmt::format("{:.9g}", f); }
      default: { int32_t x; std::memcpy(&x, p, 4); return std::to_string(x); }
    }
  };
  return fmt::format("{} of {} elements differ; first at {}: quantlens {} vs TFLite {}", ndiff,
                     ours.size() / es, first, value(ours), value(theirs));
}

struct Outcome {
  bool genuine_ok = false, ours_ok = false;
  std::string genuine_error, ours_error;
  std::string diff;  // first output difference, empty when all identical
};

Outcome RunBoth(const OpCase& c, uint32_t seed, rt::Profile profile) {
  Outcome o;
  const Bytes bytes = BuildModel(c);
  testing::GenuineTflite genuine;
  o.genuine_ok = genuine.Init(bytes, profile == rt::Profile::kTfliteWasm);
  o.genuine_error = genuine.error();
  auto graph = ql::tflite::ReadTfliteBuffer(bytes, "case.tflite");
  std::unique_ptr<rt::Interpreter> ours;
  if (graph.ok()) {
    auto interp = rt::Interpreter::Create(*graph, {profile});
    if (interp.ok()) ours = std::move(*interp);
    else o.ours_error = interp.status().message();
  } else {
    o.ours_error = graph.status().message();
  }
  o.ours_ok = ours != nullptr;
  if (!o.genuine_ok || !o.ours_ok) return o;

  std::vector<Bytes> inputs;
  int k = 0;
  for (int32_t i : c.inputs)
    if (i >= 0 && c.tensors[i].data.empty())
      inputs.push_back(RandomInput(c, c.tensors[i], seed * 7919u + static_cast<uint32_t>(k++)));
  std::vector<Bytes> theirs;
  if (!genuine.Run(inputs, &theirs)) {
    o.diff = "TFLite Invoke failed: " + genuine.error();
    return o;
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    Status st = ours->SetInput(static_cast<int>(i), inputs[i].data(), inputs[i].size());
    if (!st.ok()) {
      o.diff = "SetInput: " + st.message();
      return o;
    }
  }
  Status st = ours->Invoke();
  if (!st.ok()) {
    o.diff = "quantlens Invoke failed: " + st.message();
    return o;
  }
  for (int i = 0; i < ours->num_outputs(); ++i) {
    const rt::TensorRef& out = ours->output(i);
    const auto* p = static_cast<const uint8_t*>(out.data);
    const Bytes mine(p, p + out.bytes());
    const std::string d = Describe(mine, theirs[i], c.tensors[c.outputs[i]].type);
    if (!d.empty()) {
      o.diff = fmt::format("output {}: {}", i, d);
      return o;
    }
  }
  return o;
}

// ---- Cases ------------------------------------------------------------------------------------------

using CaseFn = std::function<OpCase(Rng&)>;

struct NamedCase {
  std::string name;
  CaseFn make;
  bool tflite_refuses = false;  // TFLite 2.9 fails Prepare on every seed: quantlens must refuse too
};
void PrintTo(const NamedCase& c, std::ostream* os) { *os << c.name; }

Options AddOpts(tfl::ActivationFunctionType act, bool pot) {
  return [=](flatbuffers::FlatBufferBuilder& b) { return tfl::CreateAddOptions(b, act, pot).Union(); };
}
Options SubOpts(tfl::ActivationFunctionType act, bool pot) {
  return [=](flatbuffers::FlatBufferBuilder& b) { return tfl::CreateSubOptions(b, act, pot).Union(); };
}

// ADD/SUB/MUL with int16 operands; `broadcast` makes input 1 a [1, 1, 1, C] or [W, C] tensor.
OpCase Binary(Rng& rng, tfl::BuiltinOperator op, bool pot, bool pot_scales, int zero_point) {
  OpCase c;
  c.op = op;
  const std::vector<int32_t> shape = RandomShape4(rng);
  std::vector<int32_t> shape2 = shape;
  // TFLite 2.9's POT int16 ADD does not broadcast (it aborts on different shapes); SUB does.
  switch (pot_scales && op == tfl::BuiltinOperator::ADD ? 2 : Uniform(rng, 0, 2)) {
    case 0: shape2 = {1, 1, 1, shape[3]}; break;
    case 1: shape2 = {shape[2], shape[3]}; break;
    default: break;
  }
  TensorDef a = I16("a", shape, Int16Scale(rng)), b = I16("b", shape2, Int16Scale(rng)),
            y = I16("y", shape, Int16Scale(rng));
  if (pot_scales) {
    // The POT path shifts at most one input right; the other carries the output's scale.
    const int e = Uniform(rng, -14, -8);
    y.scale = a.scale = b.scale = {std::ldexp(1.0f, e)};
    (Coin(rng) ? a : b).scale = {std::ldexp(1.0f, e - Uniform(rng, 0, 3))};
  }
  if (op == tfl::BuiltinOperator::MUL && !pot_scales) y.scale = {LogScale(rng, 1e-6f, 1e-2f)};
  a.zero_point = {zero_point};
  c.inputs = {c.Add(a), c.Add(b)};
  c.outputs = {c.Add(y)};
  const auto act = RandomClamp(rng);
  switch (op) {
    case tfl::BuiltinOperator::ADD:
      c.options_type = tfl::BuiltinOptions::AddOptions;
      c.options = AddOpts(act, pot);
      break;
    case tfl::BuiltinOperator::SUB:
      c.options_type = tfl::BuiltinOptions::SubOptions;
      c.options = SubOpts(act, pot);
      break;
    default:
      c.options_type = tfl::BuiltinOptions::MulOptions;
      c.options = [=](flatbuffers::FlatBufferBuilder& fb) { return tfl::CreateMulOptions(fb, act).Union(); };
  }
  return c;
}

OpCase Pool(Rng& rng, bool max_pool, int zero_point) {
  OpCase c;
  c.op = max_pool ? tfl::BuiltinOperator::MAX_POOL_2D : tfl::BuiltinOperator::AVERAGE_POOL_2D;
  const std::vector<int32_t> in = RandomShape4(rng);
  const int fh = Uniform(rng, 1, 4), fw = Uniform(rng, 1, 4), sh = Uniform(rng, 1, 3), sw = Uniform(rng, 1, 3);
  const bool same = Coin(rng) || in[1] < fh || in[2] < fw;
  const int oh = same ? (in[1] + sh - 1) / sh : (in[1] - fh) / sh + 1;
  const int ow = same ? (in[2] + sw - 1) / sw : (in[2] - fw) / sw + 1;
  const float s = Int16Scale(rng);
  TensorDef x = I16("x", in, s), y = I16("y", {in[0], oh, ow, in[3]}, s);
  x.zero_point = y.zero_point = {zero_point};
  c.inputs = {c.Add(x)};
  c.outputs = {c.Add(y)};
  const auto act = RandomClamp(rng);
  const auto pad = same ? tfl::Padding::SAME : tfl::Padding::VALID;
  c.options_type = tfl::BuiltinOptions::Pool2DOptions;
  c.options = [=](flatbuffers::FlatBufferBuilder& b) {
    return tfl::CreatePool2DOptions(b, pad, sw, sh, fw, fh, act).Union();
  };
  return c;
}

OpCase Unary(tfl::BuiltinOperator op, const TensorDef& x, const TensorDef& y) {
  OpCase c;
  c.op = op;
  c.inputs = {c.Add(x)};
  c.outputs = {c.Add(y)};
  return c;
}

// SOFTMAX int16: output scale 1/32768 and zero point 0 as TFLite requires.
OpCase Softmax(Rng& rng, float out_scale) {
  const std::vector<int32_t> shape = {Uniform(rng, 1, 4), Uniform(rng, 1, 40)};
  OpCase c = Unary(tfl::BuiltinOperator::SOFTMAX, I16("x", shape, LogScale(rng, 1e-4f, 2e-3f)),
                   I16("y", shape, out_scale));
  const float beta = Coin(rng) ? 1.0f : LogScale(rng, 0.3f, 3.0f);
  c.options_type = tfl::BuiltinOptions::SoftmaxOptions;
  c.options = [=](flatbuffers::FlatBufferBuilder& b) { return tfl::CreateSoftmaxOptions(b, beta).Union(); };
  return c;
}

// LOGISTIC / TANH int16. `pot_exponent` != 0 gives the input scale 2^pot_exponent.
OpCase Smooth(Rng& rng, tfl::BuiltinOperator op, int pot_exponent, float out_scale = 1.0f / 32768) {
  const std::vector<int32_t> shape = {Uniform(rng, 1, 3), Uniform(rng, 1, 300)};
  const float s = pot_exponent != 0 ? std::ldexp(1.0f, pot_exponent) : LogScale(rng, 2e-5f, 2e-3f);
  return Unary(op, I16("x", shape, s), I16("y", shape, out_scale));
}

// An int16 tensor through a data-movement op whose output keeps its scale.
OpCase Movement(Rng& rng, tfl::BuiltinOperator op) {
  OpCase c;
  c.op = op;
  const std::vector<int32_t> in = RandomShape4(rng);
  const float s = Int16Scale(rng);
  const int x = c.Add(I16("x", in, s));
  switch (op) {
    case tfl::BuiltinOperator::RESHAPE: {
      const std::vector<int32_t> out = {in[0] * in[1], in[2] * in[3]};
      c.inputs = {x, c.Add(I32Const("shape", out))};
      c.outputs = {c.Add(I16("y", out, s))};
      break;
    }
    case tfl::BuiltinOperator::SQUEEZE: {
      c.tensors[x].shape = {in[0], 1, in[2], in[3]};
      c.inputs = {x};
      c.outputs = {c.Add(I16("y", {in[0], in[2], in[3]}, s))};
      c.options_type = tfl::BuiltinOptions::SqueezeOptions;
      c.options = [](flatbuffers::FlatBufferBuilder& b) {
        const std::vector<int32_t> dims = {1};
        return tfl::CreateSqueezeOptionsDirect(b, &dims).Union();
      };
      break;
    }
    case tfl::BuiltinOperator::EXPAND_DIMS:
      c.inputs = {x, c.Add(I32Const("axis", {2}, {1}))};
      c.outputs = {c.Add(I16("y", {in[0], in[1], 1, in[2], in[3]}, s))};
      break;
    case tfl::BuiltinOperator::TRANSPOSE: {
      std::vector<int32_t> perm = {0, 1, 2, 3};
      for (int i = 3; i > 0; --i) std::swap(perm[i], perm[Uniform(rng, 0, i)]);
      c.inputs = {x, c.Add(I32Const("perm", perm))};
      c.outputs = {c.Add(I16("y", {in[perm[0]], in[perm[1]], in[perm[2]], in[perm[3]]}, s))};
      break;
    }
    case tfl::BuiltinOperator::STRIDED_SLICE: {
      std::vector<int32_t> begin(4), end(4), strides(4), out(4);
      for (int d = 0; d < 4; ++d) {
        begin[d] = Uniform(rng, 0, in[d] - 1);
        end[d] = Uniform(rng, begin[d] + 1, in[d]);
        strides[d] = Uniform(rng, 1, 2);
        out[d] = (end[d] - begin[d] + strides[d] - 1) / strides[d];
      }
      c.inputs = {x, c.Add(I32Const("begin", begin)), c.Add(I32Const("end", end)),
                  c.Add(I32Const("strides", strides))};
      c.outputs = {c.Add(I16("y", out, s))};
      c.options_type = tfl::BuiltinOptions::StridedSliceOptions;
      c.options = [](flatbuffers::FlatBufferBuilder& b) { return tfl::CreateStridedSliceOptions(b).Union(); };
      break;
    }
    default: break;
  }
  return c;
}

OpCase Concat(Rng& rng, bool same_scales, int zero_point) {
  OpCase c;
  c.op = tfl::BuiltinOperator::CONCATENATION;
  const std::vector<int32_t> base = RandomShape4(rng);
  const int axis = Uniform(rng, 0, 3);
  const int n = Uniform(rng, 2, 3);
  const float s = Int16Scale(rng);
  std::vector<int32_t> out = base;
  out[axis] = 0;
  for (int i = 0; i < n; ++i) {
    std::vector<int32_t> shape = base;
    shape[axis] = Uniform(rng, 1, 4);
    out[axis] += shape[axis];
    TensorDef t = I16("x" + std::to_string(i), shape, same_scales ? s : Int16Scale(rng));
    t.zero_point = {zero_point};
    c.inputs.push_back(c.Add(t));
  }
  c.outputs = {c.Add(I16("y", out, s))};
  c.options_type = tfl::BuiltinOptions::ConcatenationOptions;
  c.options = [=](flatbuffers::FlatBufferBuilder& b) {
    return tfl::CreateConcatenationOptions(b, axis).Union();
  };
  return c;
}

OpCase Mean(Rng& rng, bool spatial_keep_dims) {
  OpCase c;
  c.op = tfl::BuiltinOperator::MEAN;
  const std::vector<int32_t> in = RandomShape4(rng);
  std::vector<int32_t> axes = {1, 2};
  bool keep = true;
  if (!spatial_keep_dims) {
    axes.clear();
    for (int d = 0; d < 4; ++d)
      if (Coin(rng)) axes.push_back(d);
    if (axes.empty()) axes = {3};
    keep = Coin(rng);
  }
  std::vector<int32_t> out;
  for (int d = 0; d < 4; ++d) {
    const bool reduced = std::find(axes.begin(), axes.end(), d) != axes.end();
    if (!reduced) out.push_back(in[d]);
    else if (keep) out.push_back(1);
  }
  c.inputs = {c.Add(I16("x", in, Int16Scale(rng))), c.Add(I32Const("axes", axes))};
  c.outputs = {c.Add(I16("y", out, Int16Scale(rng)))};
  c.options_type = tfl::BuiltinOptions::ReducerOptions;
  c.options = [=](flatbuffers::FlatBufferBuilder& b) { return tfl::CreateReducerOptions(b, keep).Union(); };
  return c;
}

OpCase Activation(Rng& rng, tfl::BuiltinOperator op, int zero_point) {
  const std::vector<int32_t> shape = {Uniform(rng, 1, 3), Uniform(rng, 1, 200)};
  TensorDef x = I16("x", shape, Int16Scale(rng)), y = I16("y", shape, Int16Scale(rng));
  x.zero_point = {zero_point};
  OpCase c = Unary(op, x, y);
  if (op == tfl::BuiltinOperator::HARD_SWISH) c.tensors[1].scale = c.tensors[0].scale;
  if (op == tfl::BuiltinOperator::LEAKY_RELU) {
    const float alpha = Coin(rng) ? LogScale(rng, 0.01f, 0.9f) : LogScale(rng, 1.1f, 3.0f);
    c.options_type = tfl::BuiltinOptions::LeakyReluOptions;
    c.options = [=](flatbuffers::FlatBufferBuilder& b) { return tfl::CreateLeakyReluOptions(b, alpha).Union(); };
  }
  return c;
}

OpCase Resize(Rng& rng, bool bilinear) {
  OpCase c;
  c.op = bilinear ? tfl::BuiltinOperator::RESIZE_BILINEAR : tfl::BuiltinOperator::RESIZE_NEAREST_NEIGHBOR;
  const std::vector<int32_t> in = RandomShape4(rng);
  const int oh = Uniform(rng, 1, 12), ow = Uniform(rng, 1, 12);
  const float s = Int16Scale(rng);
  c.inputs = {c.Add(I16("x", in, s)), c.Add(I32Const("size", {oh, ow}))};
  c.outputs = {c.Add(I16("y", {in[0], oh, ow, in[3]}, s))};
  const bool align = Coin(rng), half = !align && Coin(rng);
  if (bilinear) {
    c.options_type = tfl::BuiltinOptions::ResizeBilinearOptions;
    c.options = [=](flatbuffers::FlatBufferBuilder& b) {
      return tfl::CreateResizeBilinearOptions(b, align, half).Union();
    };
  } else {
    c.options_type = tfl::BuiltinOptions::ResizeNearestNeighborOptions;
    c.options = [=](flatbuffers::FlatBufferBuilder& b) {
      return tfl::CreateResizeNearestNeighborOptions(b, align, half).Union();
    };
  }
  return c;
}

OpCase Pad(Rng& rng, bool v2) {
  OpCase c;
  c.op = v2 ? tfl::BuiltinOperator::PADV2 : tfl::BuiltinOperator::PAD;
  const std::vector<int32_t> in = RandomShape4(rng);
  std::vector<int32_t> pads(8), out(4);
  for (int d = 0; d < 4; ++d) {
    pads[2 * d] = Uniform(rng, 0, 2);
    pads[2 * d + 1] = Uniform(rng, 0, 2);
    out[d] = in[d] + pads[2 * d] + pads[2 * d + 1];
  }
  const float s = Int16Scale(rng);
  c.inputs = {c.Add(I16("x", in, s)), c.Add(I32Const("paddings", pads, {4, 2}))};
  if (v2) {
    TensorDef value = I16("value", {1}, s);
    value.data = ToBytes(std::vector<int16_t>{static_cast<int16_t>(Uniform(rng, -32768, 32767))});
    c.inputs.push_back(c.Add(value));
  }
  c.outputs = {c.Add(I16("y", out, s))};
  return c;
}

OpCase Requantize(Rng& rng, tfl::TensorType from, tfl::TensorType to, int int16_zero_point = 0) {
  const std::vector<int32_t> shape = {Uniform(rng, 1, 3), Uniform(rng, 1, 300)};
  auto make = [&](const char* name, tfl::TensorType t) {
    if (t == tfl::TensorType::INT16) {
      TensorDef d = I16(name, shape, Int16Scale(rng));
      d.zero_point = {int16_zero_point};
      return d;
    }
    const int64_t zp = t == tfl::TensorType::UINT8 ? Uniform(rng, 0, 255) : Uniform(rng, -128, 127);
    TensorDef d = Q8(name, shape, LogScale(rng, 1e-3f, 1.0f), zp);
    d.type = t;
    return d;
  };
  return Unary(tfl::BuiltinOperator::QUANTIZE, make("x", from), make("y", to));
}

std::vector<float> RandomScales(Rng& rng, int n, float lo, float hi) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = LogScale(rng, lo, hi);
  return v;
}
Bytes RandomInt8Weights(Rng& rng, int64_t n) {
  std::vector<int8_t> w(static_cast<size_t>(n));
  for (int8_t& x : w) x = static_cast<int8_t>(Uniform(rng, -127, 127));
  return ToBytes(w);
}
Bytes RandomFloats(Rng& rng, int64_t n, float range) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = (Uniform01(rng) * 2.0f - 1.0f) * range;
  return ToBytes(v);
}

// Hybrid DEPTHWISE_CONV_2D: float input and output, int8 constant filter [1, kh, kw, C*m]
// quantized per channel (axis 3), float bias. `scales` = 1 gives a single per-tensor scale.
OpCase HybridDepthwise(Rng& rng, bool per_channel) {
  OpCase c;
  c.op = tfl::BuiltinOperator::DEPTHWISE_CONV_2D;
  std::vector<int32_t> in = RandomShape4(rng);
  // A single scale is only valid for a single output channel: make the per-tensor case have more.
  if (!per_channel) in[3] = std::max(in[3], 2);
  const int m = Uniform(rng, 1, 2), kh = Uniform(rng, 1, 3), kw = Uniform(rng, 1, 3);
  const int sh = Uniform(rng, 1, 2), sw = Uniform(rng, 1, 2), dh = Uniform(rng, 1, 2), dw = Uniform(rng, 1, 2);
  const int ekh = (kh - 1) * dh + 1, ekw = (kw - 1) * dw + 1;
  const bool same = Coin(rng) || in[1] < ekh || in[2] < ekw;
  const int oh = same ? (in[1] + sh - 1) / sh : (in[1] - ekh) / sh + 1;
  const int ow = same ? (in[2] + sw - 1) / sw : (in[2] - ekw) / sw + 1;
  const int oc = in[3] * m;
  TensorDef filter{"filter", {1, kh, kw, oc}, tfl::TensorType::INT8};
  filter.scale = per_channel ? RandomScales(rng, oc, 1e-3f, 5e-2f) : std::vector<float>{0.01f};
  filter.zero_point.assign(filter.scale.size(), 0);
  filter.quantized_dimension = 3;
  filter.data = RandomInt8Weights(rng, Count(filter.shape));
  TensorDef bias = F32("bias", {oc});
  bias.data = RandomFloats(rng, oc, 1.0f);
  c.inputs = {c.Add(F32("x", in)), c.Add(filter), c.Add(bias)};
  c.outputs = {c.Add(F32("y", {in[0], oh, ow, oc}))};
  const auto act = RandomClamp(rng);
  const auto pad = same ? tfl::Padding::SAME : tfl::Padding::VALID;
  c.options_type = tfl::BuiltinOptions::DepthwiseConv2DOptions;
  c.options = [=](flatbuffers::FlatBufferBuilder& b) {
    return tfl::CreateDepthwiseConv2DOptions(b, pad, sw, sh, m, act, dw, dh).Union();
  };
  c.float_range = LogScale(rng, 0.1f, 20.0f);
  return c;
}

// Hybrid FULLY_CONNECTED: float input [B, K], int8 constant weights [U, K] quantized per channel
// (axis 0) or per tensor, float bias.
OpCase HybridFullyConnected(Rng& rng, bool per_channel) {
  OpCase c;
  c.op = tfl::BuiltinOperator::FULLY_CONNECTED;
  const int batch = Uniform(rng, 1, 3), k = Uniform(rng, 1, 40), units = Uniform(rng, 1, 12);
  TensorDef w{"weights", {units, k}, tfl::TensorType::INT8};
  w.scale = per_channel ? RandomScales(rng, units, 1e-3f, 5e-2f) : std::vector<float>{0.02f};
  w.zero_point.assign(w.scale.size(), 0);
  w.data = RandomInt8Weights(rng, Count(w.shape));
  TensorDef bias = F32("bias", {units});
  bias.data = RandomFloats(rng, units, 1.0f);
  c.inputs = {c.Add(F32("x", {batch, k})), c.Add(w), c.Add(bias)};
  c.outputs = {c.Add(F32("y", {batch, units}))};
  const auto act = RandomClamp(rng);
  const bool asymmetric = Coin(rng);
  c.options_type = tfl::BuiltinOptions::FullyConnectedOptions;
  c.options = [=](flatbuffers::FlatBufferBuilder& b) {
    return tfl::CreateFullyConnectedOptions(b, act, tfl::FullyConnectedOptionsWeightsFormat::DEFAULT,
                                            false, asymmetric).Union();
  };
  c.float_range = LogScale(rng, 0.1f, 20.0f);
  return c;
}

Bytes RandomBias(Rng& rng, int n, bool int64) {
  std::vector<int64_t> v64(static_cast<size_t>(n));
  std::vector<int32_t> v32(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const int32_t b = Uniform(rng, -(1 << 24), 1 << 24);
    v64[static_cast<size_t>(i)] = b;
    v32[static_cast<size_t>(i)] = b;
  }
  return int64 ? ToBytes(v64) : ToBytes(v32);
}

// The 16x8 conv family: int16 input and output (zero point 0), int8 weights (per channel for
// CONV_2D and DEPTHWISE, per tensor for FULLY_CONNECTED), int64 or int32 bias. The output scale
// is chosen so that outputs span the int16 range without saturating everything.
// `ties`: every weight scale equal and the output scale s_in * s_w * 2^k, so the multiplier is
// exactly 2^-k and half of all odd accumulators are rounding ties.
OpCase Conv16x8(Rng& rng, tfl::BuiltinOperator op, bool int64_bias, bool ties = false) {
  OpCase c;
  c.op = op;
  const bool depthwise = op == tfl::BuiltinOperator::DEPTHWISE_CONV_2D;
  const bool fc = op == tfl::BuiltinOperator::FULLY_CONNECTED;
  const float s_in = Int16Scale(rng);
  std::vector<int32_t> in, wshape, out;
  int oc = 0, taps = 0, pad_same = 0, sh = 1, sw = 1, dh = 1, dw = 1, m = 1;
  if (fc) {
    const int batch = Uniform(rng, 1, 3), k = Uniform(rng, 1, 40);
    oc = Uniform(rng, 1, 12);
    in = {batch, k};
    wshape = {oc, k};
    out = {batch, oc};
    taps = k;
  } else {
    in = RandomShape4(rng);
    const int kh = Uniform(rng, 1, 3), kw = Uniform(rng, 1, 3);
    sh = Uniform(rng, 1, 2), sw = Uniform(rng, 1, 2), dh = Uniform(rng, 1, 2), dw = Uniform(rng, 1, 2);
    const int ekh = (kh - 1) * dh + 1, ekw = (kw - 1) * dw + 1;
    pad_same = Coin(rng) || in[1] < ekh || in[2] < ekw;
    const int oh = pad_same ? (in[1] + sh - 1) / sh : (in[1] - ekh) / sh + 1;
    const int ow = pad_same ? (in[2] + sw - 1) / sw : (in[2] - ekw) / sw + 1;
    m = depthwise ? Uniform(rng, 1, 2) : 1;
    oc = depthwise ? in[3] * m : Uniform(rng, 1, 6);
    wshape = depthwise ? std::vector<int32_t>{1, kh, kw, oc} : std::vector<int32_t>{oc, kh, kw, in[3]};
    out = {in[0], oh, ow, oc};
    taps = kh * kw * (depthwise ? 1 : in[3]);
  }
  TensorDef w{"weights", wshape, tfl::TensorType::INT8};
  w.scale = fc ? std::vector<float>{LogScale(rng, 1e-3f, 5e-2f)} : RandomScales(rng, oc, 1e-3f, 5e-2f);
  w.zero_point.assign(w.scale.size(), 0);
  w.quantized_dimension = depthwise ? 3 : 0;
  w.data = RandomInt8Weights(rng, Count(wshape));
  TensorDef bias{"bias", {oc}, int64_bias ? tfl::TensorType::INT64 : tfl::TensorType::INT32};
  bias.data = RandomBias(rng, oc, int64_bias);
  float s_out = s_in * w.scale[0] * std::sqrt(static_cast<float>(taps)) * LogScale(rng, 150.0f, 5000.0f);
  if (ties) {
    std::fill(w.scale.begin(), w.scale.end(), 0.0078125f);
    s_out = s_in * 0.0078125f * std::ldexp(1.0f, Uniform(rng, 7, 12));
  }
  c.inputs = {c.Add(I16("x", in, s_in)), c.Add(w), c.Add(bias)};
  c.outputs = {c.Add(I16("y", out, s_out))};
  const auto act = RandomClamp(rng);
  const auto pad = pad_same ? tfl::Padding::SAME : tfl::Padding::VALID;
  if (fc) {
    c.options_type = tfl::BuiltinOptions::FullyConnectedOptions;
    c.options = [=](flatbuffers::FlatBufferBuilder& b) { return tfl::CreateFullyConnectedOptions(b, act).Union(); };
  } else if (depthwise) {
    c.options_type = tfl::BuiltinOptions::DepthwiseConv2DOptions;
    c.options = [=](flatbuffers::FlatBufferBuilder& b) {
      return tfl::CreateDepthwiseConv2DOptions(b, pad, sw, sh, m, act, dw, dh).Union();
    };
  } else {
    c.options_type = tfl::BuiltinOptions::Conv2DOptions;
    c.options = [=](flatbuffers::FlatBufferBuilder& b) {
      return tfl::CreateConv2DOptions(b, pad, sw, sh, act, dw, dh).Union();
    };
  }
  return c;
}

std::vector<NamedCase> Cases() {
  using Op = tfl::BuiltinOperator;
  using T = tfl::TensorType;
  std::vector<NamedCase> v;
  // ADD / SUB: general rescaling (pot_scale_int16 false, as the converter writes), the POT path
  // (pot_scale_int16 true with power-of-two scales), and true with other scales (general again).
  for (Op op : {Op::ADD, Op::SUB}) {
    const std::string n = op == Op::ADD ? "Add" : "Sub";
    v.push_back({n + "Int16General", [op](Rng& r) { return Binary(r, op, false, false, 0); }});
    v.push_back({n + "Int16PotFlagOtherScales", [op](Rng& r) { return Binary(r, op, true, false, 0); }});
    v.push_back({n + "Int16PotScales", [op](Rng& r) { return Binary(r, op, true, true, 0); }});
    v.push_back({n + "Int16ZeroPointRefused", [op](Rng& r) { return Binary(r, op, false, false, 3); }, true});
  }
  v.push_back({"MulInt16", [](Rng& r) { return Binary(r, Op::MUL, false, false, 0); }});
  v.push_back({"MulInt16ZeroPointRefused", [](Rng& r) { return Binary(r, Op::MUL, false, false, -2); }, true});
  v.push_back({"AveragePoolInt16", [](Rng& r) { return Pool(r, false, 0); }});
  v.push_back({"MaxPoolInt16", [](Rng& r) { return Pool(r, true, 0); }});
  // TFLite 2.9 checks no zero point on int16 pooling (they only move the activation clamp).
  v.push_back({"AveragePoolInt16ZeroPoint", [](Rng& r) { return Pool(r, false, 5); }});
  v.push_back({"MaxPoolInt16ZeroPoint", [](Rng& r) { return Pool(r, true, -7); }});
  v.push_back({"SoftmaxInt16", [](Rng& r) { return Softmax(r, 1.0f / 32768); }});
  v.push_back({"SoftmaxInt16OutputScaleRefused", [](Rng& r) { return Softmax(r, 1.0f / 256); }, true});
  for (Op op : {Op::LOGISTIC, Op::TANH}) {
    const std::string n = op == Op::LOGISTIC ? "Logistic" : "Tanh";
    v.push_back({n + "Int16", [op](Rng& r) { return Smooth(r, op, 0); }});
    for (int e : {-13, -12, -11, -10, -8})
      v.push_back({n + "Int16Pot" + std::to_string(-e), [op, e](Rng& r) { return Smooth(r, op, e); }});
    v.push_back({n + "Int16OutputScaleRefused",
                 [op](Rng& r) { return Smooth(r, op, 0, 1.0f / 16384); }, true});
  }
  for (Op op : {Op::RESHAPE, Op::SQUEEZE, Op::EXPAND_DIMS, Op::TRANSPOSE, Op::STRIDED_SLICE})
    v.push_back({std::string(tfl::EnumNameBuiltinOperator(op)) + "_Int16",
                 [op](Rng& r) { return Movement(r, op); }});
  v.push_back({"ConcatInt16SameScales", [](Rng& r) { return Concat(r, true, 0); }});
  v.push_back({"ConcatInt16OtherScales", [](Rng& r) { return Concat(r, false, 0); }});
  v.push_back({"ConcatInt16ZeroPointRefused", [](Rng& r) { return Concat(r, true, 1); }, true});
  v.push_back({"MeanInt16Spatial", [](Rng& r) { return Mean(r, true); }});
  v.push_back({"MeanInt16OtherAxes", [](Rng& r) { return Mean(r, false); }});
  for (Op op : {Op::RELU, Op::RELU6, Op::LEAKY_RELU})
    v.push_back({std::string(tfl::EnumNameBuiltinOperator(op)) + "_Int16",
                 [op](Rng& r) { return Activation(r, op, 0); }});
  // TFLite 2.9 has no int16 RELU_N1_TO_1, HARD_SWISH or ELU.
  for (Op op : {Op::RELU_N1_TO_1, Op::HARD_SWISH, Op::ELU})
    v.push_back({std::string(tfl::EnumNameBuiltinOperator(op)) + "_Int16Refused",
                 [op](Rng& r) { return Activation(r, op, 0); }, true});
  v.push_back({"ReluInt16ZeroPointRefused", [](Rng& r) { return Activation(r, Op::RELU, 4); }, true});
  v.push_back({"LeakyReluInt16ZeroPointRefused", [](Rng& r) { return Activation(r, Op::LEAKY_RELU, 4); }, true});
  v.push_back({"ResizeNearestInt16", [](Rng& r) { return Resize(r, false); }});
  v.push_back({"ResizeBilinearInt16", [](Rng& r) { return Resize(r, true); }});
  v.push_back({"PadInt16", [](Rng& r) { return Pad(r, false); }});
  v.push_back({"PadV2Int16", [](Rng& r) { return Pad(r, true); }});
  const std::pair<T, T> pairs[] = {{T::INT8, T::INT16}, {T::INT16, T::INT8}, {T::INT16, T::INT16},
                                   {T::UINT8, T::INT16}, {T::INT16, T::UINT8}};
  for (auto [from, to] : pairs) {
    // TFLite 2.9 refuses int8/uint8 -> int16 and int16 -> uint8.
    const bool refused = from != T::INT16 || to == T::UINT8;
    v.push_back({std::string("Quantize_") + tfl::EnumNameTensorType(from) + "_" +
                     tfl::EnumNameTensorType(to) + (refused ? "_Refused" : ""),
                 [from, to](Rng& r) { return Requantize(r, from, to); }, refused});
  }
  v.push_back({"Quantize_INT16_INT16_ZeroPoint",
               [](Rng& r) { return Requantize(r, T::INT16, T::INT16, 5); }, true});
  v.push_back({"Quantize_INT16_INT8_ZeroPoint",
               [](Rng& r) { return Requantize(r, T::INT16, T::INT8, 5); }});
  // 16x8 conv family; TFLite 2.9's DEPTHWISE_CONV_2D takes only an int64 bias.
  for (Op op : {Op::CONV_2D, Op::DEPTHWISE_CONV_2D, Op::FULLY_CONNECTED})
    for (bool b64 : {true, false})
      for (bool ties : {false, true}) {
        const bool refused = op == Op::DEPTHWISE_CONV_2D && !b64;
        v.push_back({std::string(tfl::EnumNameBuiltinOperator(op)) +
                         (b64 ? "_16x8_Int64Bias" : "_16x8_Int32Bias") + (ties ? "Ties" : "") +
                         (refused ? "Refused" : ""),
                     [op, b64, ties](Rng& r) { return Conv16x8(r, op, b64, ties); }, refused});
      }
  v.push_back({"HybridDepthwisePerChannel", [](Rng& r) { return HybridDepthwise(r, true); }});
  // TFLite 2.9 requires one filter scale per output channel for hybrid DEPTHWISE_CONV_2D.
  v.push_back({"HybridDepthwisePerTensorRefused", [](Rng& r) { return HybridDepthwise(r, false); }, true});
  v.push_back({"HybridFullyConnectedPerChannel", [](Rng& r) { return HybridFullyConnected(r, true); }});
  v.push_back({"HybridFullyConnectedPerTensor", [](Rng& r) { return HybridFullyConnected(r, false); }});
  return v;
}

class Int16Diff : public ::testing::TestWithParam<NamedCase> {};

TEST_P(Int16Diff, MatchesTflite29) {
  const NamedCase& nc = GetParam();
  // tflite-wasm is compared with the library under RUY_PATHS=1 (ruy's portable kernels, the
  // WebAssembly build's GEMM arithmetic); only the hybrid FULLY_CONNECTED goes through ruy, every
  // other op here has one arithmetic in both builds.
  for (rt::Profile profile : {rt::Profile::kTfliteX86, rt::Profile::kTfliteWasm}) {
    int identical = 0, refused = 0;
    std::string first;
    for (int s = 0; s < kSeeds; ++s) {
      Rng rng(kSeedBase + 101u * static_cast<uint32_t>(s));
      const OpCase c = nc.make(rng);
      const Outcome o = RunBoth(c, kSeedBase + static_cast<uint32_t>(s), profile);
      std::string problem;
      if (nc.tflite_refuses) {
        if (o.genuine_ok) problem = "TFLite accepted the case";
        else if (o.ours_ok) problem = "quantlens accepted what TFLite refuses: " + o.genuine_error;
        else ++refused;
      } else if (!o.genuine_ok) {
        problem = "TFLite refused: " + o.genuine_error +
                  (o.ours_ok ? " (quantlens accepted)" : " (quantlens too: " + o.ours_error + ")");
      } else if (!o.ours_ok) {
        problem = "quantlens refused: " + o.ours_error;
      } else if (!o.diff.empty()) {
        problem = o.diff;
      } else {
        ++identical;
      }
      if (!problem.empty() && first.empty()) first = fmt::format("seed {}: {}", s, problem);
    }
    const int good = nc.tflite_refuses ? refused : identical;
    std::printf("[int16-diff] %-36s %-11s %2d/%d %s\n", nc.name.c_str(),
                std::string(rt::ProfileName(profile)).c_str(), good, kSeeds,
                nc.tflite_refuses ? "refused by both" : "identical");
    EXPECT_EQ(good, kSeeds) << nc.name << " under " << rt::ProfileName(profile) << ": " << first;
  }
}

INSTANTIATE_TEST_SUITE_P(Ops, Int16Diff, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<NamedCase>& info) { return info.param.name; });

// TFLite 2.9 aborts the process on some int16 broadcasts: ADD on the power-of-two path (any
// broadcast), ADD and MUL beyond 4 dimensions, SUB on the power-of-two path beyond 5.
// quantlens refuses those models instead. The genuine library runs in a death-test child.
TEST(Int16DiffDeathTest, BroadcastsThatAbortTfliteAreRefused) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  struct Case {
    tfl::BuiltinOperator op;
    bool pot;
    std::vector<int32_t> a_shape;
  };
  const Case cases[] = {{tfl::BuiltinOperator::ADD, true, {2, 3}},
                        {tfl::BuiltinOperator::ADD, false, {2, 1, 2, 2, 3}},
                        {tfl::BuiltinOperator::SUB, true, {2, 1, 1, 2, 2, 3}},
                        {tfl::BuiltinOperator::MUL, false, {2, 1, 2, 2, 3}}};
  for (const Case& k : cases) {
    SCOPED_TRACE(fmt::format("{} pot {} rank {}", tfl::EnumNameBuiltinOperator(k.op), k.pot,
                             k.a_shape.size()));
    OpCase c;
    c.op = k.op;
    const float s = 1.0f / 1024;
    c.inputs = {c.Add(I16("a", k.a_shape, s)), c.Add(I16("b", {3}, s))};
    c.outputs = {c.Add(I16("y", k.a_shape, s))};
    const auto none = tfl::ActivationFunctionType::NONE;
    if (k.op == tfl::BuiltinOperator::MUL) {
      c.options_type = tfl::BuiltinOptions::MulOptions;
      c.options = [](flatbuffers::FlatBufferBuilder& b) { return tfl::CreateMulOptions(b).Union(); };
    } else {
      const bool add = k.op == tfl::BuiltinOperator::ADD;
      c.options_type = add ? tfl::BuiltinOptions::AddOptions : tfl::BuiltinOptions::SubOptions;
      c.options = add ? AddOpts(none, k.pot) : SubOpts(none, k.pot);
    }
    const Bytes bytes = BuildModel(c);
    EXPECT_DEATH(
        {
          testing::GenuineTflite g;
          g.Init(bytes);
        },
        "");
    auto graph = ql::tflite::ReadTfliteBuffer(bytes, "case.tflite");
    ASSERT_TRUE(graph.ok()) << graph.status().message();
    auto interp = rt::Interpreter::Create(*graph);
    ASSERT_FALSE(interp.ok());
    EXPECT_NE(interp.status().message().find("aborts"), std::string::npos)
        << interp.status().message();
  }
}

}  // namespace
}  // namespace ql
