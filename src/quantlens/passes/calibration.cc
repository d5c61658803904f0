// Calibrate: the sample loop and the interpreter observer that collects per-tensor statistics.
// Pass 1 records each float tensor's exact min and max; the histogram methods then run the samples
// a second time and fill, per tensor, a fixed histogram over the pass-1 range (|x| over
// [0, max|x|] for percentile and entropy, x over [min, max] for mse). Two passes keep the
// histograms exact (no re-binning as the range grows) and memory at bins x tensors.
#include "quantlens/passes/calibration.h"

#include <chrono>
#include <cmath>
#include <limits>

#include "quantlens/io/element.h"

namespace ql::passes {
namespace {

constexpr float kFloatMax = std::numeric_limits<float>::max();

// Everything collected for one float tensor.
struct TensorStats {
  int tensor = -1;
  float min = std::numeric_limits<float>::infinity();
  float max = -std::numeric_limits<float>::infinity();
  int64_t non_finite = 0;  // NaN/Inf values seen in pass 1 (left out of the range)
  Histogram histogram;
  double inv_width = 0;  // bins / (hi - lo); 0 when the histogram is not collected
  bool absolute = false;
};

class Calibrator {
 public:
  Calibrator(const ir::Graph& graph, const CalibrationOptions& options)
      : graph_(graph), options_(options) {
    slot_.assign(graph.tensors.size(), -1);
    producer_.assign(graph.tensors.size(), -1);
    auto add = [&](int t) {
      if (t < 0 || t >= static_cast<int>(graph.tensors.size()) || slot_[t] >= 0) return;
      if (!ir::IsFloat(graph.tensors[t].dtype)) return;
      slot_[t] = static_cast<int>(stats_.size());
      stats_.push_back(TensorStats{});
      stats_.back().tensor = t;
    };
    for (int t : graph.inputs) add(t);
    for (size_t i = 0; i < graph.ops.size(); ++i) {
      for (int t : graph.ops[i].outputs) {
        add(t);
        if (t >= 0 && t < static_cast<int>(graph.tensors.size())) producer_[t] = static_cast<int>(i);
      }
    }
  }

  bool wants_histograms() const { return options_.spec.method != CalibrationMethod::kMinMax; }

  // Between the passes: fix every histogram's range from pass 1.
  void StartHistograms() {
    histogram_pass_ = true;
    const bool absolute = options_.spec.method != CalibrationMethod::kMse;
    for (TensorStats& s : stats_) {
      s.absolute = absolute;
      if (!(s.min <= s.max)) continue;  // never a finite value
      const double lo = absolute ? 0.0 : s.min;
      const double hi = absolute ? std::max(std::fabs(static_cast<double>(s.min)), std::fabs(static_cast<double>(s.max)))
                                 : s.max;
      s.histogram.lo = lo;
      s.histogram.hi = hi;
      if (hi > lo) {
        s.histogram.counts.assign(static_cast<size_t>(options_.num_bins), 0);
        s.inv_width = options_.num_bins / (hi - lo);
      }
    }
  }

  void ObserveTensor(int tensor, ir::DType dtype, const void* data, int64_t n) {
    const int slot = slot_[tensor];
    if (slot < 0 || n <= 0 || !data) return;
    TensorStats& s = stats_[static_cast<size_t>(slot)];
    const float* x = static_cast<const float*>(data);
    if (dtype != ir::DType::kFloat32) {
      // float16/float64 op outputs are rare: widen or narrow to float32 first.
      scratch_.resize(static_cast<size_t>(n));
      for (int64_t k = 0; k < n; ++k) {
        scratch_[static_cast<size_t>(k)] =
            static_cast<float>(io::LoadAsDouble(dtype, static_cast<const uint8_t*>(data), k));
      }
      x = scratch_.data();
    }
    if (histogram_pass_) {
      if (s.inv_width > 0) Accumulate(s, x, n);
    } else {
      MinMax(s, x, n);
    }
  }

