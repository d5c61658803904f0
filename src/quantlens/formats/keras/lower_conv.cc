// Keras convolution and Dense layers as CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV and
// FULLY_CONNECTED with TFLite's weight layouts (OHWI, [1, kh, kw, in * mult], [out, in]).
#include "quantlens/formats/keras/lower_context.h"

namespace ql::keras {
namespace {

using ir::OpType;

// Permutes a 4-d array: out[i0..i3] with out dims = in dims permuted by `perm`
// (out dim d is in dim perm[d]).
std::vector<float> Transpose4(const FloatArray& a, const int perm[4]) {
  const auto& s = a.shape;
  int64_t od[4], is[4];
  for (int d = 0; d < 4; ++d) od[d] = s[perm[d]];
  is[3] = 1;
  for (int d = 2; d >= 0; --d) is[d] = is[d + 1] * s[d + 1];
  std::vector<float> out(a.data.size());
  size_t o = 0;
  for (int64_t a0 = 0; a0 < od[0]; ++a0)
    for (int64_t a1 = 0; a1 < od[1]; ++a1)
      for (int64_t a2 = 0; a2 < od[2]; ++a2)
        for (int64_t a3 = 0; a3 < od[3]; ++a3)
          out[o++] = a.data[a0 * is[perm[0]] + a1 * is[perm[1]] + a2 * is[perm[2]] + a3 * is[perm[3]]];
  return out;
}

struct ConvParams {
  std::vector<int64_t> kernel, strides, dilation;
  bool same = false;
  bool causal = false;
  bool use_bias = true;
  std::string activation;
};

// Reads the settings shared by Conv1D/2D, DepthwiseConv2D, SeparableConv2D, Conv2DTranspose.
Result<ConvParams> ReadConvParams(LayerCtx& ctx, size_t rank) {
  const ConfigView& c = ctx.cfg();
  ConvParams p;
  QL_ASSIGN_OR_RETURN(p.kernel, c.IntTuple("kernel_size", rank));
  QL_ASSIGN_OR_RETURN(p.strides, c.IntTuple("strides", rank, std::vector<int64_t>(rank, 1)));
  QL_ASSIGN_OR_RETURN(p.dilation, c.IntTuple("dilation_rate", rank, std::vector<int64_t>(rank, 1)));
  QL_ASSIGN_OR_RETURN(std::string padding, c.String("padding", "valid"));
  for (auto& ch : padding) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (padding == "same") p.same = true;
  else if (padding == "causal" && rank == 1) p.causal = true;
  else if (padding != "valid") return ctx.Unsupported("padding '{}' is not supported", padding);
  QL_ASSIGN_OR_RETURN(std::string fmt_, c.String("data_format", "channels_last"));
  if (fmt_ != "channels_last")
    return ctx.Unsupported("data_format '{}' is not supported (only channels_last)", fmt_);
  QL_ASSIGN_OR_RETURN(int64_t groups, c.Int("groups", 1));
  if (groups != 1) return ctx.Unsupported("groups={} is not supported", groups);
  QL_ASSIGN_OR_RETURN(p.use_bias, c.Bool("use_bias", true));
  QL_ASSIGN_OR_RETURN(p.activation, ActivationName(ctx));
  for (size_t i = 0; i < rank; ++i)
    if (p.strides[i] > 1 && p.dilation[i] > 1)
      return ctx.Unsupported("strides > 1 together with dilation_rate > 1");
  return p;
}

Result<Value> FinishActivation(LayerCtx& ctx, const Value& v, const std::string& act, bool fused) {
  if (fused) return v;
  return ApplyActivation(ctx, v, act);
}

// CONV_2D on a rank-4 input. `w` is the Keras kernel [kh, kw, in, out].
Result<Value> Conv2DCore(LayerCtx& ctx, const Value& x, const FloatArray& w, const FloatArray* bias,
                         const ConvParams& p, bool* fused_out) {
  const int64_t cin = x.shape[3];
  const int64_t filters = w.shape[3];
  QL_RETURN_IF_ERROR(ctx.CheckShape(w, {p.kernel[0], p.kernel[1], cin, filters}, "kernel"));
  if (bias) QL_RETURN_IF_ERROR(ctx.CheckShape(*bias, {filters}, "bias"));
  QL_ASSIGN_OR_RETURN(int64_t oh, ConvOutSize(ctx, x.shape[1], p.kernel[0], p.strides[0], p.dilation[0], p.same));
  QL_ASSIGN_OR_RETURN(int64_t ow, ConvOutSize(ctx, x.shape[2], p.kernel[1], p.strides[1], p.dilation[1], p.same));
  static const int kHwioToOhwi[4] = {3, 0, 1, 2};
  const int wt = ctx.ConstF32({filters, p.kernel[0], p.kernel[1], cin}, Transpose4(w, kHwioToOhwi));
  std::vector<int> ins = {x.tensor, wt};
  if (bias) ins.push_back(ctx.ConstF32({filters}, bias->data));
  ir::ConvAttrs a;
  a.padding = p.same ? ir::Padding::kSame : ir::Padding::kValid;
  a.stride_h = static_cast<int>(p.strides[0]);
  a.stride_w = static_cast<int>(p.strides[1]);
  a.dilation_h = static_cast<int>(p.dilation[0]);
  a.dilation_w = static_cast<int>(p.dilation[1]);
  *fused_out = FusableActivation(p.activation, &a.activation);
  return ctx.Op(OpType::kCONV_2D, ins, {x.shape[0], oh, ow, filters}, a);
}

Status NeedRank(const LayerCtx& ctx, const Value& x, int rank) {
  if (x.rank() != rank)
    return ctx.Invalid("expects a rank-{} input, got shape {}", rank, ir::ShapeToString(x.shape));
  if (x.shape[rank - 1] < 0) return ctx.Unsupported("input channel count is unknown (None)");
  return Status::Ok();
}

Result<std::vector<Value>> LowerConv2D(LayerCtx& ctx) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  QL_RETURN_IF_ERROR(NeedRank(ctx, x, 4));
  QL_ASSIGN_OR_RETURN(ConvParams p, ReadConvParams(ctx, 2));
  QL_ASSIGN_OR_RETURN(auto w, ctx.Weights(p.use_bias ? std::vector<std::string>{"kernel", "bias"}
                                                      : std::vector<std::string>{"kernel"}));
  if (w[0].shape.size() != 4) return ctx.Invalid("kernel has shape {}, expected rank 4", ir::ShapeToString(w[0].shape));
  bool fused = false;
  QL_ASSIGN_OR_RETURN(Value y, Conv2DCore(ctx, x, w[0], p.use_bias ? &w[1] : nullptr, p, &fused));
  QL_ASSIGN_OR_RETURN(y, FinishActivation(ctx, y, p.activation, fused));
  return std::vector<Value>{y};
}

// Conv1D runs as a CONV_2D over [N, 1, W, C]; causal padding is a left PAD of (k - 1) * dilation.
Result<std::vector<Value>> LowerConv1D(LayerCtx& ctx) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  QL_RETURN_IF_ERROR(NeedRank(ctx, x, 3));
  QL_ASSIGN_OR_RETURN(ConvParams p1, ReadConvParams(ctx, 1));
  QL_ASSIGN_OR_RETURN(auto w, ctx.Weights(p1.use_bias ? std::vector<std::string>{"kernel", "bias"}
                                                       : std::vector<std::string>{"kernel"}));
  if (w[0].shape.size() != 3) return ctx.Invalid("kernel has shape {}, expected rank 3", ir::ShapeToString(w[0].shape));
  if (x.shape[1] < 0) return ctx.Unsupported("sequence length is unknown (None)");
  Value in = x;
  if (p1.causal) {
    const int32_t left = static_cast<int32_t>((p1.kernel[0] - 1) * p1.dilation[0]);
    const int pads = ctx.ConstI32({3, 2}, {0, 0, left, 0, 0, 0});
    in = ctx.Op(OpType::kPAD, {x.tensor, pads}, {x.shape[0], x.shape[1] + left, x.shape[2]});
  }
  Value x4 = ctx.Reshape(in, {-1, 1, in.shape[1], in.shape[2]});
  ConvParams p;
  p.kernel = {1, p1.kernel[0]};
  p.strides = {1, p1.strides[0]};
  p.dilation = {1, p1.dilation[0]};
  p.same = p1.same;
  p.use_bias = p1.use_bias;
  p.activation = p1.activation;
  FloatArray w4 = w[0];
  w4.shape.insert(w4.shape.begin(), 1);  // [k, in, out] -> [1, k, in, out]
  bool fused = false;
  QL_ASSIGN_OR_RETURN(Value y, Conv2DCore(ctx, x4, w4, p.use_bias ? &w[1] : nullptr, p, &fused));
  Value y3 = ctx.Reshape(y, {-1, y.shape[2], y.shape[3]});
  QL_ASSIGN_OR_RETURN(y3, FinishActivation(ctx, y3, p.activation, fused));
  return std::vector<Value>{y3};
}

