#include "quantlens/runtime/memory_planner.h"

#include <algorithm>
#include <numeric>

namespace ql::rt {

size_t PlanArena(std::vector<PlannedBuffer>& buffers, size_t alignment) {
  std::vector<size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return buffers[a].size > buffers[b].size; });
  auto align = [&](size_t v) { return (v + alignment - 1) / alignment * alignment; };
  std::vector<size_t> placed;
  size_t arena = 0;
  for (size_t idx : order) {
    PlannedBuffer& b = buffers[idx];
    if (b.size == 0) {
      b.offset = 0;
      continue;
    }
    // Intervals already taken by live-overlapping buffers, sorted by offset.
    std::vector<std::pair<size_t, size_t>> taken;
    for (size_t p : placed) {
      const PlannedBuffer& o = buffers[p];
      if (o.first_use <= b.last_use && b.first_use <= o.last_use)
        taken.emplace_back(o.offset, o.offset + o.size);
    }
    std::sort(taken.begin(), taken.end());
    size_t candidate = 0;
    for (const auto& [lo, hi] : taken) {
      if (candidate + b.size <= lo) break;
      candidate = std::max(candidate, align(hi));
    }
    b.offset = candidate;
    arena = std::max(arena, candidate + b.size);
    placed.push_back(idx);
  }
  return align(arena);
}

}  // namespace ql::rt
