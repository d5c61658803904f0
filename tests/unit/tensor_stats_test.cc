// The per-layer statistics of `compare` and the float simulation's rounding, on values worked out
// by hand: clipping against the grid's range, saturation (the lowest level counts only when it
// stands for a negative value), range utilization, the per-channel offset share, the border share.
#include "quantlens/analysis/tensor_stats.h"

#include <cmath>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "quantlens/passes/float_simulation.h"

namespace ql {
namespace {

ir::Tensor Int8Grid(float scale, int64_t zero_point) {
  ir::Tensor t;
  t.dtype = ir::DType::kInt8;
  t.quant.scale = {scale};
  t.quant.zero_point = {zero_point};
  return t;
}

TEST(TensorStats, ClippingSaturationAndRange) {
  // Grid: scale 0.1, zero point 0: range [-12.8, 12.7].
  analysis::TensorStatsAccumulator acc(Int8Grid(0.1f, 0));
  const std::vector<float> ref = {0.0f, 1.0f, 20.0f, -20.0f};
  const std::vector<float> cand = {0.0f, 1.0f, 12.7f, -12.8f};  // the last two clipped and saturated
  acc.Add(ref, cand, {1, 4});
  const analysis::TensorStats s = acc.Finish();
  EXPECT_EQ(s.count, 4);
  ASSERT_TRUE(s.clipped_share && s.saturated_share && s.range_utilization && s.rmse_over_step);
  EXPECT_DOUBLE_EQ(*s.clipped_share, 0.5);
  EXPECT_DOUBLE_EQ(*s.saturated_share, 0.5);
  EXPECT_DOUBLE_EQ(*s.range_utilization, 1.0);  // -128 .. 127 used
  EXPECT_NEAR(s.clipped_error_share, 1.0, 1e-12);  // all the error is on clipped values
  EXPECT_NEAR(s.range_lo, -12.8, 1e-6);
  EXPECT_NEAR(s.range_hi, 12.7, 1e-6);
  EXPECT_NEAR(s.max_abs, 7.3, 1e-5);
}

TEST(TensorStats, TheZeroPointOfAReluGridIsNotSaturation) {
  // After a ReLU the zero point is -128: zeros land on the lowest level legitimately.
  analysis::TensorStatsAccumulator acc(Int8Grid(0.05f, -128));
  const std::vector<float> v = {0.0f, 0.0f, 0.0f, 1.0f};
  acc.Add(v, v, {1, 4});
  const analysis::TensorStats s = acc.Finish();
  EXPECT_DOUBLE_EQ(*s.saturated_share, 0.0);
  EXPECT_TRUE(std::isinf(s.sqnr_db));
  EXPECT_EQ(s.mse, 0.0);
}

TEST(TensorStats, ChannelOffsetAndBorderShares) {
  // [1, 3, 3, 2]: channel 0 off by +1 everywhere, channel 1 exact.
  ir::Tensor f;
  f.dtype = ir::DType::kFloat32;
  analysis::TensorStatsAccumulator acc(f);
  std::vector<float> ref(18), cand(18);
  for (size_t i = 0; i < 18; ++i) {
    ref[i] = static_cast<float>(i);
    cand[i] = ref[i] + (i % 2 == 0 ? 1.0f : 0.0f);
  }
  acc.Add(ref, cand, {1, 3, 3, 2});
  analysis::TensorStats s = acc.Finish();
  EXPECT_NEAR(s.channel_bias_share, 1.0, 1e-12);
  EXPECT_FALSE(s.rmse_over_step.has_value());  // float: no grid
  ASSERT_TRUE(s.border_error_share.has_value());
  EXPECT_NEAR(s.border_fraction, 8.0 / 9.0, 1e-12);  // every pixel but the centre
  EXPECT_NEAR(*s.border_error_share, 8.0 / 9.0, 1e-12);
  // Error only at the centre pixel: none on the border.
  analysis::TensorStatsAccumulator centre(f);
  std::vector<float> c2 = ref;
  c2[8] += 3.0f;  // pixel (1, 1), channel 0
  centre.Add(ref, c2, {1, 3, 3, 2});
  EXPECT_NEAR(*centre.Finish().border_error_share, 0.0, 1e-12);
}

TEST(TensorStats, NonFiniteCandidateValuesAreCountedNotSummed) {
  ir::Tensor f;
  f.dtype = ir::DType::kFloat32;
  analysis::TensorStatsAccumulator acc(f);
  const std::vector<float> ref = {1.0f, 2.0f, 70000.0f};
  const std::vector<float> cand = {1.0f, INFINITY, 70000.0f};
  acc.Add(ref, cand, {1, 3});
  const analysis::TensorStats s = acc.Finish();
  EXPECT_EQ(s.nonfinite, 1);
  EXPECT_EQ(s.count, 2);
  EXPECT_EQ(s.beyond_float16, 1);
  EXPECT_TRUE(std::isfinite(s.mse));
}

TEST(TensorStats, HistogramCoversBothSides) {
  ir::Tensor f;
  f.dtype = ir::DType::kFloat32;
  analysis::TensorStatsAccumulator acc(f, /*keep=*/100);
  std::vector<float> ref(1000), cand(1000);
  for (size_t i = 0; i < ref.size(); ++i) {
    ref[i] = static_cast<float>(i % 10);
    cand[i] = ref[i] + 0.5f;
  }
  acc.Add(ref, cand, {1, 1000});
  EXPECT_EQ(acc.kept_reference().size(), 100u);
  const analysis::Histogram h = acc.MakeHistogram(10);
  ASSERT_EQ(h.edges.size(), 11u);
  int64_t nr = 0, nc = 0;
  for (size_t b = 0; b < 10; ++b) {
    nr += h.reference[b];
    nc += h.candidate[b];
  }
  EXPECT_EQ(nr, 100);
  EXPECT_EQ(nc, 100);
  EXPECT_LE(h.edges.front(), 0.0);
  EXPECT_GE(h.edges.back(), 9.5);
}

TEST(FloatSimulation, FakeQuantizeRoundsHalfAwayFromZeroAndClamps) {
  std::vector<float> v = {0.25f, -0.25f, 0.35f, 100.0f, -100.0f, NAN};
  passes::FakeQuantize(Int8Grid(0.1f, 0), v);
  // As TFLite's QUANTIZE: the division in float (0.25f / 0.1f is exactly 2.5f), then half away
  // from zero.
  EXPECT_FLOAT_EQ(v[0], 0.3f);   // 2.5 steps -> 3
  EXPECT_FLOAT_EQ(v[1], -0.3f);  // -2.5 -> -3
  EXPECT_FLOAT_EQ(v[2], 0.4f);   // 0.35f / 0.1f is 3.5f -> 4
  EXPECT_FLOAT_EQ(v[3], 12.7f);
  EXPECT_FLOAT_EQ(v[4], -12.8f);
  EXPECT_TRUE(std::isnan(v[5]));  // left alone
  // A float tensor is not a grid.
  ir::Tensor f;
  f.dtype = ir::DType::kFloat32;
  std::vector<float> w = {0.123f};
  passes::FakeQuantize(f, w);
  EXPECT_EQ(w[0], 0.123f);
}

TEST(FloatSimulation, DequantizesConstantsAndKeepsTensorIndices) {
  ir::Graph g;
  ir::Tensor in = Int8Grid(0.5f, 1);
  in.name = "in";
  in.shape = {1, 2};
  ir::Tensor out = in;
  out.name = "out";
  ir::Tensor w = Int8Grid(0.25f, 0);
  w.name = "w";
  w.shape = {2};
  w.is_constant = true;
  w.data = {4, static_cast<uint8_t>(-8)};
  g.tensors = {in, out, w};
  ir::Op q;
  q.type = ir::OpType::kDEQUANTIZE;
  q.inputs = {0};
  q.outputs = {1};
  g.ops = {q};
  g.inputs = {0};
  g.outputs = {1};
  auto f = passes::FloatSimulationGraph(g);
  ASSERT_TRUE(f.ok()) << f.status().message();
  ASSERT_EQ(f->tensors.size(), 3u);
  for (const auto& t : f->tensors) {
    EXPECT_EQ(t.dtype, ir::DType::kFloat32) << t.name;
    EXPECT_TRUE(t.quant.empty()) << t.name;
  }
  ASSERT_EQ(f->tensors[2].data.size(), 8u);
  float wv[2];
  std::memcpy(wv, f->tensors[2].data.data(), 8);
  EXPECT_FLOAT_EQ(wv[0], 1.0f);
  EXPECT_FLOAT_EQ(wv[1], -2.0f);
  EXPECT_EQ(f->ops[0].type, ir::OpType::kRESHAPE);  // a representation change becomes a copy
}

}  // namespace
}  // namespace ql