  void ObserveOp(int op_index, std::span<const rt::TensorRef* const> outputs) {
    const ir::Op& op = graph_.ops[static_cast<size_t>(op_index)];
    for (size_t j = 0; j < outputs.size() && j < op.outputs.size(); ++j) {
      const rt::TensorRef* ref = outputs[j];
      const int t = op.outputs[j];
      if (!ref || t < 0) continue;
      ObserveTensor(t, ref->dtype(), ref->data, ref->num_elements());
    }
  }

  Result<CalibrationResult> Finish(int64_t num_samples) {
    CalibrationResult result;
    result.num_samples = num_samples;
    result.ranges.assign(graph_.tensors.size(), TensorRange{});
    for (const TensorStats& s : stats_) {
      if (s.non_finite > 0 || !(s.min <= s.max)) {
        result.warnings.push_back(fmt::format(
            "{}: {} NaN/Inf value(s) over {} sample(s) {}", Where(s.tensor), s.non_finite, num_samples,
            s.min <= s.max ? "left out of its range" : "and no finite value: no range"));
      }
      if (!(s.min <= s.max)) continue;
      auto r = ChooseRange(s.histogram, s.min, s.max, options_.spec, options_.target_bits);
      if (!r.ok()) return r.status().WithContext(Where(s.tensor) + ": ");
      result.ranges[static_cast<size_t>(s.tensor)] = *r;
    }
    return result;
  }

 private:
  std::string Where(int t) const {
    const std::string name = graph_.tensors[static_cast<size_t>(t)].name;
    if (producer_[t] >= 0) return fmt::format("{} output '{}'", graph_.OpLabel(producer_[t]), name);
    return fmt::format("input '{}'", name);
  }

  // Branch-free so the compiler can vectorise it: a non-finite value is replaced by the current
  // extreme, which changes nothing, and counted.
  static void MinMax(TensorStats& s, const float* x, int64_t n) {
    float mn = s.min, mx = s.max;
    int64_t bad = 0;
    for (int64_t k = 0; k < n; ++k) {
      const float v = x[k];
      const bool finite = std::fabs(v) <= kFloatMax;  // false for NaN and +-Inf
      const float lo = finite ? v : mn, hi = finite ? v : mx;
      mn = lo < mn ? lo : mn;
      mx = hi > mx ? hi : mx;
      bad += !finite;
    }
    s.min = mn;
    s.max = mx;
    s.non_finite += bad;
  }

  // Bin k holds lo + [k, k+1) * width; values at hi land in the last bin. Values outside [lo, hi]
  // (non-finite ones, or a source returning different data the second time) are skipped or
  // clamped, never an out-of-range index. Exact zeros (half of every ReLU output) are counted in a
  // register and added once: incrementing one counter back to back is the loop's bottleneck.
  static void Accumulate(TensorStats& s, const float* x, int64_t n) {
    if (s.absolute) {
      AccumulateAs<true>(s, x, n);
    } else {
      AccumulateAs<false>(s, x, n);
    }
  }

  template <bool kAbsolute>
  static void AccumulateAs(TensorStats& s, const float* x, int64_t n) {
    uint64_t* counts = s.histogram.counts.data();
    const int64_t last = static_cast<int64_t>(s.histogram.counts.size()) - 1;
    // Bin arithmetic in float: a value near a bin edge may land in the neighbouring bin, the same
    // way on every run (the histogram only needs to be deterministic, not exact at edges).
    const auto lo_f = static_cast<float>(s.histogram.lo), hi_f = static_cast<float>(s.histogram.hi);
    const auto inv_f = static_cast<float>(s.inv_width);
    uint64_t zeros = 0;
    for (int64_t k = 0; k < n; ++k) {
      const float v = kAbsolute ? std::fabs(x[k]) : x[k];
      if (v == 0) {
        ++zeros;
        continue;
      }
      if (!(v >= lo_f && v <= hi_f)) {
        if (std::isfinite(v)) ++counts[v < lo_f ? 0 : last];
        continue;
      }
      const auto bin = static_cast<int64_t>((v - lo_f) * inv_f);
      ++counts[bin < last ? bin : last];
    }
    if (zeros) {  // where the loop would have put them
      int64_t zero_bin = 0;
      if (0.0f > hi_f) {
        zero_bin = last;
      } else if (0.0f > lo_f) {
        zero_bin = std::min(last, static_cast<int64_t>((0.0f - lo_f) * inv_f));
      }
      counts[zero_bin] += zeros;
    }
  }