// DEPTHWISE_CONV_2D; the Keras kernel [kh, kw, in, mult] already has TFLite's element order.
Result<Value> DepthwiseCore(LayerCtx& ctx, const Value& x, const FloatArray& w, const FloatArray* bias,
                            const ConvParams& p, int64_t mult, bool* fused_out) {
  const int64_t cin = x.shape[3];
  QL_RETURN_IF_ERROR(ctx.CheckShape(w, {p.kernel[0], p.kernel[1], cin, mult}, "depthwise_kernel"));
  if (bias) QL_RETURN_IF_ERROR(ctx.CheckShape(*bias, {cin * mult}, "bias"));
  QL_ASSIGN_OR_RETURN(int64_t oh, ConvOutSize(ctx, x.shape[1], p.kernel[0], p.strides[0], p.dilation[0], p.same));
  QL_ASSIGN_OR_RETURN(int64_t ow, ConvOutSize(ctx, x.shape[2], p.kernel[1], p.strides[1], p.dilation[1], p.same));
  const int wt = ctx.ConstF32({1, p.kernel[0], p.kernel[1], cin * mult}, w.data);
  std::vector<int> ins = {x.tensor, wt};
  if (bias) ins.push_back(ctx.ConstF32({cin * mult}, bias->data));
  ir::ConvAttrs a;
  a.padding = p.same ? ir::Padding::kSame : ir::Padding::kValid;
  a.stride_h = static_cast<int>(p.strides[0]);
  a.stride_w = static_cast<int>(p.strides[1]);
  a.dilation_h = static_cast<int>(p.dilation[0]);
  a.dilation_w = static_cast<int>(p.dilation[1]);
  a.depth_multiplier = static_cast<int>(mult);
  *fused_out = FusableActivation(p.activation, &a.activation);
  return ctx.Op(OpType::kDEPTHWISE_CONV_2D, ins, {x.shape[0], oh, ow, cin * mult}, a);
}

