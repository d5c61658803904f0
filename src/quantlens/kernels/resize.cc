// RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR on NHWC tensors; the size [h, w] comes from input 1.
// TFLite 2.9 runs three different bilinear algorithms by type (TFLITE_NUMERICS §3
// "RESIZE_BILINEAR"), and each is reproduced here:
//  - float32: the optimized float kernel. An exact 2x upscale without align_corners or
//    half_pixel_centers takes a special path built from halving sums; every other size
//    accumulates the four weighted corners into 0 in the order (y0,x0), (y0,x1), (y1,x0), (y1,x1).
//  - uint8: the same float coordinates, one expression per value, + 0.5f and truncation.
//  - int8 and int16: an integer algorithm with 10-bit fractional coordinates, rounded half away
//    from zero (TFLite 2.9's ResizeBilinearInteger).
// NEAREST_NEIGHBOR copies values (float32, int8, uint8, int16).
// The output keeps the input's scale and zero point.
#include <algorithm>
#include <cmath>
#include <memory>

#include "quantlens/ir/op_type.h"
#include "quantlens/kernels/shape_helpers.h"
#include "quantlens/runtime/kernel.h"

namespace ql::kern {
namespace {

struct ResizeGeometry {
  int64_t batch = 0, in_h = 0, in_w = 0, depth = 0, out_h = 0, out_w = 0;
  bool align_corners = false, half_pixel = false;
};

// Float source coordinate of output index i (TFLite's ComputeInterpolationValues).
struct FloatCoord {
  float pos = 0;
  int64_t lo = 0, hi = 0;
};

float FloatScale(int64_t in, int64_t out, bool align_corners) {
  if (align_corners && out > 1) return static_cast<float>(in - 1) / static_cast<float>(out - 1);
  return static_cast<float>(in) / static_cast<float>(out);
}

FloatCoord ComputeFloatCoord(int64_t i, float scale, bool half_pixel, int64_t in_size) {
  FloatCoord c;
  const float v = static_cast<float>(i);
  c.pos = half_pixel ? (v + 0.5f) * scale - 0.5f : v * scale;
  c.lo = std::max<int64_t>(static_cast<int64_t>(std::floor(c.pos)), 0);
  c.hi = std::min<int64_t>(static_cast<int64_t>(std::ceil(c.pos)), in_size - 1);
  return c;
}

inline int64_t Nhwc(const ResizeGeometry& g, int64_t b, int64_t y, int64_t x) {
  return ((b * g.in_h + y) * g.in_w + x) * g.depth;
}

void ResizeBilinearFloat2x(const ResizeGeometry& g, const float* in, float* out) {
  for (int64_t b = 0; b < g.batch; ++b)
    for (int64_t y0 = 0; y0 < g.in_h; ++y0)
      for (int64_t x0 = 0; x0 < g.in_w; ++x0) {
        const int64_t x1 = std::min(x0 + 1, g.in_w - 1), y1 = std::min(y0 + 1, g.in_h - 1);
        float* o = out + ((b * g.out_h + 2 * y0) * g.out_w + 2 * x0) * g.depth;
        const int64_t right = g.depth, down = g.out_w * g.depth;
        for (int64_t c = 0; c < g.depth; ++c) {
          const float a = in[Nhwc(g, b, y0, x0) + c], bx = in[Nhwc(g, b, y0, x1) + c];
          const float cy = in[Nhwc(g, b, y1, x0) + c], d = in[Nhwc(g, b, y1, x1) + c];
          const float left_mid = (a + cy) / 2;
          o[c] = a;
          o[c + right] = (a + bx) / 2;
          o[c + down] = left_mid;
          o[c + down + right] = (left_mid + (bx + d) / 2) / 2;
        }
      }
}

// Calls pixel(o, src, w) for every output pixel, where o is the pixel's first output element,
// src[k] the first input element of corner k in the order (y0,x0), (y0,x1), (y1,x0), (y1,x1), and
// w[k] that corner's float weight. The float32 and uint8 kernels share these coordinates and
// weights and differ only in how they combine the corners.
template <typename Pixel>
void ForEachBilinearPixel(const ResizeGeometry& g, Pixel pixel) {
  const float sh = FloatScale(g.in_h, g.out_h, g.align_corners);
  const float sw = FloatScale(g.in_w, g.out_w, g.align_corners);
  for (int64_t b = 0; b < g.batch; ++b)
    for (int64_t y = 0; y < g.out_h; ++y) {
      const FloatCoord cy = ComputeFloatCoord(y, sh, g.half_pixel, g.in_h);
      const float fy = cy.pos - static_cast<float>(cy.lo);
      for (int64_t x = 0; x < g.out_w; ++x) {
        const FloatCoord cx = ComputeFloatCoord(x, sw, g.half_pixel, g.in_w);
        const float fx = cx.pos - static_cast<float>(cx.lo);
        const float w[4] = {(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx};
        const int64_t src[4] = {Nhwc(g, b, cy.lo, cx.lo), Nhwc(g, b, cy.lo, cx.hi),
                                Nhwc(g, b, cy.hi, cx.lo), Nhwc(g, b, cy.hi, cx.hi)};
        pixel(((b * g.out_h + y) * g.out_w + x) * g.depth, src, w);
      }
    }
}

void ResizeBilinearFloat(const ResizeGeometry& g, const float* in, float* out) {
  ForEachBilinearPixel(g, [&](int64_t o, const int64_t* src, const float* w) {
    for (int64_t c = 0; c < g.depth; ++c) {
      float acc = 0.0f;
      for (int k = 0; k < 4; ++k) acc += in[src[k] + c] * w[k];
      out[o + c] = acc;
    }
  });
}

void ResizeBilinearUInt8(const ResizeGeometry& g, const uint8_t* in, uint8_t* out) {
  ForEachBilinearPixel(g, [&](int64_t o, const int64_t* src, const float* w) {
    for (int64_t c = 0; c < g.depth; ++c) {
      const float v = in[src[0] + c] * w[0] + in[src[1] + c] * w[1] + in[src[2] + c] * w[2] +
                      in[src[3] + c] * w[3] + 0.5f;
      out[o + c] = static_cast<uint8_t>(v);  // truncation after the +0.5f: TFLite's rounding here
    }
  });
}

// Integer coordinates with 10 fractional bits ("div" truncates toward zero, so the fraction can be
// negative at the top/left border with half-pixel centers).
struct IntCoord {
  int32_t pos = 0, lo = 0, hi = 0;
};

int32_t IntScale10(int64_t in, int64_t out, bool align_corners) {
  if (align_corners && out > 1)
    return static_cast<int32_t>(((in - 1) * 1024 + (out - 1) / 2) / (out - 1));
  return static_cast<int32_t>((in * 1024 + out / 2) / out);
}

IntCoord ComputeIntCoord(int64_t i, int32_t scale10, bool half_pixel, int64_t in_size) {
  IntCoord c;
  c.pos = static_cast<int32_t>(i) * scale10;
  if (half_pixel) c.pos += scale10 / 2 - 512;
  c.lo = std::max(c.pos / 1024, 0);
  c.hi = std::min<int32_t>((c.pos + 1023) / 1024, static_cast<int32_t>(in_size - 1));
  return c;
}

template <typename T>
void ResizeBilinearInteger(const ResizeGeometry& g, const T* in, T* out) {
  const int32_t sh = IntScale10(g.in_h, g.out_h, g.align_corners);
  const int32_t sw = IntScale10(g.in_w, g.out_w, g.align_corners);
  for (int64_t b = 0; b < g.batch; ++b)
    for (int64_t y = 0; y < g.out_h; ++y) {
      const IntCoord cy = ComputeIntCoord(y, sh, g.half_pixel, g.in_h);
      const int64_t fy = cy.pos - 1024 * cy.lo;
      for (int64_t x = 0; x < g.out_w; ++x) {
        const IntCoord cx = ComputeIntCoord(x, sw, g.half_pixel, g.in_w);
        const int64_t fx = cx.pos - 1024 * cx.lo;
        const int64_t w[4] = {(1024 - fy) * (1024 - fx), (1024 - fy) * fx, fy * (1024 - fx), fy * fx};
        const int64_t src[4] = {Nhwc(g, b, cy.lo, cx.lo), Nhwc(g, b, cy.lo, cx.hi),
                                Nhwc(g, b, cy.hi, cx.lo), Nhwc(g, b, cy.hi, cx.hi)};
        T* o = out + ((b * g.out_h + y) * g.out_w + x) * g.depth;
        for (int64_t c = 0; c < g.depth; ++c) {
          int64_t v = 0;
          for (int k = 0; k < 4; ++k) v += static_cast<int64_t>(in[src[k] + c]) * w[k];
          const int64_t round = v > 0 ? (int64_t{1} << 19) : -(int64_t{1} << 19);
          o[c] = static_cast<T>((v + round) / (int64_t{1} << 20));
        }
      }
    }
}

// TFLite's reference nearest-neighbour source index.
int64_t NearestFloat(int64_t i, int64_t in, int64_t out, bool align_corners, bool half_pixel) {
  const float scale = FloatScale(in, out, align_corners);
  const float offset = half_pixel ? 0.5f : 0.0f;
  const float p = (static_cast<float>(i) + offset) * scale;
  int64_t v = align_corners ? static_cast<int64_t>(std::round(p)) : static_cast<int64_t>(std::floor(p));
  v = std::min(v, in - 1);
  if (half_pixel) v = std::max<int64_t>(v, 0);
  return v;
}

// TFLite's optimized uint8 kernel (used only without align_corners and half_pixel_centers): a
// 16.16 fixed-point scale with +1 so that tiny ratios never become 0.
int64_t NearestFixed(int64_t i, int64_t in, int64_t out) {
  const int32_t scale = static_cast<int32_t>((in << 16) / out + 1);
  return std::min<int64_t>((static_cast<int32_t>(i) * scale) >> 16, in - 1);
}

class ResizeKernel : public rt::Kernel {
 public:
  explicit ResizeKernel(bool bilinear) : bilinear_(bilinear) {}

  Status Prepare(const rt::KernelArgs& args) override {
    QL_RETURN_IF_ERROR(CheckArity(args, 2, 2, 1));
    const rt::TensorRef& in = args.in(0);
    dtype_ = in.dtype();
    QL_RETURN_IF_ERROR(CheckDType(args, dtype_,
                                  {ir::DType::kFloat32, ir::DType::kInt8, ir::DType::kUInt8,
                                   ir::DType::kInt16},
                                  "input 0"));
    QL_RETURN_IF_ERROR(CheckSameDType(args, 0, 0));
    if (in.rank() != 4)
      return InvalidModel("{}input has shape {}; resize needs a 4-D NHWC tensor", args.Where(),
                          ir::ShapeToString(in.shape));
    QL_ASSIGN_OR_RETURN(std::vector<int64_t> size, StaticIntValues(args, 1));
    if (size.size() != 2 || size[0] < 1 || size[1] < 1)
      return InvalidModel("{}size input must hold two positive values [height, width]",
                          args.Where());
    const auto* attrs = std::get_if<ir::ResizeAttrs>(&args.op.attrs);
    g_.align_corners = attrs && attrs->align_corners;
    g_.half_pixel = attrs && attrs->half_pixel_centers;
    if (g_.align_corners && g_.half_pixel)
      return InvalidModel("{}align_corners and half_pixel_centers cannot both be set",
                          args.Where());
    g_.batch = in.dim(0);
    g_.in_h = in.dim(1);
    g_.in_w = in.dim(2);
    g_.depth = in.dim(3);
    g_.out_h = size[0];
    g_.out_w = size[1];
    if (g_.in_h < 1 || g_.in_w < 1)
      return InvalidModel("{}input has an empty spatial size {}", args.Where(),
                          ir::ShapeToString(in.shape));
    if (g_.out_h > (1 << 20) || g_.out_w > (1 << 20) || g_.in_h > (1 << 20) || g_.in_w > (1 << 20))
      return Unsupported("{}sizes beyond 2^20 overflow the integer coordinate arithmetic",
                         args.Where());
    // TFLite 2.9 sends uint8 upscales by exactly 8 with half-pixel centers and depth % 8 == 0 to a
    // separate kernel whose arithmetic is not reproduced here: refuse rather than guess.
    if (bilinear_ && dtype_ == ir::DType::kUInt8 && g_.half_pixel && g_.depth % 8 == 0 &&
        g_.out_h >= 8 && g_.out_w >= 8 && g_.out_h == 8 * g_.in_h && g_.out_w == 8 * g_.in_w)
      return Unsupported("{}uint8 bilinear 8x upscale with half_pixel_centers uses TFLite's "
                         "special 8x kernel, which quantlens does not reproduce",
                         args.Where());
    args.out(0).shape = {g_.batch, g_.out_h, g_.out_w, g_.depth};
    if (!bilinear_) {
      const bool fixed = dtype_ == ir::DType::kUInt8 && !g_.align_corners && !g_.half_pixel;
      src_y_.resize(g_.out_h);
      src_x_.resize(g_.out_w);
      for (int64_t y = 0; y < g_.out_h; ++y)
        src_y_[y] = fixed ? NearestFixed(y, g_.in_h, g_.out_h)
                          : NearestFloat(y, g_.in_h, g_.out_h, g_.align_corners, g_.half_pixel);
      for (int64_t x = 0; x < g_.out_w; ++x)
        src_x_[x] = fixed ? NearestFixed(x, g_.in_w, g_.out_w)
                          : NearestFloat(x, g_.in_w, g_.out_w, g_.align_corners, g_.half_pixel);
    }
    return Status::Ok();
  }

  Status Eval(const rt::KernelArgs& args) override {
    if (!bilinear_) return EvalNearest(args);
    switch (dtype_) {
      case ir::DType::kFloat32: {
        const float* in = args.in(0).as<float>();
        float* out = args.out(0).mut<float>();
        if (!g_.align_corners && !g_.half_pixel && g_.out_h == 2 * g_.in_h && g_.out_w == 2 * g_.in_w)
          ResizeBilinearFloat2x(g_, in, out);
        else
          ResizeBilinearFloat(g_, in, out);
        return Status::Ok();
      }
      case ir::DType::kUInt8:
        ResizeBilinearUInt8(g_, args.in(0).as<uint8_t>(), args.out(0).mut<uint8_t>());
        return Status::Ok();
      case ir::DType::kInt8:
        ResizeBilinearInteger(g_, args.in(0).as<int8_t>(), args.out(0).mut<int8_t>());
        return Status::Ok();
      case ir::DType::kInt16:
        ResizeBilinearInteger(g_, args.in(0).as<int16_t>(), args.out(0).mut<int16_t>());
        return Status::Ok();
      default:
        return Internal("{}type {} passed Prepare but has no path", args.Where(),
                        ir::DTypeName(dtype_));
    }
  }

 private:
  Status EvalNearest(const rt::KernelArgs& args) const {
    const size_t elem = ir::DTypeSize(dtype_);
    const auto* in = static_cast<const uint8_t*>(args.in(0).data);
    auto* out = static_cast<uint8_t*>(args.out(0).mutable_data());
    const size_t row = static_cast<size_t>(g_.depth) * elem;
    for (int64_t b = 0; b < g_.batch; ++b)
      for (int64_t y = 0; y < g_.out_h; ++y)
        for (int64_t x = 0; x < g_.out_w; ++x) {
          const int64_t dst = ((b * g_.out_h + y) * g_.out_w + x) * g_.depth;
          std::copy_n(in + Nhwc(g_, b, src_y_[y], src_x_[x]) * elem, row, out + dst * elem);
        }
    return Status::Ok();
  }

  bool bilinear_;
  ir::DType dtype_ = ir::DType::kUnknown;
  ResizeGeometry g_;
  std::vector<int64_t> src_y_, src_x_;
};

}  // namespace

std::unique_ptr<rt::Kernel> MakeResizeBilinearKernel() { return std::make_unique<ResizeKernel>(true); }
std::unique_ptr<rt::Kernel> MakeResizeNearestNeighborKernel() {
  return std::make_unique<ResizeKernel>(false);
}

}  // namespace ql::kern
