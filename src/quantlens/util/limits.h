// Bounds on everything a model or data file controls. A file past one of these is refused with a
// clear error before quantlens allocates for it or loops over it. Each bound sits far above any
// real model (the largest corpus model has 4,000 tensors, rank 5, 250-byte names) and far below
// what would exhaust memory or overflow an index. docs/robustness.md lists them all.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ql::limits {

// Tensors and operators in one graph (TFLite subgraph or lowered Keras model).
inline constexpr int64_t kMaxTensors = 1'000'000;
inline constexpr int64_t kMaxOps = 1'000'000;
// Inputs or outputs of one operator (CONCATENATION and PACK take many; none takes thousands).
inline constexpr int64_t kMaxOpOperands = 10'000;
// Tensor rank. TFLite's kernels stop at 6 (most at 4 or 5); NumPy allows 32.
inline constexpr int kMaxRank = 16;
// Elements of one tensor: 2^40, far past real models and far from int64 overflow times any
// element size.
inline constexpr int64_t kMaxElements = int64_t{1} << 40;
// Tensor, layer and op names, custom op codes, signature keys.
inline constexpr size_t kMaxNameBytes = size_t{64} << 10;
// Free text: a model's description.
inline constexpr size_t kMaxTextBytes = size_t{1} << 20;
// Quantization scales or zero points of one tensor (one per channel).
inline constexpr int64_t kMaxQuantParams = int64_t{1} << 24;

// Entries of one zip archive (.npz, .keras). A .keras holds 3; an .npz one per array.
inline constexpr int64_t kMaxZipEntries = 10'000;
// Uncompressed bytes read from all members of one archive together (each member has its own
// bound too): a zip bomb of many members each under the per-member bound stops here.
inline constexpr uint64_t kMaxZipTotalBytes = uint64_t{8} << 30;

}  // namespace ql::limits