Result<std::vector<Value>> LowerDepthwiseConv2D(LayerCtx& ctx) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  QL_RETURN_IF_ERROR(NeedRank(ctx, x, 4));
  QL_ASSIGN_OR_RETURN(ConvParams p, ReadConvParams(ctx, 2));
  QL_ASSIGN_OR_RETURN(int64_t mult, ctx.cfg().Int("depth_multiplier", 1));
  if (mult < 1) return ctx.Invalid("depth_multiplier {} must be >= 1", mult);
  QL_ASSIGN_OR_RETURN(auto w, ctx.Weights(p.use_bias ? std::vector<std::string>{"depthwise_kernel", "bias"}
                                                      : std::vector<std::string>{"depthwise_kernel"}));
  bool fused = true;
  QL_ASSIGN_OR_RETURN(Value y, DepthwiseCore(ctx, x, w[0], p.use_bias ? &w[1] : nullptr, p, mult, &fused));
  QL_ASSIGN_OR_RETURN(y, FinishActivation(ctx, y, p.activation, fused));
  return std::vector<Value>{y};
}

// SeparableConv2D = depthwise (no bias) then a 1x1 convolution with the bias and activation,
// as tf.nn.separable_conv2d computes it.
Result<std::vector<Value>> LowerSeparableConv2D(LayerCtx& ctx) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  QL_RETURN_IF_ERROR(NeedRank(ctx, x, 4));
  QL_ASSIGN_OR_RETURN(ConvParams p, ReadConvParams(ctx, 2));
  QL_ASSIGN_OR_RETURN(int64_t mult, ctx.cfg().Int("depth_multiplier", 1));
  QL_ASSIGN_OR_RETURN(int64_t filters, ctx.cfg().Int("filters"));
  if (mult < 1 || filters < 1) return ctx.Invalid("depth_multiplier {} and filters {} must be >= 1", mult, filters);
  QL_ASSIGN_OR_RETURN(auto w, ctx.Weights(p.use_bias
                                              ? std::vector<std::string>{"depthwise_kernel", "pointwise_kernel", "bias"}
                                              : std::vector<std::string>{"depthwise_kernel", "pointwise_kernel"}));
  const int64_t cin = x.shape[3];
  QL_RETURN_IF_ERROR(ctx.CheckShape(w[1], {1, 1, cin * mult, filters}, "pointwise_kernel"));
  ConvParams dp = p;
  dp.activation = "linear";
  bool unused = false;
  QL_ASSIGN_OR_RETURN(Value d, DepthwiseCore(ctx, x, w[0], nullptr, dp, mult, &unused));
  ConvParams pp = p;
  pp.kernel = {1, 1};
  pp.strides = {1, 1};
  pp.dilation = {1, 1};
  pp.same = false;
  bool fused = false;
  QL_ASSIGN_OR_RETURN(Value y, Conv2DCore(ctx, d, w[1], p.use_bias ? &w[2] : nullptr, pp, &fused));
  QL_ASSIGN_OR_RETURN(y, FinishActivation(ctx, y, p.activation, fused));
  return std::vector<Value>{y};
}

