// TRANSPOSE_CONV, float32 only (what Keras Conv2DTranspose lowers to). TFLite's input order is
// (output_shape int32[4], weights [out_c, h, w, in_c], input NHWC, optional bias [out_c]).
// Quantized transpose convolution is not in the corpus and is refused.
#include <algorithm>
#include <cstring>
#include <variant>
#include <vector>

#include "quantlens/kernels/conv_2d.h"
#include "quantlens/kernels/padding.h"

namespace ql::kern {

// Scatter formulation: every input pixel adds its contribution, weighted by the filter, to the
// output window it maps to; output (oy, ox) of input (iy, ix) and tap (ky, kx) is
// (iy * stride_h - pad_top + ky, ix * stride_w - pad_left + kx). Contributions falling outside
// the output are dropped. Then bias and the activation clamp. `bias` may be null.
// The geometry's in_* fields describe the input, out_* the output, out_c = weights dimension 0.
void TransposeConv2DFloat32(const ConvFloatParams& p, const ConvGeometry& g, const float* input,
                            const float* weights, const float* bias, float* output) {
  const int64_t out_pixels = static_cast<int64_t>(g.batch) * g.out_h * g.out_w;
  std::fill(output, output + out_pixels * g.out_c, 0.0f);
  const int64_t tap_stride = g.in_c;                       // weights[oc][ky][kx][:] is contiguous
  const int64_t oc_stride = static_cast<int64_t>(g.filter_h) * g.filter_w * g.in_c;
  for (int b = 0; b < g.batch; ++b) {
    for (int iy = 0; iy < g.in_h; ++iy) {
      for (int ix = 0; ix < g.in_w; ++ix) {
        const float* src = input + ((static_cast<int64_t>(b) * g.in_h + iy) * g.in_w + ix) * g.in_c;
        for (int ky = 0; ky < g.filter_h; ++ky) {
          const int oy = iy * g.stride_h - g.pad_top + ky;
          if (oy < 0 || oy >= g.out_h) continue;
          for (int kx = 0; kx < g.filter_w; ++kx) {
            const int ox = ix * g.stride_w - g.pad_left + kx;
            if (ox < 0 || ox >= g.out_w) continue;
            float* dst = output + ((static_cast<int64_t>(b) * g.out_h + oy) * g.out_w + ox) * g.out_c;
            const float* w = weights + (static_cast<int64_t>(ky) * g.filter_w + kx) * tap_stride;
            for (int oc = 0; oc < g.out_c; ++oc) dst[oc] += DotFloat(src, w + oc * oc_stride, g.in_c);
          }
        }
      }
    }
  }
  for (int64_t i = 0; i < out_pixels; ++i) {
    float* dst = output + i * g.out_c;
    for (int oc = 0; oc < g.out_c; ++oc) {
      const float v = dst[oc] + (bias ? bias[oc] : 0.0f);
      dst[oc] = std::min(std::max(v, p.act_min), p.act_max);
    }
  }
}

namespace {

class TransposeConvKernel : public rt::Kernel {
 public:
  Status Prepare(const rt::KernelArgs& args) override;
  Status Eval(const rt::KernelArgs& args) override;

