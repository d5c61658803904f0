// MEAN, SUM, REDUCE_MAX, REDUCE_MIN. Axes come from input 1 (static int32/int64, negative
// allowed, duplicates ignored). Quantized MEAN follows TFLite 2.9's three code paths
// (TFLITE_NUMERICS §3 "MEAN" for the verified one; int16 (zero points 0) takes the int8 paths):
//  - 4-D input, axes given as exactly {1,2} or {2,1}, keep_dims: int8/int16 sums (q - z_in),
//    rescales with G by
//    QuantizeMultiplier(s_in / s_out), then divides by n rounding half away from zero; uint8 sums
//    raw q and applies G with QuantizeMultiplier(float32(s_in / (n * s_out))) plus a float-rounded
//    bias (the uint8 form is TFLite's source, not verified against golden data);
//  - other axes with equal input/output parameters: the raw q sum divided by n, truncating;
//  - otherwise a float32 mean of the raw sum, rescaled and rounded half away from zero.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "quantlens/ir/op_type.h"
#include "quantlens/kernels/quant_math.h"
#include "quantlens/kernels/shape_helpers.h"
#include "quantlens/runtime/kernel.h"

namespace ql::kern {
namespace {

enum class ReduceKind { kMean, kSum, kMax, kMin };

// For every input element in row-major order, the index of the output element it reduces into.
// Precomputed once: inputs here are small enough (global pooling, logits) that a map costs less
// than re-deriving multi-indices on every Eval.
std::vector<int64_t> ReductionMap(const ir::Shape& in, const std::vector<bool>& reduced) {
  const int rank = static_cast<int>(in.size());
  ir::Shape kept(in);
  for (int d = 0; d < rank; ++d)
    if (reduced[d]) kept[d] = 1;
  const std::vector<int64_t> kept_strides = RowMajorStrides(kept);
  int64_t n = 1;
  for (int64_t d : in) n *= d;
  std::vector<int64_t> map(static_cast<size_t>(n));
  std::vector<int64_t> idx(rank, 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t o = 0;
    for (int d = 0; d < rank; ++d)
      if (!reduced[d]) o += idx[d] * kept_strides[d];
    map[i] = o;
    for (int d = rank - 1; d >= 0; --d) {
      if (++idx[d] < in[d]) break;
      idx[d] = 0;
    }
  }
  return map;
}

enum class QuantMeanPath { kNone, kSignedSpatial, kUInt8Spatial, kEqualParams, kFloatRescale };

class ReduceKernel : public rt::Kernel {
 public:
  explicit ReduceKernel(ReduceKind kind) : kind_(kind) {}

  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(CheckArity(args, 2, 2, 1));
    const auto* attrs = std::get_if<ir::ReducerAttrs>(&args.op.attrs);
    const bool keep_dims = attrs ? attrs->keep_dims : false;
    const rt::TensorRef& in = args.in(0);
    dtype_ = in.dtype();
    if (kind_ == ReduceKind::kMean)
      QL_RETURN_IF_ERROR(CheckDType(args, dtype_,
                                    {ir::DType::kFloat32, ir::DType::kInt8, ir::DType::kUInt8,
                                     ir::DType::kInt16},
                                    "input 0"));
    else
      QL_RETURN_IF_ERROR(CheckDType(args, dtype_, {ir::DType::kFloat32}, "input 0"));
    QL_RETURN_IF_ERROR(CheckSameDType(args, 0, 0));
    QL_ASSIGN_OR_RETURN(std::vector<int64_t> axes, StaticIntValues(args, 1));
    const int rank = in.rank();
    std::vector<bool> reduced(rank, false);
    for (int64_t a : axes) {
      QL_ASSIGN_OR_RETURN(int axis, NormalizeAxis(args, a, rank));
      reduced[axis] = true;
    }
    ir::Shape out_shape;
    count_ = 1;
    for (int d = 0; d < rank; ++d) {
      if (reduced[d]) {
        count_ *= in.dim(d);
        if (keep_dims) out_shape.push_back(1);
      } else {
        out_shape.push_back(in.dim(d));
      }
    }
    args.out(0).shape = out_shape;
    map_ = ReductionMap(in.shape, reduced);
    out_count_ = 1;
    for (int64_t d : out_shape) out_count_ *= d;

