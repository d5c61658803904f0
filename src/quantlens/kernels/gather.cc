// GATHER (along an axis, with batch_dims) and GATHER_ND, for any data type; indices int32 or
// int64. Indices are data: they are read at Eval and an out-of-range index is an error naming the
// op, the index and the bound (TFLite fails the same way).
#include <cstring>
#include <memory>

#include "quantlens/ir/op_type.h"
#include "quantlens/kernels/shape_helpers.h"
#include "quantlens/runtime/kernel.h"

namespace ql::kern {
namespace {

int64_t IndexAt(const rt::TensorRef& t, int64_t i) {
  return t.dtype() == ir::DType::kInt32 ? t.as<int32_t>()[i] : t.as<int64_t>()[i];
}

// The operand checks GATHER and GATHER_ND share: params (input 0) and indices (input 1), one
// output of the params' dtype, int32 or int64 indices. Returns the params' element size.
Result<size_t> PrepareGatherOperands(const rt::KernelArgs& args) {
  QL_RETURN_IF_ERROR(CheckArity(args, 2, 2, 1));
  QL_RETURN_IF_ERROR(CheckSameDType(args, 0, 0));
  QL_ASSIGN_OR_RETURN(const size_t elem, ElementSize(args, args.in(0), "input 0"));
  QL_RETURN_IF_ERROR(
      CheckDType(args, args.in(1).dtype(), {ir::DType::kInt32, ir::DType::kInt64}, "indices"));
  return elem;
}

class GatherKernel : public rt::Kernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override {
    QL_ASSIGN_OR_RETURN(elem_, PrepareGatherOperands(args));
    const rt::TensorRef& params = args.in(0);
    const rt::TensorRef& indices = args.in(1);
    const auto* attrs = std::get_if<ir::AxisAttrs>(&args.op.attrs);
    const int64_t axis_attr = attrs ? attrs->axis : 0;
    int64_t bd = attrs ? attrs->batch_dims : 0;
    QL_ASSIGN_OR_RETURN(int axis, NormalizeAxis(args, axis_attr, params.rank()));
    if (bd < 0) bd += indices.rank();
    if (bd < 0 || bd > axis || bd > indices.rank())
      return InvalidModel("{}batch_dims {} must lie in [0, min(axis {}, indices rank {})]",
                          args.Where(), attrs ? attrs->batch_dims : 0, axis, indices.rank());
    for (int d = 0; d < bd; ++d)
      if (params.dim(d) != indices.dim(d))
        return InvalidModel("{}batch dimension {} differs: params {} vs indices {}", args.Where(),
                            d, ir::ShapeToString(params.shape), ir::ShapeToString(indices.shape));
    batch_ = outer_ = inner_ = coords_ = 1;
    for (int d = 0; d < bd; ++d) batch_ *= params.dim(d);
    for (int d = static_cast<int>(bd); d < axis; ++d) outer_ *= params.dim(d);
    for (int d = axis + 1; d < params.rank(); ++d) inner_ *= params.dim(d);
    for (int d = static_cast<int>(bd); d < indices.rank(); ++d) coords_ *= indices.dim(d);
    axis_size_ = params.dim(axis);
    ir::Shape out(params.shape.begin(), params.shape.begin() + axis);
    out.insert(out.end(), indices.shape.begin() + bd, indices.shape.end());
    out.insert(out.end(), params.shape.begin() + axis + 1, params.shape.end());
    args.out(0).shape = out;
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    const rt::TensorRef& indices = args.in(1);
    const auto* src = static_cast<const uint8_t*>(args.in(0).data);
    auto* dst = static_cast<uint8_t*>(args.out(0).mutable_data());
    const size_t row = static_cast<size_t>(inner_) * elem_;
    for (int64_t b = 0; b < batch_; ++b)
      for (int64_t o = 0; o < outer_; ++o)
        for (int64_t c = 0; c < coords_; ++c) {
          const int64_t idx = IndexAt(indices, b * coords_ + c);
          if (idx < 0 || idx >= axis_size_)
            return InvalidArgument("{}index {} is out of range [0, {})", args.Where(), idx,
                                   axis_size_);
          std::memcpy(dst + ((b * outer_ + o) * coords_ + c) * row,
                      src + ((b * outer_ + o) * axis_size_ + idx) * row, row);
        }
    return Status::Ok();
  }

 private:
  size_t elem_ = 0;
  int64_t batch_ = 1, outer_ = 1, inner_ = 1, coords_ = 1, axis_size_ = 1;
};

class GatherNdKernel : public rt::Kernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override {
    QL_ASSIGN_OR_RETURN(elem_, PrepareGatherOperands(args));
    const rt::TensorRef& params = args.in(0);
    const rt::TensorRef& indices = args.in(1);
    if (indices.rank() < 1)
      return InvalidModel("{}indices must have rank at least 1", args.Where());
    depth_ = static_cast<int>(indices.dim(indices.rank() - 1));
    if (depth_ < 1 || depth_ > params.rank())
      return InvalidModel("{}index depth {} must lie in [1, params rank {}]", args.Where(), depth_,
                          params.rank());
    param_strides_ = RowMajorStrides(params.shape);
    slice_ = 1;
    for (int d = depth_; d < params.rank(); ++d) slice_ *= params.dim(d);
    ir::Shape out(indices.shape.begin(), indices.shape.end() - 1);
    out.insert(out.end(), params.shape.begin() + depth_, params.shape.end());
    args.out(0).shape = out;
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    const rt::TensorRef& params = args.in(0);
    const rt::TensorRef& indices = args.in(1);
    const auto* src = static_cast<const uint8_t*>(params.data);
    auto* dst = static_cast<uint8_t*>(args.out(0).mutable_data());
    const int64_t n = indices.num_elements() / depth_;
    for (int64_t i = 0; i < n; ++i) {
      int64_t off = 0;
      for (int k = 0; k < depth_; ++k) {
        const int64_t idx = IndexAt(indices, i * depth_ + k);
        if (idx < 0 || idx >= params.dim(k))
          return InvalidArgument("{}index {} on axis {} is out of range [0, {})", args.Where(), idx,
                                 k, params.dim(k));
        off += idx * param_strides_[k];
      }
      std::memcpy(dst + i * slice_ * elem_, src + off * elem_, slice_ * elem_);
    }
    return Status::Ok();
  }

 private:
  size_t elem_ = 0;
  int depth_ = 1;
  int64_t slice_ = 1;
  std::vector<int64_t> param_strides_;
};

}  // namespace

std::unique_ptr<rt::Kernel> MakeGatherKernel() { return std::make_unique<GatherKernel>(); }
std::unique_ptr<rt::Kernel> MakeGatherNdKernel() { return std::make_unique<GatherNdKernel>(); }

}  // namespace ql::kern