 private:
  ConvGeometry geom_;
  ConvFloatParams params_;
  bool has_bias_ = false;
};

Status TransposeConvKernel::Prepare(const rt::KernelArgs& args) {
  if (args.num_inputs() < 3 || args.num_inputs() > 4 || args.num_outputs() != 1)
    return InvalidModel("{}expects 3 or 4 inputs (output_shape, weights, input, optional bias) "
                        "and 1 output, got {} and {}",
                        args.Where(), args.num_inputs(), args.num_outputs());
  if (!args.inputs[0] || !args.inputs[1] || !args.inputs[2])
    return InvalidModel("{}output_shape, weights and input are required inputs", args.Where());
  const auto* attrs = std::get_if<ir::ConvAttrs>(&args.op.attrs);
  if (!attrs) return InvalidModel("{}has no convolution options", args.Where());
  const rt::TensorRef& shape_t = args.in(0);
  const rt::TensorRef& w = args.in(1);
  const rt::TensorRef& in = args.in(2);
  const rt::TensorRef* bias = args.num_inputs() == 4 ? args.inputs[3] : nullptr;
  rt::TensorRef& out = args.out(0);
  has_bias_ = bias != nullptr;

  if (in.dtype() != ir::DType::kFloat32 || w.dtype() != ir::DType::kFloat32 ||
      out.dtype() != ir::DType::kFloat32)
    return UnsupportedTypes(args, in, w, out, "float32/float32/float32 with float32 bias");
  if (bias && bias->dtype() != ir::DType::kFloat32)
    return InvalidModel("{}float32 transpose convolution needs a float32 bias, got {}",
                        args.Where(), ir::DTypeName(bias->dtype()));
  if (shape_t.dtype() != ir::DType::kInt32 || shape_t.num_elements() != 4)
    return InvalidModel("{}output_shape '{}' must be an int32 tensor of 4 elements, got {} {}",
                        args.Where(), shape_t.info->name, ir::DTypeName(shape_t.dtype()),
                        ir::ShapeToString(shape_t.shape));
  if (!shape_t.is_static || !shape_t.data)
    return Unsupported("{}output_shape '{}' is computed at run time; only a constant output "
                       "shape is supported",
                       args.Where(), shape_t.info->name);
  QL_RETURN_IF_ERROR(CheckNhwcInputOhwiWeights(args, in, w));
  if (attrs->stride_h < 1 || attrs->stride_w < 1)
    return InvalidModel("{}strides ({}, {}) must be >= 1", args.Where(), attrs->stride_h,
                        attrs->stride_w);
  if (attrs->dilation_h != 1 || attrs->dilation_w != 1)
    return Unsupported("{}dilation ({}, {}) is not supported for TRANSPOSE_CONV", args.Where(),
                       attrs->dilation_h, attrs->dilation_w);

  int32_t dims[4];
  std::memcpy(dims, shape_t.data, sizeof(dims));
  for (int i = 0; i < 4; ++i)
    if (dims[i] < 1 || dims[i] > (1 << 30))
      return InvalidModel("{}output_shape [{}, {}, {}, {}] has a dimension outside [1, 2^30]",
                          args.Where(), dims[0], dims[1], dims[2], dims[3]);
  if (dims[0] != in.dim(0) || dims[3] != w.dim(0) || in.dim(3) != w.dim(3))
    return InvalidModel("{}output_shape [{}, {}, {}, {}], weights {} and input {} disagree: the "
                        "batch must match the input's, channels the weights' dimension 0, and "
                        "the input channels the weights' dimension 3",
                        args.Where(), dims[0], dims[1], dims[2], dims[3],
                        ir::ShapeToString(w.shape), ir::ShapeToString(in.shape));

  ConvGeometry& g = geom_;
  g.batch = static_cast<int>(in.dim(0));
  g.in_h = static_cast<int>(in.dim(1));
  g.in_w = static_cast<int>(in.dim(2));
  g.in_c = static_cast<int>(in.dim(3));
  g.out_h = dims[1];
  g.out_w = dims[2];
  g.out_c = dims[3];
  g.filter_h = static_cast<int>(w.dim(1));
  g.filter_w = static_cast<int>(w.dim(2));
  g.stride_h = attrs->stride_h;
  g.stride_w = attrs->stride_w;
  if (static_cast<int64_t>(g.in_h) * g.stride_h > (int64_t{1} << 30) ||
      static_cast<int64_t>(g.in_w) * g.stride_w > (int64_t{1} << 30))
    return Unsupported("{}input {}x{} with strides {}x{} is too large to index", args.Where(),
                       g.in_h, g.in_w, g.stride_h, g.stride_w);
  // The padding is the one the forward convolution from the output size back to the input size
  // would use; VALID means none.
  g.pad_top = static_cast<int>(
      ComputePadding(g.out_h, g.filter_h, g.stride_h, 1, attrs->padding).pad_before);
  g.pad_left = static_cast<int>(
      ComputePadding(g.out_w, g.filter_w, g.stride_w, 1, attrs->padding).pad_before);
  out.shape = {dims[0], dims[1], dims[2], dims[3]};
  QL_RETURN_IF_ERROR(CheckIndexable(args, out, "output"));
  if (bias && bias->num_elements() != g.out_c)
    return InvalidModel("{}bias '{}' has {} elements; it needs one per output channel ({})",
                        args.Where(), bias->info->name, bias->num_elements(), g.out_c);
  return FloatActivationBounds(args, attrs->activation, &params_.act_min, &params_.act_max);
}

Status TransposeConvKernel::Eval(const rt::KernelArgs& args) {
  const rt::TensorRef& w = args.in(1);
  const rt::TensorRef& in = args.in(2);
  const rt::TensorRef* bias = has_bias_ ? args.inputs[3] : nullptr;
  rt::TensorRef& out = args.out(0);
  if (!in.data || !w.data || !out.data || (bias && !bias->data))
    return Internal("{}a tensor has no data at Eval", args.Where());
  TransposeConv2DFloat32(params_, geom_, in.as<float>(), w.as<float>(),
                         bias ? bias->as<float>() : nullptr, out.mut<float>());
  return Status::Ok();
}

}  // namespace

std::unique_ptr<rt::Kernel> MakeTransposeConv() { return std::make_unique<TransposeConvKernel>(); }

}  // namespace ql::kern
