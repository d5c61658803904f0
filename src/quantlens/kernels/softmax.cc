// SOFTMAX and LOG_SOFTMAX.
// Quantized SOFTMAX is TFLite's float lookup-table kernel (TFLITE_NUMERICS §3 "SOFTMAX"), not the
// fixed-point exp: a 256-entry table T[255 - d] = expf(float32(-s_in * beta) * d) for d = 0..255,
// indexed by (max - q); per row the table values are summed in float32 in index order,
// inv = 1 / (sum * s_out), and each output is round-half-away(T * inv) + z_out, clamped. The input
// zero point cancels because only differences q - max are used.
// Float SOFTMAX works on any axis (Keras may name one); TFLite itself always uses the last.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <memory>

#include "quantlens/ir/op_type.h"
#include "quantlens/kernels/quant_math.h"
#include "quantlens/kernels/shape_helpers.h"
#include "quantlens/runtime/kernel.h"

namespace ql::kern {
namespace {

// Rows of a softmax along one axis: `outer` blocks of `axis_size` x `inner` elements; element j of
// row (o, i) is at (o * axis_size + j) * inner + i.
struct RowLayout {
  int64_t outer = 1, axis_size = 1, inner = 1;
};

void SoftmaxFloat(const RowLayout& l, float beta, bool log, const float* in, float* out) {
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t i = 0; i < l.inner; ++i) {
      const int64_t base = o * l.axis_size * l.inner + i;
      auto at = [&](int64_t j) { return base + j * l.inner; };
      float m = std::numeric_limits<float>::lowest();
      for (int64_t j = 0; j < l.axis_size; ++j) m = std::max(m, in[at(j)]);
      // Subtracting the maximum keeps expf from overflowing; scaling by beta after the
      // subtraction is how TFLite orders it.
      float sum = 0.0f;
      for (int64_t j = 0; j < l.axis_size; ++j) sum += std::exp((in[at(j)] - m) * beta);
      if (log) {
        const float log_sum = std::log(sum);
        for (int64_t j = 0; j < l.axis_size; ++j) out[at(j)] = (in[at(j)] - m) * beta - log_sum;
      } else {
        for (int64_t j = 0; j < l.axis_size; ++j)
          out[at(j)] = std::exp((in[at(j)] - m) * beta) / sum;
      }
    }
}

template <typename T>
void SoftmaxQuantized(const RowLayout& l, const std::array<float, 256>& table, float s_out,
                      int32_t z_out, const T* in, T* out) {
  constexpr int32_t kMin = std::numeric_limits<T>::min(), kMax = std::numeric_limits<T>::max();
  const int64_t rows = l.outer, n = l.axis_size;
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = in + r * n;
    T* orow = out + r * n;
    int32_t m = kMin;
    for (int64_t j = 0; j < n; ++j) m = std::max<int32_t>(m, row[j]);
    // table[255 - (m - q)] = expf(c * (m - q)).
    const float* t = table.data() + 255 - m;
    float sum = 0.0f;
    for (int64_t j = 0; j < n; ++j) sum += t[row[j]];
    const float inv = 1.0f / (sum * s_out);
    for (int64_t j = 0; j < n; ++j) {
      const int32_t q = static_cast<int32_t>(RoundHalfAway(t[row[j]] * inv)) + z_out;
      orow[j] = static_cast<T>(std::clamp(q, kMin, kMax));
    }
  }
}