// Keras's deconv_output_length.
int64_t DeconvOutSize(int64_t in, int64_t k, int64_t stride, bool same, int64_t output_padding) {
  if (output_padding < 0) return same ? in * stride : in * stride + std::max<int64_t>(k - stride, 0);
  const int64_t pad = same ? k / 2 : 0;
  return (in - 1) * stride + k - 2 * pad + output_padding;
}

Result<std::vector<Value>> LowerConv2DTranspose(LayerCtx& ctx) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  QL_RETURN_IF_ERROR(NeedRank(ctx, x, 4));
  QL_ASSIGN_OR_RETURN(ConvParams p, ReadConvParams(ctx, 2));
  if (p.dilation[0] != 1 || p.dilation[1] != 1)
    return ctx.Unsupported("dilation_rate {}x{} (TRANSPOSE_CONV has no dilation)", p.dilation[0], p.dilation[1]);
  std::vector<int64_t> op = {-1, -1};
  if (!ctx.cfg().IsNull("output_padding")) {
    QL_ASSIGN_OR_RETURN(op, ctx.cfg().IntTuple("output_padding", 2));
  }
  QL_ASSIGN_OR_RETURN(auto w, ctx.Weights(p.use_bias ? std::vector<std::string>{"kernel", "bias"}
                                                      : std::vector<std::string>{"kernel"}));
  if (w[0].shape.size() != 4) return ctx.Invalid("kernel has shape {}, expected rank 4", ir::ShapeToString(w[0].shape));
  const int64_t cin = x.shape[3];
  const int64_t filters = w[0].shape[2];
  QL_RETURN_IF_ERROR(ctx.CheckShape(w[0], {p.kernel[0], p.kernel[1], filters, cin}, "kernel"));
  if (p.use_bias) QL_RETURN_IF_ERROR(ctx.CheckShape(w[1], {filters}, "bias"));
  if (x.shape[1] < 0 || x.shape[2] < 0) return ctx.Unsupported("spatial dimensions are unknown (None)");
  const int64_t oh = DeconvOutSize(x.shape[1], p.kernel[0], p.strides[0], p.same, op[0]);
  const int64_t ow = DeconvOutSize(x.shape[2], p.kernel[1], p.strides[1], p.same, op[1]);
  if (oh < 1 || ow < 1) return ctx.Invalid("output size {}x{} is empty", oh, ow);
  // Keras [kh, kw, out, in] -> TFLite [out, kh, kw, in].
  static const int kToOhwi[4] = {2, 0, 1, 3};
  const int wt = ctx.ConstF32({filters, p.kernel[0], p.kernel[1], cin}, Transpose4(w[0], kToOhwi));
  // The output_shape operand needs a concrete batch; the interpreter runs open batches as 1.
  const int shape_t = ctx.ConstI32({4}, {1, static_cast<int32_t>(oh), static_cast<int32_t>(ow),
                                         static_cast<int32_t>(filters)});
  std::vector<int> ins = {shape_t, wt, x.tensor};
  if (p.use_bias) ins.push_back(ctx.ConstF32({filters}, w[1].data));
  ir::ConvAttrs a;
  a.padding = p.same ? ir::Padding::kSame : ir::Padding::kValid;
  a.stride_h = static_cast<int>(p.strides[0]);
  a.stride_w = static_cast<int>(p.strides[1]);
  Value y = ctx.Op(OpType::kTRANSPOSE_CONV, ins, {x.shape[0], oh, ow, filters}, a);
  QL_ASSIGN_OR_RETURN(y, ApplyActivation(ctx, y, p.activation));
  return std::vector<Value>{y};
}

