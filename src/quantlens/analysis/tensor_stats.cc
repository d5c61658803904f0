#include "quantlens/analysis/tensor_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "quantlens/kernels/quant_math.h"

namespace ql::analysis {
namespace {

constexpr double kFloat16Max = 65504.0;

}  // namespace

double SqnrDb(double signal, double noise) {
  if (noise <= 0) return std::numeric_limits<double>::infinity();
  if (signal <= 0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

TensorStatsAccumulator::TensorStatsAccumulator(const ir::Tensor& candidate, size_t keep) : keep_(keep) {
  const auto& q = candidate.quant;
  if (ir::IsInteger(candidate.dtype) && !q.scale.empty() && q.scale[0] > 0 &&
      (candidate.dtype == ir::DType::kInt8 || candidate.dtype == ir::DType::kUInt8 ||
       candidate.dtype == ir::DType::kInt16)) {
    quantized_ = true;
    scale_ = q.scale[0];
    zp_ = q.zero_point.empty() ? 0.0 : static_cast<double>(q.zero_point[0]);
    int32_t qmin, qmax;
    kern::QuantizedTypeRange(candidate.dtype, &qmin, &qmax);
    qmin_ = qmin;
    qmax_ = qmax;
    lo_ = (qmin_ - zp_) * scale_;
    hi_ = (qmax_ - zp_) * scale_;
  }
}

void TensorStatsAccumulator::Add(std::span<const float> ref, std::span<const float> cand,
                                 const ir::Shape& shape) {
  const size_t n = std::min(ref.size(), cand.size());
  const size_t channels = shape.size() >= 2 && shape.back() > 0 ? static_cast<size_t>(shape.back()) : 1;
  if (ch_sum_.size() != channels) {
    ch_sum_.assign(channels, 0.0);
    ch_n_.assign(channels, 0);
  }
  // The outermost rows and columns of an [N, H, W, C] tensor: where padding and resize
  // conventions differ.
  const bool border = shape.size() == 4 && shape[1] >= 3 && shape[2] >= 3;
  border_ = border_ || border;
  const int64_t h = border ? shape[1] : 1, w = border ? shape[2] : 1;
  const double inv_scale = quantized_ ? 1.0 / scale_ : 0.0;
  const double clip_lo = lo_ - 0.5 * scale_, clip_hi = hi_ + 0.5 * scale_;
  // Loop over pixels, then channels: no division per value. This runs for every aligned tensor of
  // every sample, twice (accumulated and isolated), so the sums live in locals (member doubles
  // would be reloaded after every store through ch_sum_, which may alias them).
  double sum_err = 0, sum_abs = 0, max_abs = max_abs_, sum_sq = 0, sum_sq_ref = 0, sum_sq_cand = 0, dot = 0;
  double sq_border = 0, sq_clipped = 0;
  double ref_min = n_ == 0 && n ? static_cast<double>(ref[0]) : ref_min_;
  double ref_max = n_ == 0 && n ? static_cast<double>(ref[0]) : ref_max_;
  double qlo = qlo_seen_, qhi = qhi_seen_;
  bool q_init = n_ > 0;
  int64_t counted = 0, nonfinite = 0, beyond = 0, border_n = 0, clipped = 0, saturated = 0;
  double* ch_sum = ch_sum_.data();
  int64_t* ch_n = ch_n_.data();
  // Non-finite values are rare: one vectorizable pass finds whether any are present, and only
  // then does the main loop test each value.
  float probe = 0;
  for (size_t k = 0; k < n; ++k) probe += ref[k] * 0.0f + cand[k] * 0.0f;
  const bool check_finite = !std::isfinite(probe);
  size_t i = 0;
  for (int64_t pix = 0; i < n; ++pix) {
    const int64_t x = pix % w, y = (pix / w) % h;
    const double on_border = border && (y == 0 || y == h - 1 || x == 0 || x == w - 1) ? 1.0 : 0.0;
    const size_t end = std::min(n, i + channels);
    for (size_t ch = 0; i < end; ++ch, ++i) {
      const double r = ref[i], c = cand[i];
      if (check_finite && (!std::isfinite(c) || !std::isfinite(r))) {
        ++nonfinite;
        continue;
      }
      ref_min = std::min(ref_min, r);
      ref_max = std::max(ref_max, r);
      beyond += std::fabs(r) > kFloat16Max;
      const double e = c - r;
      const double e2 = e * e;
      sum_err += e;
      sum_abs += std::fabs(e);
      max_abs = std::max(max_abs, std::fabs(e));
      sum_sq += e2;
      sum_sq_ref += r * r;
      sum_sq_cand += c * c;
      dot += r * c;
      ch_sum[ch] += e;
      ++ch_n[ch];
      border_n += on_border != 0;
      sq_border += on_border * e2;
      if (quantized_) {
        // Half a step of slack: a value that rounds onto the last level is not clipped.
        const bool out_of_range = r < clip_lo || r > clip_hi;
        clipped += out_of_range;
        sq_clipped += out_of_range ? e2 : 0.0;
        // c is a dequantized integer, so c / s + zp is within rounding noise of one: truncating
        // after adding 0.5 (no libm call) finds it.
        const double qf = c * inv_scale + zp_;
        const double q = static_cast<double>(static_cast<int64_t>(qf + (qf >= 0 ? 0.5 : -0.5)));
        if (!q_init) {
          qlo = qhi = q;
          q_init = true;
        }
        qlo = std::min(qlo, q);
        qhi = std::max(qhi, q);
        // The lowest level is a limit only when it stands for a negative value: after a ReLU the
        // zero point sits there and most values legitimately land on it.
        saturated += q >= qmax_ || (q <= qmin_ && zp_ > qmin_);
      }
      ++counted;
      if (keep_ && (keep_ref_.size() < keep_ || seen_ >= next_)) {
        Keep(static_cast<float>(r), static_cast<float>(c));
      } else if (keep_) {
        ++seen_;
      }
    }
  }
  if (counted) {
    ref_min_ = ref_min;
    ref_max_ = ref_max;
    qlo_seen_ = qlo;
    qhi_seen_ = qhi;
  }
  n_ += counted;
  nonfinite_ += nonfinite;
  beyond_f16_ += beyond;
  border_n_ += border_n;
  clipped_ += clipped;
  saturated_ += saturated;
  sum_err_ += sum_err;
  sum_abs_ += sum_abs;
  max_abs_ = max_abs;
  sum_sq_ += sum_sq;
  sum_sq_ref_ += sum_sq_ref;
  sum_sq_cand_ += sum_sq_cand;
  dot_ += dot;
  sq_border_ += sq_border;
  sq_clipped_ += sq_clipped;
}

void TensorStatsAccumulator::Keep(float r, float c) {
  // Reservoir sampling with geometric skips (Li's algorithm L): the random generator runs only
  // when a value is taken, not for every value seen.
  if (keep_ref_.size() < keep_) {
    keep_ref_.push_back(r);
    keep_cand_.push_back(c);
    if (keep_ref_.size() == keep_) {
      weight_ = std::exp(std::log(Uniform()) / static_cast<double>(keep_));
      next_ = static_cast<int64_t>(keep_) + Skip();
    }
    ++seen_;
    return;
  }
  if (seen_++ < next_) return;
  const size_t slot = static_cast<size_t>(rng_() % keep_);
  keep_ref_[slot] = r;
  keep_cand_[slot] = c;
  weight_ *= std::exp(std::log(Uniform()) / static_cast<double>(keep_));
  next_ = seen_ + Skip();
}

double TensorStatsAccumulator::Uniform() {
  // (0, 1]: log() of it is finite.
  return (static_cast<double>(rng_() >> 11) + 1.0) * 0x1.0p-53;
}

int64_t TensorStatsAccumulator::Skip() {
  const double d = std::log(1.0 - weight_);
  if (!(d < 0)) return std::numeric_limits<int64_t>::max() / 2;
  return static_cast<int64_t>(std::floor(std::log(Uniform()) / d));
}

TensorStats TensorStatsAccumulator::Finish() const {
  TensorStats s;
  s.count = n_;
  s.nonfinite = nonfinite_;
  s.beyond_float16 = beyond_f16_;
  s.ref_min = ref_min_;
  s.ref_max = ref_max_;
  if (n_ == 0) return s;
  const double n = static_cast<double>(n_);
  s.mean_error = sum_err_ / n;
  s.mean_abs = sum_abs_ / n;
  s.max_abs = max_abs_;
  s.mse = sum_sq_ / n;
  s.ref_power = sum_sq_ref_ / n;
  s.sqnr_db = SqnrDb(sum_sq_ref_, sum_sq_);
  const double denom = std::sqrt(sum_sq_ref_) * std::sqrt(sum_sq_cand_);
  s.cosine = denom > 0 ? dot_ / denom : (sum_sq_ref_ == sum_sq_cand_ ? 1.0 : 0.0);
  if (sum_sq_ > 0) {
    double explained = 0;
    for (size_t c = 0; c < ch_sum_.size(); ++c)
      if (ch_n_[c]) explained += ch_sum_[c] * ch_sum_[c] / static_cast<double>(ch_n_[c]);
    s.channel_bias_share = std::min(1.0, explained / sum_sq_);
    s.clipped_error_share = sq_clipped_ / sum_sq_;
  }
  if (border_) {
    s.border_fraction = static_cast<double>(border_n_) / n;
    s.border_error_share = sum_sq_ > 0 ? sq_border_ / sum_sq_ : 0.0;
  }
  if (quantized_) {
    s.rmse_over_step = std::sqrt(s.mse) / scale_;
    s.clipped_share = static_cast<double>(clipped_) / n;
    s.saturated_share = static_cast<double>(saturated_) / n;
    s.range_utilization = (qhi_seen_ - qlo_seen_) / (qmax_ - qmin_);
    s.range_lo = lo_;
    s.range_hi = hi_;
  }
  return s;
}

Histogram TensorStatsAccumulator::MakeHistogram(int bins) const {
  Histogram h;
  if (keep_ref_.empty() || bins < 1) return h;
  double lo = keep_ref_[0], hi = keep_ref_[0];
  for (size_t i = 0; i < keep_ref_.size(); ++i) {
    lo = std::min({lo, static_cast<double>(keep_ref_[i]), static_cast<double>(keep_cand_[i])});
    hi = std::max({hi, static_cast<double>(keep_ref_[i]), static_cast<double>(keep_cand_[i])});
  }
  if (hi <= lo) hi = lo + 1;
  h.edges.resize(static_cast<size_t>(bins) + 1);
  for (int b = 0; b <= bins; ++b) h.edges[static_cast<size_t>(b)] = lo + (hi - lo) * b / bins;
  h.reference.assign(static_cast<size_t>(bins), 0);
  h.candidate.assign(static_cast<size_t>(bins), 0);
  auto bin = [&](double v) {
    const int b = static_cast<int>((v - lo) / (hi - lo) * bins);
    return static_cast<size_t>(std::clamp(b, 0, bins - 1));
  };
  for (size_t i = 0; i < keep_ref_.size(); ++i) {
    ++h.reference[bin(keep_ref_[i])];
    ++h.candidate[bin(keep_cand_[i])];
  }
  return h;
}

}  // namespace ql::analysis