class SoftmaxKernel : public rt::Kernel {
 public:
  explicit SoftmaxKernel(bool log) : log_(log) {}

  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(CheckArity(args, 1, 1, 1));
    const rt::TensorRef& in = args.in(0);
    dtype_ = in.dtype();
    QL_RETURN_IF_ERROR(CheckSameDType(args, 0, 0));
    if (log_)
      QL_RETURN_IF_ERROR(CheckDType(args, dtype_, {ir::DType::kFloat32}, "input 0"));
    else
      QL_RETURN_IF_ERROR(CheckDType(
          args, dtype_, {ir::DType::kFloat32, ir::DType::kInt8, ir::DType::kUInt8}, "input 0"));
    const auto* attrs = std::get_if<ir::SoftmaxAttrs>(&args.op.attrs);
    beta_ = attrs ? attrs->beta : 1.0f;
    const int rank = in.rank();
    if (rank == 0) return InvalidModel("{}input is a scalar; softmax needs at least 1-D", args.Where());
    int axis = rank - 1;
    if (attrs && attrs->axis != -1) {
      QL_ASSIGN_OR_RETURN(axis, NormalizeAxis(args, attrs->axis, rank));
    }
    if (axis != rank - 1 && dtype_ != ir::DType::kFloat32)
      return Unsupported("{}quantized softmax over axis {} of a rank-{} tensor: only the last axis "
                         "is supported (TFLite's only axis)",
                         args.Where(), axis, rank);
    layout_ = {};
    for (int d = 0; d < axis; ++d) layout_.outer *= in.dim(d);
    layout_.axis_size = in.dim(axis);
    for (int d = axis + 1; d < rank; ++d) layout_.inner *= in.dim(d);
    args.out(0).shape = in.shape;
    if (dtype_ == ir::DType::kFloat32) return Status::Ok();

    rt::TensorRef& out = args.out(0);
    if (in.quant().empty() || out.quant().empty())
      return InvalidModel("{}quantized softmax needs scale and zero point on input and output",
                          args.Where());
    s_out_ = out.scale();
    z_out_ = out.zero_point();
    // TFLite's rule (softmax.cc Prepare): the output holds [0, 1] as q * 1/256 from the lowest code.
    const int32_t want_zp = dtype_ == ir::DType::kInt8 ? -128 : 0;
    if (!(std::fabs(s_out_ - 1.0f / 256) <= 0.001f / 256) || z_out_ != want_zp)
      return InvalidModel("{}quantized softmax output has scale {} and zero point {}; TFLite requires "
                          "scale 1/256 and zero point {}", args.Where(), s_out_, z_out_, want_zp);
    // The table is built in float32 with the product -s_in * beta rounded once, as TFLite does.
    const float c = -in.scale() * beta_;
    for (int d = 0; d <= 255; ++d) {
      table_[255 - d] = std::exp(c * static_cast<float>(d));
      if (!std::isfinite(table_[255 - d]))
        return InvalidModel("{}quantized softmax: input scale {} times beta {} gives a non-finite "
                            "exponent table", args.Where(), in.scale(), beta_);
    }
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    switch (dtype_) {
      case ir::DType::kFloat32:
        SoftmaxFloat(layout_, beta_, log_, args.in(0).as<float>(), args.out(0).mut<float>());
        return Status::Ok();
      case ir::DType::kInt8:
        SoftmaxQuantized(layout_, table_, s_out_, z_out_, args.in(0).as<int8_t>(),
                         args.out(0).mut<int8_t>());
        return Status::Ok();
      case ir::DType::kUInt8:
        SoftmaxQuantized(layout_, table_, s_out_, z_out_, args.in(0).as<uint8_t>(),
                         args.out(0).mut<uint8_t>());
        return Status::Ok();
      default:
        return Internal("{}type {} passed Prepare but has no path", args.Where(),
                        ir::DTypeName(dtype_));
    }
  }

 private:
  bool log_;
  ir::DType dtype_ = ir::DType::kUnknown;
  float beta_ = 1.0f;
  RowLayout layout_;
  std::array<float, 256> table_{};
  float s_out_ = 0;
  int32_t z_out_ = 0;
};

}  // namespace

std::unique_ptr<rt::Kernel> MakeSoftmaxKernel() { return std::make_unique<SoftmaxKernel>(false); }
std::unique_ptr<rt::Kernel> MakeLogSoftmaxKernel() { return std::make_unique<SoftmaxKernel>(true); }

}  // namespace ql::kern
