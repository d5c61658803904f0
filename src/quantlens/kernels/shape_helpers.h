// Helpers shared by the shape, data-movement and reduction kernels: reading shape-carrying inputs
// (axes, perm, begin/end, multiples) that must be known at Prepare, axis normalization and the
// common type checks. Every error names the op through KernelArgs::Where().
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "quantlens/ir/dtype.h"
#include "quantlens/runtime/kernel.h"
#include "quantlens/util/status.h"

namespace ql::kern {

// The values of input `index` (int32 or int64) as int64. The input must be present and static at
// Prepare; otherwise kUnsupported "dynamic shape: ..." (quantlens resolves shapes once, so a shape
// computed from run-time data cannot be honoured).
Result<std::vector<int64_t>> StaticIntValues(const rt::KernelArgs& args, int index);

// Maps a possibly negative axis into [0, rank); error naming the op when out of range.
Result<int> NormalizeAxis(const rt::KernelArgs& args, int64_t axis, int rank);

// Checks the number of inputs and outputs (inputs present up to `min_inputs`).
Status CheckArity(const rt::KernelArgs& args, int min_inputs, int max_inputs, int num_outputs);

// kUnsupported unless `t` is one of `allowed`; `what` names the tensor ("input 0").
Status CheckDType(const rt::KernelArgs& args, ir::DType t, std::initializer_list<ir::DType> allowed,
                  const char* what);

// Requires input `in` and output `out` to have the same dtype (data-movement ops copy bytes).
Status CheckSameDType(const rt::KernelArgs& args, int in, int out);

// Row-major strides (in elements) of `shape`.
std::vector<int64_t> RowMajorStrides(const ir::Shape& shape);

// Element size of a tensor, or kUnsupported for types without a fixed size (string).
Result<size_t> ElementSize(const rt::KernelArgs& args, const rt::TensorRef& t, const char* what);

// Gathers a strided view of `in` into contiguous `out`: output element (i_0, ..., i_{n-1}) (row-major
// over `out_dims`) is input element offset + sum_d i_d * in_strides[d] (strides in elements, may be
// negative). Serves slicing (steps along each axis) and transposition (permuted strides).
void StridedCopy(const void* in, void* out, size_t elem_size, const ir::Shape& out_dims,
                 int64_t in_offset, const std::vector<int64_t>& in_strides);

// Copies a whole tensor's bytes (reshape-like ops whose output has the input's layout).
void CopyBytes(const rt::TensorRef& from, rt::TensorRef& to);

}  // namespace ql::kern
