// bench_compare REFERENCE CANDIDATE DATA [--samples N] [--repeat R]
//
// The cost of `quantlens compare --layers` against running both models: in one process, times
// CompareModels without layers (both models run once per sample, outputs compared) and with the
// full per-layer analysis (reference, candidate end to end, candidate isolated, the two float runs
// of the error budget, statistics of every aligned tensor), over the same samples. The budget is
// 3x (docs/compare.md). Measurements are interleaved and repeated R times (default 3); the
// fastest counts, as process CPU time (a shared machine's neighbours distort wall time).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/cpu_time.h"
#include "quantlens/analysis/compare.h"
#include "quantlens/formats/model_loader.h"

namespace {

using ql::tools::CpuSeconds;

int Fail(const ql::Status& s) {
  std::fprintf(stderr, "bench_compare: %s\n", s.message().c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: bench_compare REFERENCE CANDIDATE DATA [--samples N] [--repeat R]\n");
    return 2;
  }
  int64_t samples = 100;
  int repeat = 3;
  for (int i = 4; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--samples") samples = std::atoll(argv[i + 1]);
    else if (flag == "--repeat") repeat = std::max(1, std::atoi(argv[i + 1]));
    else return Fail(ql::InvalidArgument("unknown flag {}", flag));
  }
  auto ref = ql::LoadModel(argv[1]);
  if (!ref.ok()) return Fail(ref.status());
  auto cand = ql::LoadModel(argv[2]);
  if (!cand.ok()) return Fail(cand.status());
  ql::analysis::CompareOptions opts;
  opts.data = argv[3];
  opts.data_options.max_samples = samples;
  double plain = 1e300, full = 1e300, plain_wall = 1e300, full_wall = 1e300;
  size_t layers = 0;
  for (int r = 0; r < repeat; ++r) {
    for (bool with_layers : {false, true}) {
      opts.layers = with_layers;
      const double c0 = CpuSeconds();
      const auto t0 = std::chrono::steady_clock::now();
      auto res = ql::analysis::CompareModels(*ref, *cand, opts);
      const double cpu = CpuSeconds() - c0;
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!res.ok()) return Fail(res.status());
      if (with_layers) {
        full = std::min(full, cpu);
        full_wall = std::min(full_wall, wall);
        layers = res->layers.size();
      } else {
        plain = std::min(plain, cpu);
        plain_wall = std::min(plain_wall, wall);
      }
    }
  }
  std::printf("samples %lld, aligned layers %zu, best of %d\n", static_cast<long long>(samples), layers, repeat);
  std::printf("both models, outputs compared : %8.3f s CPU  %8.3f s wall\n", plain, plain_wall);
  std::printf("full per-layer analysis       : %8.3f s CPU  %8.3f s wall\n", full, full_wall);
  std::printf("ratio (CPU)                   : %8.2fx   (budget 3x)\n", full / plain);
  return 0;
}
