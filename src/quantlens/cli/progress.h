// A one-line progress bar on stderr for multi-sample runs. On a terminal it redraws one line in
// place; when stderr is a file or pipe it prints only the final state, so logs stay short.
#pragma once

#include <chrono>
#include <cstdint>

namespace ql::cli {

class ProgressBar {
 public:
  // Shown only when `total` > 1 (one sample needs no progress).
  explicit ProgressBar(int64_t total);
  ~ProgressBar();  // ends the line if one is open

  void Update(int64_t done);
  // Ends the line (before an error message, or when done).
  void Finish();

 private:
  int64_t total_;
  bool enabled_, tty_, line_open_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
  void Draw(int64_t done);
};

}  // namespace ql::cli
