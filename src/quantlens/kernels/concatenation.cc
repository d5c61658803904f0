// Joining and splitting along one axis: CONCATENATION, PACK, UNPACK, SPLIT. All are block copies:
// a tensor viewed as [outer, axis, inner] is copied one `axis * inner` block per outer index.
// CONCATENATION is the only one with arithmetic (TFLITE_NUMERICS §3 "CONCATENATION"): uint8 inputs
// whose scale/zero point differ from the output's are requantized with float32 a, b:
// out = clamp(round-half-away(q * a + b) + z_out), a = float32(s_i * float32(1 / s_out)),
// b = float32(-z_i * a). int8 inputs must already share the output's parameters (TFLite refuses
// the model otherwise). int16 (16x8) needs zero point 0 on every input and the output and is a
// plain copy of the raw values even when the scales differ, as TFLite 2.9 does.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "quantlens/ir/op_type.h"
#include "quantlens/kernels/quant_math.h"
#include "quantlens/kernels/shape_helpers.h"
#include "quantlens/runtime/kernel.h"

namespace ql::kern {
namespace {

int64_t Product(const ir::Shape& s, int begin, int end) {
  int64_t p = 1;
  for (int d = begin; d < end; ++d) p *= s[d];
  return p;
}

// How one uint8 input is brought to the output's parameters.
struct Requant {
  bool needed = false;
  float a = 1.0f, b = 0.0f;
};

class ConcatenationKernel : public rt::Kernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override {
    if (args.num_inputs() < 1 || args.num_outputs() != 1)
      return InvalidModel("{}needs at least one input and exactly one output", args.Where());
    const auto* attrs = std::get_if<ir::AxisAttrs>(&args.op.attrs);
    if (!attrs) return InvalidModel("{}concatenation options are missing", args.Where());
    for (int i = 0; i < args.num_inputs(); ++i)
      if (!args.inputs[i]) return InvalidModel("{}input {} is missing", args.Where(), i);
    const rt::TensorRef& in0 = args.in(0);
    rt::TensorRef& out = args.out(0);
    dtype_ = in0.dtype();
    QL_RETURN_IF_ERROR(CheckDType(args, dtype_,
                                  {ir::DType::kFloat32, ir::DType::kInt32, ir::DType::kInt64,
                                   ir::DType::kInt8, ir::DType::kUInt8, ir::DType::kInt16},
                                  "input 0"));
    QL_RETURN_IF_ERROR(CheckSameDType(args, 0, 0));
    const int rank = in0.rank();
    QL_ASSIGN_OR_RETURN(axis_, NormalizeAxis(args, attrs->axis, rank));
    ir::Shape out_shape = in0.shape;
    out_shape[axis_] = 0;
    for (int i = 0; i < args.num_inputs(); ++i) {
      const rt::TensorRef& t = args.in(i);
      if (t.dtype() != dtype_)
        return InvalidModel("{}input {} has type {} but input 0 has {}; all must match",
                            args.Where(), i, ir::DTypeName(t.dtype()), ir::DTypeName(dtype_));
      if (t.rank() != rank)
        return InvalidModel("{}input {} has shape {}, rank differs from input 0's {}", args.Where(),
                            i, ir::ShapeToString(t.shape), ir::ShapeToString(in0.shape));
      for (int d = 0; d < rank; ++d)
        if (d != axis_ && t.dim(d) != in0.dim(d))
          return InvalidModel("{}input {} has shape {} but input 0 has {}: only axis {} may differ",
                              args.Where(), i, ir::ShapeToString(t.shape),
                              ir::ShapeToString(in0.shape), axis_);
      out_shape[axis_] += t.dim(axis_);
    }
    out.shape = out_shape;
    outer_ = Product(out_shape, 0, axis_);
    activation_ = attrs->activation;
    requant_.assign(args.num_inputs(), {});
    if (dtype_ == ir::DType::kFloat32) {
      FloatActivationRange(activation_, &f_min_, &f_max_);
      return Status::Ok();
    }
    if (dtype_ != ir::DType::kInt8 && dtype_ != ir::DType::kUInt8) {
      if (activation_ != ir::Activation::kNone)
        return Unsupported("{}fused activation {} on a {} concatenation", args.Where(),
                           ir::ActivationName(activation_), ir::DTypeName(dtype_));
      if (dtype_ == ir::DType::kInt16) return CheckInt16ZeroPoints(args);
      return Status::Ok();
    }
    if (out.quant().empty())
      return InvalidModel("{}quantized output has no scale/zero point", args.Where());
    QuantizedActivationRange(activation_, out.scale(), out.zero_point(), dtype_, &q_min_, &q_max_);
    z_out_ = out.zero_point();
    const float inv_out = 1.0f / out.scale();
    for (int i = 0; i < args.num_inputs(); ++i) {
      const rt::TensorRef& t = args.in(i);
      if (t.quant().empty())
        return InvalidModel("{}quantized input {} has no scale/zero point", args.Where(), i);
      if (t.scale() == out.scale() && t.zero_point() == out.zero_point()) continue;
      if (dtype_ == ir::DType::kInt8)
        return InvalidModel("{}int8 input {} has scale {} and zero point {} but the output has {} "
                            "and {}: int8 concatenation requires equal parameters",
                            args.Where(), i, t.scale(), t.zero_point(), out.scale(),
                            out.zero_point());
      Requant& r = requant_[i];
      r.needed = true;
      r.a = t.scale() * inv_out;
      r.b = -static_cast<float>(t.zero_point()) * r.a;
    }
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    const size_t elem = ir::DTypeSize(dtype_);
    auto* out = static_cast<uint8_t*>(args.out(0).mutable_data());
    const int64_t out_block = Product(args.out(0).shape, axis_, args.out(0).rank());
    int64_t col = 0;  // element offset of this input's block within an output block
    for (int i = 0; i < args.num_inputs(); ++i) {
      const rt::TensorRef& t = args.in(i);
      const int64_t block = Product(t.shape, axis_, t.rank());
      const auto* in = static_cast<const uint8_t*>(t.data);
      for (int64_t o = 0; o < outer_; ++o) {
        uint8_t* dst = out + (o * out_block + col) * elem;
        const uint8_t* src = in + o * block * elem;
        if (requant_[i].needed) {
          const Requant& r = requant_[i];
          for (int64_t k = 0; k < block; ++k) {
            const float v = static_cast<float>(src[k]) * r.a + r.b;
            const int32_t q = static_cast<int32_t>(RoundHalfAway(v)) + z_out_;
            dst[k] = static_cast<uint8_t>(std::clamp(q, q_min_, q_max_));
          }
        } else {
          std::memcpy(dst, src, block * elem);
        }
      }
      col += block;
    }
    if (activation_ != ir::Activation::kNone) ApplyActivation(args.out(0));
    return Status::Ok();
  }

