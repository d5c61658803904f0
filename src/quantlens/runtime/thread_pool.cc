#include "quantlens/runtime/thread_pool.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace ql::rt {

ThreadPool::ThreadPool(int threads) : threads_(std::max(threads, 1)) {
  for (int w = 1; w < threads_; ++w) workers_.emplace_back([this, w] { WorkerLoop(w); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  start_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::Run(int64_t n, Trampoline call, void* fn) {
  std::lock_guard<std::mutex> run_lock(run_mutex_);
  const int parts = static_cast<int>(std::min<int64_t>(threads_, n));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    n_ = n;
    parts_ = parts;
    call_ = call;
    fn_ = fn;
    pending_ = parts - 1;  // every part but the caller's
    ++generation_;
  }
  start_cv_.notify_all();
  call(fn, 0, n / parts, 0);
  std::unique_lock<std::mutex> lock(mutex_);
  done_cv_.wait(lock, [this] { return pending_ == 0; });
}

void ThreadPool::WorkerLoop(int worker) {
  uint64_t seen = 0;
  for (;;) {
    int64_t n;
    int parts;
    Trampoline call;
    void* fn;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      start_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      n = n_;
      parts = parts_;
      call = call_;
      fn = fn_;
    }
    if (worker < parts) {
      call(fn, n * worker / parts, n * (worker + 1) / parts, worker);
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }
}

KernelContext::KernelContext(int threads) {
  if (threads > 1) pool_ = std::make_unique<ThreadPool>(threads);
}

KernelContext::~KernelContext() { std::free(scratch_); }

Status KernelContext::ReserveScratch(size_t bytes) {
  if (bytes <= scratch_bytes_) return Status::Ok();
  const size_t rounded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) return Internal("cannot allocate {} bytes of kernel scratch memory", rounded);
  std::memset(p, 0, rounded);
  std::free(scratch_);
  scratch_ = p;
  scratch_bytes_ = rounded;
  return Status::Ok();
}

}  // namespace ql::rt
