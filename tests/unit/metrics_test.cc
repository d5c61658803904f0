// Output metrics (analysis/metrics.h) on hand-computed examples.
#include <cmath>

#include <gtest/gtest.h>

#include "quantlens/analysis/metrics.h"

namespace ql::analysis {
namespace {

TEST(Metrics, ElementwiseStatistics) {
  OutputAccumulator acc;
  std::vector<float> r1 = {1, 2, 3}, c1 = {1, 2, 4};
  std::vector<float> r2 = {0, 0, 1}, c2 = {0, 0.5f, 1};
  acc.Add(0, r1, c1);
  acc.Add(1, r2, c2);
  OutputMetrics m = acc.Finish();
  EXPECT_EQ(m.num_samples, 2);
  EXPECT_EQ(m.num_values, 6);
  EXPECT_DOUBLE_EQ(m.mean_abs, 1.5 / 6);
  EXPECT_DOUBLE_EQ(m.max_abs, 1.0);
  EXPECT_DOUBLE_EQ(m.rmse, std::sqrt(1.25 / 6));
  // sum r^2 = 1+4+9+1 = 15; sum err^2 = 1.25.
  EXPECT_NEAR(m.sqnr_db, 10 * std::log10(15 / 1.25), 1e-12);
  const double dot = 1 + 4 + 12 + 1, nr = std::sqrt(15.0), nc = std::sqrt(1 + 4 + 16 + 0.25 + 1);
  EXPECT_NEAR(m.cosine, dot / (nr * nc), 1e-12);
}

TEST(Metrics, IdenticalOutputsHaveInfiniteSqnr) {
  OutputAccumulator acc;
  std::vector<float> r = {0.25f, -1};
  acc.Add(0, r, r);
  OutputMetrics m = acc.Finish();
  EXPECT_TRUE(std::isinf(m.sqnr_db));
  EXPECT_DOUBLE_EQ(m.cosine, 1.0);
  EXPECT_EQ(m.max_abs, 0.0);
}

TEST(Metrics, ClassifierAgreementFlipsAndAccuracy) {
  OutputAccumulator acc;
  // Sample 0: both pick class 2 (label 2). Sample 1: ref 0, cand 1 (label 1): a flip the candidate
  // gets right. Sample 2: ref 3, cand has 3 in its top 5 but picks 0.
  acc.Add(0, std::vector<float>{0, 0.1f, 0.8f, 0.1f}, std::vector<float>{0, 0.2f, 0.7f, 0.1f}, 2);
  acc.Add(1, std::vector<float>{0.6f, 0.4f, 0, 0}, std::vector<float>{0.4f, 0.6f, 0, 0}, 1);
  acc.Add(2, std::vector<float>{0.1f, 0, 0, 0.9f}, std::vector<float>{0.5f, 0, 0, 0.4f});
  OutputMetrics m = acc.Finish();
  ASSERT_TRUE(m.classifier);
  EXPECT_EQ(m.top1_agree, 1);
  EXPECT_EQ(m.top5_agree, 3);
  EXPECT_EQ(m.labelled, 2);
  EXPECT_EQ(m.ref_correct, 1);
  EXPECT_EQ(m.cand_correct, 2);
  auto flips = acc.Flips();
  ASSERT_EQ(flips.size(), 2u);
  EXPECT_EQ(flips[0].index, 1);
  EXPECT_EQ(flips[1].index, 2);
  auto worst = acc.Worst(1);
  ASSERT_EQ(worst.size(), 1u);
  EXPECT_EQ(worst[0].index, 2);  // |0.5 - 0.1| = 0.4 is... and |0.4 - 0.9| = 0.5, the largest
}

TEST(Metrics, ScalarOutputsAreNoClassifier) {
  OutputAccumulator acc;
  acc.Add(0, std::vector<float>{0.3f}, std::vector<float>{0.2f});
  EXPECT_FALSE(acc.Finish().classifier);
  EXPECT_TRUE(acc.Flips().empty());
}

TEST(Metrics, TopKBreaksTiesByIndex) {
  std::vector<float> v = {1, 3, 3, 2};
  auto t = TopK(v, 3);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0], 1);
  EXPECT_EQ(t[1], 2);
  EXPECT_EQ(t[2], 3);
  EXPECT_EQ(ArgMax(v), 1);
}

}  // namespace
}  // namespace ql::analysis