 private:
  // TFLite 2.9 Prepare: "all Int16 inputs have a null zero-point", and so does the output.
  static Status CheckInt16ZeroPoints(const rt::KernelArgs& args) {
    for (int i = 0; i <= args.num_inputs(); ++i) {
      const rt::TensorRef& t = i < args.num_inputs() ? args.in(i) : args.out(0);
      if (t.quant().per_axis())
        return Unsupported("{}per-axis quantization on an int16 concatenation", args.Where());
      if (t.zero_point() != 0)
        return InvalidModel("{}int16 {} has zero point {}; TFLite requires 0 on every input and "
                            "the output",
                            args.Where(),
                            i < args.num_inputs() ? fmt::format("input {}", i) : "output",
                            t.zero_point());
    }
    return Status::Ok();
  }

  void ApplyActivation(rt::TensorRef& out) const {
    const int64_t n = out.num_elements();
    if (dtype_ == ir::DType::kFloat32) {
      float* p = out.mut<float>();
      for (int64_t i = 0; i < n; ++i) p[i] = std::clamp(p[i], f_min_, f_max_);
    } else if (dtype_ == ir::DType::kInt8) {
      int8_t* p = out.mut<int8_t>();
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<int8_t>(std::clamp<int32_t>(p[i], q_min_, q_max_));
    } else if (dtype_ == ir::DType::kUInt8) {
      uint8_t* p = out.mut<uint8_t>();
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(std::clamp<int32_t>(p[i], q_min_, q_max_));
    }
  }

  ir::DType dtype_ = ir::DType::kUnknown;
  int axis_ = 0;
  int64_t outer_ = 1;
  ir::Activation activation_ = ir::Activation::kNone;
  std::vector<Requant> requant_;
  float f_min_ = 0, f_max_ = 0;
  int32_t q_min_ = 0, q_max_ = 0, z_out_ = 0;
};

// PACK: N inputs of equal shape stacked along a new axis.
class PackKernel : public rt::Kernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override {
    if (args.num_inputs() < 1 || args.num_outputs() != 1)
      return InvalidModel("{}needs at least one input and exactly one output", args.Where());
    const auto* attrs = std::get_if<ir::AxisAttrs>(&args.op.attrs);
    if (!attrs) return InvalidModel("{}pack options are missing", args.Where());
    if (attrs->count != 0 && attrs->count != args.num_inputs())
      return InvalidModel("{}values_count is {} but the op has {} inputs", args.Where(),
                          attrs->count, args.num_inputs());
    for (int i = 0; i < args.num_inputs(); ++i) {
      if (!args.inputs[i]) return InvalidModel("{}input {} is missing", args.Where(), i);
      if (args.in(i).dtype() != args.in(0).dtype() || args.in(i).shape != args.in(0).shape)
        return InvalidModel("{}input {} ({} {}) differs from input 0 ({} {}); PACK needs equal "
                            "types and shapes",
                            args.Where(), i, ir::DTypeName(args.in(i).dtype()),
                            ir::ShapeToString(args.in(i).shape), ir::DTypeName(args.in(0).dtype()),
                            ir::ShapeToString(args.in(0).shape));
    }
    QL_RETURN_IF_ERROR(CheckSameDType(args, 0, 0));
    QL_ASSIGN_OR_RETURN(elem_, ElementSize(args, args.in(0), "input 0"));
    const ir::Shape& s = args.in(0).shape;
    QL_ASSIGN_OR_RETURN(int axis, NormalizeAxis(args, attrs->axis, static_cast<int>(s.size()) + 1));
    outer_ = Product(s, 0, axis);
    block_ = Product(s, axis, static_cast<int>(s.size()));
    ir::Shape out = s;
    out.insert(out.begin() + axis, args.num_inputs());
    args.out(0).shape = out;
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    const int n = args.num_inputs();
    auto* out = static_cast<uint8_t*>(args.out(0).mutable_data());
    for (int i = 0; i < n; ++i) {
      const auto* in = static_cast<const uint8_t*>(args.in(i).data);
      for (int64_t o = 0; o < outer_; ++o)
        std::memcpy(out + ((o * n + i) * block_) * elem_, in + o * block_ * elem_, block_ * elem_);
    }
    return Status::Ok();
  }

