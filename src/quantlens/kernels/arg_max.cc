// ARG_MAX and ARG_MIN: the index of the first extreme value along the axis given by input 1
// (a static scalar or 1-element tensor); the axis is removed from the output shape. Quantized
// inputs are compared as raw q values: the affine map is monotonic, so the index is the same.
#include <memory>

#include "quantlens/ir/op_type.h"
#include "quantlens/kernels/shape_helpers.h"
#include "quantlens/runtime/kernel.h"

namespace ql::kern {
namespace {

template <typename T, typename I>
void ArgExtreme(const T* in, I* out, int64_t outer, int64_t axis_size, int64_t inner, bool is_max) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const T* p = in + o * axis_size * inner + i;
      int64_t best = 0;
      for (int64_t j = 1; j < axis_size; ++j) {
        // Strict comparison keeps the first index among equal extremes.
        const bool better = is_max ? p[j * inner] > p[best * inner] : p[j * inner] < p[best * inner];
        if (better) best = j;
      }
      out[o * inner + i] = static_cast<I>(best);
    }
}

class ArgExtremeKernel : public rt::Kernel {
 public:
  explicit ArgExtremeKernel(bool is_max) : is_max_(is_max) {}

  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(CheckArity(args, 2, 2, 1));
    const rt::TensorRef& in = args.in(0);
    in_type_ = in.dtype();
    out_type_ = args.out(0).dtype();
    QL_RETURN_IF_ERROR(CheckDType(args, in_type_,
                                  {ir::DType::kFloat32, ir::DType::kInt8, ir::DType::kUInt8},
                                  "input 0"));
    QL_RETURN_IF_ERROR(CheckDType(args, out_type_, {ir::DType::kInt32, ir::DType::kInt64}, "output 0"));
    if (const auto* attrs = std::get_if<ir::TypeAttrs>(&args.op.attrs))
      if (attrs->out_type != ir::DType::kUnknown && attrs->out_type != out_type_)
        return InvalidModel("{}output_type option says {} but the output tensor is {}",
                            args.Where(), ir::DTypeName(attrs->out_type), ir::DTypeName(out_type_));
    QL_ASSIGN_OR_RETURN(std::vector<int64_t> axis_values, StaticIntValues(args, 1));
    if (axis_values.size() != 1)
      return InvalidModel("{}axis input holds {} values; it must hold exactly one", args.Where(),
                          axis_values.size());
    QL_ASSIGN_OR_RETURN(int axis, NormalizeAxis(args, axis_values[0], in.rank()));
    if (in.dim(axis) < 1)
      return InvalidModel("{}axis {} has size 0; there is no extreme value", args.Where(), axis);
    outer_ = inner_ = 1;
    ir::Shape out_shape;
    for (int d = 0; d < in.rank(); ++d) {
      if (d < axis) outer_ *= in.dim(d);
      if (d > axis) inner_ *= in.dim(d);
      if (d != axis) out_shape.push_back(in.dim(d));
    }
    axis_size_ = in.dim(axis);
    args.out(0).shape = out_shape;
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    if (out_type_ == ir::DType::kInt32) return Dispatch<int32_t>(args);
    return Dispatch<int64_t>(args);
  }

 private:
  template <typename I>
  Status Dispatch(const rt::KernelArgs& args) const {
    I* out = args.out(0).mut<I>();
    switch (in_type_) {
      case ir::DType::kFloat32:
        ArgExtreme(args.in(0).as<float>(), out, outer_, axis_size_, inner_, is_max_);
        return Status::Ok();
      case ir::DType::kInt8:
        ArgExtreme(args.in(0).as<int8_t>(), out, outer_, axis_size_, inner_, is_max_);
        return Status::Ok();
      case ir::DType::kUInt8:
        ArgExtreme(args.in(0).as<uint8_t>(), out, outer_, axis_size_, inner_, is_max_);
        return Status::Ok();
      default:
        return Internal("{}type {} passed Prepare but has no path", args.Where(),
                        ir::DTypeName(in_type_));
    }
  }

  bool is_max_;
  ir::DType in_type_ = ir::DType::kUnknown, out_type_ = ir::DType::kUnknown;
  int64_t outer_ = 1, axis_size_ = 1, inner_ = 1;
};

}  // namespace

std::unique_ptr<rt::Kernel> MakeArgMaxKernel() { return std::make_unique<ArgExtremeKernel>(true); }
std::unique_ptr<rt::Kernel> MakeArgMinKernel() { return std::make_unique<ArgExtremeKernel>(false); }

}  // namespace ql::kern
