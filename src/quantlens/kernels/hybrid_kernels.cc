#include "quantlens/kernels/hybrid_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace ql::kern {

float SymmetricQuantizeFloats(const float* x, int n, int8_t* q) {
  constexpr int32_t kScale = 127;
  if (n <= 0) return 1.0f;
  const auto [lo, hi] = std::minmax_element(x, x + n);
  const float range = std::max(std::fabs(*lo), std::fabs(*hi));
  if (range == 0.0f) {
    std::memset(q, 0, static_cast<size_t>(n));
    return 1.0f;
  }
  // Upstream multiplies by the float inverse 127 / range rather than dividing by the scale; the
  // two can differ in the last ulp, which moves a value sitting on a tie across the rounding
  // boundary (see HybridQuantize.SymmetricMultipliesByTheInverse).
  const float inv = static_cast<float>(kScale) / range;
  for (int i = 0; i < n; ++i) {
    const int32_t v = static_cast<int32_t>(RoundHalfAway(x[i] * inv));
    q[i] = static_cast<int8_t>(std::min(kScale, std::max(-kScale, v)));
  }
  return range / static_cast<float>(kScale);
}

void AsymmetricQuantizeFloats(const float* x, int n, int8_t* q, float* scale,
                              int32_t* zero_point) {
  constexpr int32_t kMin = -128, kMax = 127;
  constexpr double qmin = kMin, qmax = kMax;
  double rmin = 0.0, rmax = 0.0;
  if (n > 0) {
    const auto [lo, hi] = std::minmax_element(x, x + n);
    rmin = static_cast<double>(std::min(0.0f, *lo));
    rmax = static_cast<double>(std::max(0.0f, *hi));
  }
  if (rmin == rmax) {
    if (n > 0) std::memset(q, 0, static_cast<size_t>(n));
    *scale = 1.0f;
    *zero_point = 0;
    return;
  }
  const double s = (rmax - rmin) / (qmax - qmin);
  // The zero point is derived from the end whose terms are smaller (less cancellation error).
  const double zp_from_min = qmin - rmin / s;
  const double zp_from_max = qmax - rmax / s;
  const double err_min = std::fabs(qmin) + std::fabs(rmin / s);
  const double err_max = std::fabs(qmax) + std::fabs(rmax / s);
  const double zp = err_min < err_max ? zp_from_min : zp_from_max;
  int32_t z = 0;
  if (zp <= qmin)
    z = kMin;
  else if (zp >= qmax)
    z = kMax;
  else
    z = static_cast<int32_t>(RoundHalfAway(zp));
  *scale = static_cast<float>(s);
  *zero_point = z;
  // The inverse is taken in double from the float scale, then rounded to float.
  const float inv = static_cast<float>(1.0 / static_cast<double>(*scale));
  const float zf = static_cast<float>(z);
  for (int i = 0; i < n; ++i) {
    const int32_t v = static_cast<int32_t>(RoundHalfAway(zf + x[i] * inv));
    q[i] = static_cast<int8_t>(std::min(kMax, std::max(kMin, v)));
  }
}

std::vector<int32_t> WeightRowSums(const int8_t* w, int rows, int cols) {
  std::vector<int32_t> sums(static_cast<size_t>(rows), 0);
  for (int r = 0; r < rows; ++r) {
    int32_t s = 0;
    for (int c = 0; c < cols; ++c) s += w[static_cast<int64_t>(r) * cols + c];
    sums[r] = s;
  }
  return sums;
}

namespace {

// Wraps a wide accumulator to int32 as the genuine kernels' int32 registers would.
inline int32_t WrapInt32(int64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(v)); }

// Quantizes `rows` rows of `row_len` floats into scratch->quantized, with one scale and zero
// point per row; symmetric rows get zero point 0.
void QuantizeRows(bool asymmetric, const float* input, int rows, int64_t row_len,
                  HybridScratch* s) {
  s->quantized.resize(static_cast<size_t>(rows * row_len));
  s->row_scales.assign(static_cast<size_t>(rows), 1.0f);
  s->row_zero_points.assign(static_cast<size_t>(rows), 0);
  for (int r = 0; r < rows; ++r) {
    const float* x = input + r * row_len;
    int8_t* q = s->quantized.data() + r * row_len;
    if (asymmetric)
      AsymmetricQuantizeFloats(x, static_cast<int>(row_len), q, &s->row_scales[r],
                               &s->row_zero_points[r]);
    else
      s->row_scales[r] = SymmetricQuantizeFloats(x, static_cast<int>(row_len), q);
  }
}

