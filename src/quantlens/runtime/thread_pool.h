// A fixed pool of threads for splitting one op's work. Work is split into contiguous parts that
// depend only on the item count and the thread count, and every item writes its own outputs, so
// a kernel's results never depend on the number of threads (tests/unit/kernel_variants_test.cc
// runs the optimized kernels at 1, 2 and 3 threads and compares bytes).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include "quantlens/util/status.h"

namespace ql::rt {

class ThreadPool {
 public:
  // `threads` >= 1 workers in all, the calling thread being worker 0.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }

  // Calls fn(begin, end, worker) for the parts of [0, n): part w, [n * w / T, n * (w + 1) / T),
  // runs on worker w (T = min(threads(), n)). Returns when every part is done. Nothing is
  // allocated (the callable is passed by address).
  template <typename Fn>
  void ParallelFor(int64_t n, Fn&& fn) {
    if (n <= 0) return;
    if (threads_ == 1 || n == 1) {
      fn(int64_t{0}, n, 0);
      return;
    }
    using F = std::remove_reference_t<Fn>;
    Run(n, [](void* f, int64_t b, int64_t e, int w) { (*static_cast<F*>(f))(b, e, w); },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

 private:
  using Trampoline = void (*)(void*, int64_t, int64_t, int);
  void Run(int64_t n, Trampoline call, void* fn);
  void WorkerLoop(int worker);

  int threads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex run_mutex_;  // one ParallelFor at a time
  std::mutex mutex_;
  std::condition_variable start_cv_, done_cv_;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
  int64_t n_ = 0;
  int parts_ = 0;
  Trampoline call_ = nullptr;
  void* fn_ = nullptr;
};

// What a kernel gets besides its tensors: the thread pool and one scratch buffer shared by every
// op of the interpreter (ops run one at a time). A kernel reserves the bytes it needs at Prepare
// (ReserveScratch, which grows the buffer then) and uses scratch() during Eval, so Eval allocates
// nothing. Contents do not survive from one Eval to the next.
class KernelContext {
 public:
  explicit KernelContext(int threads = 1);
  ~KernelContext();
  int threads() const { return pool_ ? pool_->threads() : 1; }
  ThreadPool* pool() const { return pool_.get(); }

  // Grows the scratch buffer to at least `bytes`; an error if that memory cannot be had.
  Status ReserveScratch(size_t bytes);
  void* scratch() const { return scratch_; }
  size_t scratch_bytes() const { return scratch_bytes_; }

  // fn(begin, end, worker) over [0, n) on the pool, or inline with one thread.
  template <typename Fn>
  void ParallelFor(int64_t n, Fn&& fn) const {
    if (pool_) pool_->ParallelFor(n, fn);
    else if (n > 0) fn(int64_t{0}, n, 0);
  }

 private:
  std::unique_ptr<ThreadPool> pool_;
  void* scratch_ = nullptr;  // 64-byte aligned
  size_t scratch_bytes_ = 0;
};

}  // namespace ql::rt