    path_ = QuantMeanPath::kNone;
    if (dtype_ == ir::DType::kFloat32) return Status::Ok();
    rt::TensorRef& out = args.out(0);
    if (in.quant().empty() || out.quant().empty())
      return InvalidModel("{}quantized MEAN needs scale and zero point on input and output",
                          args.Where());
    if (in.quant().per_axis() || out.quant().per_axis())
      return Unsupported("{}per-axis quantization on MEAN tensors is not supported", args.Where());
    QuantizedTypeRange(dtype_, &q_min_, &q_max_);
    z_in_ = in.zero_point();
    z_out_ = out.zero_point();
    s_in_ = in.scale();
    s_out_ = out.scale();
    if (dtype_ == ir::DType::kInt16 && (z_in_ != 0 || z_out_ != 0))
      return InvalidModel("{}int16 MEAN needs zero points 0 (input {}, output {}), as TFLite "
                          "requires",
                          args.Where(), z_in_, z_out_);
    // TFLite sums in int32: |q - z| <= 255 per element for 8-bit types, 32768 for int16.
    const int64_t max_count = dtype_ == ir::DType::kInt16 ? 65535 : int64_t{1} << 23;
    if (count_ <= 0 || count_ > max_count)
      return Unsupported("{}MEAN over {} elements: the int32 sum could overflow", args.Where(),
                         count_);
    // TFLite tests the axis values as written (no normalization, no duplicates).
    const bool spatial = keep_dims && rank == 4 && axes.size() == 2 &&
                         ((axes[0] == 1 && axes[1] == 2) || (axes[0] == 2 && axes[1] == 1));
    if (spatial && dtype_ != ir::DType::kUInt8) {
      path_ = QuantMeanPath::kSignedSpatial;
      multiplier_ = QuantizeMultiplier(static_cast<double>(s_in_) / static_cast<double>(s_out_));
    } else if (spatial) {
      path_ = QuantMeanPath::kUInt8Spatial;
      // float32 throughout, as TFLite forms it: bias = z_out - round-half-away(z_in*s_in/s_out).
      const float n = static_cast<float>(count_);
      float temp = static_cast<float>(z_in_) * s_in_ / s_out_;
      temp = temp > 0 ? temp + 0.5f : temp - 0.5f;
      bias_ = z_out_ - static_cast<int32_t>(temp);
      multiplier_ = QuantizeMultiplier(static_cast<double>(s_in_ / (n * s_out_)));
    } else if (z_in_ == z_out_ && s_in_ == s_out_) {
      path_ = QuantMeanPath::kEqualParams;
    } else {
      path_ = QuantMeanPath::kFloatRescale;
    }
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    switch (dtype_) {
      case ir::DType::kFloat32:
        EvalFloat(args.in(0).as<float>(), args.out(0).mut<float>());
        return Status::Ok();
      case ir::DType::kInt8:
        EvalQuantMean(args.in(0).as<int8_t>(), args.out(0).mut<int8_t>());
        return Status::Ok();
      case ir::DType::kUInt8:
        EvalQuantMean(args.in(0).as<uint8_t>(), args.out(0).mut<uint8_t>());
        return Status::Ok();
      case ir::DType::kInt16:
        EvalQuantMean(args.in(0).as<int16_t>(), args.out(0).mut<int16_t>());
        return Status::Ok();
      default:
        return Internal("{}type {} passed Prepare but has no path", args.Where(),
                        ir::DTypeName(dtype_));
    }
  }

