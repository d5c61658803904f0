#include "quantlens/kernels/broadcast.h"

#include <algorithm>

namespace ql::kern {

Result<ir::Shape> BroadcastShapes(const ir::Shape& a, const ir::Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  ir::Shape out(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    // i counts axes from the right, where numpy aligns shapes.
    const int64_t da = i < a.size() ? a[a.size() - 1 - i] : 1;
    const int64_t db = i < b.size() ? b[b.size() - 1 - i] : 1;
    if (da < 0 || db < 0) {
      return InvalidModel("cannot broadcast shapes {} and {}: negative dimension",
                          ir::ShapeToString(a), ir::ShapeToString(b));
    }
    if (da != db && da != 1 && db != 1) {
      return InvalidModel(
          "cannot broadcast shapes {} and {}: axis {} from the right has sizes {} and {} "
          "(numpy rule: equal, or one of them 1)",
          ir::ShapeToString(a), ir::ShapeToString(b), i, da, db);
    }
    out[rank - 1 - i] = da == 1 ? db : da;
  }
  return out;
}

std::vector<int64_t> BroadcastStrides(const ir::Shape& in, const ir::Shape& out) {
  std::vector<int64_t> strides(out.size(), 0);
  int64_t stride = 1;
  for (size_t i = 0; i < in.size(); ++i) {
    const size_t in_axis = in.size() - 1 - i;
    const size_t out_axis = out.size() - 1 - i;
    strides[out_axis] = in[in_axis] == 1 ? 0 : stride;
    stride *= in[in_axis];
  }
  return strides;
}

BinaryBroadcast::BinaryBroadcast(const ir::Shape& a, const ir::Shape& b, const ir::Shape& out)
    : out_(out), stride_a_(BroadcastStrides(a, out)), stride_b_(BroadcastStrides(b, out)) {
  num_elements_ = 1;
  for (int64_t d : out) num_elements_ *= d;
  trivial_ = (a == out && b == out) || out.empty();
}

}  // namespace ql::kern
