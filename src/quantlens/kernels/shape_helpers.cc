#include "quantlens/kernels/shape_helpers.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "quantlens/ir/op_type.h"

namespace ql::kern {

Result<std::vector<int64_t>> StaticIntValues(const rt::KernelArgs& args, int index) {
  if (index >= args.num_inputs() || args.inputs[index] == nullptr)
    return InvalidModel("{}input {} is required but missing", args.Where(), index);
  const rt::TensorRef& t = args.in(index);
  if (!t.is_static || t.data == nullptr)
    return Unsupported("{}dynamic shape: input {} of op {} is computed at run time", args.Where(),
                       index, args.op_index);
  const int64_t n = t.num_elements();
  std::vector<int64_t> v(static_cast<size_t>(n > 0 ? n : 0));
  switch (t.dtype()) {
    case ir::DType::kInt32:
      for (int64_t i = 0; i < n; ++i) v[i] = t.as<int32_t>()[i];
      return v;
    case ir::DType::kInt64:
      for (int64_t i = 0; i < n; ++i) v[i] = t.as<int64_t>()[i];
      return v;
    default:
      return Unsupported("{}input {} has type {}; it must be int32 or int64", args.Where(), index,
                         ir::DTypeName(t.dtype()));
  }
}

Result<int> NormalizeAxis(const rt::KernelArgs& args, int64_t axis, int rank) {
  if (axis < -rank || axis >= rank || rank == 0)
    return InvalidModel("{}axis {} is out of range for a rank-{} tensor (allowed [{}, {}])",
                        args.Where(), axis, rank, -rank, rank - 1);
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

Status CheckArity(const rt::KernelArgs& args, int min_inputs, int max_inputs, int num_outputs) {
  if (args.num_inputs() < min_inputs || args.num_inputs() > max_inputs)
    return InvalidModel("{}has {} inputs; {} takes {} to {}", args.Where(), args.num_inputs(),
                        ir::OpTypeName(args.op.type), min_inputs, max_inputs);
  for (int i = 0; i < min_inputs; ++i)
    if (args.inputs[i] == nullptr)
      return InvalidModel("{}input {} is required but missing", args.Where(), i);
  if (num_outputs >= 0 && args.num_outputs() != num_outputs)
    return InvalidModel("{}has {} outputs; {} produces {}", args.Where(), args.num_outputs(),
                        ir::OpTypeName(args.op.type), num_outputs);
  return Status::Ok();
}

Status CheckDType(const rt::KernelArgs& args, ir::DType t, std::initializer_list<ir::DType> allowed,
                  const char* what) {
  std::string names;
  for (ir::DType a : allowed) {
    if (a == t) return Status::Ok();
    if (!names.empty()) names += ", ";
    names += ir::DTypeName(a);
  }
  return Unsupported("{}{} has type {}; {} supports {}", args.Where(), what, ir::DTypeName(t),
                     ir::OpTypeName(args.op.type), names);
}

Status CheckSameDType(const rt::KernelArgs& args, int in, int out) {
  const ir::DType a = args.in(in).dtype(), b = args.out(out).dtype();
  if (a != b)
    return InvalidModel("{}input {} has type {} but output {} has type {}; they must match",
                        args.Where(), in, ir::DTypeName(a), out, ir::DTypeName(b));
  return Status::Ok();
}

std::vector<int64_t> RowMajorStrides(const ir::Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

Result<size_t> ElementSize(const rt::KernelArgs& args, const rt::TensorRef& t, const char* what) {
  const size_t n = ir::DTypeSize(t.dtype());
  if (n == 0)
    return Unsupported("{}{} has type {}, which has no fixed element size", args.Where(), what,
                       ir::DTypeName(t.dtype()));
  return n;
}

namespace {

// Copies `n` elements of type T, `stride` elements apart from element `offset` of `src`, to
// `dst`; returns the end of what was written. Bytes go through memcpy, which the compiler turns
// into plain loads and stores (no alignment is assumed).
template <typename T>
uint8_t* GatherStrided(const uint8_t* src, int64_t offset, int64_t n, int64_t stride, uint8_t* dst) {
  for (int64_t i = 0; i < n; ++i, dst += sizeof(T)) {
    T v;
    std::memcpy(&v, src + (offset + i * stride) * static_cast<int64_t>(sizeof(T)), sizeof(T));
    std::memcpy(dst, &v, sizeof(T));
  }
  return dst;
}

}  // namespace

void StridedCopy(const void* in, void* out, size_t elem_size, const ir::Shape& out_dims,
                 int64_t in_offset, const std::vector<int64_t>& in_strides) {
  const int rank = static_cast<int>(out_dims.size());
  int64_t total = 1;
  for (int64_t d : out_dims) total *= d;
  if (total <= 0) return;
  const auto* src = static_cast<const uint8_t*>(in);
  auto* dst = static_cast<uint8_t*>(out);
  if (rank == 0) {
    std::memcpy(dst, src + in_offset * elem_size, elem_size);
    return;
  }
  // The innermost axis is copied as one block when it is contiguous in the input.
  const int64_t inner = out_dims[rank - 1];
  const int64_t inner_stride = in_strides[rank - 1];
  std::vector<int64_t> idx(rank, 0);
  int64_t src_off = in_offset;
  for (int64_t done = 0; done < total; done += inner) {
    if (inner_stride == 1) {
      std::memcpy(dst, src + src_off * elem_size, inner * elem_size);
      dst += inner * elem_size;
    } else {
      // Typed loops for the common element sizes: a memcpy call per element made a model's
      // input TRANSPOSE cost more than its convolutions.
      switch (elem_size) {
        case 1: dst = GatherStrided<uint8_t>(src, src_off, inner, inner_stride, dst); break;
        case 2: dst = GatherStrided<uint16_t>(src, src_off, inner, inner_stride, dst); break;
        case 4: dst = GatherStrided<uint32_t>(src, src_off, inner, inner_stride, dst); break;
        case 8: dst = GatherStrided<uint64_t>(src, src_off, inner, inner_stride, dst); break;
        default:
          for (int64_t i = 0; i < inner; ++i) {
            std::memcpy(dst, src + (src_off + i * inner_stride) * elem_size, elem_size);
            dst += elem_size;
          }
      }
    }
    // Advance the odometer over the outer axes.
    for (int d = rank - 2; d >= 0; --d) {
      src_off += in_strides[d];
      if (++idx[d] < out_dims[d]) break;
      src_off -= in_strides[d] * out_dims[d];
      idx[d] = 0;
    }
  }
}

void CopyBytes(const rt::TensorRef& from, rt::TensorRef& to) {
  const size_t n = std::min(from.bytes(), to.bytes());
  if (n > 0 && from.data != to.data) std::memmove(to.mutable_data(), from.data, n);
}

}  // namespace ql::kern
