// Every optimized kernel variant in the registry against the reference kernel: random shapes,
// strides, paddings, dilations, channel counts that are not multiples of the vector width, zero
// points at the extremes, per-channel and per-tensor weights, every numerics profile. Integer
// outputs must be identical byte for byte; a failure names the case, the first differing index
// and both values.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "quantlens/kernels/requant_avx2.h"
#include "testing/single_op.h"
#include "quantlens/runtime/interpreter.h"
#include "quantlens/runtime/registry.h"

namespace ql {
namespace {

struct ConvCase {
  ir::OpType op = ir::OpType::kCONV_2D;
  int depth_multiplier = 1;  // DEPTHWISE_CONV_2D: out_c = in_c * depth_multiplier
  ir::DType type;
  int batch, in_h, in_w, in_c, out_c, kh, kw, stride, dilation;
  ir::Padding padding;
  ir::Activation activation;
  bool per_channel;
  int32_t in_zp, out_zp;
  rt::OpNumerics numerics;
  std::string Describe() const {
    return fmt::format("{} dm {} {} in [{},{},{},{}] out_c {} kernel {}x{} stride {} dilation {} {} act {} {} zp in {} out {} {}",
                       ir::OpTypeName(op), depth_multiplier, ir::DTypeName(type), batch, in_h, in_w, in_c, out_c, kh, kw, stride, dilation,
                       padding == ir::Padding::kSame ? "SAME" : "VALID", static_cast<int>(activation),
                       per_channel ? "per-channel" : "per-tensor", in_zp, out_zp,
                       rt::OpNumericsName(numerics));
  }
};

template <typename T>
std::vector<uint8_t> Bytes(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// A one-op CONV_2D graph for `c` with random data from `rng`; returns the input bytes too.
ir::Graph ConvGraph(const ConvCase& c, std::mt19937& rng, std::vector<uint8_t>* input) {
  ir::Graph g;
  g.source_path = "variant_test";
  const bool u8 = c.type == ir::DType::kUInt8;
  const bool f32 = c.type == ir::DType::kFloat32;
  auto tensor = [&](std::string name, ir::DType dt, ir::Shape shape, ir::Quantization q) {
    ir::Tensor t;
    t.name = std::move(name);
    t.dtype = dt;
    t.shape = std::move(shape);
    t.quant = std::move(q);
    g.tensors.push_back(std::move(t));
    return static_cast<int>(g.tensors.size()) - 1;
  };
  std::uniform_real_distribution<float> scale(0.002f, 0.05f);
  ir::Quantization qi{{scale(rng)}, {c.in_zp}, 0}, qo{{scale(rng) * 4}, {c.out_zp}, 0}, qw;
  const int nscales = c.per_channel ? c.out_c : 1;
  for (int i = 0; i < nscales; ++i) {
    qw.scale.push_back(scale(rng) / 4);
    qw.zero_point.push_back(u8 ? 128 + static_cast<int>(rng() % 5) - 2 : 0);
  }
  const bool dw = c.op == ir::OpType::kDEPTHWISE_CONV_2D;
  qw.axis = dw ? 3 : 0;
  ir::Quantization qb;
  for (int i = 0; i < nscales; ++i) {
    qb.scale.push_back(qi.scale[0] * qw.scale[static_cast<size_t>(i)]);
    qb.zero_point.push_back(0);
  }
  if (f32) qi = qo = qw = qb = {};
  const int in = tensor("in", c.type, {c.batch, c.in_h, c.in_w, c.in_c}, qi);
  const int w = dw ? tensor("w", c.type, {1, c.kh, c.kw, c.out_c}, qw)
                   : tensor("w", c.type, {c.out_c, c.kh, c.kw, c.in_c}, qw);
  const int b = tensor("b", f32 ? ir::DType::kFloat32 : ir::DType::kInt32, {c.out_c}, qb);
  const int out = tensor("out", c.type, {}, qo);
  const size_t nw = static_cast<size_t>(c.out_c) * c.kh * c.kw * (dw ? 1 : c.in_c);
  const size_t nin = static_cast<size_t>(c.batch) * c.in_h * c.in_w * c.in_c;
  std::uniform_real_distribution<float> value(-2.f, 2.f);
  if (f32) {
    std::vector<float> wf(nw), bf(static_cast<size_t>(c.out_c)), xf(nin);
    for (auto& x : wf) x = value(rng);
    for (auto& x : bf) x = value(rng);
    for (auto& x : xf) x = value(rng);
    g.tensors[w].data = Bytes(wf);
    g.tensors[b].data = Bytes(bf);
    *input = Bytes(xf);
  } else {
    std::vector<uint8_t> wdata(nw);
    for (auto& x : wdata) x = static_cast<uint8_t>(rng());
    g.tensors[w].data = wdata;
    std::vector<int32_t> bias(static_cast<size_t>(c.out_c));
    for (auto& x : bias) x = static_cast<int32_t>(rng() % 20001) - 10000;
    g.tensors[b].data = Bytes(bias);
    input->resize(nin);
    for (auto& x : *input) x = static_cast<uint8_t>(rng());
  }
  g.tensors[w].is_constant = true;
  g.tensors[b].is_constant = true;
  ir::Op op;
  op.type = c.op;
  op.inputs = {in, w, b};
  op.outputs = {out};
  ir::ConvAttrs a;
  a.padding = c.padding;
  a.stride_h = a.stride_w = c.stride;
  a.dilation_h = a.dilation_w = c.dilation;
  a.activation = c.activation;
  a.depth_multiplier = c.depth_multiplier;
  op.attrs = a;
  g.ops = {op};
  g.inputs = {in};
  g.outputs = {out};
  return g;
}

Result<std::vector<uint8_t>> RunConv(const ir::Graph& g, const std::vector<uint8_t>& input, bool reference,
                                     rt::OpNumerics numerics, std::string* kernel, int threads = 1) {
  rt::InterpreterOptions o;
  o.reference_kernels = reference;
  o.threads = threads;
  o.profile = numerics == rt::OpNumerics::kBuiltinWasm ? rt::Profile::kTfliteWasm : rt::Profile::kTfliteX86;
  QL_ASSIGN_OR_RETURN(auto interp, rt::Interpreter::Create(g, o));
  QL_RETURN_IF_ERROR(interp->SetInput(0, input.data(), input.size()));
  QL_RETURN_IF_ERROR(interp->Invoke());
  *kernel = interp->kernel_name(0);
  const auto* p = static_cast<const uint8_t*>(interp->output(0).data);
  return std::vector<uint8_t>(p, p + interp->output(0).bytes());
}

// A random case of `op`: small shapes mostly, one in eight with more output pixels than one
// GEMM tile or a long reduction; zero points at the extremes; every profile.
ConvCase RandomCase(ir::OpType op, std::mt19937& rng) {
  ConvCase c;
  c.op = op;
  const bool dw = op == ir::OpType::kDEPTHWISE_CONV_2D;
  // Float outputs too must be the reference's bits: the CONV_2D variant keeps DotFloat's order.
  const ir::DType types[] = {ir::DType::kInt8, ir::DType::kInt8, ir::DType::kUInt8, ir::DType::kFloat32};
  c.type = types[rng() % 4];
  c.batch = 1 + static_cast<int>(rng() % 2);
  c.in_h = 1 + static_cast<int>(rng() % 11);
  c.in_w = 1 + static_cast<int>(rng() % 11);
  c.in_c = 1 + static_cast<int>(rng() % 37);
  c.out_c = 1 + static_cast<int>(rng() % 33);
  if (rng() % 8 == 0) {
    c.in_h = 16 + static_cast<int>(rng() % 25);
    c.in_w = 16 + static_cast<int>(rng() % 25);
  } else if (rng() % 8 == 0) {
    c.in_c = dw ? 40 + static_cast<int>(rng() % 60) : 100 + static_cast<int>(rng() % 400);
  }
  if (dw) {
    c.depth_multiplier = rng() % 4 == 0 ? 2 : 1;
    c.out_c = c.in_c * c.depth_multiplier;
  }
  c.kh = 1 + static_cast<int>(rng() % (dw ? 5 : 4));
  c.kw = 1 + static_cast<int>(rng() % (dw ? 5 : 4));
  c.stride = 1 + static_cast<int>(rng() % 3);
  c.dilation = 1 + static_cast<int>(rng() % 2);
  c.padding = rng() % 2 ? ir::Padding::kSame : ir::Padding::kValid;
  const ir::Activation acts[] = {ir::Activation::kNone, ir::Activation::kRelu, ir::Activation::kRelu6};
  c.activation = acts[rng() % 3];
  c.per_channel = c.type == ir::DType::kInt8 && rng() % 2;
  const bool u8 = c.type == ir::DType::kUInt8 || c.type == ir::DType::kFloat32;
  const int32_t lo = u8 ? 0 : -128, hi = u8 ? 255 : 127;
  const int32_t zps[] = {lo, hi, u8 ? 128 : 0, lo + static_cast<int32_t>(rng() % 256)};
  c.in_zp = zps[rng() % 4];
  c.out_zp = zps[rng() % 4];
  c.numerics = rng() % 2 ? rt::OpNumerics::kBuiltinWasm : rt::OpNumerics::kBuiltinX86;
  return c;
}

// Runs `cases` random cases of `op` through the reference and the selected variant; returns how
// many were checked (cases whose VALID window does not fit are skipped) and the float ones.
void CheckVariant(ir::OpType op, uint32_t seed, int cases, int* checked, int* float_cases) {
  const auto& variants = rt::KernelRegistry::Global().Variants(op);
  ASSERT_FALSE(variants.empty()) << "no " << ir::OpTypeName(op) << " variant registered";
  std::mt19937 rng(seed);
  for (int n = 0; n < cases; ++n) {
    const ConvCase c = RandomCase(op, rng);
    const int eff_h = (c.kh - 1) * c.dilation + 1, eff_w = (c.kw - 1) * c.dilation + 1;
    if (c.padding == ir::Padding::kValid && (eff_h > c.in_h || eff_w > c.in_w)) continue;
    std::vector<uint8_t> input;
    const ir::Graph g = ConvGraph(c, rng, &input);
    std::string ref_kernel, opt_kernel;
    auto want = RunConv(g, input, /*reference=*/true, c.numerics, &ref_kernel);
    ASSERT_TRUE(want.ok()) << c.Describe() << ": " << want.status().message();
    auto got = RunConv(g, input, /*reference=*/false, c.numerics, &opt_kernel);
    ASSERT_TRUE(got.ok()) << c.Describe() << ": " << got.status().message();
    EXPECT_EQ(ref_kernel, "reference");
    ASSERT_NE(opt_kernel, "reference") << c.Describe() << ": no variant was selected";
    ASSERT_EQ(got->size(), want->size()) << c.Describe();
    for (size_t i = 0; i < got->size(); ++i)
      ASSERT_EQ((*got)[i], (*want)[i]) << opt_kernel << " differs from the reference at output byte " << i
                                       << " of " << got->size() << ": " << c.Describe();
    // Split over threads (one case in four, 2 or 3 threads): the same bytes.
    if (n % 4 == 0) {
      const int threads = 2 + n % 8 / 4;
      auto split = RunConv(g, input, /*reference=*/false, c.numerics, &opt_kernel, threads);
      ASSERT_TRUE(split.ok()) << c.Describe() << ": " << split.status().message();
      ASSERT_TRUE(*split == *want) << opt_kernel << " at " << threads << " threads differs from 1 thread: "
                                   << c.Describe();
    }
    ++*checked;
    *float_cases += c.type == ir::DType::kFloat32;
  }
}

TEST(KernelVariants, ConvVariantsMatchTheReferenceByteForByte) {
  if (!rt::HostCpuFeatures().avx2) GTEST_SKIP() << "this CPU has no AVX2: the AVX2 variant cannot run here";
  int checked = 0, float_cases = 0;
  CheckVariant(ir::OpType::kCONV_2D, 20261203, 400, &checked, &float_cases);
  EXPECT_GE(checked, 200);
  EXPECT_GE(float_cases, 40);
}

TEST(KernelVariants, DepthwiseVariantsMatchTheReferenceByteForByte) {
  if (!rt::HostCpuFeatures().avx2) GTEST_SKIP() << "this CPU has no AVX2: the AVX2 variant cannot run here";
  int checked = 0, float_cases = 0;
  CheckVariant(ir::OpType::kDEPTHWISE_CONV_2D, 20261204, 400, &checked, &float_cases);
  EXPECT_GE(checked, 200);
  EXPECT_GE(float_cases, 40);
}

// ADD and SUB variants on 8-bit operands: equal shapes of every length (the vector loop and its
// scalar tail), broadcasts (the reference path inside the variant), random scales and zero points
// at the extremes, fused clamps.
TEST(KernelVariants, AddSubVariantsMatchTheReferenceByteForByte) {
  if (!rt::HostCpuFeatures().avx2) GTEST_SKIP() << "this CPU has no AVX2";
  std::mt19937 rng(99);
  std::uniform_real_distribution<float> scale(0.001f, 0.2f);
  int checked = 0;
  for (ir::OpType type : {ir::OpType::kADD, ir::OpType::kSUB}) {
    const auto& variants = rt::KernelRegistry::Global().Variants(type);
    ASSERT_FALSE(variants.empty());
    for (int n = 0; n < 300; ++n) {
      const bool u8 = rng() % 2;
      const ir::DType dt = u8 ? ir::DType::kUInt8 : ir::DType::kInt8;
      const int32_t lo = u8 ? 0 : -128;
      auto zp = [&] {
        const int32_t choices[] = {lo, lo + 255, lo + 128, lo + static_cast<int32_t>(rng() % 256)};
        return choices[rng() % 4];
      };
      const int64_t len = 1 + static_cast<int64_t>(rng() % 100);
      const bool broadcast = rng() % 5 == 0;
      const ir::Shape sa = {1, 2, len}, sb = broadcast ? ir::Shape{1, 1, len} : sa;
      std::vector<uint8_t> a(static_cast<size_t>(2 * len)), b(static_cast<size_t>(broadcast ? len : 2 * len));
      for (auto& v : a) v = static_cast<uint8_t>(rng());
      for (auto& v : b) v = static_cast<uint8_t>(rng());
      const float s1 = scale(rng), s2 = rng() % 3 ? scale(rng) : s1, so = scale(rng) * 2;
      const int32_t z1 = zp(), z2 = zp(), zo = zp();
      const ir::Activation acts[] = {ir::Activation::kNone, ir::Activation::kRelu, ir::Activation::kRelu6};
      ir::BinaryAttrs attrs;
      attrs.activation = acts[rng() % 3];
      auto run = [&](rt::KernelFactory f, std::vector<uint8_t>* out) {
        testing::SingleOp op(type, attrs);
        op.AddInput<uint8_t>(dt, sa, a, testing::Quant(s1, z1));
        op.AddInput<uint8_t>(dt, sb, b, testing::Quant(s2, z2));
        op.AddOutput(dt, testing::Quant(so, zo));
        const Status st = op.Run(rt::OpNumerics::kBuiltinX86, f);
        if (st.ok()) *out = op.Output<uint8_t>();
        return st;
      };
      std::vector<uint8_t> want, got;
      const Status sw = run(nullptr, &want);
      const Status sg = run(variants[0].factory, &got);
      ASSERT_EQ(sw.ok(), sg.ok()) << sw.message() << " / " << sg.message();
      if (!sw.ok()) continue;
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_EQ(got[i], want[i]) << variants[0].name << " differs at element " << i << " of " << got.size()
                                   << ": " << ir::DTypeName(dt) << " scales " << s1 << " " << s2 << " " << so
                                   << " zero points " << z1 << " " << z2 << " " << zo;
      ++checked;
    }
  }
  EXPECT_GE(checked, 400);
}

// FULLY_CONNECTED variants: batches of rows, depths odd and even, unit counts that are not
// multiples of the vector width, weight zero points (uint8), every profile.
TEST(KernelVariants, FullyConnectedVariantsMatchTheReferenceByteForByte) {
  if (!rt::HostCpuFeatures().avx2) GTEST_SKIP() << "this CPU has no AVX2";
  const auto& variants = rt::KernelRegistry::Global().Variants(ir::OpType::kFULLY_CONNECTED);
  ASSERT_FALSE(variants.empty());
  std::mt19937 rng(4242);
  std::uniform_real_distribution<float> scale(0.002f, 0.05f);
  int checked = 0;
  for (int n = 0; n < 200; ++n) {
    const bool u8 = rng() % 2;
    const ir::DType dt = u8 ? ir::DType::kUInt8 : ir::DType::kInt8;
    const int batch = 1 + static_cast<int>(rng() % 9), depth = 1 + static_cast<int>(rng() % 300);
    const int units = 1 + static_cast<int>(rng() % 70);
    const int32_t lo = u8 ? 0 : -128;
    const int32_t zi = lo + static_cast<int32_t>(rng() % 256), zo = lo + static_cast<int32_t>(rng() % 256);
    const int32_t zw = u8 ? 100 + static_cast<int32_t>(rng() % 56) : 0;
    std::vector<uint8_t> x(static_cast<size_t>(batch * depth)), w(static_cast<size_t>(units * depth));
    for (auto& v : x) v = static_cast<uint8_t>(rng());
    for (auto& v : w) v = static_cast<uint8_t>(rng());
    std::vector<int32_t> bias(static_cast<size_t>(units));
    for (auto& v : bias) v = static_cast<int32_t>(rng() % 40001) - 20000;
    const float si = scale(rng), sw = scale(rng) / 4, so = scale(rng) * 4;
    const rt::OpNumerics numerics = rng() % 2 ? rt::OpNumerics::kBuiltinWasm : rt::OpNumerics::kBuiltinX86;
    ir::FullyConnectedAttrs attrs;
    attrs.activation = rng() % 2 ? ir::Activation::kRelu : ir::Activation::kNone;
    auto run = [&](rt::KernelFactory f, std::vector<uint8_t>* out) {
      testing::SingleOp op(ir::OpType::kFULLY_CONNECTED, attrs);
      op.AddInput<uint8_t>(dt, {batch, depth}, x, testing::Quant(si, zi));
      op.AddInput<uint8_t>(dt, {units, depth}, w, testing::Quant(sw, zw), /*constant=*/true);
      op.AddInput<int32_t>(ir::DType::kInt32, {units}, bias, testing::Quant(si * sw, 0), /*constant=*/true);
      op.AddOutput(dt, testing::Quant(so, zo));
      const Status st = op.Run(numerics, f);
      if (st.ok()) *out = op.Output<uint8_t>();
      return st;
    };
    std::vector<uint8_t> want, got;
    const Status sw_ = run(nullptr, &want);
    ASSERT_TRUE(sw_.ok()) << sw_.message();
    const Status sg = run(variants[0].factory, &got);
    ASSERT_TRUE(sg.ok()) << sg.message();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], want[i]) << variants[0].name << " differs at element " << i << ": "
                                 << ir::DTypeName(dt) << " batch " << batch << " depth " << depth
                                 << " units " << units << " " << rt::OpNumericsName(numerics);
    ++checked;
  }
  EXPECT_EQ(checked, 200);
}

// The vector requantization against the scalar one it reproduces, lane for lane, on random and
// extreme accumulators and every multiplier shape QuantizeMultiplier gives.
QL_AVX2 void RequantizeEight(kern::Rounding r, const int32_t* x, const kern::RequantTable& t, int32_t* out) {
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x));
  const kern::Requant8 q = kern::LoadRequant8(t, 0);
  __m256i y;
  switch (r) {
    case kern::Rounding::kDouble: y = kern::Requant8Lanes<kern::Rounding::kDouble>(v, q); break;
    case kern::Rounding::kRuyX86: y = kern::Requant8Lanes<kern::Rounding::kRuyX86>(v, q); break;
    default: y = kern::Requant8Lanes<kern::Rounding::kSingle>(v, q); break;
  }
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), y);
}

