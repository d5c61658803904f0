// STRIDED_SLICE and SLICE, for any data type.
// STRIDED_SLICE follows TFLite's strided_slice_logic: first the ellipsis and new-axis masks are
// expanded into an "effective" spec with one entry per axis of the input with new axes inserted
// (an ellipsis covers the axes the spec leaves out; unspecified trailing axes take their full
// range), then per axis:
//   start: begin_mask -> lowest (stride > 0) or highest (stride < 0); negative += size; clamped to
//          [0, size] for forward and [-1, size - 1] for backward strides;
//   stop:  shrink_axis -> start + 1; end_mask -> highest / lowest; negative += size; clamped the
//          same way;
//   count: ceil((stop - start) / stride), at least 0; shrunk axes are dropped from the shape.
// `offset` (newer than TFLite 2.9) makes end relative to begin: stop = begin + end before the
// rules above; this follows the schema's description and is not verified against a runtime.
#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>

#include "quantlens/ir/op_type.h"
#include "quantlens/kernels/shape_helpers.h"
#include "quantlens/runtime/kernel.h"

namespace ql::kern {
namespace {

// One axis of the effective spec.
struct AxisSpec {
  int64_t begin = 0, end = 0, stride = 1;
  bool begin_mask = false, end_mask = false, shrink = false;
  int64_t size = 1;   // size of this axis in the effective input (1 for a new axis)
  int64_t stride_in_elements = 0;  // the input's row-major stride (0 for a new axis)
};

constexpr int64_t kLowest = std::numeric_limits<int32_t>::lowest();
constexpr int64_t kHighest = std::numeric_limits<int32_t>::max();

int64_t ClampTo(int64_t v, int64_t lo, int64_t hi) { return std::min(std::max(v, lo), hi); }

int64_t StartFor(const AxisSpec& a) {
  if (a.size == 0) return 0;
  int64_t start = a.begin;
  if (a.begin_mask) start = a.stride > 0 ? kLowest : kHighest;
  if (start < 0) start += a.size;
  return a.stride > 0 ? ClampTo(start, 0, a.size) : ClampTo(start, -1, a.size - 1);
}

int64_t StopFor(const AxisSpec& a, int64_t start) {
  if (a.size == 0) return 0;
  if (a.shrink) return start + 1;
  int64_t stop = a.end;
  if (a.end_mask) stop = a.stride > 0 ? kHighest : kLowest;
  if (stop < 0) stop += a.size;
  return a.stride > 0 ? ClampTo(stop, 0, a.size) : ClampTo(stop, -1, a.size - 1);
}

class StridedSliceKernel : public rt::Kernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(CheckArity(args, 4, 4, 1));
    const rt::TensorRef& in = args.in(0);
    QL_RETURN_IF_ERROR(CheckSameDType(args, 0, 0));
    QL_ASSIGN_OR_RETURN(elem_, ElementSize(args, in, "input 0"));
    const auto* attrs = std::get_if<ir::StridedSliceAttrs>(&args.op.attrs);
    const ir::StridedSliceAttrs opts = attrs ? *attrs : ir::StridedSliceAttrs{};
    QL_ASSIGN_OR_RETURN(std::vector<int64_t> begin, StaticIntValues(args, 1));
    QL_ASSIGN_OR_RETURN(std::vector<int64_t> end, StaticIntValues(args, 2));
    QL_ASSIGN_OR_RETURN(std::vector<int64_t> strides, StaticIntValues(args, 3));
    const int n = static_cast<int>(begin.size());
    if (end.size() != begin.size() || strides.size() != begin.size())
      return InvalidModel("{}begin, end and strides have {}, {} and {} entries; they must match",
                          args.Where(), begin.size(), end.size(), strides.size());
    if (n > 31) return InvalidModel("{}{} slice entries exceed the 32-bit masks", args.Where(), n);
    for (int i = 0; i < n; ++i)
      if (strides[i] == 0)
        return InvalidModel("{}stride {} is 0; strides must be non-zero", args.Where(), i);
    if (opts.offset)
      for (int i = 0; i < n; ++i) end[i] += begin[i];
    auto bit = [](int mask, int i) { return i >= 0 && i < 31 && ((mask >> i) & 1) != 0; };