// im2col of one output pixel from the quantized input, in OHWI row order; padding taps hold the
// row's zero point (TFLite's Im2col fills them with input_offset[b], 0 when symmetric).
void GatherQuantizedPatch(const ConvGeometry& g, const int8_t* q, int b, int oy, int ox,
                          int16_t pad, int16_t* dst) {
  const int iy0 = oy * g.stride_h - g.pad_top;
  const int ix0 = ox * g.stride_w - g.pad_left;
  for (int ky = 0; ky < g.filter_h; ++ky) {
    const int iy = iy0 + ky * g.dilation_h;
    for (int kx = 0; kx < g.filter_w; ++kx, dst += g.in_c) {
      const int ix = ix0 + kx * g.dilation_w;
      if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w) {
        std::fill(dst, dst + g.in_c, pad);
        continue;
      }
      const int8_t* src = q + ((static_cast<int64_t>(b) * g.in_h + iy) * g.in_w + ix) * g.in_c;
      for (int c = 0; c < g.in_c; ++c) dst[c] = src[c];
    }
  }
}

// Scales one pixel's accumulators back to float (see the header for the two formulas).
void HybridConvOutputRow(const HybridParams& p, const int32_t* acc, float row_scale,
                         int32_t row_zp, const float* bias, int n, float* out) {
  if (p.mode == HybridMode::kPerChannelAsymmetric) {
    // optimized_ops::HybridConvPerChannel (Eigen): the channel scale times the row scale is one
    // float product; then one product and one sum per element; then min with the upper bound,
    // max with the lower bound.
    for (int c = 0; c < n; ++c) {
      const int32_t a = WrapInt32(static_cast<int64_t>(acc[c]) -
                                  static_cast<int64_t>(WrapInt32(
                                      static_cast<int64_t>(p.weight_row_sums[c]) * row_zp)));
      const float scale = p.weight_scales[c] * row_scale;
      const float v = static_cast<float>(a) * scale + (bias ? bias[c] : 0.0f);
      out[c] = std::max(std::min(v, p.act_max), p.act_min);
    }
    return;
  }
  // optimized_ops::HybridConv: MatrixBatchVectorMultiplyAccumulate adds float(acc) * scale into
  // a zero-filled output, then AddBiasAndEvalActivationFunction adds the bias and clamps.
  for (int c = 0; c < n; ++c) {
    float v = 0.0f;
    v += static_cast<float>(acc[c]) * row_scale;
    v = v + (bias ? bias[c] : 0.0f);
    out[c] = std::min(std::max(v, p.act_min), p.act_max);
  }
}

template <typename Acc>
void HybridConv2DImpl(const HybridParams& p, const ConvGeometry& g, const int16_t* weights,
                      const float* bias, float* output, HybridScratch* s) {
  constexpr int kBlock = 4;
  const int k = g.filter_h * g.filter_w * g.in_c;
  s->patches.resize(static_cast<size_t>(k) * kBlock);
  s->acc.resize(static_cast<size_t>(g.out_c) * kBlock);
  const int64_t pixels_per_image = static_cast<int64_t>(g.out_h) * g.out_w;
  const int64_t pixels = g.batch * pixels_per_image;
  for (int64_t first = 0; first < pixels; first += kBlock) {
    const int count = static_cast<int>(std::min<int64_t>(kBlock, pixels - first));
    int bs[kBlock];
    for (int j = 0; j < count; ++j) {
      const int64_t px = first + j;
      const int ox = static_cast<int>(px % g.out_w);
      const int oy = static_cast<int>((px / g.out_w) % g.out_h);
      bs[j] = static_cast<int>(px / pixels_per_image);
      GatherQuantizedPatch(g, s->quantized.data(), bs[j], oy, ox,
                           static_cast<int16_t>(s->row_zero_points[bs[j]]),
                           s->patches.data() + static_cast<int64_t>(j) * k);
    }
    const int16_t* w = weights;
    for (int oc = 0; oc < g.out_c; ++oc, w += k) {
      if (count == kBlock) {
        Acc r[kBlock];
        DotInt16x4<Acc>(s->patches.data(), k, w, k, r);
        for (int j = 0; j < kBlock; ++j)
          s->acc[static_cast<size_t>(j) * g.out_c + oc] = WrapInt32(r[j]);
      } else {
        for (int j = 0; j < count; ++j)
          s->acc[static_cast<size_t>(j) * g.out_c + oc] =
              WrapInt32(DotInt16<Acc>(s->patches.data() + static_cast<int64_t>(j) * k, w, k));
      }
    }
    for (int j = 0; j < count; ++j)
      HybridConvOutputRow(p, s->acc.data() + static_cast<size_t>(j) * g.out_c,
                          s->row_scales[bs[j]], s->row_zero_points[bs[j]], bias, g.out_c,
                          output + (first + j) * g.out_c);
  }
}

}  // namespace

