#include "quantlens/bench/latency.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <numeric>

#include "quantlens/ir/op_type.h"

namespace ql::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Quantile q of sorted, non-empty `v`, linear interpolation between closest ranks.
double Quantile(const std::vector<double>& v, double q) {
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return v[lo] + (v[hi] - v[lo]) * frac;
}

}  // namespace

LatencyStats Summarize(std::vector<double> times_ms) {
  LatencyStats s;
  if (times_ms.empty()) return s;
  std::sort(times_ms.begin(), times_ms.end());
  s.runs = static_cast<int64_t>(times_ms.size());
  s.min_ms = times_ms.front();
  s.max_ms = times_ms.back();
  s.mean_ms = std::accumulate(times_ms.begin(), times_ms.end(), 0.0) / static_cast<double>(times_ms.size());
  s.median_ms = Quantile(times_ms, 0.5);
  s.p10_ms = Quantile(times_ms, 0.1);
  s.p25_ms = Quantile(times_ms, 0.25);
  s.p75_ms = Quantile(times_ms, 0.75);
  s.p90_ms = Quantile(times_ms, 0.9);
  s.spread_ms = s.max_ms - s.min_ms;
  s.iqr_ms = s.p75_ms - s.p25_ms;
  return s;
}

Result<std::vector<double>> TimeRuns(const std::function<Status()>& prepare,
                                     const std::function<Status()>& invoke, int warmup, int iterations) {
  for (int i = 0; i < warmup; ++i) {
    if (prepare) QL_RETURN_IF_ERROR(prepare());
    QL_RETURN_IF_ERROR(invoke());
  }
  std::vector<double> times;
  times.reserve(static_cast<size_t>(std::max(iterations, 0)));
  for (int i = 0; i < iterations; ++i) {
    if (prepare) QL_RETURN_IF_ERROR(prepare());
    const Clock::time_point start = Clock::now();
    Status st = invoke();
    const Clock::time_point end = Clock::now();
    if (!st.ok()) return st;
    times.push_back(Ms(end - start));
  }
  return times;
}

Result<OpProfile> ProfileOps(rt::Interpreter& interp, const std::function<Status()>& set_inputs, int runs) {
  const ir::Graph& g = interp.graph();
  const size_t nops = g.ops.size();
  std::vector<double> sum_ms(nops, 0.0);
  std::vector<bool> folded(nops, false);
  Clock::time_point last;
  // The hook does as little as possible: one clock read and one addition. Its own cost lands in
  // the next op's time, about the same for every op.
  interp.AddHook([&](const rt::OpEvent& e) {
    const Clock::time_point now = Clock::now();
    const size_t i = static_cast<size_t>(e.op_index);
    if (e.folded) {
      folded[i] = true;
    } else {
      sum_ms[i] += Ms(now - last);
    }
    last = now;
  });
  Status status = Status::Ok();
  for (int r = 0; r < runs && status.ok(); ++r) {
    if (set_inputs) status = set_inputs();
    if (!status.ok()) break;
    last = Clock::now();
    status = interp.Invoke();
  }
  interp.ClearObservers();
  if (!status.ok()) return status;

  OpProfile p;
  p.runs = runs;
  std::map<std::string, OpTypeTime> by_type;
  for (size_t i = 0; i < nops; ++i) {
    OpTime t;
    t.index = static_cast<int>(i);
    t.type = std::string(ir::OpTypeName(g.ops[i].type));
    t.label = g.OpLabel(static_cast<int>(i));
    t.folded = folded[i];
    t.ms = runs > 0 ? sum_ms[i] / runs : 0.0;
    p.total_ms += t.ms;
    OpTypeTime& tt = by_type[t.type];
    tt.type = t.type;
    tt.count += 1;
    tt.ms += t.ms;
    p.ops.push_back(std::move(t));
  }
  for (OpTime& t : p.ops) t.share = p.total_ms > 0 ? t.ms / p.total_ms : 0.0;
  for (auto& [name, tt] : by_type) {
    tt.share = p.total_ms > 0 ? tt.ms / p.total_ms : 0.0;
    p.types.push_back(tt);
  }
  std::stable_sort(p.types.begin(), p.types.end(),
                   [](const OpTypeTime& a, const OpTypeTime& b) { return a.ms > b.ms; });
  return p;
}

int64_t PeakRssBytes() {
  rusage u{};
  if (getrusage(RUSAGE_SELF, &u) != 0) return 0;
  return static_cast<int64_t>(u.ru_maxrss) * 1024;  // Linux reports kilobytes
}

int64_t WeightBytes(const ir::Graph& graph) {
  int64_t total = 0;
  for (const ir::Tensor& t : graph.tensors) total += static_cast<int64_t>(t.data.size());
  return total;
}

}  // namespace ql::bench
