// The float view of a quantized model, for the error budget of `quantlens compare`: the same graph
// computed in float32 with the model's own dequantized weights. Running it shows the error weight
// quantization alone causes; rounding its activations to the model's grids (FakeQuantize, applied
// by a runtime hook after each op) adds activation quantization; what remains between that and the
// integer model is kernel numerics (fixed-point requantization, lookup tables, rounding modes).
#pragma once

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

// Rounds `values` in place to the grid of `quantized` (scale, zero point and integer range of its
// dtype, per-tensor), as TFLite's QUANTIZE stores them: clamp(round half away from zero(x / s) +
// zp), then back to float.
// Tensors that are not quantized integers are left unchanged.
void FakeQuantize(const ir::Tensor& quantized, std::span<float> values);

}  // namespace ql::passes