void HybridConv2D(const HybridParams& p, const ConvGeometry& g, const float* input,
                  const int16_t* packed_weights, const float* bias, float* output,
                  HybridScratch* scratch) {
  const int64_t image = static_cast<int64_t>(g.in_h) * g.in_w * g.in_c;
  QuantizeRows(p.mode != HybridMode::kPerTensorSymmetric, input, g.batch, image, scratch);
  // Per-tensor: the row scale absorbs the weight scale (one float product per row). Per-channel
  // keeps them apart and multiplies per channel in the output stage.
  if (p.mode != HybridMode::kPerChannelAsymmetric)
    for (float& s : scratch->row_scales) s *= p.weight_scales[0];
  const int64_t k = static_cast<int64_t>(g.filter_h) * g.filter_w * g.in_c;
  if (DotNeedsWideAccumulator(k))
    HybridConv2DImpl<int64_t>(p, g, packed_weights, bias, output, scratch);
  else
    HybridConv2DImpl<int32_t>(p, g, packed_weights, bias, output, scratch);
}

namespace {

template <typename Acc>
void HybridFullyConnectedImpl(const HybridParams& p, const FullyConnectedGeometry& g,
                              const int16_t* weights, const float* bias, float* output,
                              HybridScratch* s) {
  const int k = g.depth;
  s->patches.resize(static_cast<size_t>(k));
  const bool asymmetric = p.mode != HybridMode::kPerTensorSymmetric;
  for (int b = 0; b < g.batch; ++b) {
    const int8_t* q = s->quantized.data() + static_cast<int64_t>(b) * k;
    for (int i = 0; i < k; ++i) s->patches[i] = q[i];
    const float row_scale = s->row_scales[b];
    const int32_t zp = s->row_zero_points[b];
    float* out = output + static_cast<int64_t>(b) * g.out_units;
    const int16_t* w = weights;
    for (int o = 0; o < g.out_units; ++o, w += k) {
      int32_t acc = WrapInt32(DotInt16<Acc>(s->patches.data(), w, k));
      if (asymmetric && zp != 0)
        acc = WrapInt32(static_cast<int64_t>(acc) -
                        WrapInt32(static_cast<int64_t>(p.weight_row_sums[o]) * zp));
      // The output starts as the bias; MatrixBatchVectorMultiplyAccumulate adds float(acc) times
      // the row scale; ApplyActivationToVector clamps.
      float v = bias ? bias[o] : 0.0f;
      v += static_cast<float>(acc) * row_scale;
      out[o] = std::min(std::max(v, p.act_min), p.act_max);
    }
  }
}

}  // namespace

