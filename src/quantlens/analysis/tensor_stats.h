// Error statistics of one candidate tensor against the reference's values of the same layer,
// accumulated sample by sample: the numbers `quantlens compare` reports per layer (bias, max,
// MSE, SQNR, error in quantization steps, clipping, saturation, range use) and the evidence its
// cause classification reads (where the error sits: on clipped values, in a per-channel offset,
// on the outermost rows and columns).
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <vector>

#include "quantlens/ir/graph.h"

namespace ql::analysis {

struct TensorStats {
  int64_t count = 0;          // values compared (finite candidate values)
  double mean_error = 0;      // mean (c - r)
  double mean_abs = 0, max_abs = 0, mse = 0;
  double ref_power = 0;       // mean r^2
  double sqnr_db = 0;         // +inf when identical
  double cosine = 1;
  // Quantized candidate tensors only.
  std::optional<double> rmse_over_step;
  std::optional<double> clipped_share;      // reference values outside the candidate's range
  std::optional<double> saturated_share;    // candidate values at an integer limit (see .cc)
  std::optional<double> range_utilization;  // (max q - min q) / (qmax - qmin)
  double clipped_error_share = 0;           // share of the squared error on clipped values
  double channel_bias_share = 0;            // share of the squared error a per-channel offset explains
  std::optional<double> border_error_share; // 4-D: share of the squared error on the border
  double border_fraction = 0;               // 4-D: share of the values on the border
  int64_t nonfinite = 0;                    // candidate values that are inf or NaN
  int64_t beyond_float16 = 0;               // reference values with |r| > 65504
  double ref_min = 0, ref_max = 0;
  double range_lo = 0, range_hi = 0;        // the candidate's representable range (quantized)
};

struct Histogram {
  std::vector<double> edges;  // bins + 1
  std::vector<int64_t> reference, candidate;
};

class TensorStatsAccumulator {
 public:
  // `candidate` gives the grid (dtype, per-tensor scale and zero point) the values live on.
  // `keep` values pairs are kept (reservoir sampling, fixed seed) for histograms and scatter plots.
  explicit TensorStatsAccumulator(const ir::Tensor& candidate, size_t keep = 0);
  // One sample's values; `shape` is the candidate tensor's runtime shape (channels are its last
  // dimension; 4-D shapes [N, H, W, C] have a border).
  void Add(std::span<const float> ref, std::span<const float> cand, const ir::Shape& shape);
  TensorStats Finish() const;
  // Histogram of the kept values of both sides over their common range.
  Histogram MakeHistogram(int bins) const;
  const std::vector<float>& kept_reference() const { return keep_ref_; }
  const std::vector<float>& kept_candidate() const { return keep_cand_; }
  bool empty() const { return n_ == 0; }

 private:
  bool quantized_ = false;
  double scale_ = 0, zp_ = 0, qmin_ = 0, qmax_ = 0, lo_ = 0, hi_ = 0;
  int64_t n_ = 0, nonfinite_ = 0, beyond_f16_ = 0, clipped_ = 0, saturated_ = 0, border_n_ = 0;
  double sum_err_ = 0, sum_abs_ = 0, max_abs_ = 0, sum_sq_ = 0, sum_sq_ref_ = 0, sum_sq_cand_ = 0,
         dot_ = 0, sq_clipped_ = 0, sq_border_ = 0;
  double qlo_seen_ = 0, qhi_seen_ = 0, ref_min_ = 0, ref_max_ = 0;
  bool border_ = false;
  std::vector<double> ch_sum_;
  std::vector<int64_t> ch_n_;
  void Keep(float r, float c);
  double Uniform();
  int64_t Skip();
  size_t keep_ = 0;
  int64_t seen_ = 0, next_ = 0;
  double weight_ = 0;
  std::vector<float> keep_ref_, keep_cand_;
  std::mt19937_64 rng_{12345};
};

// 10 log10(signal / noise) with the conventions of the reports: +inf for no noise.
double SqnrDb(double signal, double noise);

}  // namespace ql::analysis