  const ir::Graph& graph_;
  const CalibrationOptions& options_;
  std::vector<int> slot_;      // tensor index -> index into stats_, -1 when not observed
  std::vector<int> producer_;  // tensor index -> op index, -1 for graph inputs and constants
  std::vector<TensorStats> stats_;
  std::vector<float> scratch_;
  bool histogram_pass_ = false;
};

Status CheckSample(const std::vector<io::Array>& sample, const rt::Interpreter& interp,
                   const io::SampleSource& source, int64_t i) {
  if (static_cast<int>(sample.size()) != interp.num_inputs()) {
    return InvalidArgument("{}: sample {} has {} arrays but the model has {} inputs",
                           source.description(), i, sample.size(), interp.num_inputs());
  }
  for (int k = 0; k < interp.num_inputs(); ++k) {
    const rt::TensorRef& in = interp.input(k);
    const io::Array& a = sample[static_cast<size_t>(k)];
    if (a.dtype != in.dtype() || ir::ShapeProduct(a.shape) != in.num_elements() ||
        a.data.size() != in.bytes()) {
      return InvalidArgument("{}: sample {}: input {} '{}' is {} {} but the model input is {} {}",
                             source.description(), i, k, in.info->name, ir::DTypeName(a.dtype),
                             ir::ShapeToString(a.shape), ir::DTypeName(in.dtype()),
                             ir::ShapeToString(in.shape));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<CalibrationResult> Calibrate(const ir::Graph& graph, io::SampleSource& samples,
                                    const CalibrationOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (options.num_bins < 16 || options.num_bins > (1 << 20)) {
    return InvalidArgument("calibration: num_bins {} is outside [16, 1048576]", options.num_bins);
  }
  if (options.target_bits != 8 && options.target_bits != 16) {
    return InvalidArgument("calibration: target_bits {} is not 8 (int8) or 16 (int16x8)",
                           options.target_bits);
  }
  if (options.spec.method == CalibrationMethod::kPercentile &&
      !(options.spec.percentile > 0 && options.spec.percentile <= 100)) {
    return InvalidArgument("calibration: percentile {} is outside (0, 100]", options.spec.percentile);
  }
  const int64_t n = samples.num_samples();
  if (n <= 0) return InvalidArgument("{}: no samples to calibrate with", samples.description());

  QL_ASSIGN_OR_RETURN(auto interp, rt::Interpreter::Create(graph, options.interpreter));
  Calibrator calibrator(graph, options);
  interp->AddObserver([&calibrator](const ir::Graph&, int op_index,
                                    std::span<const rt::TensorRef* const> outputs) {
    calibrator.ObserveOp(op_index, outputs);
  });

  const int passes = calibrator.wants_histograms() ? 2 : 1;
  const int64_t total = n * passes;
  int64_t done = 0;
  for (int pass = 0; pass < passes; ++pass) {
    if (pass == 1) calibrator.StartHistograms();
    for (int64_t i = 0; i < n; ++i) {
      QL_ASSIGN_OR_RETURN(std::vector<io::Array> sample, samples.Get(i));
      QL_RETURN_IF_ERROR(CheckSample(sample, *interp, samples, i));
      for (int k = 0; k < interp->num_inputs(); ++k) {
        const io::Array& a = sample[static_cast<size_t>(k)];
        calibrator.ObserveTensor(graph.inputs[static_cast<size_t>(k)], a.dtype, a.data.data(),
                                 a.num_elements());
        QL_RETURN_IF_ERROR(interp->SetInput(k, a.data.data(), a.data.size()));
      }
      auto st = interp->Invoke();
      if (!st.ok()) return st.WithContext(fmt::format("calibration sample {}: ", i));
      ++done;
      if (options.progress) options.progress(done, total);
    }
  }
  QL_ASSIGN_OR_RETURN(CalibrationResult result, calibrator.Finish(n));
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace ql::passes
