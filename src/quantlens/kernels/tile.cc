// TILE of any type: output axis d repeats the input multiples[d] times (multiples from input 1,
// int32 or int64).
#include <cstring>
#include <memory>

#include "quantlens/ir/op_type.h"
#include "quantlens/kernels/shape_helpers.h"
#include "quantlens/runtime/kernel.h"

namespace ql::kern {
namespace {

class TileKernel : public rt::Kernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(CheckArity(args, 2, 2, 1));
    const rt::TensorRef& in = args.in(0);
    QL_RETURN_IF_ERROR(CheckSameDType(args, 0, 0));
    QL_ASSIGN_OR_RETURN(elem_, ElementSize(args, in, "input 0"));
    QL_ASSIGN_OR_RETURN(std::vector<int64_t> mult, StaticIntValues(args, 1));
    if (mult.size() != static_cast<size_t>(in.rank()))
      return InvalidModel("{}multiples has {} entries for a rank-{} input", args.Where(),
                          mult.size(), in.rank());
    ir::Shape out(in.rank());
    for (int d = 0; d < in.rank(); ++d) {
      if (mult[d] < 0)
        return InvalidModel("{}multiple {} on axis {} is negative", args.Where(), mult[d], d);
      out[d] = in.dim(d) * mult[d];
    }
    args.out(0).shape = out;
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    const rt::TensorRef& in = args.in(0);
    rt::TensorRef& out = args.out(0);
    if (out.num_elements() == 0) return Status::Ok();
    if (in.rank() == 0) {
      std::memcpy(out.mutable_data(), in.data, elem_);
      return Status::Ok();
    }
    // Output element (i_0..i_n) reads input element (i_0 mod d_0, ..., i_n mod d_n); rows along
    // the last axis are assembled block by block.
    const int rank = in.rank();
    const std::vector<int64_t> in_strides = RowMajorStrides(in.shape);
    const int64_t in_inner = in.dim(rank - 1), out_inner = out.dim(rank - 1);
    const auto* src = static_cast<const uint8_t*>(in.data);
    auto* dst = static_cast<uint8_t*>(out.mutable_data());
    std::vector<int64_t> idx(rank, 0);
    const int64_t total = out.num_elements();
    for (int64_t done = 0; done < total; done += out_inner) {
      int64_t off = 0;
      for (int d = 0; d < rank - 1; ++d) off += (idx[d] % in.dim(d)) * in_strides[d];
      for (int64_t k = 0; k < out_inner; k += in_inner) {
        std::memcpy(dst, src + off * elem_, in_inner * elem_);
        dst += in_inner * elem_;
      }
      for (int d = rank - 2; d >= 0; --d) {
        if (++idx[d] < out.dim(d)) break;
        idx[d] = 0;
      }
    }
    return Status::Ok();
  }

 private:
  size_t elem_ = 0;
};

}  // namespace

std::unique_ptr<rt::Kernel> MakeTileKernel() { return std::make_unique<TileKernel>(); }

}  // namespace ql::kern