    // Expand ellipsis and new axes into the effective spec.
    const int rank = in.rank();
    int num_add_axis = 0;
    for (int i = 0; i < n; ++i)
      if (!bit(opts.ellipsis_mask, i) && bit(opts.new_axis_mask, i)) ++num_add_axis;
    const int eff_dims = rank + num_add_axis;
    if (eff_dims > 31)
      return Unsupported("{}{} effective dimensions exceed the 32-bit masks", args.Where(), eff_dims);
    int eff_ellipsis = 0, eff_new_axis = 0, ellipsis_start = eff_dims, expanded = 0;
    for (int i = 0; i < eff_dims;) {
      if (bit(opts.ellipsis_mask, i)) {
        ellipsis_start = i;
        const int ellipsis_end = std::max(i + 1, std::min(i + 1 + num_add_axis + rank - n, eff_dims));
        expanded = ellipsis_end - ellipsis_start - 1;
        for (; i < ellipsis_end; ++i) eff_ellipsis |= 1 << i;
        continue;
      }
      if (bit(opts.new_axis_mask, i - expanded)) eff_new_axis |= 1 << i;
      ++i;
    }
    const std::vector<int64_t> in_strides = RowMajorStrides(in.shape);
    std::vector<AxisSpec> spec(eff_dims);
    int added_ellipsis = 0, added_axes = 0;
    for (int i = 0; i < eff_dims; ++i) {
      AxisSpec& a = spec[i];
      const int in_axis = i - added_axes;
      if (bit(eff_ellipsis, i)) {
        added_ellipsis = std::max(0, i - ellipsis_start);
        a.begin_mask = a.end_mask = true;
      } else if (bit(eff_new_axis, i)) {
        a.begin = 0;
        a.end = 1;
        ++added_axes;
        continue;  // size 1, input stride 0
      } else if (i >= n + expanded) {
        a.begin_mask = a.end_mask = true;
      } else {
        const int k = i - added_ellipsis;
        a.begin = begin[k];
        a.end = end[k];
        a.stride = strides[k];
        a.begin_mask = bit(opts.begin_mask, k);
        a.end_mask = bit(opts.end_mask, k);
        a.shrink = bit(opts.shrink_axis_mask, k);
      }
      if (in_axis < 0 || in_axis >= rank)
        return InvalidModel("{}the slice spec addresses more axes than the rank-{} input has",
                            args.Where(), rank);
      a.size = in.dim(in_axis);
      a.stride_in_elements = in_strides[in_axis];
    }

    // Per-axis start, count and the output shape.
    ir::Shape out_shape;
    counts_.assign(eff_dims, 0);
    steps_.assign(eff_dims, 0);
    offset_ = 0;
    for (int i = 0; i < eff_dims; ++i) {
      const AxisSpec& a = spec[i];
      const int64_t start = StartFor(a);
      const int64_t stop = StopFor(a, start);
      int64_t count = a.stride > 0 ? (stop - start + a.stride - 1) / a.stride
                                   : (start - stop + (-a.stride) - 1) / (-a.stride);
      if (stop - start == 0 || (stop > start) != (a.stride > 0)) count = 0;
      if (a.shrink) {
        // A shrunk axis reads exactly the element at `start`, which must exist.
        if (start < 0 || start >= a.size)
          return InvalidModel("{}shrink axis {} indexes {} outside [0, {})", args.Where(), i,
                              a.begin, a.size);
        count = 1;
      }
      counts_[i] = count;
      steps_[i] = a.stride * a.stride_in_elements;
      if (count > 0) offset_ += start * a.stride_in_elements;
      if (!a.shrink) out_shape.push_back(count);
    }
    args.out(0).shape = out_shape;
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    StridedCopy(args.in(0).data, args.out(0).mutable_data(), elem_, counts_, offset_, steps_);
    return Status::Ok();
  }

 private:
  size_t elem_ = 0;
  ir::Shape counts_;
  std::vector<int64_t> steps_;
  int64_t offset_ = 0;
};

class SliceKernel : public rt::Kernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(CheckArity(args, 3, 3, 1));
    const rt::TensorRef& in = args.in(0);
    QL_RETURN_IF_ERROR(CheckSameDType(args, 0, 0));
    QL_ASSIGN_OR_RETURN(elem_, ElementSize(args, in, "input 0"));
    QL_ASSIGN_OR_RETURN(std::vector<int64_t> begin, StaticIntValues(args, 1));
    QL_ASSIGN_OR_RETURN(std::vector<int64_t> size, StaticIntValues(args, 2));
    const int rank = in.rank();
    if (begin.size() != static_cast<size_t>(rank) || size.size() != static_cast<size_t>(rank))
      return InvalidModel("{}begin and size have {} and {} entries for a rank-{} input",
                          args.Where(), begin.size(), size.size(), rank);
    const std::vector<int64_t> in_strides = RowMajorStrides(in.shape);
    ir::Shape out(rank);
    offset_ = 0;
    for (int d = 0; d < rank; ++d) {
      const int64_t s = size[d] == -1 ? in.dim(d) - begin[d] : size[d];
      if (begin[d] < 0 || s < 0 || begin[d] + s > in.dim(d))
        return InvalidModel("{}slice [{}, {} + {}) on axis {} leaves the input's range [0, {}]",
                            args.Where(), begin[d], begin[d], size[d], d, in.dim(d));
      out[d] = s;
      offset_ += begin[d] * in_strides[d];
    }
    strides_ = in_strides;
    args.out(0).shape = out;
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    StridedCopy(args.in(0).data, args.out(0).mutable_data(), elem_, args.out(0).shape, offset_, strides_);
    return Status::Ok();
  }

 private:
  size_t elem_ = 0;
  int64_t offset_ = 0;
  std::vector<int64_t> strides_;
};

}  // namespace

std::unique_ptr<rt::Kernel> MakeStridedSliceKernel() { return std::make_unique<StridedSliceKernel>(); }
std::unique_ptr<rt::Kernel> MakeSliceKernel() { return std::make_unique<SliceKernel>(); }

}  // namespace ql::kern
