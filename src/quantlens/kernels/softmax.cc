// SOFTMAX and LOG_SOFTMAX.
// Quantized SOFTMAX is TFLite's float lookup-table kernel (TFLITE_NUMERICS §3 "SOFTMAX"), not the
// fixed-point exp: a 256-entry table T[255 - d] = expf(float32(-s_in * beta) * d) for d = 0..255,
// indexed by (max - q); per row the table values are summed in float32 in index order,
// inv = 1 / (sum * s_out), and each output is round-half-away(T * inv) + z_out, clamped. The input
// zero point cancels because only differences q - max are used.
// int16 SOFTMAX (zero points 0, output scale 1/32768) is TFLite 2.9's SoftmaxInt16: differences to
// the row maximum are rescaled by s_in * beta / (10 / 65535) so that [-10, 0] spans 65535 units,
// exp is read from a 513-entry interpolated table, the int32 sum is normalized and its reciprocal
// read from a 1 / (1 + x) table, and each output is exp * reciprocal rounded to Q0.15.
// Float SOFTMAX works on any axis (Keras may name one); TFLite itself always uses the last.
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <memory>

#include "quantlens/ir/op_type.h"
#include "quantlens/kernels/elementwise_common.h"
#include "quantlens/kernels/int16_math.h"
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

struct SoftmaxInt16Params {
  QuantizedMultiplier input_multiplier;  // s_in * beta / (10 / 65535)
  Int16Lut exp_lut{}, reciprocal_lut{};
};

void SoftmaxInt16(const RowLayout& l, const SoftmaxInt16Params& p, const int16_t* in, int16_t* out) {
  const int64_t n = l.axis_size;
  for (int64_t r = 0; r < l.outer; ++r) {
    const int16_t* row = in + r * n;
    int16_t* orow = out + r * n;
    int32_t m = -32768;
    for (int64_t j = 0; j < n; ++j) m = std::max<int32_t>(m, row[j]);
    // exp(x - max) in Q0.15, kept in the output row (as TFLite does) until the sum is known.
    int32_t sum = 0;  // Q16.15
    for (int64_t j = 0; j < n; ++j) {
      const int32_t scaled =
          MultiplyByQuantizedMultiplierDouble(row[j] - m, p.input_multiplier);
      // [-65535, 0] recentred onto the table's [-32768, 32767].
      const int16_t x = static_cast<int16_t>(std::clamp(scaled + 32767, -32768, 32767));
      orow[j] = Int16LutLookup(p.exp_lut, x);
      sum += orow[j];
    }
    // Normalize the sum to [1, 2) in Q1.14 (minus the 1 the table adds back) and read
    // 1 / (1 + x) from the second table; the leading-zero count fixes the final shift.
    const int headroom_plus_one = std::countl_zero(static_cast<uint32_t>(sum));
    const int32_t shifted_sum = static_cast<int32_t>(
        ((static_cast<int64_t>(sum) << (headroom_plus_one - 1)) + (1 << 13)) >> 14);
    const int16_t x = static_cast<int16_t>(
        std::clamp(shifted_sum - ((1 << 15) + (1 << 16)), -32768, 32767));
    const int64_t reciprocal = Int16LutLookup(p.reciprocal_lut, x);
    const int right_shift = 31 - headroom_plus_one;
    const int64_t round = int64_t{1} << (right_shift - 1);
    for (int64_t j = 0; j < n; ++j) {
      const int64_t v = (orow[j] * reciprocal + round) >> right_shift;
      orow[j] = static_cast<int16_t>(std::clamp<int64_t>(v, 0, 32767));
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
      QL_RETURN_IF_ERROR(CheckDType(args, dtype_,
                                    {ir::DType::kFloat32, ir::DType::kInt8, ir::DType::kUInt8,
                                     ir::DType::kInt16},
                                    "input 0"));
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
    if (dtype_ == ir::DType::kInt16) return PrepareInt16(args);
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
      case ir::DType::kInt16:
        SoftmaxInt16(layout_, *int16_, args.in(0).as<int16_t>(), args.out(0).mut<int16_t>());
        return Status::Ok();
      default:
        return Internal("{}type {} passed Prepare but has no path", args.Where(),
                        ir::DTypeName(dtype_));
    }
  }

 private:
  // TFLite 2.9 activations.cc SoftmaxPrepare / SoftmaxQuantized<int16, int16>.
  Status PrepareInt16(const rt::KernelArgs& args) {
    const rt::TensorRef& in = args.in(0);
    const rt::TensorRef& out = args.out(0);
    QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, in, "input"));
    QL_RETURN_IF_ERROR(CheckPerTensorQuant(args, out, "output"));
    if (in.rank() > 4)
      return InvalidModel("{}int16 softmax of a rank-{} tensor; TFLite supports 1-D to 4-D",
                          args.Where(), in.rank());
    const float s_out = out.scale();
    const float target = 1.0f / 32768;
    const float delta = s_out > target ? s_out - target : target - s_out;
    if (in.zero_point() != 0 || out.zero_point() != 0 || delta > 0.001f * target)
      return InvalidModel("{}int16 softmax has input zero point {}, output scale {} and zero "
                          "point {}; TFLite requires zero points 0 and output scale 1/32768",
                          args.Where(), in.zero_point(), s_out, out.zero_point());
    // The product s_in * beta is rounded to float32 before the double division.
    const double r = static_cast<double>(in.scale() * beta_) / (10.0 / 65535.0);
    if (!(r > 0.0) || !std::isfinite(r))
      return InvalidModel("{}int16 softmax input scale {} times beta {} is not finite and > 0",
                          args.Where(), in.scale(), beta_);
    int16_ = std::make_unique<SoftmaxInt16Params>();
    int16_->input_multiplier = QuantizeMultiplier(r);
    int16_->exp_lut = MakeInt16Lut(Int16LutFunction::kExp);
    int16_->reciprocal_lut = MakeInt16Lut(Int16LutFunction::kOneOverOnePlusX);
    return Status::Ok();
  }

  bool log_;
  ir::DType dtype_ = ir::DType::kUnknown;
  float beta_ = 1.0f;
  RowLayout layout_;
  std::array<float, 256> table_{};
  float s_out_ = 0;
  int32_t z_out_ = 0;
  std::unique_ptr<SoftmaxInt16Params> int16_;
};

}  // namespace

std::unique_ptr<rt::Kernel> MakeSoftmaxKernel() { return std::make_unique<SoftmaxKernel>(false); }
std::unique_ptr<rt::Kernel> MakeLogSoftmaxKernel() { return std::make_unique<SoftmaxKernel>(true); }

}  // namespace ql::kern