void HybridFullyConnected(const HybridParams& p, const FullyConnectedGeometry& g,
                          const float* input, const int16_t* packed_weights, const float* bias,
                          float* output, HybridScratch* scratch) {
  const int64_t total = static_cast<int64_t>(g.batch) * g.depth;
  // fully_connected.cc skips quantization and the GEMM when the whole input is zero: the output
  // is the (activated) bias.
  if (std::all_of(input, input + total, [](float v) { return v == 0.0f; })) {
    for (int b = 0; b < g.batch; ++b)
      for (int o = 0; o < g.out_units; ++o) {
        const float v = bias ? bias[o] : 0.0f;
        output[static_cast<int64_t>(b) * g.out_units + o] =
            std::min(std::max(v, p.act_min), p.act_max);
      }
    return;
  }
  QuantizeRows(p.mode != HybridMode::kPerTensorSymmetric, input, g.batch, g.depth, scratch);
  for (float& s : scratch->row_scales) s *= p.weight_scales[0];
  if (DotNeedsWideAccumulator(g.depth))
    HybridFullyConnectedImpl<int64_t>(p, g, packed_weights, bias, output, scratch);
  else
    HybridFullyConnectedImpl<int32_t>(p, g, packed_weights, bias, output, scratch);
}

namespace {

// One quantized pixel of a depthwise convolution: acc[o] = sum over in-bounds taps of
// w[ky][kx][o] * (q[iy][ix][o / dm] - zp), in int64 and wrapped to int32 as TFLite's registers.
void HybridDepthwisePixel(const ConvGeometry& g, const int8_t* q, int32_t zp, const int8_t* w,
                          int b, int oy, int ox, int64_t* acc) {
  std::fill(acc, acc + g.out_c, int64_t{0});
  const int iy0 = oy * g.stride_h - g.pad_top, ix0 = ox * g.stride_w - g.pad_left;
  for (int ky = 0; ky < g.filter_h; ++ky) {
    const int iy = iy0 + ky * g.dilation_h;
    if (iy < 0 || iy >= g.in_h) continue;
    for (int kx = 0; kx < g.filter_w; ++kx) {
      const int ix = ix0 + kx * g.dilation_w;
      if (ix < 0 || ix >= g.in_w) continue;
      const int8_t* src = q + ((static_cast<int64_t>(b) * g.in_h + iy) * g.in_w + ix) * g.in_c;
      const int8_t* wr = w + (static_cast<int64_t>(ky) * g.filter_w + kx) * g.out_c;
      for (int o = 0; o < g.out_c; ++o)
        acc[o] += static_cast<int64_t>(wr[o]) * (src[o / g.depth_multiplier] - zp);
    }
  }
}

}  // namespace

void HybridDepthwiseConv2D(const HybridParams& p, const ConvGeometry& g, const float* input,
                           const int8_t* weights, const float* bias, float* output,
                           HybridScratch* scratch) {
  const int64_t image = static_cast<int64_t>(g.in_h) * g.in_w * g.in_c;
  QuantizeRows(/*asymmetric=*/true, input, g.batch, image, scratch);
  std::vector<int64_t> acc(static_cast<size_t>(g.out_c));
  float* out = output;
  for (int b = 0; b < g.batch; ++b) {
    const float row_scale = scratch->row_scales[b];
    const int32_t zp = scratch->row_zero_points[b];
    for (int oy = 0; oy < g.out_h; ++oy)
      for (int ox = 0; ox < g.out_w; ++ox, out += g.out_c) {
        HybridDepthwisePixel(g, scratch->quantized.data(), zp, weights, b, oy, ox, acc.data());
        // optimized_integer_ops::DepthwiseConvHybridGeneral's scalar output stage: the row
        // scale first, then the channel scale, then the bias; max with the lower bound, then
        // min with the upper one.
        for (int c = 0; c < g.out_c; ++c) {
          float v = static_cast<float>(WrapInt32(acc[c])) * row_scale * p.weight_scales[c];
          v += bias[c];
          v = std::max(v, p.act_min);
          out[c] = std::min(v, p.act_max);
        }
      }
  }
}

Status PrepareHybridWeights(const rt::KernelArgs& args, const rt::TensorRef& weights, int out_c,
                            int channel_axis, bool allow_per_channel, bool asymmetric_inputs,
                            HybridParams* params, std::vector<float>* scales,
                            std::vector<int32_t>* row_sums) {
  if (!allow_per_channel && weights.quant().scale.size() > 1)
    return Unsupported("{}hybrid weights '{}' have {} scales (per-axis); this op's hybrid path "
                       "supports per-tensor weights only",
                       args.Where(), weights.info->name, weights.quant().scale.size());
  return PrepareHybridWeights(args, weights, out_c, channel_axis, HybridOp::kConv2D,
                              asymmetric_inputs, params, scales, row_sums);
}

