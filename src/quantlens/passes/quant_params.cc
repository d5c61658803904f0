#include "quantlens/passes/quant_params.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace ql::passes {
namespace {

// Round half away from zero, as TFLite's converter (std::round) does for weights and biases.
int64_t RoundAway(double x) { return static_cast<int64_t>(std::round(x)); }

// Number of slices along `axis` and the stride between consecutive elements of one slice.
struct AxisLayout {
  int64_t outer = 1, count = 1, inner = 1;
};
AxisLayout Layout(const ir::Shape& shape, int axis) {
  AxisLayout l;
  for (int d = 0; d < static_cast<int>(shape.size()); ++d) {
    if (d < axis) l.outer *= shape[d];
    else if (d == axis) l.count = shape[d];
    else l.inner *= shape[d];
  }
  return l;
}

template <typename F>
void ForEachInSlice(const AxisLayout& l, int64_t c, F&& f) {
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t i = 0; i < l.inner; ++i) f((o * l.count + c) * l.inner + i);
}

}  // namespace

ir::Quantization AsymmetricActivationParams(float rmin, float rmax, int qmin, int qmax) {
  double lo = std::min(0.0, static_cast<double>(rmin));
  double hi = std::max(0.0, static_cast<double>(rmax));
  if (!(hi - lo > 1e-12)) hi = lo + 1.0;  // a constant-zero tensor: any grid holds it exactly
  const double scale = (hi - lo) / (qmax - qmin);
  // The zero point from either end of the range; the one with the smaller rounding error wins.
  const double zp_from_min = qmin - lo / scale;
  const double zp_from_max = qmax - hi / scale;
  const double err_min = std::abs(static_cast<double>(qmin)) + std::abs(lo / scale);
  const double err_max = std::abs(static_cast<double>(qmax)) + std::abs(hi / scale);
  const double zp = err_min < err_max ? zp_from_min : zp_from_max;
  int64_t nudged;
  if (zp < qmin) nudged = qmin;
  else if (zp > qmax) nudged = qmax;
  else nudged = RoundAway(zp);
  ir::Quantization q;
  q.scale = {static_cast<float>(scale)};
  q.zero_point = {nudged};
  return q;
}

ir::Quantization SymmetricActivationParams(float rmin, float rmax, int qmax) {
  double m = std::max(std::abs(static_cast<double>(rmin)), std::abs(static_cast<double>(rmax)));
  if (!(m > 1e-12)) m = 1.0;
  ir::Quantization q;
  q.scale = {static_cast<float>(m / qmax)};
  q.zero_point = {0};
  return q;
}

QuantizedWeights QuantizeWeightsSymmetric(std::span<const float> w, const ir::Shape& shape, int axis) {
  QuantizedWeights q;
  q.values.resize(w.size());
  const AxisLayout l = axis >= 0 ? Layout(shape, axis) : AxisLayout{1, 1, static_cast<int64_t>(w.size())};
  q.axis = std::max(axis, 0);
  q.scales.resize(static_cast<size_t>(l.count));
  for (int64_t c = 0; c < l.count; ++c) {
    float m = 0.0f;
    ForEachInSlice(l, c, [&](int64_t i) { m = std::max(m, std::abs(w[i])); });
    // An all-zero slice (a pruned filter) still needs a positive scale; its values are 0 anyway.
    const float scale = m > 0.0f ? m / 127.0f : 1.0f / 127.0f;
    q.scales[c] = scale;
    ForEachInSlice(l, c, [&](int64_t i) {
      q.values[i] = static_cast<int8_t>(std::clamp<int64_t>(RoundAway(w[i] / scale), -127, 127));
    });
  }
  return q;
}

void RescaleWeightSlice(std::span<const float> w, const ir::Shape& shape, QuantizedWeights& q, int c,
                        float new_scale) {
  const AxisLayout l = q.scales.size() > 1 ? Layout(shape, q.axis)
                                           : AxisLayout{1, 1, static_cast<int64_t>(w.size())};
  q.scales[c] = new_scale;
  ForEachInSlice(l, c, [&](int64_t i) {
    q.values[i] = static_cast<int8_t>(std::clamp<int64_t>(RoundAway(w[i] / new_scale), -127, 127));
  });
}

ir::Quantization ConstantParams(std::span<const float> v, bool int16) {
  float lo = 0.0f, hi = 0.0f;
  for (float x : v) {
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  return int16 ? SymmetricActivationParams(lo, hi, 32767) : AsymmetricActivationParams(lo, hi, -128, 127);
}

template <typename T>
static std::vector<T> QuantizeTo(std::span<const float> v, const ir::Quantization& q) {
  std::vector<T> out(v.size());
  const double s = q.scale[0];
  const int64_t zp = q.zero_point.empty() ? 0 : q.zero_point[0];
  for (size_t i = 0; i < v.size(); ++i)
    out[i] = static_cast<T>(std::clamp<int64_t>(RoundAway(v[i] / s) + zp, std::numeric_limits<T>::min(),
                                                std::numeric_limits<T>::max()));
  return out;
}

std::vector<int8_t> QuantizeToInt8(std::span<const float> v, const ir::Quantization& q) {
  return QuantizeTo<int8_t>(v, q);
}
std::vector<int16_t> QuantizeToInt16(std::span<const float> v, const ir::Quantization& q) {
  return QuantizeTo<int16_t>(v, q);
}

QuantizedBias QuantizeBias(std::span<const float> bias, float input_scale, QuantizedWeights& weights,
                           std::span<const float> float_weights, const ir::Shape& weight_shape,
                           bool int64_accumulator, int* adjusted) {
  QuantizedBias b;
  b.values.resize(bias.size());
  b.scales.resize(bias.size());
  const bool per_channel = weights.scales.size() > 1;
  // An int32 bias must leave room for the accumulated products; TFLite's converter keeps it well
  // inside int32 by the same kind of weight-scale adjustment.
  constexpr double kLimit = 2147483647.0 * 0.5;
  for (size_t c = 0; c < bias.size(); ++c) {
    const size_t wc = per_channel ? c : 0;
    double scale = static_cast<double>(input_scale) * weights.scales[wc];
    if (!int64_accumulator && std::abs(bias[c] / scale) > kLimit) {
      const float new_ws = static_cast<float>(std::abs(static_cast<double>(bias[c])) /
                                              (kLimit * input_scale));
      if (per_channel || bias.size() == 1) {
        RescaleWeightSlice(float_weights, weight_shape, weights, static_cast<int>(wc), new_ws);
        if (adjusted) ++*adjusted;
        scale = static_cast<double>(input_scale) * weights.scales[wc];
      }
    }
    b.scales[c] = static_cast<float>(scale);
    const double q = std::round(bias[c] / static_cast<double>(b.scales[c]));
    const double lim = int64_accumulator ? 9.2e18 : 2147483647.0;
    b.values[c] = static_cast<int64_t>(std::clamp(q, -lim, lim));
  }
  return b;
}

uint16_t FloatToHalf(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t exp = (x >> 23) & 0xffu;
  uint32_t mant = x & 0x7fffffu;
  if (exp == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0u));  // inf/nan
  int32_t e = static_cast<int32_t>(exp) - 127 + 15;
  if (e >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
  if (e <= 0) {
    if (e < -10) return static_cast<uint16_t>(sign);  // underflow -> signed zero
    mant |= 0x800000u;
    const uint32_t shift = static_cast<uint32_t>(14 - e);
    uint32_t half = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1);
    const uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) ++half;  // may carry into the exponent: right
  return static_cast<uint16_t>(sign | half);
}

}  // namespace ql::passes
