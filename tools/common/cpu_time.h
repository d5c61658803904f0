// CPU time of this process, for the benchmark programs: on a machine shared with other jobs, wall
// time measures the neighbours as much as the code; the measured work is single-threaded.
#pragma once

#include <time.h>

namespace ql::tools {

inline double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace ql::tools