// Dense applies to the last axis; FULLY_CONNECTED with keep_num_dims does the same for rank > 2.
Result<std::vector<Value>> LowerDense(LayerCtx& ctx) {
  QL_ASSIGN_OR_RETURN(Value x, ctx.SingleInput());
  if (x.rank() < 2) return ctx.Invalid("expects an input of rank >= 2, got {}", ir::ShapeToString(x.shape));
  const int64_t in = x.shape.back();
  if (in < 0) return ctx.Unsupported("input feature count is unknown (None)");
  QL_ASSIGN_OR_RETURN(int64_t units, ctx.cfg().Int("units"));
  QL_ASSIGN_OR_RETURN(bool use_bias, ctx.cfg().Bool("use_bias", true));
  QL_ASSIGN_OR_RETURN(std::string act, ActivationName(ctx));
  QL_ASSIGN_OR_RETURN(auto w, ctx.Weights(use_bias ? std::vector<std::string>{"kernel", "bias"}
                                                    : std::vector<std::string>{"kernel"}));
  QL_RETURN_IF_ERROR(ctx.CheckShape(w[0], {in, units}, "kernel"));
  if (use_bias) QL_RETURN_IF_ERROR(ctx.CheckShape(w[1], {units}, "bias"));
  std::vector<float> wt(static_cast<size_t>(in * units));
  for (int64_t i = 0; i < in; ++i)
    for (int64_t o = 0; o < units; ++o) wt[o * in + i] = w[0].data[i * units + o];
  std::vector<int> ins = {x.tensor, ctx.ConstF32({units, in}, wt)};
  if (use_bias) ins.push_back(ctx.ConstF32({units}, w[1].data));
  ir::FullyConnectedAttrs a;
  a.keep_num_dims = x.rank() > 2;
  const bool fused = FusableActivation(act, &a.activation);
  ir::Shape out = x.shape;
  out.back() = units;
  Value y = ctx.Op(OpType::kFULLY_CONNECTED, ins, out, a);
  QL_ASSIGN_OR_RETURN(y, FinishActivation(ctx, y, act, fused));
  return std::vector<Value>{y};
}

}  // namespace

void AddConvLayers(LayerTable& t) {
  t["Conv2D"] = LowerConv2D;
  t["Convolution2D"] = LowerConv2D;
  t["Conv1D"] = LowerConv1D;
  t["Convolution1D"] = LowerConv1D;
  t["DepthwiseConv2D"] = LowerDepthwiseConv2D;
  t["SeparableConv2D"] = LowerSeparableConv2D;
  t["SeparableConvolution2D"] = LowerSeparableConv2D;
  t["Conv2DTranspose"] = LowerConv2DTranspose;
  t["Convolution2DTranspose"] = LowerConv2DTranspose;
  t["Dense"] = LowerDense;
}

}  // namespace ql::keras