 private:
  void EvalFloat(const float* in, float* out) const {
    float init = 0.0f;
    if (kind_ == ReduceKind::kMax) init = std::numeric_limits<float>::lowest();
    if (kind_ == ReduceKind::kMin) init = std::numeric_limits<float>::max();
    std::fill(out, out + out_count_, init);
    // Accumulated in input order, as TFLite's reference reduction does.
    for (size_t i = 0; i < map_.size(); ++i) {
      float& o = out[map_[i]];
      switch (kind_) {
        case ReduceKind::kMean:
        case ReduceKind::kSum: o += in[i]; break;
        case ReduceKind::kMax: o = std::max(o, in[i]); break;
        case ReduceKind::kMin: o = std::min(o, in[i]); break;
      }
    }
    if (kind_ == ReduceKind::kMean && count_ > 0) {
      const float n = static_cast<float>(count_);
      for (int64_t i = 0; i < out_count_; ++i) out[i] /= n;
    }
  }

  template <typename T>
  void EvalQuantMean(const T* in, T* out) const {
    std::vector<int32_t> sum(static_cast<size_t>(out_count_), 0);
    const int32_t offset = path_ == QuantMeanPath::kSignedSpatial ? z_in_ : 0;
    for (size_t i = 0; i < map_.size(); ++i) sum[map_[i]] += static_cast<int32_t>(in[i]) - offset;
    const int32_t n = static_cast<int32_t>(count_);
    for (int64_t o = 0; o < out_count_; ++o) {
      int32_t acc = sum[o];
      int32_t y = 0;
      switch (path_) {
        case QuantMeanPath::kSignedSpatial:
          acc = MultiplyByQuantizedMultiplierDouble(acc, multiplier_);
          acc = acc > 0 ? (acc + n / 2) / n : (acc - n / 2) / n;
          y = acc + z_out_;
          break;
        case QuantMeanPath::kUInt8Spatial:
          y = MultiplyByQuantizedMultiplierDouble(acc, multiplier_) + bias_;
          break;
        case QuantMeanPath::kEqualParams:
          y = acc / n;  // TFLite's generic mean truncates here
          break;
        case QuantMeanPath::kFloatRescale: {
          const float scale = s_in_ / s_out_;
          const float bias = -static_cast<float>(z_in_) * scale;
          const float mean = static_cast<float>(acc) / static_cast<float>(n);
          const float r = RoundHalfAway(mean * scale + bias) + static_cast<float>(z_out_);
          y = static_cast<int32_t>(std::clamp(r, static_cast<float>(q_min_), static_cast<float>(q_max_)));
          break;
        }
        case QuantMeanPath::kNone: break;
      }
      out[o] = static_cast<T>(std::clamp(y, q_min_, q_max_));
    }
  }

  ReduceKind kind_;
  ir::DType dtype_ = ir::DType::kUnknown;
  std::vector<int64_t> map_;
  int64_t count_ = 1, out_count_ = 1;
  QuantMeanPath path_ = QuantMeanPath::kNone;
  QuantizedMultiplier multiplier_;
  int32_t z_in_ = 0, z_out_ = 0, bias_ = 0, q_min_ = 0, q_max_ = 0;
  float s_in_ = 0, s_out_ = 0;
};

}  // namespace

std::unique_ptr<rt::Kernel> MakeMeanKernel() { return std::make_unique<ReduceKernel>(ReduceKind::kMean); }
std::unique_ptr<rt::Kernel> MakeSumKernel() { return std::make_unique<ReduceKernel>(ReduceKind::kSum); }
std::unique_ptr<rt::Kernel> MakeReduceMaxKernel() { return std::make_unique<ReduceKernel>(ReduceKind::kMax); }
std::unique_ptr<rt::Kernel> MakeReduceMinKernel() { return std::make_unique<ReduceKernel>(ReduceKind::kMin); }

}  // namespace ql::kern
