// DEQUANTIZE: int8/uint8/int16 -> float32 as float32(s * (q - zp)), per tensor or per axis
// (weights), and float16 -> float32 (float16 weights, e.g. BlazeFace). Double or float evaluation
// gives the same bits here (|q - zp| < 2^17 times a 24-bit mantissa is exact in double, so both
// round once), so the product is formed in double as TFLite's reference kernel does.
#include <vector>

#include "quantlens/kernels/elementwise_common.h"
#include "quantlens/kernels/elementwise_kernels.h"
#include "quantlens/kernels/float16.h"
#include "quantlens/kernels/quant_math.h"

namespace ql::kern {
namespace {

class DequantizeKernel final : public rt::Kernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(PrepareUnaryShape(args));
    const ir::DType in = args.in(0).dtype();
    if (args.out(0).dtype() != ir::DType::kFloat32 ||
        (in != ir::DType::kInt8 && in != ir::DType::kUInt8 && in != ir::DType::kInt16 &&
         in != ir::DType::kFloat16)) {
      return UnsupportedTypes(args, "int8/uint8/int16/float16 -> float32");
    }
    if (in == ir::DType::kFloat16) return Status::Ok();
    const rt::TensorRef& x = args.in(0);
    const ir::Quantization& q = x.quant();
    if (!q.per_axis()) {
      QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, x, "input"));
      scales_ = {static_cast<double>(x.scale())};
      zero_points_ = {x.zero_point()};
      inner_ = 1;
      channels_ = 1;
      return Status::Ok();
    }
    return PreparePerAxis(args);
  }

  Status Eval(const rt::KernelArgs& args) override {
    float* y = args.out(0).mut<float>();
    const int64_t n = args.in(0).num_elements();
    switch (args.in(0).dtype()) {
      case ir::DType::kFloat16: {
        const uint16_t* h = args.in(0).as<uint16_t>();
        for (int64_t i = 0; i < n; ++i) y[i] = HalfToFloat(h[i]);
        return Status::Ok();
      }
      case ir::DType::kInt8: Run(args.in(0).as<int8_t>(), y, n); return Status::Ok();
      case ir::DType::kUInt8: Run(args.in(0).as<uint8_t>(), y, n); return Status::Ok();
      case ir::DType::kInt16: Run(args.in(0).as<int16_t>(), y, n); return Status::Ok();
      default: return UnsupportedTypes(args, "int8/uint8/int16/float16 -> float32");
    }
  }

 private:
  Status PreparePerAxis(const rt::KernelArgs& args) {
    const rt::TensorRef& x = args.in(0);
    const ir::Quantization& q = x.quant();
    if (q.axis < 0 || q.axis >= x.rank()) {
      return InvalidModel("{}input '{}' has quantized axis {} but rank {}", args.Where(),
                          x.info->name, q.axis, x.rank());
    }
    if (static_cast<int64_t>(q.scale.size()) != x.dim(q.axis) ||
        q.zero_point.size() != q.scale.size()) {
      return InvalidModel("{}input '{}' has {} scales and {} zero points for axis {} of size {}; "
                          "per-axis quantization needs one of each per slice",
                          args.Where(), x.info->name, q.scale.size(), q.zero_point.size(),
                          q.axis, x.dim(q.axis));
    }
    int32_t qmin, qmax;
    QuantizedTypeRange(x.dtype(), &qmin, &qmax);
    scales_.clear();
    zero_points_.clear();
    for (size_t c = 0; c < q.scale.size(); ++c) {
      if (!(q.scale[c] > 0.0f) || !std::isfinite(q.scale[c]) || q.zero_point[c] < qmin ||
          q.zero_point[c] > qmax) {
        return InvalidModel("{}input '{}' channel {} has scale {} zero point {}; need a finite "
                            "scale > 0 and a zero point in [{}, {}]",
                            args.Where(), x.info->name, c, q.scale[c], q.zero_point[c], qmin,
                            qmax);
      }
      scales_.push_back(static_cast<double>(q.scale[c]));
      zero_points_.push_back(static_cast<int32_t>(q.zero_point[c]));
    }
    channels_ = x.dim(q.axis);
    inner_ = 1;
    for (int d = q.axis + 1; d < x.rank(); ++d) inner_ *= x.dim(d);
    return Status::Ok();
  }

  // Element i belongs to channel (i / inner) % channels in row-major order.
  template <typename T>
  void Run(const T* q, float* y, int64_t n) const {
    for (int64_t i = 0; i < n; ++i) {
      const int64_t c = channels_ == 1 ? 0 : (i / inner_) % channels_;
      const int32_t v = static_cast<int32_t>(q[i]) - zero_points_[c];
      y[i] = static_cast<float>(scales_[c] * static_cast<double>(v));
    }
  }

  std::vector<double> scales_;
  std::vector<int32_t> zero_points_;
  int64_t inner_ = 1, channels_ = 1;
};

}  // namespace

std::unique_ptr<rt::Kernel> MakeDequantizeKernel() { return std::make_unique<DequantizeKernel>(); }

}  // namespace ql::kern
