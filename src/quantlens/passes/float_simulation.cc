#include "quantlens/passes/float_simulation.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "quantlens/io/results.h"
#include "quantlens/kernels/quant_math.h"

namespace ql::passes {
namespace {

bool QuantizedInteger(const ir::Tensor& t) {
  return !t.quant.empty() && ir::IsInteger(t.dtype) && t.dtype != ir::DType::kInt64;
}

}  // namespace

Result<ir::Graph> FloatSimulationGraph(const ir::Graph& g) {
  ir::Graph f = g;
  for (size_t t = 0; t < f.tensors.size(); ++t) {
    ir::Tensor& x = f.tensors[t];
    const bool float16 = x.dtype == ir::DType::kFloat16;
    if (!QuantizedInteger(x) && !float16) continue;
    if (x.is_constant) {
      io::Array a;
      a.dtype = x.dtype;
      a.shape = x.shape;
      a.data = x.data;
      auto d = io::Dequantize(a, x.quant);
      if (!d.ok())
        return d.status().WithContext(fmt::format("{}: tensor {} '{}': ", g.source_path, t, x.name));
      std::vector<float> v(d->begin(), d->end());
      x.data.resize(v.size() * sizeof(float));
      std::memcpy(x.data.data(), v.data(), x.data.size());
    }
    x.dtype = ir::DType::kFloat32;
    x.quant = {};
  }
  for (ir::Op& op : f.ops) {
    if (op.type != ir::OpType::kQUANTIZE && op.type != ir::OpType::kDEQUANTIZE) continue;
    if (op.inputs.size() != 1 || op.outputs.size() != 1 || op.inputs[0] < 0) continue;
    const ir::Tensor& in = f.tensors[op.inputs[0]];
    const ir::Tensor& out = f.tensors[op.outputs[0]];
    if (in.dtype != ir::DType::kFloat32 || out.dtype != ir::DType::kFloat32) continue;
    // A representation change only: the same values, so a copy keeps every tensor index intact.
    ir::ReshapeAttrs attrs;
    attrs.has_new_shape = true;
    bool open = false;
    for (int64_t d : out.shape) {
      const bool unknown = d < 0;
      attrs.new_shape.push_back(unknown && !open ? -1 : static_cast<int32_t>(std::max<int64_t>(d, 1)));
      open |= unknown;
    }
    if (attrs.new_shape.empty()) attrs.new_shape = {0};  // TFLite's legacy spelling of a scalar
    op.type = ir::OpType::kRESHAPE;
    op.inputs = {op.inputs[0]};
    op.attrs = attrs;
    op.custom_code.clear();
  }
  return f;
}

void FakeQuantize(const ir::Tensor& quantized, std::span<float> values) {
  if (!QuantizedInteger(quantized) || quantized.quant.scale.empty()) return;
  const double s = quantized.quant.scale[0];
  if (!(s > 0) || !std::isfinite(s)) return;
  const double zp = quantized.quant.zero_point.empty() ? 0.0 : static_cast<double>(quantized.quant.zero_point[0]);
  int32_t qmin, qmax;
  kern::QuantizedTypeRange(quantized.dtype, &qmin, &qmax);
  const float sf = static_cast<float>(s);
  for (float& v : values) {
    if (!std::isfinite(v)) continue;
    v = static_cast<float>((QuantizeToGrid(v, sf, zp, qmin, qmax) - zp) * s);
  }
}

}  // namespace ql::passes