 private:
  size_t elem_ = 0;
  int64_t outer_ = 1, block_ = 1;
};

// UNPACK (one output per index of the axis, the axis removed) and SPLIT (num_splits equal parts
// along the axis, the axis kept) share one copy loop.
class SplitKernel : public rt::Kernel {
 public:
  explicit SplitKernel(bool unpack) : unpack_(unpack) {}

  Status Prepare(const rt::KernelArgs& args) override {
    const auto* attrs = std::get_if<ir::AxisAttrs>(&args.op.attrs);
    if (!attrs) return InvalidModel("{}axis options are missing", args.Where());
    int64_t axis_value = attrs->axis;
    if (unpack_) {
      QL_RETURN_IF_ERROR(CheckArity(args, 1, 1, -1));
      data_ = 0;
    } else {
      // SPLIT takes the axis as input 0 and the data as input 1.
      QL_RETURN_IF_ERROR(CheckArity(args, 2, 2, -1));
      data_ = 1;
      QL_ASSIGN_OR_RETURN(std::vector<int64_t> a, StaticIntValues(args, 0));
      if (a.size() != 1)
        return InvalidModel("{}axis input holds {} values; it must hold exactly one", args.Where(),
                            a.size());
      axis_value = a[0];
    }
    const rt::TensorRef& in = args.in(data_);
    QL_ASSIGN_OR_RETURN(elem_, ElementSize(args, in, "the data input"));
    QL_ASSIGN_OR_RETURN(int axis, NormalizeAxis(args, axis_value, in.rank()));
    const int parts = args.num_outputs();
    if (parts < 1) return InvalidModel("{}has no outputs", args.Where());
    if (attrs->count != 0 && attrs->count != parts)
      return InvalidModel("{}options ask for {} parts but the op has {} outputs", args.Where(),
                          attrs->count, parts);
    if (unpack_ ? in.dim(axis) != parts : in.dim(axis) % parts != 0)
      return InvalidModel("{}axis {} of shape {} cannot be {} into {} parts", args.Where(), axis,
                          ir::ShapeToString(in.shape), unpack_ ? "unpacked" : "split evenly",
                          parts);
    outer_ = Product(in.shape, 0, axis);
    in_block_ = Product(in.shape, axis, in.rank());
    part_block_ = in_block_ / parts;
    for (int k = 0; k < parts; ++k) {
      if (args.out(k).dtype() != in.dtype())
        return InvalidModel("{}output {} has type {} but the data is {}", args.Where(), k,
                            ir::DTypeName(args.out(k).dtype()), ir::DTypeName(in.dtype()));
      ir::Shape s = in.shape;
      if (unpack_)
        s.erase(s.begin() + axis);
      else
        s[axis] /= parts;
      args.out(k).shape = s;
    }
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    const auto* in = static_cast<const uint8_t*>(args.in(data_).data);
    for (int k = 0; k < args.num_outputs(); ++k) {
      auto* out = static_cast<uint8_t*>(args.out(k).mutable_data());
      for (int64_t o = 0; o < outer_; ++o)
        std::memcpy(out + o * part_block_ * elem_,
                    in + (o * in_block_ + k * part_block_) * elem_, part_block_ * elem_);
    }
    return Status::Ok();
  }

 private:
  bool unpack_;
  int data_ = 0;
  size_t elem_ = 0;
  int64_t outer_ = 1, in_block_ = 1, part_block_ = 1;
};

}  // namespace

std::unique_ptr<rt::Kernel> MakeConcatenationKernel() { return std::make_unique<ConcatenationKernel>(); }
std::unique_ptr<rt::Kernel> MakePackKernel() { return std::make_unique<PackKernel>(); }
std::unique_ptr<rt::Kernel> MakeUnpackKernel() { return std::make_unique<SplitKernel>(true); }
std::unique_ptr<rt::Kernel> MakeSplitKernel() { return std::make_unique<SplitKernel>(false); }

}  // namespace ql::kern
