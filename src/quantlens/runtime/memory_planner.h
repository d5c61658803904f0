// Places tensors in one arena so that tensors whose lifetimes overlap never share bytes.
#pragma once

#include <cstddef>
#include <vector>

namespace ql::rt {

struct PlannedBuffer {
  size_t size = 0;
  int first_use = 0;  // op index that writes it (-1 for graph inputs)
  int last_use = 0;   // last op index that reads it (INT_MAX for graph outputs)
  size_t offset = 0;  // result
};

// Greedy by size: the largest buffers are placed first, each at the lowest aligned offset that
// does not overlap a placed buffer with an intersecting lifetime. Returns the arena size.
size_t PlanArena(std::vector<PlannedBuffer>& buffers, size_t alignment);

}  // namespace ql::rt
