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

// Adds eps to the zero entries of `d` and takes the same total mass from the non-zero ones, as
// ONNX Runtime's smooth_distribution does, so KL(P || Q) is finite. False when `d` is all zero or
// the smoothing would make an entry non-positive (the candidate is then skipped).
bool Smooth(std::vector<double>& d, size_t n) {
  constexpr double kEps = 1e-4;
  size_t zeros = 0;
  for (size_t k = 0; k < n; ++k) zeros += d[k] == 0;
  const size_t nonzeros = n - zeros;
  if (nonzeros == 0) return false;
  const double eps1 = kEps * static_cast<double>(zeros) / static_cast<double>(nonzeros);
  for (size_t k = 0; k < n; ++k) {
    if (d[k] == 0) {
      d[k] = kEps;
    } else {
      d[k] -= eps1;
      if (d[k] <= 0) return false;
    }
  }
  return true;
}

double EntropyThreshold(const Histogram& h, int target_bits) {
  const size_t nbins = h.counts.size();
  // The positive half of the grid: 128 levels for int8, as TensorRT and ONNX Runtime use.
  const size_t levels = size_t{1} << (target_bits - 1);
  if (levels >= nbins) return h.hi;  // the grid is finer than the histogram: nothing to gain
  const double width = BinWidth(h);
  // suffix[k] = sum of counts[k..]: the outliers folded into the last kept bin.
  std::vector<uint64_t> suffix(nbins + 1, 0);
  for (size_t k = nbins; k-- > 0;) suffix[k] = suffix[k + 1] + h.counts[k];
  std::vector<double> p(nbins), q(nbins);
  double best_kl = std::numeric_limits<double>::infinity();
  size_t best_i = nbins;
  for (size_t i = levels; i <= nbins; ++i) {
    // Reference P: the first i bins, everything beyond folded into bin i-1.
    for (size_t k = 0; k < i; ++k) p[k] = static_cast<double>(h.counts[k]);
    p[i - 1] += static_cast<double>(suffix[i]);
    // Candidate Q: the first i bins (outliers NOT folded in) merged into `levels` groups of
    // i / levels bins (the last group takes the remainder), each group's mass spread evenly over
    // its bins where P is non-zero.
    const size_t merge = i / levels;
    for (size_t j = 0; j < levels; ++j) {
      const size_t start = j * merge, end = j + 1 == levels ? i : start + merge;
      double mass = 0;
      size_t nonzero = 0;
      for (size_t k = start; k < end; ++k) {
        mass += static_cast<double>(h.counts[k]);
        nonzero += p[k] != 0;
      }
      const double share = nonzero ? mass / static_cast<double>(nonzero) : 0;
      for (size_t k = start; k < end; ++k) q[k] = p[k] != 0 ? share : 0;
    }
    if (!Smooth(p, i) || !Smooth(q, i)) continue;
    double sp = 0, sq = 0;
    for (size_t k = 0; k < i; ++k) {
      sp += p[k];
      sq += q[k];
    }
    // KL(P || Q) of the normalised distributions (natural log, as scipy.stats.entropy).
    double kl = 0;
    const double log_ratio = std::log(sq / sp);
    for (size_t k = 0; k < i; ++k) kl += p[k] * (std::log(p[k] / q[k]) + log_ratio);
    kl /= sp;
    if (kl < best_kl) {  // strict: the first (smallest) threshold wins ties
      best_kl = kl;
      best_i = i;
    }
  }
  return best_i == nbins ? h.hi : h.lo + static_cast<double>(best_i) * width;
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

struct NonEmptyBin {
  double x0;
  double count;
};

// Expected squared error (summed over values, in real units) of quantizing the histogram with
// grid `g`, each bin's values taken as spread uniformly over the bin.
double ExpectedError(const std::vector<NonEmptyBin>& bins, double width, const Grid& g) {
  if (!(g.scale > 0)) return std::numeric_limits<double>::infinity();
  const double w = width / g.scale;  // bin width in grid units
  double sum = 0;
  for (const NonEmptyBin& b : bins) {
    const double u0 = b.x0 / g.scale + g.zero_point;
    sum += b.count * (ErrorIntegral(u0 + w, g) - ErrorIntegral(u0, g));
  }
  return sum / w * g.scale * g.scale;
}

// Candidate clip points on one side, as k / steps of the side's extent kept. Coarse: multiples of
// `stride` plus powers of two (heavy clipping, where the optimum sits for a distribution with far
// outliers), then a refinement at every step around the best.
std::vector<int> CoarseSteps(int steps, int stride) {
  std::vector<int> ks;
  for (int k = stride; k < steps; k += stride) ks.push_back(k);
  for (int k = 1; k < stride; k *= 2) ks.push_back(k);
  ks.push_back(steps);
  std::sort(ks.begin(), ks.end());
  ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
  return ks;
}

TensorRange MseRange(const Histogram& h, float observed_min, float observed_max, int target_bits) {
  const double width = BinWidth(h);
  std::vector<NonEmptyBin> bins;
  for (size_t k = 0; k < h.counts.size(); ++k) {
    if (h.counts[k]) bins.push_back({h.lo + static_cast<double>(k) * width, static_cast<double>(h.counts[k])});
  }
  const double neg = std::min(h.lo, 0.0), pos = std::max(h.hi, 0.0);
  // Candidates clip each side at a fraction ka / steps (kb / steps) of its extent; steps = number
  // of bins, so the final refinement reaches the histogram's resolution.
  const int steps = static_cast<int>(h.counts.size());
  const bool search_neg = neg < 0, search_pos = pos > 0;
  auto lo_of = [&](int ka) { return neg * ka / steps; };
  auto hi_of = [&](int kb) { return pos * kb / steps; };
  const int stride = std::max(1, steps / 32);
  const std::vector<int> coarse = CoarseSteps(steps, stride);
  auto fine_around = [&](int center) {
    std::vector<int> ks;
    for (int k = std::max(1, center - stride); k <= std::min(steps, center + stride); ++k) ks.push_back(k);
    return ks;
  };
  if (target_bits == 16) {
    // Symmetric grid: one threshold t = max|x| * k / steps.
    const double extent = std::max(-neg, pos);
    int best_k = steps;
    double best = std::numeric_limits<double>::infinity();
    auto scan = [&](const std::vector<int>& ks) {
      for (int k : ks) {
        const double t = extent * k / steps;
        const double c = ExpectedError(bins, width, MakeGrid(-t, t, 16));
        // Strict, scanning upwards within each list: ties keep the earlier candidate.
        if (c < best) {
          best = c;
          best_k = k;
        }
      }
    };
    scan(coarse);
    scan(fine_around(best_k));
    return ClipSymmetric(observed_min, observed_max, extent * best_k / steps);
  }
  auto cost = [&](int ka, int kb) {
    return ExpectedError(bins, width, MakeGrid(lo_of(ka), hi_of(kb), target_bits));
  };
  const std::vector<int> only_full = {steps};
  int best_a = steps, best_b = steps;
  double best = cost(steps, steps);
  auto consider = [&](int ka, int kb) {
    const double c = cost(ka, kb);
    if (c < best) {  // strict: ties keep the earlier candidate
      best = c;
      best_a = ka;
      best_b = kb;
    }
  };
  // int8: a coarse 2-D scan, then alternate 1-D refinements at full resolution around the best.
  const std::vector<int>& as = search_neg ? coarse : only_full;
  const std::vector<int>& bs = search_pos ? coarse : only_full;
  for (int ka : as) {
    for (int kb : bs) consider(ka, kb);
  }
  for (int round = 0; round < 2; ++round) {
    if (search_pos) {
      const int a = best_a;
      for (int kb : fine_around(best_b)) consider(a, kb);
    }
    if (search_neg) {
      const int b = best_b;
      for (int ka : fine_around(best_a)) consider(ka, b);
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
      return ClipSymmetric(observed_min, observed_max, EntropyThreshold(h, target_bits));
    case CalibrationMethod::kMse:
      return MseRange(h, observed_min, observed_max, target_bits);
    case CalibrationMethod::kMinMax:
      break;
  }
  return full;
}

}  // namespace ql::passes
