// Numpy broadcasting for elementwise kernels: the output shape of two operands, and an index
// walker that maps every output element to the element of each operand it reads. Shapes align at
// the right; a dimension of 1 (or a missing leading dimension) repeats along the other operand.
#pragma once

#include <cstdint>
#include <vector>

#include "quantlens/ir/graph.h"
#include "quantlens/util/status.h"

namespace ql::kern {

// The broadcast shape of `a` and `b`, or kInvalidModel naming both shapes and the first axis
// (counted from the right) where the sizes differ and neither is 1.
Result<ir::Shape> BroadcastShapes(const ir::Shape& a, const ir::Shape& b);

// Element strides of `in` laid against `out` (which must be a broadcast of `in`): one entry per
// output axis, 0 where `in` repeats along that axis.
std::vector<int64_t> BroadcastStrides(const ir::Shape& in, const ir::Shape& out);

// Walks a row-major output of shape `out`, giving the flat offsets into two broadcast operands.
// Computed once in Prepare; Eval only calls ForEach.
class BinaryBroadcast {
 public:
  BinaryBroadcast() = default;
  BinaryBroadcast(const ir::Shape& a, const ir::Shape& b, const ir::Shape& out);

  // True when both operands have the output's shape: offsets are then all equal.
  bool trivial() const { return trivial_; }
  int64_t num_elements() const { return num_elements_; }

  // Calls fn(out_offset, a_offset, b_offset) for every output element in row-major order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    if (num_elements_ == 0) return;
    if (trivial_) {
      for (int64_t i = 0; i < num_elements_; ++i) fn(i, i, i);
      return;
    }
    const int rank = static_cast<int>(out_.size());
    // The innermost axis is looped directly; outer axes advance an odometer.
    const int64_t inner = out_[rank - 1];
    const int64_t ia_step = stride_a_[rank - 1], ib_step = stride_b_[rank - 1];
    std::vector<int64_t> counter(rank, 0);
    int64_t a_base = 0, b_base = 0, o = 0;
    while (true) {
      int64_t ia = a_base, ib = b_base;
      for (int64_t j = 0; j < inner; ++j, ++o, ia += ia_step, ib += ib_step) fn(o, ia, ib);
      int axis = rank - 2;
      for (; axis >= 0; --axis) {
        a_base += stride_a_[axis];
        b_base += stride_b_[axis];
        if (++counter[axis] < out_[axis]) break;
        a_base -= stride_a_[axis] * out_[axis];
        b_base -= stride_b_[axis] * out_[axis];
        counter[axis] = 0;
      }
      if (axis < 0) return;
    }
  }

 private:
  ir::Shape out_;
  std::vector<int64_t> stride_a_, stride_b_;
  int64_t num_elements_ = 0;
  bool trivial_ = true;
};

}  // namespace ql::kern
