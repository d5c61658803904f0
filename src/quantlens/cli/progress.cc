#include "quantlens/cli/progress.h"

#include <unistd.h>

#include <cstdio>
#include <string>

namespace ql::cli {

ProgressBar::ProgressBar(int64_t total)
    : total_(total), enabled_(total > 1), tty_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(int64_t done) {
  if (!enabled_) return;
  if (!tty_) {
    if (done == total_) Draw(done);
    return;
  }
  // Redrawing more than ~20 times a second only costs time.
  auto now = std::chrono::steady_clock::now();
  if (done != total_ && line_open_ && now - last_draw_ < std::chrono::milliseconds(50)) return;
  last_draw_ = now;
  Draw(done);
}

void ProgressBar::Draw(int64_t done) {
  constexpr int kWidth = 30;
  const int filled = total_ > 0 ? static_cast<int>(kWidth * done / total_) : kWidth;
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::string bar(filled, '#');
  bar.append(kWidth - filled, '.');
  std::fprintf(stderr, "%s[%s] %lld/%lld samples %.1fs", tty_ ? "\r" : "", bar.c_str(),
               static_cast<long long>(done), static_cast<long long>(total_), secs);
  if (!tty_) std::fputc('\n', stderr);
  std::fflush(stderr);
  line_open_ = tty_;
}

void ProgressBar::Finish() {
  if (line_open_) {
    std::fputc('\n', stderr);
    std::fflush(stderr);
    line_open_ = false;
  }
}

}  // namespace ql::cli
