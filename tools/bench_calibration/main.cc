// bench_calibration MODEL DATA [--samples N] [--methods m1,m2,...] [--bins N] [--bits 8|16]
//                   [--repeat R]
//
// Measures, in one process, how long calibration takes against plain float inference over the same
// samples (sample loading included in both), and prints the ratio per method. The calibration
// budget is 3x float inference (docs/calibration.md). Each measurement is repeated R times
// (default 3), interleaved, and the fastest run counts: on a shared machine the minimum is the
// least disturbed estimate, for the reference and the methods alike. Both process CPU time and
// wall time are shown; the CPU ratio is the one a busy machine does not distort.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/cpu_time.h"
#include "quantlens/formats/model_loader.h"
#include "quantlens/io/sample_source.h"
#include "quantlens/passes/calibration.h"
#include "quantlens/runtime/interpreter.h"

namespace {

using ql::tools::CpuSeconds;

int Fail(const ql::Status& s) {
  std::fprintf(stderr, "bench_calibration: %s\n", s.message().c_str());
  return 2;
}

struct Times {
  double cpu = 1e300, wall = 1e300;
  void Keep(double c, double w) {
    cpu = std::min(cpu, c);
    wall = std::min(wall, w);
  }
};

ql::Result<std::pair<double, double>> TimeFloat(const ql::ir::Graph& g, ql::io::SampleSource& src) {
  const double c0 = CpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  QL_ASSIGN_OR_RETURN(auto interp, ql::rt::Interpreter::Create(g));
  for (int64_t i = 0; i < src.num_samples(); ++i) {
    QL_ASSIGN_OR_RETURN(auto sample, src.Get(i));
    for (int k = 0; k < interp->num_inputs(); ++k) {
      QL_RETURN_IF_ERROR(interp->SetInput(k, sample[static_cast<size_t>(k)].data.data(),
                                          sample[static_cast<size_t>(k)].data.size()));
    }
    QL_RETURN_IF_ERROR(interp->Invoke());
  }
  return std::make_pair(CpuSeconds() - c0,
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: bench_calibration MODEL DATA [--samples N] [--methods m1,m2,...] "
                 "[--bins N] [--bits 8|16]\n");
    return 2;
  }
  const std::string model = argv[1], data = argv[2];
  int64_t max_samples = -1;
  std::vector<std::string> methods = {"minmax", "percentile:99.99", "entropy", "mse"};
  int bins = 2048, bits = 8, repeat = 3;
  for (int a = 3; a + 1 < argc; a += 2) {
    const std::string flag = argv[a], value = argv[a + 1];
    if (flag == "--samples") {
      max_samples = std::atoll(value.c_str());
    } else if (flag == "--methods") {
      methods = Split(value);
    } else if (flag == "--bins") {
      bins = std::atoi(value.c_str());
    } else if (flag == "--bits") {
      bits = std::atoi(value.c_str());
    } else if (flag == "--repeat") {
      repeat = std::max(1, std::atoi(value.c_str()));
    } else {
      std::fprintf(stderr, "bench_calibration: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  auto graph = ql::LoadModel(model);
  if (!graph.ok()) return Fail(graph.status());
  ql::io::SampleSourceOptions so;
  so.max_samples = max_samples;
  auto src = ql::io::OpenSampleSource(data, *graph, ql::io::InputSampleShapes(*graph), so);
  if (!src.ok()) return Fail(src.status());
  std::printf("model %s, data %s, %d bins, %d-bit grid\n", model.c_str(),
              (*src)->description().c_str(), bins, bits);

  struct Row {
    std::string method;
    Times t;
  };
  std::vector<Row> rows;
  for (const std::string& m : methods) rows.push_back({m, {}});
  Times ref;
  for (int rep = 0; rep < repeat; ++rep) {
    auto f = TimeFloat(*graph, **src);
    if (!f.ok()) return Fail(f.status());
    ref.Keep(f->first, f->second);
    for (Row& row : rows) {
      auto spec = ql::passes::ParseCalibrationMethod(row.method);
      if (!spec.ok()) return Fail(spec.status());
      ql::passes::CalibrationOptions opts;
      opts.spec = *spec;
      opts.num_bins = bins;
      opts.target_bits = bits;
      const double c0 = CpuSeconds();
      auto r = ql::passes::Calibrate(*graph, **src, opts);
      if (!r.ok()) return Fail(r.status());
      row.t.Keep(CpuSeconds() - c0, r->seconds);
    }
  }
  std::printf("float inference: %.3f s CPU, %.3f s wall (fastest of %d)\n", ref.cpu, ref.wall, repeat);
  std::printf("%-20s %9s %9s %10s %10s\n", "method", "cpu s", "wall s", "cpu ratio", "wall ratio");
  for (const Row& row : rows) {
    std::printf("%-20s %9.3f %9.3f %10.2f %10.2f\n", row.method.c_str(), row.t.cpu, row.t.wall,
                row.t.cpu / ref.cpu, row.t.wall / ref.wall);
  }
  return 0;
}
