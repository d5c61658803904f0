// Latency measurement of quantlens's interpreter: timed Invoke loops, order statistics of the
// times, a per-op profile through the interpreter's op hooks, and the process's peak memory.
// `quantlens bench` is built on these (docs/bench.md).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "quantlens/runtime/interpreter.h"
#include "quantlens/util/status.h"

namespace ql::bench {

// Order statistics of a set of run times in milliseconds. Quantiles interpolate linearly between
// the sorted samples (numpy's default); spread = max - min.
struct LatencyStats {
  int64_t runs = 0;
  double median_ms = 0, min_ms = 0, max_ms = 0, mean_ms = 0;
  double p10_ms = 0, p25_ms = 0, p75_ms = 0, p90_ms = 0;
  double spread_ms = 0;  // max - min
  double iqr_ms = 0;     // p75 - p25
};
LatencyStats Summarize(std::vector<double> times_ms);

// Calls `invoke` `warmup` times untimed, then `iterations` times, each timed alone with a
// monotonic clock; returns the timed runs' milliseconds in order. `prepare` (if set) runs before
// every call, untimed: quantlens's arena reuses an input's memory once its last reader ran, so its
// inputs must be set again before each Invoke. The first error stops the loop.
Result<std::vector<double>> TimeRuns(const std::function<Status()>& prepare,
                                     const std::function<Status()>& invoke, int warmup, int iterations);

// Time per op, averaged over profiled runs.
struct OpTime {
  int index = 0;
  std::string type;   // "CONV_2D"
  std::string label;  // the graph's label of the op (type, index, output or layer name)
  bool folded = false;
  double ms = 0;
  double share = 0;   // of the sum over all ops
};
struct OpTypeTime {
  std::string type;
  int count = 0;
  double ms = 0;
  double share = 0;
};
struct OpProfile {
  int runs = 0;
  std::vector<OpTime> ops;          // in execution order
  std::vector<OpTypeTime> types;    // by time, largest first
  double total_ms = 0;              // sum of op times (close to a run's latency)
};

// Runs `interp` `runs` times with an op hook installed and attributes to op i the time between the
// hook call of the op before it (for op 0: the start of Invoke) and its own; ops folded at prepare
// time get 0 (their hook fires right after the previous op's). `set_inputs` runs before each
// Invoke, untimed. The interpreter's hooks and observers are cleared on return (Interpreter cannot
// remove just one).
Result<OpProfile> ProfileOps(rt::Interpreter& interp, const std::function<Status()>& set_inputs, int runs);

// Peak resident set size of this process so far, in bytes (getrusage ru_maxrss), 0 if unknown.
int64_t PeakRssBytes();

// Bytes of the constant tensors (weights, biases, tables) of `graph`.
int64_t WeightBytes(const ir::Graph& graph);

}  // namespace ql::bench
