// Ops that change only the shape: RESHAPE, SQUEEZE, EXPAND_DIMS (the bytes are copied unchanged),
// and SHAPE (which reads only the resolved input shape, so the interpreter folds it at Prepare).
#include <memory>

#include "quantlens/ir/op_type.h"
#include "quantlens/kernels/shape_helpers.h"
#include "quantlens/runtime/kernel.h"

namespace ql::kern {
namespace {

// Copies input 0 to output 0 byte for byte; subclasses only compute the output shape.
class ReshapeLikeKernel : public rt::Kernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override {
    if (args.num_inputs() < 1 || args.inputs[0] == nullptr || args.num_outputs() != 1)
      return InvalidModel("{}needs input 0 and exactly one output", args.Where());
    QL_RETURN_IF_ERROR(CheckSameDType(args, 0, 0));
    QL_RETURN_IF_ERROR(ElementSize(args, args.in(0), "input 0").status());
    QL_ASSIGN_OR_RETURN(ir::Shape shape, OutputShape(args));
    args.out(0).shape = std::move(shape);
    return Status::Ok();
  }
  Status Eval(const rt::KernelArgs& args) override {
    CopyBytes(args.in(0), args.out(0));
    return Status::Ok();
  }

 protected:
  virtual Result<ir::Shape> OutputShape(const rt::KernelArgs& args) const = 0;
};

class ReshapeKernel : public ReshapeLikeKernel {
 protected:
  Result<ir::Shape> OutputShape(const rt::KernelArgs& args) const override {
    const rt::TensorRef& in = args.in(0);
    std::vector<int64_t> requested;
    const auto* attrs = std::get_if<ir::ReshapeAttrs>(&args.op.attrs);
    // TFLite takes the shape tensor when it is a 1-D vector and falls back to the options
    // otherwise; a legacy options shape of [0] means a scalar.
    const bool tensor_shape = args.num_inputs() >= 2 && args.inputs[1] != nullptr &&
                              args.in(1).rank() == 1;
    if (tensor_shape) {
      QL_ASSIGN_OR_RETURN(requested, StaticIntValues(args, 1));
    } else if (attrs && attrs->has_new_shape) {
      requested.assign(attrs->new_shape.begin(), attrs->new_shape.end());
      if (requested.size() == 1 && requested[0] == 0) requested.clear();
    } else {
      return InvalidModel("{}the new shape is given neither by input 1 nor by the options",
                          args.Where());
    }
    QL_ASSIGN_OR_RETURN(int64_t in_count, ir::CheckedNumElements(in.shape));
    int stretch = -1;
    int64_t known = 1;
    for (size_t i = 0; i < requested.size(); ++i) {
      if (requested[i] == -1) {
        if (stretch >= 0)
          return InvalidModel("{}new shape {} has more than one -1", args.Where(),
                              ir::ShapeToString(requested));
        stretch = static_cast<int>(i);
      } else if (requested[i] < 0) {
        return InvalidModel("{}new shape {} has negative dimension {}", args.Where(),
                            ir::ShapeToString(requested), requested[i]);
      } else {
        known *= requested[i];
      }
    }
    if (stretch >= 0) {
      if (known == 0 || in_count % known != 0)
        return InvalidModel("{}cannot infer the -1 in new shape {}: {} input elements are not a "
                            "multiple of {}",
                            args.Where(), ir::ShapeToString(requested), in_count, known);
      requested[stretch] = in_count / known;
      known = in_count;
    }
    if (known != in_count)
      return InvalidModel("{}new shape {} has {} elements but input shape {} has {}; RESHAPE "
                          "must keep the element count",
                          args.Where(), ir::ShapeToString(requested), known,
                          ir::ShapeToString(in.shape), in_count);
    return requested;
  }
};

class SqueezeKernel : public ReshapeLikeKernel {
 protected:
  Result<ir::Shape> OutputShape(const rt::KernelArgs& args) const override {
    const rt::TensorRef& in = args.in(0);
    const int rank = in.rank();
    std::vector<bool> drop(rank, false);
    const auto* attrs = std::get_if<ir::ActivationAttrs>(&args.op.attrs);
    if (!attrs || attrs->squeeze_dims.empty()) {
      for (int d = 0; d < rank; ++d) drop[d] = in.dim(d) == 1;
    } else {
      for (int32_t a : attrs->squeeze_dims) {
        QL_ASSIGN_OR_RETURN(int axis, NormalizeAxis(args, a, rank));
        if (in.dim(axis) != 1)
          return InvalidModel("{}cannot squeeze axis {} of shape {}: its size is not 1",
                              args.Where(), axis, ir::ShapeToString(in.shape));
        drop[axis] = true;
      }
    }
    ir::Shape out;
    for (int d = 0; d < rank; ++d)
      if (!drop[d]) out.push_back(in.dim(d));
    return out;
  }
};

class ExpandDimsKernel : public ReshapeLikeKernel {
 protected:
  Result<ir::Shape> OutputShape(const rt::KernelArgs& args) const override {
    const rt::TensorRef& in = args.in(0);
    QL_ASSIGN_OR_RETURN(std::vector<int64_t> axis_values, StaticIntValues(args, 1));
    if (axis_values.size() != 1)
      return InvalidModel("{}axis input holds {} values; it must hold exactly one", args.Where(),
                          axis_values.size());
    // The new axis may go after the last one, so the valid range is that of a rank + 1 tensor.
    QL_ASSIGN_OR_RETURN(int axis, NormalizeAxis(args, axis_values[0], in.rank() + 1));
    ir::Shape out = in.shape;
    out.insert(out.begin() + axis, 1);
    return out;
  }
};

class ShapeKernel : public rt::Kernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(CheckArity(args, 1, 1, 1));
    out_type_ = args.out(0).dtype();
    QL_RETURN_IF_ERROR(CheckDType(args, out_type_, {ir::DType::kInt32, ir::DType::kInt64}, "output 0"));
    if (const auto* attrs = std::get_if<ir::TypeAttrs>(&args.op.attrs))
      if (attrs->out_type != ir::DType::kUnknown && attrs->out_type != out_type_)
        return InvalidModel("{}out_type option says {} but the output tensor is {}", args.Where(),
                            ir::DTypeName(attrs->out_type), ir::DTypeName(out_type_));
    args.out(0).shape = {static_cast<int64_t>(args.in(0).rank())};
    return Status::Ok();
  }
  // Reads the input's shape only, never its data (which may not exist yet at Prepare).
  Status Eval(const rt::KernelArgs& args) override {
    const ir::Shape& s = args.in(0).shape;
    for (size_t i = 0; i < s.size(); ++i) {
      if (out_type_ == ir::DType::kInt32)
        args.out(0).mut<int32_t>()[i] = static_cast<int32_t>(s[i]);
      else
        args.out(0).mut<int64_t>()[i] = s[i];
    }
    return Status::Ok();
  }

 private:
  ir::DType out_type_ = ir::DType::kInt32;
};

}  // namespace

std::unique_ptr<rt::Kernel> MakeReshapeKernel() { return std::make_unique<ReshapeKernel>(); }
std::unique_ptr<rt::Kernel> MakeSqueezeKernel() { return std::make_unique<SqueezeKernel>(); }
std::unique_ptr<rt::Kernel> MakeExpandDimsKernel() { return std::make_unique<ExpandDimsKernel>(); }
std::unique_ptr<rt::Kernel> MakeShapeKernel() { return std::make_unique<ShapeKernel>(); }

}  // namespace ql::kern