Status PrepareHybridWeights(const rt::KernelArgs& args, const rt::TensorRef& weights, int out_c,
                            int channel_axis, HybridOp op, bool asymmetric_inputs,
                            HybridParams* params, std::vector<float>* scales,
                            std::vector<int32_t>* row_sums) {
  if (weights.dtype() != ir::DType::kInt8)
    return Unsupported("{}hybrid (float32 input) with {} weights '{}' is not supported; only int8 "
                       "weights are",
                       args.Where(), ir::DTypeName(weights.dtype()), weights.info->name);
  if (!weights.is_static || !weights.data)
    return Unsupported("{}hybrid weights '{}' are not constant; dynamic-range kernels need "
                       "constant int8 weights",
                       args.Where(), weights.info->name);
  const ir::Quantization& q = weights.quant();
  if (q.empty())
    return InvalidModel("{}int8 weights '{}' of a float32 op have no scale; hybrid weights need "
                        "one",
                        args.Where(), weights.info->name);
  QL_ASSIGN_OR_RETURN(const int32_t z_w, WeightZeroPoint(args, weights));
  (void)z_w;  // always 0: WeightZeroPoint refuses asymmetric int8 weights
  for (size_t i = 0; i < q.scale.size(); ++i)
    if (!std::isfinite(q.scale[i]) || !(q.scale[i] > 0.0f))
      return InvalidModel("{}weights '{}' scale[{}] = {}; a scale must be finite and > 0",
                          args.Where(), weights.info->name, i, q.scale[i]);
  const size_t n = q.scale.size();
  const int64_t count = weights.num_elements();
  const int cols = static_cast<int>(count / out_c);
  *scales = q.scale;
  switch (op) {
    case HybridOp::kDepthwise:
      // TFLite 2.9 checks scale count == filter dim [quantized_dimension] and then reads one
      // scale per output channel: a single scale only works for a single channel.
      if (n != static_cast<size_t>(out_c) || (n > 1 && q.axis != channel_axis))
        return InvalidModel("{}hybrid depthwise weights '{}' have {} scale(s) along axis {}; "
                            "TFLite 2.9 needs one scale per output channel ({}) along axis {}",
                            args.Where(), weights.info->name, n, q.axis, out_c, channel_axis);
      params->mode = HybridMode::kPerChannelAsymmetric;
      break;
    case HybridOp::kFullyConnected:
      params->mode = asymmetric_inputs ? HybridMode::kPerTensorAsymmetric
                                       : HybridMode::kPerTensorSymmetric;
      // The legacy per-tensor scale TFLite multiplies by: 0 unless there is exactly one scale.
      if (n != 1) *scales = {0.0f};
      break;
    case HybridOp::kConv2D:
      if (n == 1) {
        params->mode = asymmetric_inputs ? HybridMode::kPerTensorAsymmetric
                                         : HybridMode::kPerTensorSymmetric;
        break;
      }
      if (n != static_cast<size_t>(out_c) || q.axis != channel_axis)
        return InvalidModel("{}weights '{}' have {} scales along axis {}; per-channel weights "
                            "need one scale per output channel ({}) along axis {}",
                            args.Where(), weights.info->name, n, q.axis, out_c, channel_axis);
      if (std::all_of(q.scale.begin(), q.scale.end(), [&](float s) { return s == q.scale[0]; }))
        return Unsupported("{}hybrid weights '{}' have {} identical per-channel scales ({}); "
                           "TFLite then takes its per-tensor path with the legacy single scale, "
                           "which a per-axis tensor does not carry (not modelled)",
                           args.Where(), weights.info->name, n, q.scale[0]);
      params->mode = HybridMode::kPerChannelAsymmetric;
      break;
  }
  params->weight_scales = *scales;
  row_sums->clear();
  if (params->mode != HybridMode::kPerTensorSymmetric && op != HybridOp::kDepthwise)
    *row_sums = WeightRowSums(weights.as<int8_t>(), out_c, cols);
  params->weight_row_sums = *row_sums;
  return Status::Ok();
}

}  // namespace ql::kern
