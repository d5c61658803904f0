// The range-choosing step of calibration: from an observed [min, max] and a histogram to the range
// a method picks. Formulas and the reasons behind each choice: docs/calibration.md.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "quantlens/passes/calibration.h"

namespace ql::passes {
namespace {

constexpr const char* kAcceptedForms =
    "minmax, percentile:P (0 < P <= 100, e.g. percentile:99.99), entropy, mse";

double BinWidth(const Histogram& h) { return (h.hi - h.lo) / static_cast<double>(h.counts.size()); }

uint64_t Total(const Histogram& h) {
  uint64_t t = 0;
  for (uint64_t c : h.counts) t += c;
  return t;
}

// Clips the observed range to [-t, t]: how a threshold on |x| becomes an asymmetric range that is
// never wider than what was observed (a ReLU output [0, 6] with t = 4 becomes [0, 4]).
TensorRange ClipSymmetric(float observed_min, float observed_max, double t) {
  TensorRange r;
  r.observed = true;
  const auto tf = static_cast<float>(t);
  r.max = std::min(observed_max, tf);
  r.min = std::max(observed_min, -tf);
  if (r.min > r.max) r.min = r.max;  // all values on one side beyond t (cannot happen for a
                                     // threshold inside the |x| histogram; kept as a guard)
  return r;
}

// ---- percentile: the P-th percentile of |x| ----
double PercentileThreshold(const Histogram& h, double percentile) {
  const uint64_t total = Total(h);
  const double target = percentile / 100.0 * static_cast<double>(total);
  const size_t nbins = h.counts.size();
  uint64_t cum = 0;
  for (size_t k = 0; k < nbins; ++k) {
    cum += h.counts[k];
    // The upper edge of the first bin where the cumulative count reaches P% (ONNX Runtime and
    // TensorRT take the lower edge; the upper one keeps at least P% inside and makes
    // percentile:100 equal to minmax).
    if (static_cast<double>(cum) >= target && cum > 0) {
      return k + 1 == nbins ? h.hi : h.lo + static_cast<double>(k + 1) * BinWidth(h);
    }
  }
  return h.hi;
}

// ---- entropy: TensorRT's KL-divergence threshold search on the |x| histogram ----
//
// For each candidate i (levels <= i <= bins), in ONNX Runtime's formulation:
//   P = counts[0..i), with the outliers counts[i..] added to P[i-1];
//   Q = counts[0..i) (outliers not added) merged into `levels` groups of i / levels bins (the last
//       group also takes the remainder), each group's mass spread evenly over the group's bins where
//       P is non-zero (0 elsewhere);
//   both smoothed (zero entries get eps = 1e-4, the non-zero ones give up the same total), and
//   KL(P || Q) of the normalised distributions; the threshold is the upper edge of bin i-1 for the
//   i with the smallest KL (the first on ties).
// Done literally that costs O(bins) logarithms per candidate. Here Q is constant over a group's
// non-zero bins, so its part of the sum takes one logarithm per group, and P's part
// sum (p - e) log(p - e) comes from prefix sums over the histogram, with log(p - e) expanded to
// second order in e/p (error below 1e-9 relative for e <= 1e-3; larger e, which only sparse
// histograms reach, takes the exact sum). Same minimiser, O(levels) logarithms per candidate.

struct EntropyPrefix {
  std::vector<uint64_t> count;    // sum of counts[0..k)
  std::vector<uint64_t> nonzero;  // number of non-empty bins in [0, k)
  std::vector<double> hlogh, logh, inv;  // sums over non-empty bins of h log h, log h, 1 / h
};

EntropyPrefix MakeEntropyPrefix(const std::vector<uint64_t>& h) {
  EntropyPrefix p;
  const size_t n = h.size();
  p.count.assign(n + 1, 0);
  p.nonzero.assign(n + 1, 0);
  p.hlogh.assign(n + 1, 0);
  p.logh.assign(n + 1, 0);
  p.inv.assign(n + 1, 0);
  for (size_t k = 0; k < n; ++k) {
    const double v = static_cast<double>(h[k]);
    const double l = h[k] ? std::log(v) : 0.0;
    p.count[k + 1] = p.count[k] + h[k];
    p.nonzero[k + 1] = p.nonzero[k] + (h[k] != 0);
    p.hlogh[k + 1] = p.hlogh[k] + (h[k] ? v * l : 0.0);
    p.logh[k + 1] = p.logh[k] + l;
    p.inv[k + 1] = p.inv[k] + (h[k] ? 1.0 / v : 0.0);
  }
  return p;
}

// sum over non-empty bins k < end of (h_k - e) log(h_k - e).
double SumPLogP(const std::vector<uint64_t>& h, const EntropyPrefix& pre, size_t end, double e) {
  if (e > 1e-3) {
    double sum = 0;
    for (size_t k = 0; k < end; ++k) {
      if (h[k]) {
        const double v = static_cast<double>(h[k]) - e;
        sum += v * std::log(v);
      }
    }
    return sum;
  }
  // (h - e) log(h - e) = h log h - e log h - e + e^2 / (2h) + O(e^3 / h^2)
  return pre.hlogh[end] - e * pre.logh[end] - e * static_cast<double>(pre.nonzero[end]) +
         0.5 * e * e * pre.inv[end];
}

// Two refinements from NVIDIA's TensorRT calibrator (pytorch-quantization's entropy method):
//  * bin 0 takes bin 1's count. After a ReLU, half the values or more are exactly 0; that spike
//    dominates KL(P || Q) and drags the threshold down until most of the real values are clipped
//    (ResNet-8: ReLU outputs observed up to 8-21 got thresholds of 0.6-3.7, top-1 agreement fell
//    to 54%). The zeros are exact on any grid, so they carry no information about the threshold.
//  * a tensor with no negative values ("unsigned") gets the whole grid on [0, T]: 256 levels for
//    int8, since the asymmetric int8 range of such a tensor starts at 0.
double EntropyThreshold(const Histogram& hist, int target_bits, bool unsigned_values) {
  constexpr double kEps = 1e-4;
  Histogram h = hist;
  if (h.counts.size() > 1) h.counts[0] = h.counts[1];
  const size_t nbins = h.counts.size();
  const size_t levels = size_t{1} << (target_bits - 1 + (unsigned_values && target_bits == 8 ? 1 : 0));
  if (levels >= nbins) return h.hi;  // the grid is finer than the histogram: nothing to gain
  const EntropyPrefix pre = MakeEntropyPrefix(h.counts);
  const uint64_t total = pre.count[nbins];
  const double total_d = static_cast<double>(total);
  std::vector<double> share(levels), pmass(levels);
  std::vector<uint64_t> group_nonzero(levels);
  double best_kl = std::numeric_limits<double>::infinity();
  size_t best_i = nbins;
  for (size_t i = levels; i <= nbins; ++i) {
    const uint64_t outliers = total - pre.count[i];
    const uint64_t last_p = h.counts[i - 1] + outliers;  // P[i-1]
    const uint64_t nz_p = pre.nonzero[i - 1] + (last_p != 0);
    if (nz_p == 0 || pre.count[i] == 0) continue;  // P or Q all zero: KL undefined
    const double e_p = kEps * static_cast<double>(i - nz_p) / static_cast<double>(nz_p);
    double sum_p = SumPLogP(h.counts, pre, i - 1, e_p);
    if (last_p) {
      const double v = static_cast<double>(last_p) - e_p;
      if (!(v > 0)) continue;
      sum_p += v * std::log(v);
    }
    // Per group: Q's mass, P's non-zero bins, and P's smoothed mass over those bins.
    const size_t merge = i / levels;
    uint64_t nz_q = 0;
    for (size_t j = 0; j < levels; ++j) {
      const size_t start = j * merge, end = j + 1 == levels ? i : start + merge;
      const uint64_t mass = pre.count[end] - pre.count[start];
      uint64_t nz = pre.nonzero[std::min(end, i - 1)] - pre.nonzero[std::min(start, i - 1)];
      if (end == i && last_p != 0) ++nz;  // P[i-1], non-zero through the outliers
      group_nonzero[j] = nz;
      share[j] = nz ? static_cast<double>(mass) / static_cast<double>(nz) : 0.0;
      pmass[j] = static_cast<double>(mass + (end == i ? outliers : 0)) - e_p * static_cast<double>(nz);
      if (share[j] > 0) nz_q += nz;
    }
    if (nz_q == 0) continue;
    const double e_q = kEps * static_cast<double>(i - nz_q) / static_cast<double>(nz_q);
    double sum_q = 0;
    bool valid = true;
    for (size_t j = 0; j < levels && valid; ++j) {
      if (group_nonzero[j] == 0) continue;
      const double q = share[j] > 0 ? share[j] - e_q : kEps;  // Q's smoothed value on P's non-zeros
      if (!(q > 0)) {
        valid = false;
      } else {
        sum_q += pmass[j] * std::log(q);
      }
    }
    if (!valid) continue;
    // Smoothing keeps each total: P sums to `total`, Q to counts[0..i). Bins where P is zero have
    // P = Q = eps after smoothing and add nothing.
    const double kl = (sum_p - sum_q) / total_d + std::log(static_cast<double>(pre.count[i]) / total_d);
    if (kl < best_kl) {  // strict: the first (smallest) threshold wins ties
      best_kl = kl;
      best_i = i;
    }
  }
  return best_i == nbins ? h.hi : h.lo + static_cast<double>(best_i) * BinWidth(h);
}

// ---- mse: the clipping range minimising the expected quantization error ----

// The integer grid a range maps to, as TFLite's converter builds it. int8 (asymmetric): the range is
// widened to include 0, scale = (max - min) / 255, zero point = round(-128 - min / scale) clamped;
// int16 (symmetric): zero point 0, scale = max(|min|, |max|) / 32767.
struct Grid {
  double scale = 0, zero_point = 0, qmin = 0, qmax = 0;
};

Grid MakeGrid(double lo, double hi, int target_bits) {
  Grid g;
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  if (target_bits == 16) {
    g.qmin = -32767;
    g.qmax = 32767;
    g.scale = std::max(-lo, hi) / 32767.0;
    return g;
  }
  g.qmin = -128;
  g.qmax = 127;
  g.scale = (hi - lo) / 255.0;
  if (g.scale > 0) g.zero_point = std::clamp(std::round(g.qmin - lo / g.scale), g.qmin, g.qmax);
  return g;
}

// Antiderivative of the squared rounding error (u - round(u))^2, continuous in u: each unit
// interval contributes 1/12.
double RoundingIntegral(double u) {
  const double y = u + 0.5;
  const double n = std::floor(y);
  const double r = y - n - 0.5;
  return n / 12.0 + (r * r * r + 0.125) / 3.0;
}

// Antiderivative of the squared error of quantizing u (in grid units) to the grid [qmin, qmax]:
// clipping error below qmin and above qmax, rounding error between.
double ErrorIntegral(double u, const Grid& g) {
  if (u <= g.qmin) {
    const double d = u - g.qmin;
    return d * d * d / 3.0;
  }
  const double base = RoundingIntegral(g.qmin);
  if (u <= g.qmax) return RoundingIntegral(u) - base;
  const double d = u - g.qmax;
  return RoundingIntegral(g.qmax) - base + d * d * d / 3.0;
}

// The histogram as the mse search reads it: counts as doubles over [first, last], the non-empty
// span, so empty tails cost nothing.
struct DenseBins {
  double lo = 0, width = 0;
  size_t first = 0, last = 0;
  std::vector<double> counts;
};

// Expected squared error (summed over values, in real units) of quantizing the histogram with
// grid `g`, each bin's values taken as spread uniformly over the bin: bin k adds
// count_k * (F(u_{k+1}) - F(u_k)) / w * scale^2, with u the bin edges in grid units, w the bin
// width in grid units and F = ErrorIntegral. Adjacent bins share an edge, so F runs once per edge.
double ExpectedError(const DenseBins& b, const Grid& g) {
  if (!(g.scale > 0)) return std::numeric_limits<double>::infinity();
  const double inv = 1.0 / g.scale;
  auto edge = [&](size_t k) { return (b.lo + static_cast<double>(k) * b.width) * inv + g.zero_point; };
  double sum = 0;
  double f0 = ErrorIntegral(edge(b.first), g);
  for (size_t k = b.first; k <= b.last; ++k) {
    const double f1 = ErrorIntegral(edge(k + 1), g);
    sum += b.counts[k] * (f1 - f0);
    f0 = f1;
  }
  return sum / (b.width * inv) * g.scale * g.scale;
}

// Candidates clip a side to k / steps of its extent (k = steps keeps it whole). The search is
// coarse to fine: a coarse set (multiples of steps/8 and powers of two, which reach the heavy
// clipping a distribution with far outliers wants), then scans of +-8 strides around the best at
// strides steps/64, steps/512, ..., 1: the last at the histogram's own resolution. On the int8
// grid the two sides share one scale, so the coarse set is scanned in 2-D and the refinements
// alternate between the sides.
std::vector<int> CoarseSteps(int steps) {
  std::vector<int> ks;
  const int stride = std::max(1, steps / 8);
  for (int k = stride; k <= steps; k += stride) ks.push_back(k);
  for (int k = 1; k < stride; k *= 2) ks.push_back(k);
  ks.push_back(steps);
  std::sort(ks.begin(), ks.end());
  ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
  return ks;
}

std::vector<int> FineSteps(int center, int stride, int steps) {
  std::vector<int> ks;
  for (int d = -8; d <= 8; ++d) {
    const int k = center + d * stride;
    if (k >= 1 && k <= steps) ks.push_back(k);
  }
  return ks;
}

std::vector<int> Strides(int steps) {
  std::vector<int> strides;
  for (int s = steps / 64; s > 1; s /= 8) strides.push_back(s);
  strides.push_back(1);
  return strides;
}

TensorRange MseRange(const Histogram& h, float observed_min, float observed_max, int target_bits) {
  DenseBins b;
  b.lo = h.lo;
  b.width = BinWidth(h);
  b.counts.resize(h.counts.size());
  bool any = false;
  for (size_t k = 0; k < h.counts.size(); ++k) {
    b.counts[k] = static_cast<double>(h.counts[k]);
    if (h.counts[k]) {
      if (!any) b.first = k;
      b.last = k;
      any = true;
    }
  }
  const double neg = std::min(h.lo, 0.0), pos = std::max(h.hi, 0.0);
  const int steps = static_cast<int>(h.counts.size());
  const std::vector<int> coarse = CoarseSteps(steps);
  const std::vector<int> strides = Strides(steps);

  if (target_bits == 16) {
    // Symmetric grid: one threshold t = max|x| * k / steps.
    const double extent = std::max(-neg, pos);
    int best_k = steps;
    double best = std::numeric_limits<double>::infinity();
    auto scan = [&](const std::vector<int>& ks) {
      for (int k : ks) {
        const double t = extent * k / steps;
        const double c = ExpectedError(b, MakeGrid(-t, t, 16));
        if (c < best) {  // strict: ties keep the earlier candidate
          best = c;
          best_k = k;
        }
      }
    };
    scan(coarse);
    for (int stride : strides) scan(FineSteps(best_k, stride, steps));
    return ClipSymmetric(observed_min, observed_max, extent * best_k / steps);
  }

  auto lo_of = [&](int ka) { return neg * ka / steps; };
  auto hi_of = [&](int kb) { return pos * kb / steps; };
  int best_a = steps, best_b = steps;
  double best = ExpectedError(b, MakeGrid(neg, pos, target_bits));
  auto consider = [&](int ka, int kb) {
    const double c = ExpectedError(b, MakeGrid(lo_of(ka), hi_of(kb), target_bits));
    if (c < best) {  // strict: ties keep the earlier candidate
      best = c;
      best_a = ka;
      best_b = kb;
    }
  };
  // A side with no extent (a ReLU output has no negative side) is not searched.
  const std::vector<int> only_full = {steps};
  const bool search_neg = neg < 0, search_pos = pos > 0;
  for (int ka : search_neg ? coarse : only_full) {
    for (int kb : search_pos ? coarse : only_full) consider(ka, kb);
  }
  for (int stride : strides) {
    for (int round = 0; round < 2; ++round) {
      if (search_pos) {
        const int a = best_a;
        for (int kb : FineSteps(best_b, stride, steps)) consider(a, kb);
      }
      if (search_neg) {
        const int bb = best_b;
        for (int ka : FineSteps(best_a, stride, steps)) consider(ka, bb);
      }
    }
  }
  TensorRange r;
  r.observed = true;
  r.min = std::max(observed_min, static_cast<float>(lo_of(best_a)));
  r.max = std::min(observed_max, static_cast<float>(hi_of(best_b)));
  if (r.min > r.max) r.min = r.max;
  return r;
}

}  // namespace

Result<CalibrationSpec> ParseCalibrationMethod(const std::string& text) {
  CalibrationSpec spec;
  if (text == "minmax") return spec;
  if (text == "entropy") {
    spec.method = CalibrationMethod::kEntropy;
    return spec;
  }
  if (text == "mse") {
    spec.method = CalibrationMethod::kMse;
    return spec;
  }
  if (text == "percentile") {
    spec.method = CalibrationMethod::kPercentile;
    return spec;
  }
  constexpr std::string_view kPrefix = "percentile:";
  if (text.rfind(kPrefix, 0) == 0) {
    const std::string num = text.substr(kPrefix.size());
    double p = 0;
    auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), p);
    if (num.empty() || ec != std::errc() || end != num.data() + num.size() || !(p > 0) || !(p <= 100)) {
      return InvalidArgument("calibration method '{}': the percentile must be a number with 0 < P <= "
                             "100; accepted forms: {}",
                             text, kAcceptedForms);
    }
    spec.method = CalibrationMethod::kPercentile;
    spec.percentile = p;
    return spec;
  }
  return InvalidArgument("unknown calibration method '{}'; accepted forms: {}", text, kAcceptedForms);
}

