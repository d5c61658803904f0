// The thread pool: every index runs exactly once, parts are the documented contiguous ranges (so
// which worker computes what does not depend on timing), and the pool can be reused many times.
#include <atomic>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "quantlens/runtime/thread_pool.h"

namespace ql::rt {
namespace {

TEST(ThreadPool, EveryIndexOnceInTheDocumentedParts) {
  for (int threads : {1, 2, 3, 7}) {
    ThreadPool pool(threads);
    for (int64_t n : {1, 2, 5, 64, 1001}) {
      std::vector<int> hits(static_cast<size_t>(n), 0);
      std::vector<int> owner(static_cast<size_t>(n), -1);
      pool.ParallelFor(n, [&](int64_t begin, int64_t end, int worker) {
        for (int64_t i = begin; i < end; ++i) {
          ++hits[static_cast<size_t>(i)];
          owner[static_cast<size_t>(i)] = worker;
        }
      });
      const int64_t parts = std::min<int64_t>(threads, n);
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_EQ(hits[static_cast<size_t>(i)], 1) << "index " << i << " of " << n << ", " << threads << " threads";
        // Part w is [n * w / parts, n * (w + 1) / parts).
        const int w = owner[static_cast<size_t>(i)];
        EXPECT_GE(i, n * w / parts);
        EXPECT_LT(i, n * (w + 1) / parts);
      }
    }
  }
}

TEST(ThreadPool, ReusedManyTimesAndZeroItemsIsANoOp) {
  ThreadPool pool(3);
  std::atomic<int64_t> sum{0};
  for (int round = 0; round < 2000; ++round)
    pool.ParallelFor(10, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) sum += i;
    });
  EXPECT_EQ(sum.load(), 2000 * 45);
  bool called = false;
  pool.ParallelFor(0, [&](int64_t, int64_t, int) { called = true; });
  EXPECT_FALSE(called);
}

TEST(KernelContext, ScratchGrowsAndIsAligned) {
  KernelContext ctx(2);
  EXPECT_EQ(ctx.threads(), 2);
  EXPECT_EQ(ctx.scratch_bytes(), 0u);
  ASSERT_TRUE(ctx.ReserveScratch(100).ok());
  EXPECT_GE(ctx.scratch_bytes(), 100u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(ctx.scratch()) % 64, 0u);
  void* first = ctx.scratch();
  ASSERT_TRUE(ctx.ReserveScratch(50).ok());  // smaller: kept
  EXPECT_EQ(ctx.scratch(), first);
  ASSERT_TRUE(ctx.ReserveScratch(1 << 20).ok());
  EXPECT_GE(ctx.scratch_bytes(), size_t{1} << 20);
}

}  // namespace
}  // namespace ql::rt
