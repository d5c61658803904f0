// The float view of a quantized model, for the error budget of `quantlens compare`: the same graph
// computed in float32 with the model's own dequantized weights. Running it shows the error weight
// quantization alone causes; rounding its activations to the model's grids (FakeQuantize, applied
// by a runtime hook after each op) adds activation quantization; what remains between that and the
// integer model is kernel numerics (fixed-point requantization, lookup tables, rounding modes).
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>

#include "quantlens/ir/graph.h"
#include "quantlens/util/status.h"

namespace ql::passes {

// A copy of `g` where every quantized or float16 constant holds its dequantized float32 values,
// every quantized activation (graph inputs included) is float32 without quantization, and the
// QUANTIZE / DEQUANTIZE ops that only change representation become RESHAPEs to the same shape.
// Tensor indices are those of `g` (tensors may be appended), so tensor t of the result is the
// float counterpart of tensor t of `g`. Error when a quantized constant cannot be dequantized.
Result<ir::Graph> FloatSimulationGraph(const ir::Graph& g);

// The level of a finite (or infinite, not NaN) `x` on the grid (scale, zero point, integer range
// [qmin, qmax]) as TFLite's QUANTIZE stores it: the division in float (0.25f / 0.1f is 2.5f, not
// the 2.4999... of double), then round half away from zero, plus the zero point, clamped. Inline:
// it runs per value. Rounding truncates after +-0.5 in double (std::round is a libm call), with x
// clamped first so the cast cannot overflow.
inline int32_t QuantizeToGrid(float x, float scale, double zero_point, int32_t qmin, int32_t qmax) {
  const double lo = qmin, hi = qmax;
  const double t = std::clamp(static_cast<double>(x / scale), lo - zero_point - 1, hi - zero_point + 1);
  const double r = static_cast<double>(static_cast<int64_t>(t + (t >= 0 ? 0.5 : -0.5)));
  return static_cast<int32_t>(std::clamp(r + zero_point, lo, hi));
}

// Rounds `values` in place to the grid of `quantized` (scale, zero point and integer range of its
// dtype, per-tensor) with QuantizeToGrid, then back to float. Non-finite values, and tensors that
// are not quantized integers, are left unchanged.
void FakeQuantize(const ir::Tensor& quantized, std::span<float> values);

}  // namespace ql::passes
