// TRANSPOSE of any type and rank up to 6 (TFLite's limit); perm comes from input 1. Output axis d
// is input axis perm[d], so the output is a strided view of the input with permuted strides.
#include <memory>

#include "quantlens/ir/op_type.h"
#include "quantlens/kernels/shape_helpers.h"
#include "quantlens/runtime/kernel.h"

namespace ql::kern {
namespace {

constexpr int kMaxTransposeRank = 6;

class TransposeKernel : public rt::Kernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(CheckArity(args, 2, 2, 1));
    const rt::TensorRef& in = args.in(0);
    QL_RETURN_IF_ERROR(CheckSameDType(args, 0, 0));
    QL_ASSIGN_OR_RETURN(elem_, ElementSize(args, in, "input 0"));
    const int rank = in.rank();
    if (rank > kMaxTransposeRank)
      return Unsupported("{}rank {} exceeds TRANSPOSE's limit of {}", args.Where(), rank,
                         kMaxTransposeRank);
    QL_ASSIGN_OR_RETURN(std::vector<int64_t> perm, StaticIntValues(args, 1));
    if (perm.size() != static_cast<size_t>(rank))
      return InvalidModel("{}perm has {} entries for a rank-{} input", args.Where(), perm.size(),
                          rank);
    const std::vector<int64_t> in_strides = RowMajorStrides(in.shape);
    std::vector<bool> seen(rank, false);
    ir::Shape out(rank);
    strides_.assign(rank, 0);
    for (int d = 0; d < rank; ++d) {
      QL_ASSIGN_OR_RETURN(int p, NormalizeAxis(args, perm[d], rank));
      if (seen[p])
        return InvalidModel("{}perm {} repeats axis {}; it must be a permutation", args.Where(),
                            ir::ShapeToString(perm), p);
      seen[p] = true;
      out[d] = in.dim(p);
      strides_[d] = in_strides[p];
    }
    args.out(0).shape = out;
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    StridedCopy(args.in(0).data, args.out(0).mutable_data(), elem_, args.out(0).shape, 0, strides_);
    return Status::Ok();
  }

 private:
  size_t elem_ = 0;
  std::vector<int64_t> strides_;
};

}  // namespace

std::unique_ptr<rt::Kernel> MakeTransposeKernel() { return std::make_unique<TransposeKernel>(); }

}  // namespace ql::kern
