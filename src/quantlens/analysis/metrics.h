// Output metrics between a reference and a candidate model, accumulated one sample at a time so
// that evaluating 10,000 images needs memory for one sample (plus the per-sample summaries kept
// for "worst samples" and class flips).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ql::analysis {

// Element-wise agreement of one output over all samples.
struct OutputMetrics {
  int64_t num_samples = 0;
  int64_t num_values = 0;
  double mean_abs = 0;   // mean |c - r|
  double max_abs = 0;    // max |c - r|
  double rmse = 0;
  double sqnr_db = 0;    // 10 log10(sum r^2 / sum (c - r)^2); +inf when identical
  double cosine = 0;     // over all values; 1 when both are zero
  // Classifier view (outputs with one score per class, 2+ classes per sample).
  bool classifier = false;
  int64_t top1_agree = 0;  // samples whose arg-max class is the same
  int64_t top5_agree = 0;  // samples whose reference top-1 is in the candidate's top 5
  int64_t labelled = 0;    // samples with a label
  int64_t ref_correct = 0, cand_correct = 0;
};

// Per-sample summary, for worst samples and class flips.
struct SampleResult {
  int64_t index = 0;
  double max_abs = 0;
  double mean_abs = 0;
  int64_t ref_class = -1, cand_class = -1;
  std::optional<int64_t> label;
};

class OutputAccumulator {
 public:
  // Adds one sample's values of this output (same length in both; dequantized floats).
  void Add(int64_t sample_index, std::span<const float> ref, std::span<const float> cand,
           std::optional<int64_t> label = std::nullopt);
  OutputMetrics Finish() const;
  const std::vector<SampleResult>& samples() const { return samples_; }
  // The `k` samples with the largest max |c - r|, worst first (ties: lower index first).
  std::vector<SampleResult> Worst(size_t k) const;
  // Samples whose top-1 class differs.
  std::vector<SampleResult> Flips() const;

 private:
  int64_t n_ = 0, values_ = 0;
  double sum_abs_ = 0, max_abs_ = 0, sum_sq_err_ = 0, sum_sq_ref_ = 0, sum_sq_cand_ = 0, dot_ = 0;
  bool classifier_ = true;
  int64_t top1_ = 0, top5_ = 0, labelled_ = 0, ref_correct_ = 0, cand_correct_ = 0;
  std::vector<SampleResult> samples_;
};

// Index of the largest value (first on ties), as numpy.argmax.
int64_t ArgMax(std::span<const float> v);
// Indices of the `k` largest values, largest first (ties: lower index first).
std::vector<int64_t> TopK(std::span<const float> v, size_t k);

}  // namespace ql::analysis
