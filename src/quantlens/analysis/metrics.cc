#include "quantlens/analysis/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace ql::analysis {

int64_t ArgMax(std::span<const float> v) {
  int64_t best = 0;
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] > v[best]) best = static_cast<int64_t>(i);
  return v.empty() ? -1 : best;
}

std::vector<int64_t> TopK(std::span<const float> v, size_t k) {
  std::vector<int64_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  k = std::min(k, idx.size());
  std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(),
                    [&](int64_t a, int64_t b) { return v[a] > v[b] || (v[a] == v[b] && a < b); });
  idx.resize(k);
  return idx;
}

void OutputAccumulator::Add(int64_t sample_index, std::span<const float> ref,
                            std::span<const float> cand, std::optional<int64_t> label) {
  const size_t n = std::min(ref.size(), cand.size());
  SampleResult s;
  s.index = sample_index;
  s.label = label;
  double sample_abs = 0;
  for (size_t i = 0; i < n; ++i) {
    const double r = ref[i], c = cand[i];
    const double d = c - r;
    const double a = std::abs(d);
    sample_abs += a;
    s.max_abs = std::max(s.max_abs, a);
    sum_sq_err_ += d * d;
    sum_sq_ref_ += r * r;
    sum_sq_cand_ += c * c;
    dot_ += r * c;
  }
  sum_abs_ += sample_abs;
  max_abs_ = std::max(max_abs_, s.max_abs);
  s.mean_abs = n ? sample_abs / static_cast<double>(n) : 0;
  values_ += static_cast<int64_t>(n);
  ++n_;
  if (n < 2) classifier_ = false;
  if (classifier_) {
    s.ref_class = ArgMax(ref);
    s.cand_class = ArgMax(cand);
    if (s.ref_class == s.cand_class) ++top1_;
    const auto top5 = TopK(cand, 5);
    if (std::find(top5.begin(), top5.end(), s.ref_class) != top5.end()) ++top5_;
    // A label outside the output's classes belongs to another task (CIFAR-10 classes fed to a
    // two-class model): no accuracy from it.
    if (label && *label >= 0 && *label < static_cast<int64_t>(n)) {
      ++labelled_;
      if (*label == s.ref_class) ++ref_correct_;
      if (*label == s.cand_class) ++cand_correct_;
    }
  }
  samples_.push_back(s);
}

OutputMetrics OutputAccumulator::Finish() const {
  OutputMetrics m;
  m.num_samples = n_;
  m.num_values = values_;
  if (values_ > 0) {
    m.mean_abs = sum_abs_ / static_cast<double>(values_);
    m.rmse = std::sqrt(sum_sq_err_ / static_cast<double>(values_));
  }
  m.max_abs = max_abs_;
  m.sqnr_db = sum_sq_err_ == 0 ? std::numeric_limits<double>::infinity()
                               : 10.0 * std::log10(sum_sq_ref_ / sum_sq_err_);
  const double denom = std::sqrt(sum_sq_ref_) * std::sqrt(sum_sq_cand_);
  m.cosine = denom > 0 ? dot_ / denom : (sum_sq_ref_ == sum_sq_cand_ ? 1.0 : 0.0);
  m.classifier = classifier_ && n_ > 0;
  if (m.classifier) {
    m.top1_agree = top1_;
    m.top5_agree = top5_;
    m.labelled = labelled_;
    m.ref_correct = ref_correct_;
    m.cand_correct = cand_correct_;
  }
  return m;
}

std::vector<SampleResult> OutputAccumulator::Worst(size_t k) const {
  std::vector<SampleResult> s = samples_;
  k = std::min(k, s.size());
  std::partial_sort(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(k), s.end(),
                    [](const SampleResult& a, const SampleResult& b) {
                      return a.max_abs > b.max_abs || (a.max_abs == b.max_abs && a.index < b.index);
                    });
  s.resize(k);
  return s;
}

std::vector<SampleResult> OutputAccumulator::Flips() const {
  std::vector<SampleResult> out;
  if (!classifier_) return out;
  for (const SampleResult& s : samples_)
    if (s.ref_class != s.cand_class) out.push_back(s);
  return out;
}

}  // namespace ql::analysis
