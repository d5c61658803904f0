// AVERAGE_POOL_2D and MAX_POOL_2D on NHWC tensors (TFLITE_NUMERICS §3 "AVERAGE_POOL_2D").
// Quantized average pooling sums raw q values (input and output share scale and zero point, so
// the zero point cancels in the mean) over the in-bounds taps only: SAME padding taps are not
// counted, and the mean is rounded half away from zero. int16 works the same way (TFLite 2.9
// checks no zero point for pooling; the output's parameters only set the activation clamp).
#include <algorithm>
#include <limits>
#include <memory>

#include "quantlens/kernels/quant_math.h"
#include "quantlens/kernels/shape_helpers.h"
#include "quantlens/runtime/kernel.h"

namespace ql::kern {
namespace {

// Output size and leading padding for one spatial axis. Written here rather than shared because
// pooling has no dilation; the rule is TFLite's: SAME gives ceil(in / stride) outputs with the
// total padding split floor(total / 2) before and the odd one after.
struct AxisPadding {
  int64_t out = 0;
  int64_t pad_before = 0;
};

AxisPadding PoolPadding(int64_t in, int64_t filter, int64_t stride, ir::Padding padding) {
  AxisPadding p;
  if (padding == ir::Padding::kSame) {
    p.out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>((p.out - 1) * stride + filter - in, 0);
    p.pad_before = total / 2;
  } else {
    p.out = in >= filter ? (in - filter) / stride + 1 : 0;
  }
  return p;
}

// Geometry of one pooling op, fixed at Prepare.
struct PoolGeometry {
  int64_t batch = 0, in_h = 0, in_w = 0, depth = 0, out_h = 0, out_w = 0;
  int64_t pad_h = 0, pad_w = 0;
  int64_t stride_h = 1, stride_w = 1, filter_h = 1, filter_w = 1;
};

// Visits every output position with its in-bounds window [y0, y1) x [x0, x1).
template <typename F>
void ForEachWindow(const PoolGeometry& g, F&& f) {
  for (int64_t b = 0; b < g.batch; ++b)
    for (int64_t oy = 0; oy < g.out_h; ++oy)
      for (int64_t ox = 0; ox < g.out_w; ++ox) {
        const int64_t ys = oy * g.stride_h - g.pad_h, xs = ox * g.stride_w - g.pad_w;
        const int64_t y0 = std::max<int64_t>(ys, 0), y1 = std::min(ys + g.filter_h, g.in_h);
        const int64_t x0 = std::max<int64_t>(xs, 0), x1 = std::min(xs + g.filter_w, g.in_w);
        const int64_t out_base = ((b * g.out_h + oy) * g.out_w + ox) * g.depth;
        f(b, y0, y1, x0, x1, out_base);
      }
}

template <typename T>
void AveragePoolQuantized(const PoolGeometry& g, int32_t act_min, int32_t act_max, const T* in,
                          T* out) {
  ForEachWindow(g, [&](int64_t b, int64_t y0, int64_t y1, int64_t x0, int64_t x1, int64_t ob) {
    const int32_t count = static_cast<int32_t>((y1 - y0) * (x1 - x0));
    for (int64_t c = 0; c < g.depth; ++c) {
      // TFLite sums in int32; Prepare refuses windows large enough to overflow that, so this
      // int32 sum is exact and equals TFLite's.
      int32_t sum = 0;
      for (int64_t y = y0; y < y1; ++y)
        for (int64_t x = x0; x < x1; ++x) sum += in[((b * g.in_h + y) * g.in_w + x) * g.depth + c];
      int32_t avg = 0;
      if (count > 0)  // truncating division after a half offset: rounds half away from zero
        avg = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
      out[ob + c] = static_cast<T>(std::clamp(avg, act_min, act_max));
    }
  });
}

void AveragePoolFloat(const PoolGeometry& g, float act_min, float act_max, const float* in,
                      float* out) {
  ForEachWindow(g, [&](int64_t b, int64_t y0, int64_t y1, int64_t x0, int64_t x1, int64_t ob) {
    const float count = static_cast<float>((y1 - y0) * (x1 - x0));
    for (int64_t c = 0; c < g.depth; ++c) {
      // Summed in window order (rows, then columns), as both TFLite float paths do.
      float sum = 0.0f;
      for (int64_t y = y0; y < y1; ++y)
        for (int64_t x = x0; x < x1; ++x) sum += in[((b * g.in_h + y) * g.in_w + x) * g.depth + c];
      out[ob + c] = std::clamp(sum / count, act_min, act_max);
    }
  });
}

template <typename T, typename A>
void MaxPool(const PoolGeometry& g, A act_min, A act_max, const T* in, T* out) {
  ForEachWindow(g, [&](int64_t b, int64_t y0, int64_t y1, int64_t x0, int64_t x1, int64_t ob) {
    for (int64_t c = 0; c < g.depth; ++c) {
      T m = std::numeric_limits<T>::lowest();
      for (int64_t y = y0; y < y1; ++y)
        for (int64_t x = x0; x < x1; ++x)
          m = std::max(m, in[((b * g.in_h + y) * g.in_w + x) * g.depth + c]);
      out[ob + c] = static_cast<T>(std::clamp<A>(m, act_min, act_max));
    }
  });
}

class Pool2DKernel : public rt::Kernel {
 public:
  explicit Pool2DKernel(bool is_max) : is_max_(is_max) {}

  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(CheckArity(args, 1, 1, 1));
    const auto* attrs = std::get_if<ir::PoolAttrs>(&args.op.attrs);
    if (!attrs) return InvalidModel("{}pooling options are missing", args.Where());
    const rt::TensorRef& in = args.in(0);
    rt::TensorRef& out = args.out(0);
    dtype_ = in.dtype();
    QL_RETURN_IF_ERROR(
        CheckDType(args, dtype_, {ir::DType::kFloat32, ir::DType::kInt8, ir::DType::kUInt8,
                                  ir::DType::kInt16},
                   "input 0"));
    QL_RETURN_IF_ERROR(CheckSameDType(args, 0, 0));
    if (in.rank() != 4)
      return InvalidModel("{}input has shape {}; pooling needs a 4-D NHWC tensor", args.Where(),
                          ir::ShapeToString(in.shape));
    if (attrs->stride_h < 1 || attrs->stride_w < 1 || attrs->filter_h < 1 || attrs->filter_w < 1)
      return InvalidModel("{}stride {}x{} and filter {}x{} must all be at least 1", args.Where(),
                          attrs->stride_h, attrs->stride_w, attrs->filter_h, attrs->filter_w);
    g_.batch = in.dim(0);
    g_.in_h = in.dim(1);
    g_.in_w = in.dim(2);
    g_.depth = in.dim(3);
    g_.stride_h = attrs->stride_h;
    g_.stride_w = attrs->stride_w;
    g_.filter_h = attrs->filter_h;
    g_.filter_w = attrs->filter_w;
    const AxisPadding ph = PoolPadding(g_.in_h, g_.filter_h, g_.stride_h, attrs->padding);
    const AxisPadding pw = PoolPadding(g_.in_w, g_.filter_w, g_.stride_w, attrs->padding);
    g_.out_h = ph.out;
    g_.out_w = pw.out;
    g_.pad_h = ph.pad_before;
    g_.pad_w = pw.pad_before;
    out.shape = {g_.batch, g_.out_h, g_.out_w, g_.depth};
    if (dtype_ == ir::DType::kFloat32) {
      FloatActivationRange(attrs->activation, &f_min_, &f_max_);
    } else {
      // The most taps one window can cover in bounds. TFLite sums |q| <= 255 (uint8), 128
      // (int8) or 32768 (int16) per tap in int32 and then adds half the count before dividing,
      // so taps * (max_q + 1/2) must stay within INT32_MAX: about 8.4 million taps for uint8,
      // 65535 for int16.
      const int64_t taps = std::min(g_.filter_h, g_.in_h) * std::min(g_.filter_w, g_.in_w);
      const int64_t max_q = dtype_ == ir::DType::kUInt8 ? 255 : dtype_ == ir::DType::kInt16 ? 32768 : 128;
      const int64_t max_taps = 2 * int64_t{std::numeric_limits<int32_t>::max()} / (2 * max_q + 1);
      if (!is_max_ && taps > max_taps)
        return InvalidModel("{}a {}x{} window over a {}x{} input sums {} values, more than the "
                            "{} an int32 accumulator holds without overflow", args.Where(),
                            g_.filter_h, g_.filter_w, g_.in_h, g_.in_w, taps, max_taps);
      if (out.quant().empty())
        return InvalidModel("{}quantized output has no scale/zero point", args.Where());
      QuantizedActivationRange(attrs->activation, out.scale(), out.zero_point(), dtype_, &q_min_,
                               &q_max_);
    }
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    const void* in = args.in(0).data;
    void* out = args.out(0).mutable_data();
    switch (dtype_) {
      case ir::DType::kFloat32:
        if (is_max_)
          MaxPool<float, float>(g_, f_min_, f_max_, static_cast<const float*>(in), static_cast<float*>(out));
        else
          AveragePoolFloat(g_, f_min_, f_max_, static_cast<const float*>(in), static_cast<float*>(out));
        return Status::Ok();
      case ir::DType::kInt8:
        if (is_max_)
          MaxPool<int8_t, int32_t>(g_, q_min_, q_max_, static_cast<const int8_t*>(in), static_cast<int8_t*>(out));
        else
          AveragePoolQuantized(g_, q_min_, q_max_, static_cast<const int8_t*>(in), static_cast<int8_t*>(out));
        return Status::Ok();
      case ir::DType::kUInt8:
        if (is_max_)
          MaxPool<uint8_t, int32_t>(g_, q_min_, q_max_, static_cast<const uint8_t*>(in), static_cast<uint8_t*>(out));
        else
          AveragePoolQuantized(g_, q_min_, q_max_, static_cast<const uint8_t*>(in), static_cast<uint8_t*>(out));
        return Status::Ok();
      case ir::DType::kInt16:
        if (is_max_)
          MaxPool<int16_t, int32_t>(g_, q_min_, q_max_, static_cast<const int16_t*>(in), static_cast<int16_t*>(out));
        else
          AveragePoolQuantized(g_, q_min_, q_max_, static_cast<const int16_t*>(in), static_cast<int16_t*>(out));
        return Status::Ok();
      default:
        return Internal("{}type {} passed Prepare but has no pooling path", args.Where(),
                        ir::DTypeName(dtype_));
    }
  }

 private:
  bool is_max_;
  ir::DType dtype_ = ir::DType::kUnknown;
  PoolGeometry g_;
  float f_min_ = 0, f_max_ = 0;
  int32_t q_min_ = 0, q_max_ = 0;
};

}  // namespace

std::unique_ptr<rt::Kernel> MakeAveragePool2DKernel() { return std::make_unique<Pool2DKernel>(false); }
std::unique_ptr<rt::Kernel> MakeMaxPool2DKernel() { return std::make_unique<Pool2DKernel>(true); }

}  // namespace ql::kern
