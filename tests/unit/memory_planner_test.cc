#include "quantlens/runtime/memory_planner.h"

#include <climits>

#include <gtest/gtest.h>

namespace ql::rt {
namespace {

bool Overlap(const PlannedBuffer& a, const PlannedBuffer& b) {
  bool live = a.first_use <= b.last_use && b.first_use <= a.last_use;
  bool bytes = a.offset < b.offset + b.size && b.offset < a.offset + a.size;
  return live && bytes && a.size && b.size;
}

TEST(MemoryPlanner, ChainReusesMemory) {
  // A chain t0 -> op0 -> t1 -> op1 -> t2 -> op2 -> t3: t0 and t2 never live together, so with
  // equal sizes the arena holds two buffers, not four.
  std::vector<PlannedBuffer> b = {{100, -1, 0}, {100, 0, 1}, {100, 1, 2}, {100, 2, INT_MAX}};
  size_t arena = PlanArena(b, 64);
  EXPECT_EQ(arena, 256u);  // 100 rounded to 128, twice
  for (size_t i = 0; i < b.size(); ++i)
    for (size_t j = i + 1; j < b.size(); ++j) EXPECT_FALSE(Overlap(b[i], b[j])) << i << " " << j;
}

TEST(MemoryPlanner, InputAndOutputOfOneOpNeverShare) {
  // An op reads t0 and writes t1 at the same step: both are live at step 0.
  std::vector<PlannedBuffer> b = {{64, -1, 0}, {64, 0, 0}};
  PlanArena(b, 64);
  EXPECT_NE(b[0].offset, b[1].offset);
}

TEST(MemoryPlanner, RandomLifetimesNeverOverlap) {
  std::vector<PlannedBuffer> b;
  unsigned seed = 12345;
  auto next = [&] { seed = seed * 1103515245u + 12345u; return (seed >> 16) & 0x7fff; };
  for (int i = 0; i < 200; ++i) {
    int first = static_cast<int>(next() % 50) - 1;
    int last = first + static_cast<int>(next() % 10);
    b.push_back({static_cast<size_t>(next() % 5000), first, last});
  }
  size_t arena = PlanArena(b, 64);
  size_t sum = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    sum += b[i].size;
    EXPECT_LE(b[i].offset + b[i].size, arena);
    EXPECT_EQ(b[i].offset % 64, 0u);
    for (size_t j = i + 1; j < b.size(); ++j) ASSERT_FALSE(Overlap(b[i], b[j])) << i << " " << j;
  }
  EXPECT_LT(arena, sum);  // lifetimes are short, so sharing must save memory
}

}  // namespace
}  // namespace ql::rt