TEST(KernelVariants, VectorRequantizationMatchesTheScalarArithmetic) {
  if (!rt::HostCpuFeatures().avx2) GTEST_SKIP() << "this CPU has no AVX2";
  std::mt19937 rng(7);
  const int32_t extremes[] = {INT32_MIN, INT32_MIN + 1, -65536, -1, 0, 1, 65535, INT32_MAX - 1, INT32_MAX};
  std::uniform_real_distribution<double> exponent(-31.0, 1.0);
  int64_t checked = 0;
  for (int n = 0; n < 20000; ++n) {
    std::vector<kern::QuantizedMultiplier> m(8);
    for (auto& q : m) {
      q = kern::QuantizeMultiplier(std::pow(2.0, exponent(rng)));
      if (rng() % 16 == 0) q.multiplier = rng() % 2 ? INT32_MAX : (1 << 30);  // extreme mantissas
    }
    if (!kern::RequantTableVectorizable(m)) continue;
    const kern::RequantTable t = kern::MakeRequantTable(m, 8);
    int32_t x[8], got[8];
    for (int32_t& v : x) {
      const int kind = static_cast<int>(rng() % 4);
      v = kind == 0 ? extremes[rng() % 9]
          : kind == 1 ? static_cast<int32_t>(rng())
                      : static_cast<int32_t>(rng() % 200001) - 100000;
      // Ties of the right shift: multiples of half a step.
      if (kind == 3) v = static_cast<int32_t>((static_cast<int32_t>(rng() % 2001) - 1000) * 64 + 32);
    }
    for (kern::Rounding r : {kern::Rounding::kDouble, kern::Rounding::kRuyX86, kern::Rounding::kSingle}) {
      RequantizeEight(r, x, t, got);
      for (int i = 0; i < 8; ++i) {
        const int32_t want = kern::MultiplyByQuantizedMultiplier(x[i], m[i], r);
        ASSERT_EQ(got[i], want) << "rounding " << static_cast<int>(r) << " x " << x[i] << " M "
                                << m[i].multiplier << " shift " << m[i].shift;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 400000);
}

// --reference-kernels selects the reference for every op, whatever the CPU.
TEST(KernelVariants, ReferenceOnlySelectionNeverPicksAVariant) {
  rt::KernelSelection s;
  s.reference_only = true;
  ir::Graph g;
  ir::Tensor t;
  t.dtype = ir::DType::kInt8;
  g.tensors = {t};
  ir::Op op;
  op.type = ir::OpType::kCONV_2D;
  op.inputs = {0};
  std::string chosen;
  EXPECT_NE(rt::KernelRegistry::Global().Select(g, op, rt::OpNumerics::kBuiltinX86, s, &chosen), nullptr);
  EXPECT_EQ(chosen, "reference");
  // A CPU without AVX2 gets the reference too.
  s.reference_only = false;
  s.cpu = rt::CpuFeatures{};
  rt::KernelRegistry::Global().Select(g, op, rt::OpNumerics::kBuiltinX86, s, &chosen);
  EXPECT_EQ(chosen, "reference");
  // A 16x8 conv is not what the AVX2 variant is for.
  s.cpu.avx2 = true;
  g.tensors[0].dtype = ir::DType::kInt16;
  rt::KernelRegistry::Global().Select(g, op, rt::OpNumerics::kBuiltinX86, s, &chosen);
  EXPECT_EQ(chosen, "reference");
}

}  // namespace
}  // namespace ql