std::string CalibrationName(const CalibrationSpec& spec) {
  switch (spec.method) {
    case CalibrationMethod::kMinMax: return "minmax";
    case CalibrationMethod::kPercentile: return fmt::format("percentile:{}", spec.percentile);
    case CalibrationMethod::kEntropy: return "entropy";
    case CalibrationMethod::kMse: return "mse";
  }
  return "unknown";
}

Result<TensorRange> ChooseRange(const Histogram& histogram, float observed_min, float observed_max,
                                const CalibrationSpec& spec, int target_bits) {
  if (!(observed_min <= observed_max) || !std::isfinite(observed_min) || !std::isfinite(observed_max)) {
    return InvalidArgument("calibration: observed range [{}, {}] is not a finite interval",
                           observed_min, observed_max);
  }
  if (target_bits != 8 && target_bits != 16) {
    return InvalidArgument("calibration: target_bits {} is not 8 (int8) or 16 (int16x8)", target_bits);
  }
  TensorRange full{observed_min, observed_max, true};
  if (spec.method == CalibrationMethod::kMinMax) return full;
  const Histogram& h = histogram;
  if (h.counts.empty() || !(h.hi > h.lo) || !std::isfinite(h.lo) || !std::isfinite(h.hi) ||
      Total(h) == 0) {
    return full;  // a constant tensor (or no values): nothing to clip
  }
  switch (spec.method) {
    case CalibrationMethod::kPercentile:
      if (!(spec.percentile > 0 && spec.percentile <= 100)) {
        return InvalidArgument("calibration: percentile {} is outside (0, 100]", spec.percentile);
      }
      return ClipSymmetric(observed_min, observed_max, PercentileThreshold(h, spec.percentile));
    case CalibrationMethod::kEntropy:
      return ClipSymmetric(observed_min, observed_max,
                           EntropyThreshold(h, target_bits, /*unsigned_values=*/observed_min >= 0));
    case CalibrationMethod::kMse:
      return MseRange(h, observed_min, observed_max, target_bits);
    case CalibrationMethod::kMinMax:
      break;
  }
  return full;
}

}  // namespace ql::passes
